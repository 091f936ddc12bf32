//! Server-side domain code, shared by server functions, the REST API and the worker.

pub mod api_keys;
pub mod clock;
pub mod context;
pub mod custody;
pub mod customer_avatars;
pub mod customer_sessions;
pub mod db;
pub mod email;
pub mod events;
pub mod fee_wallet;
pub mod idempotency;
pub mod ledger;
pub mod mail;
pub mod membership;
pub mod operators;
pub mod password;
pub mod rate_limit;
pub mod sessions;
pub mod staff;
pub mod store_settings;
pub mod store_stats;
pub mod stores;
pub mod tokens;
pub mod webhooks;
