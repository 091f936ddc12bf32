//! A store's own settings: for now its name (managers and owners rename; any member reads).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, membership::require_member, stores},
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
}

/// The store as its settings page shows it.
#[server(prefix = "/fn", endpoint = "store_settings")]
pub async fn store_settings(store_id: i64) -> Result<StoreSettingsView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            Ok(StoreSettingsView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
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
