//! How a server function answers, so forms work before the wasm has loaded.
//!
//! A plain HTML form post (no JavaScript; recognised like leptos_axum does, by `Accept:
//! text/html`) gets a redirect: to the success page, or back to the form with `?error=CODE`,
//! which the page turns into the message next to the field. A call from the hydrated page
//! gets the typed result, with a fitting HTTP status for errors, and a redirect header on
//! success that the client router follows.

use leptos::prelude::*;

use crate::{errors::AppError, urls::with_query};

fn is_plain_form_post() -> bool {
    use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Finishes a server function: on success go to `success_to(&value)`, on error back to
/// `form_page` (without JavaScript) or answer the error (with JavaScript).
pub fn finish<T>(
    result: Result<T, AppError>,
    form_page: &str,
    success_to: impl FnOnce(&T) -> String,
) -> Result<T, AppError> {
    match &result {
        Ok(value) => leptos_axum::redirect(&success_to(value)),
        Err(error) => {
            if is_plain_form_post() {
                leptos_axum::redirect(&with_query(form_page, "error", &error.code()));
            } else if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(
                    axum::http::StatusCode::from_u16(error.status())
                        .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
                );
            }
        }
    }
    result
}

/// Answers a server function that only reads (no form, no redirect): errors get their HTTP status.
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        page_status(error);
    }
    result
}

/// Sets the HTTP status of a page rendered on the server for an error it shows.
pub fn page_status(error: &AppError) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status())
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
        );
    }
}

/// A fresh idempotency id for a form that changes money, made when the form is rendered and
/// sent back in a hidden field: a double submit (double click, resent POST) carries the same
/// id and the ledger answers with the first operation instead of making a second one.
pub fn new_request_id() -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// Asks browsers and proxies to keep no copy of this answer (a page showing a secret once).
pub fn no_store() {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
}
