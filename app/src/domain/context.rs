//! `ServerContext`: what server functions and handlers need from the running server.
//!
//! The server builds one at start, keeps it in its axum state and provides it to every
//! Leptos render and server function with `provide_context`; read it with
//! [`ServerContext::get`].

use crate::{
    domain::{db::Database, mail::MailQueue},
    errors::AppError,
};

#[derive(Clone, Debug)]
pub struct ServerContext {
    pub db: Database,
    /// Wakes mail delivery after a transaction that queued mail commits.
    pub mail: MailQueue,
    /// Scheme, host and port under which people reach this server (no trailing slash),
    /// for links in mails, e.g. `https://points.example.com`.
    pub public_url: String,
}

impl ServerContext {
    pub fn new(db: Database, mail: MailQueue, public_url: &str) -> Self {
        Self {
            db,
            mail,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The context of the current request (inside a Leptos render or server function).
    pub fn get() -> Result<Self, AppError> {
        leptos::prelude::use_context::<Self>().ok_or_else(|| {
            tracing::error!("ServerContext was not provided to this request");
            AppError::Internal
        })
    }

    /// An absolute link to `path_and_query` (which starts with `/`).
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}
