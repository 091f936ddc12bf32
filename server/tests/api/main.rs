//! HTTP-level tests of the whole application: one binary, one fresh database per test.
//! `POINTMINT_TEST_DATABASE=sqlite|postgres` picks the database (scripts/test.sh runs both).

mod api_support;
mod browser;
mod helpers;
mod smtp;

mod accounts;
mod api_awards;
mod api_keys;
mod api_lookups;
mod api_openapi;
mod csrf;
mod dashboard_integrations;
mod dashboard_points;
mod dashboard_settings;
mod health;
mod landing;
mod ledger;
mod mail;
mod migrations;
mod page_rendering;
mod public_points;
mod secondary_issue;
mod sessions;
mod staff;
mod wallet;
mod webhooks;
mod worker;
mod worker_faults;
mod worker_reorgs;
