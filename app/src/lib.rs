//! pointmint's web UI (Leptos, rendered on the server and hydrated in the browser),
//! its server functions, and — behind the `ssr` feature — the server-side domain code
//! shared by the server functions, the REST API and the worker.

pub mod pages;

#[cfg(feature = "ssr")]
pub mod domain;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

/// The HTML document around every page; rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: routes to every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    pages::mark_hydrated();

    view! {
        <Stylesheet id="pointmint" href="/pkg/pointmint.css"/>
        <Title text="pointmint"/>
        <Router>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment("") view=pages::landing::Landing/>
                </Routes>
            </main>
        </Router>
    }
}
