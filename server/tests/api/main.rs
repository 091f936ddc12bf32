//! HTTP-level tests of the whole application: one binary, one fresh database per test.
//! `POINTMINT_TEST_DATABASE=sqlite|postgres` picks the database (scripts/test.sh runs both).

mod helpers;

mod health;
mod landing;
mod ledger;
mod migrations;
