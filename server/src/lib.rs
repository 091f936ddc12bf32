//! The pointmint server: configuration, HTTP application, CLI commands.

pub mod accounts;
pub mod api;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod custody;
pub mod devnet;
pub mod metrics;
pub mod reconcile;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
pub mod worker;
