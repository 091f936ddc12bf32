//! Issuing more of a store's points into its treasury, where the point system's policy
//! allows it. Managers and owners only; another tenant's store answers "not found".

use leptos::prelude::*;

use crate::errors::AppError;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        ledger::{
            point_systems::PointSystem,
            secondary_issue::{self, NewSecondaryIssue},
            Amount, LedgerError,
        },
        membership::require_member,
    },
    models::Role,
    server_fns::{auth, points::ledger_to_app, respond::finish},
};

#[cfg(feature = "ssr")]
fn to_app(error: LedgerError) -> AppError {
    match error {
        LedgerError::SecondaryIssueForbidden => AppError::SecondaryIssueForbidden,
        LedgerError::SecondaryIssueShareTooLow { .. } => AppError::SecondaryIssueShareTooLow,
        LedgerError::SupplyTooLarge { .. } => AppError::SupplyTooLarge,
        other => ledger_to_app(other),
    }
}

/// Queues a secondary issue of `amount` base units; the worker issues it on chain and the
/// treasury is credited when it confirms. A caller that sends `request_id` may repeat the
/// request safely: the same id issues once.
#[server(prefix = "/fn", endpoint = "issue_more_points")]
pub async fn issue_more_points(
    store_id: i64,
    amount: String,
    reason: String,
    request_id: Option<String>,
) -> Result<i64, AppError> {
    let page = format!("/dashboard/stores/{store_id}/points");
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let amount = Amount::parse(&amount).map_err(|_| AppError::InvalidAmount)?;
        let point_system = PointSystem::of_store(&ctx.db, store.id)
            .await
            .map_err(to_app)?
            .ok_or(AppError::NotFound)?;
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let idempotency_key = request_id
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty() && r.len() <= 100)
            .map(|r| format!("dashboard:{r}"));
        let op = secondary_issue::submit(
            &ctx.db,
            NewSecondaryIssue {
                point_system_id: point_system.id,
                amount,
                actor: format!("operator:{}", operator.id),
                reason,
                idempotency_key,
            },
        )
        .await
        .map_err(to_app)?;
        Ok(op.id)
    }
    .await;
    finish(result, &page, |_| format!("{page}?issued=1"))
}
