//! Pieces every form page uses: error messages next to fields (from the action's result or,
//! after a post without JavaScript, from `?error=`), notices from query flags, the
//! signed-in bar, and what a page shows for an error.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::{
    components::Redirect,
    hooks::{use_location, use_query_map},
};

use crate::{errors::AppError, server_fns::accounts::LogOut, urls::with_query};

/// The error a form should show now.
pub fn form_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    Signal::derive(move || match action.value().get() {
        Some(Ok(_)) => None,
        Some(Err(error)) => Some(error),
        None => query
            .with(|q| q.get("error"))
            .and_then(|code| AppError::from_code(&code)),
    })
}

/// Whether the page's query string has `name` (e.g. `?done=1` after a successful post).
pub fn query_flag(name: &'static str) -> Signal<bool> {
    let query = use_query_map();
    Signal::derive(move || query.with(|q| q.get(name).is_some()))
}

/// A query parameter's value.
pub fn query_value(name: &'static str) -> Signal<Option<String>> {
    let query = use_query_map();
    Signal::derive(move || query.with(|q| q.get(name)))
}

/// The message for one field, shown under it.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field() == Some(field)).map(|e| {
            view! { <p class="field-error" role="alert" data-error-for=field>{e.to_string()}</p> }
        })
    }
}

/// A message that belongs to no single field, shown above the form.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field().is_none()).map(|e| {
            view! { <p class="form-error" role="alert" data-error=e.code()>{e.to_string()}</p> }
        })
    }
}

/// A green notice shown while `flag` is in the query string.
#[component]
pub fn Notice(flag: &'static str, children: ChildrenFn) -> impl IntoView {
    let shown = query_flag(flag);
    move || {
        shown
            .get()
            .then(|| view! { <p class="notice" role="status">{children()}</p> })
    }
}

/// The signed-in operator's address, links and a log-out button.
#[component]
pub fn AccountBar(email: String) -> impl IntoView {
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <nav class="account-bar" aria-label="Account">
            <span data-testid="signed-in-as">{email}</span>
            <a href="/dashboard">"Stores"</a>
            <a href="/account">"Account"</a>
            <ActionForm action=log_out>
                <button type="submit">"Log out"</button>
            </ActionForm>
        </nav>
    }
}

/// What a page shows when its data could not be loaded: the log-in page for a visitor who
/// is not signed in, otherwise the message (with the matching HTTP status on the server).
pub fn page_error(error: AppError) -> AnyView {
    if error == AppError::NotSignedIn {
        let location = use_location();
        let here = format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        );
        let here = if here.is_empty() {
            "/dashboard".to_owned()
        } else {
            here
        };
        return view! { <Redirect path=with_query("/login", "next", &here)/> }.into_any();
    }
    #[cfg(feature = "ssr")]
    crate::server_fns::respond::page_status(&error);
    let title = if error == AppError::NotFound {
        "Not found"
    } else {
        "This page cannot be shown"
    };
    view! {
        <section class="page narrow">
            <h1>{title}</h1>
            <p role="alert">{error.to_string()}</p>
            <p><a href="/dashboard">"Back to your stores"</a></p>
        </section>
    }
    .into_any()
}
