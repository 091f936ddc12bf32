//! HTTP-level tests of the whole application: one binary, one fresh database per test.
//! `POINTMINT_TEST_DATABASE=sqlite|postgres` picks the database (scripts/test.sh runs both).

mod browser;
mod helpers;
mod smtp;

mod accounts;
mod csrf;
mod health;
mod landing;
mod mail;
mod migrations;
mod sessions;
mod staff;
