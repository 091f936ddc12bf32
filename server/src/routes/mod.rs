//! HTTP handlers outside the Leptos pages.

pub mod health;
