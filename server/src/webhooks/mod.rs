//! The webhook dispatcher: a background task that fans new events out into deliveries and
//! sends due deliveries, signed, with retries (see `app::domain::webhooks`).

mod sender;

use std::sync::Arc;

use app::domain::{
    db::Database,
    webhooks::{deliveries, fanout, SecretSealer},
};
use tokio::task::JoinHandle;

use crate::config::WebhookSettings;

/// Events fanned out per round.
const FANOUT_BATCH: i64 = 200;
/// Deliveries claimed per round; they are sent concurrently.
const BATCH: i64 = 16;
/// How long a claimed delivery is reserved for its sender (well above the send timeout).
const LEASE_MS: i64 = 60_000;

/// Starts the dispatcher; the handle is aborted at shutdown.
pub fn spawn(db: Database, sealer: SecretSealer, settings: WebhookSettings) -> JoinHandle<()> {
    let sender = Arc::new(sender::Sender::new(db.clone(), sealer, settings.clone()));
    tokio::spawn(async move {
        loop {
            let busy = match round(&db, &sender).await {
                Ok(busy) => busy,
                Err(error) => {
                    tracing::warn!(%error, "webhook dispatch round failed");
                    false
                }
            };
            if !busy {
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    })
}

/// One round: fan out, then send what is due. True when there may be more work right away.
async fn round(db: &Database, sender: &Arc<sender::Sender>) -> Result<bool, sqlx::Error> {
    let fanned = fanout::run_once(db, FANOUT_BATCH).await?;
    let claimed = deliveries::claim_due(db, BATCH, LEASE_MS).await?;
    let full = claimed.len() as i64 == BATCH;
    let tasks: Vec<_> = claimed
        .into_iter()
        .map(|claim| {
            let sender = Arc::clone(sender);
            tokio::spawn(async move { sender.attempt(claim).await })
        })
        .collect();
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "a webhook attempt panicked");
        }
    }
    // Only a full page means more is waiting. Any event at all used to count, so while
    // the ledger wrote events (a settling chain transaction writes hundreds), the loop
    // ran its two write transactions back to back for every few new ones.
    Ok(full || fanned as i64 == FANOUT_BATCH)
}
