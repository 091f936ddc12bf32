//! Server functions: thin wrappers that parse input into domain types, authorise from the
//! session, call domain code and answer in a way that works with and without JavaScript.
//!
//! Every one has a fixed URL under `/fn/` (the `/api` prefix belongs to the REST API).

pub mod accounts;
pub mod api_keys;
pub mod customers;
pub mod operations;
pub mod points;
pub mod public_points;
pub mod secondary_issue;
pub mod staff;
pub mod store_overview;
pub mod store_settings;
pub mod stores;
pub mod wallet;
pub mod wallet_avatar;
pub mod wallet_send;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod chain_depth;
#[cfg(feature = "ssr")]
pub mod respond;
#[cfg(feature = "ssr")]
pub mod secret_flash;
#[cfg(feature = "ssr")]
pub mod wallet_auth;
