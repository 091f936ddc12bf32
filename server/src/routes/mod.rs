//! HTTP handlers outside the Leptos pages.

pub mod health;
pub mod operations_csv;
