//! One module per page.

pub mod account;
pub mod api_keys;
pub mod chart;
pub mod customers;
pub mod dashboard;
pub mod forms;
pub mod invitation;
pub mod landing;
pub mod login;
pub mod not_found;
pub mod operations;
pub mod password_reset;
pub mod points;
pub mod public_points;
pub mod secondary_issue;
pub mod signup;
pub mod staff;
pub mod store_overview;
pub mod store_settings;
pub mod verify_email;
pub mod wallet;
pub mod wallet_send;
pub mod webhooks;

use leptos::prelude::*;

/// Sets `data-hydrated` on `<body>` once the wasm has taken over the page.
///
/// Effects never run during server rendering, so the attribute's presence proves the
/// page is interactive; browser tests wait for it before they click.
pub fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Bumps `tick` every `period` for as long as the page is shown, each time `due()` says a
/// refresh is wanted (something is still under way); resources keyed on `tick` re-read.
///
/// Runs in the browser only: effects never run during server rendering.
pub fn refresh_while(
    tick: RwSignal<u64>,
    period: std::time::Duration,
    due: impl Fn() -> bool + Clone + 'static,
) {
    Effect::new(move |_| {
        let due = due.clone();
        let handle = set_interval_with_handle(
            move || {
                if due() {
                    tick.update(|t| *t += 1);
                }
            },
            period,
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
}
