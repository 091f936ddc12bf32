//! Outgoing webhooks (Standard Webhooks): endpoints per store, the delivery queue fed from
//! the event log, signing, and the checks on where we are willing to send.
//!
//! Sending over HTTP lives in the server (`server::webhooks`); everything here is shared by
//! the REST API, the dashboard's server functions and that sender.

pub mod deliveries;
pub mod endpoints;
pub mod fanout;
pub mod payload;
pub mod schedule;
pub mod secret;
pub mod signing;
pub mod target;

pub use endpoints::{Endpoint, EventFilter};
pub use secret::{SecretSealer, WebhookSecret};

/// What the dashboard's webhook server functions need from the running server; the server
/// provides it as a Leptos context (the REST API has the same in its own state).
#[derive(Clone, Debug)]
pub struct WebhookContext {
    pub sealer: SecretSealer,
    /// Whether private and loopback targets are accepted (`--webhook-allow-private`).
    pub allow_private: bool,
}
