//! Wiring of accounts into the server: the mail transport and its delivery task, the
//! database-backed session layer, periodic clean-up, and the CSRF check.

use std::time::Duration;

use anyhow::Context;
use app::domain::{
    context::ServerContext,
    mail::{delivery, transport::MailTransport, MailQueue, Mailbox},
    rate_limit,
    sessions::DbSessionStore,
};
use tokio::task::JoinHandle;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::config::Settings;

/// A session ends after this long without a request; every request renews it.
const SESSION_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
const CLEANUP_EVERY: Duration = Duration::from_secs(15 * 60);

/// The origin links in mails point at: `POINTMINT_PUBLIC_URL`, or the listen address.
pub fn public_url(settings: &Settings, local_addr: std::net::SocketAddr) -> String {
    match &settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{local_addr}"),
    }
}

/// Where mail goes: SMTP when `SMTP_URL` is set, else `.eml` files in DATA_DIR/outbox.
pub fn mail_transport(settings: &Settings) -> anyhow::Result<MailTransport> {
    Ok(match &settings.smtp_url {
        Some(url) => MailTransport::smtp(url)?,
        None => MailTransport::files(settings.data_dir.join("outbox"))?,
    })
}

pub fn mail_from(settings: &Settings) -> anyhow::Result<Mailbox> {
    let from = settings
        .mail_from
        .as_deref()
        .unwrap_or("pointmint <no-reply@localhost>");
    from.parse()
        .with_context(|| format!("POINTMINT_MAIL_FROM `{from}` is not a mail address"))
}

/// Starts mail delivery and the periodic clean-up; the handles are aborted at shutdown.
pub fn spawn_background(
    ctx: &ServerContext,
    transport: MailTransport,
    from: Mailbox,
) -> Vec<JoinHandle<()>> {
    let mailer = tokio::spawn(delivery::run(
        ctx.db.clone(),
        transport,
        from,
        ctx.mail.clone(),
    ));
    let db = ctx.db.clone();
    let cleanup = tokio::spawn(async move {
        let store = DbSessionStore::new(db.clone());
        loop {
            tokio::time::sleep(CLEANUP_EVERY).await;
            if let Err(error) = store.delete_expired().await {
                tracing::warn!(%error, "deleting expired sessions failed");
            }
            if let Err(error) = rate_limit::delete_old(&db).await {
                tracing::warn!(%error, "deleting old log-in failures failed");
            }
            if let Err(error) = app::domain::customer_sessions::delete_old_requests(&db).await {
                tracing::warn!(%error, "deleting old wallet link requests failed");
            }
        }
    });
    vec![mailer, cleanup]
}

/// Sessions: stored in the database, HttpOnly, SameSite=Lax (a person following an e-mailed
/// link arrives signed in), `Secure` when published over HTTPS, renewed on every request.
pub fn session_layer(ctx: &ServerContext) -> SessionManagerLayer<DbSessionStore> {
    SessionManagerLayer::new(DbSessionStore::new(ctx.db.clone()))
        .with_name("pointmint_session")
        .with_secure(ctx.public_url.starts_with("https://"))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(SESSION_IDLE.as_secs() as i64),
        ))
        .with_always_save(true)
}

/// A new mail queue handle (the context and the delivery task share it).
pub fn mail_queue() -> MailQueue {
    MailQueue::new()
}
