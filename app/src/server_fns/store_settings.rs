//! A store's own settings: its name, required confirmations, batch window and default earn
//! rate. Managers and owners change them; any member reads them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        membership::require_member,
        store_settings::{self, BatchWindow, Confirmations, EarnRate, PlatformPolicy},
        stores,
    },
    models::Role,
    server_fns::{
        auth,
        respond::{answer, finish},
    },
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSettingsView {
    pub me: OperatorView,
    pub store: StoreSummary,
    /// The store's own depth; `None` follows the platform's.
    pub required_confirmations: Option<u64>,
    pub platform_confirmations: u64,
    /// The store's own batch window in milliseconds; `None` follows the platform's.
    pub batch_window_ms: Option<u64>,
    pub platform_batch_window_ms: u64,
    /// Points per currency unit, as a decimal (`1.5`).
    pub earn_rate: String,
}

/// The store as its settings page shows it.
#[server(prefix = "/fn", endpoint = "store_settings")]
pub async fn store_settings(store_id: i64) -> Result<StoreSettingsView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let settings = store_settings::load(&ctx.db, store.id).await?;
            let platform = PlatformPolicy::current()?;
            Ok(StoreSettingsView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
                required_confirmations: settings.required_confirmations.map(Confirmations::get),
                platform_confirmations: platform.required_confirmations,
                batch_window_ms: settings.batch_window.map(BatchWindow::millis),
                platform_batch_window_ms: platform.batch_window_ms,
                earn_rate: settings.earn_rate.to_string(),
            })
        }
        .await,
    )
}

/// Renames a store (managers and owners); its address (slug) stays.
#[server(prefix = "/fn", endpoint = "rename_store")]
pub async fn rename_store(store_id: i64, name: String) -> Result<(), AppError> {
    let page = format!("/dashboard/stores/{store_id}/settings");
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let name = stores::parse_name(&name)?;
        let mut tx = ctx.db.begin_write().await?;
        sqlx::query("UPDATE stores SET name = $1 WHERE id = $2")
            .bind(&name)
            .bind(store.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    finish(result, &page, |_| format!("{page}?renamed=1"))
}

/// Changes a store's policies (managers and owners). Every field is parsed before anything
/// is written, so a bad one changes nothing. Empty confirmations or batch window follow the
/// platform's setting.
#[server(prefix = "/fn", endpoint = "save_store_settings")]
pub async fn save_store_settings(
    store_id: i64,
    required_confirmations: String,
    batch_window_ms: String,
    earn_rate: String,
) -> Result<(), AppError> {
    let page = format!("/dashboard/stores/{store_id}/settings");
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let settings = store_settings::StoreSettings {
            required_confirmations: Confirmations::parse(&required_confirmations)?,
            batch_window: BatchWindow::parse(&batch_window_ms)?,
            earn_rate: EarnRate::parse(&earn_rate)?,
        };
        store_settings::save(&ctx.db, store.id, &settings).await
    }
    .await;
    finish(result, &page, |_| format!("{page}?saved=1"))
}
