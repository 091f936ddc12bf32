use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any path no route matches; answers with HTTP 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found · pointmint"/>
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Back to the start page"</a></p>
        </section>
    }
}
