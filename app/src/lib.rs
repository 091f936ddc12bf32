//! pointmint's web UI (Leptos, rendered on the server and hydrated in the browser),
//! its server functions, and — behind the `ssr` feature — the server-side domain code
//! shared by the server functions, the REST API and the worker.

pub mod errors;
pub mod models;
pub mod pages;
pub mod server_fns;
pub mod urls;

#[cfg(feature = "ssr")]
pub mod domain;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode, StaticSegment,
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
                    // Accounts. Pages that load data behind the session render fully before
                    // answering (SsrMode::Async) so they can still redirect to /login or set 404.
                    <Route path=path!("/signup") view=pages::signup::SignUpPage/>
                    <Route path=path!("/verify-email") view=pages::verify_email::VerifyEmailPage/>
                    <Route path=path!("/login") view=pages::login::LoginPage/>
                    <Route path=path!("/forgot-password") view=pages::password_reset::ForgotPasswordPage/>
                    <Route path=path!("/reset-password") view=pages::password_reset::ResetPasswordPage/>
                    <Route path=path!("/account") view=pages::account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard") view=pages::dashboard::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id") view=pages::store_overview::StoreOverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/staff") view=pages::staff::StaffPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/points") view=pages::points::PointsPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/customers") view=pages::customers::CustomersPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/customers/:customer") view=pages::customers::CustomerPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/operations") view=pages::operations::OperationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/settings") view=pages::store_settings::StoreSettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/api-keys") view=pages::api_keys::ApiKeysPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/webhooks") view=pages::webhooks::WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard/stores/:id/webhooks/:endpoint") view=pages::webhooks::WebhookEndpointPage ssr=SsrMode::Async/>
                    <Route path=path!("/wallet") view=pages::wallet::WalletPage ssr=SsrMode::Async/>
                    <Route path=path!("/wallet/sign-in") view=pages::wallet::WalletSignInPage/>
                    <Route path=path!("/wallet/send") view=pages::wallet_send::WalletSendPage ssr=SsrMode::Async/>
                    <Route path=path!("/points/:symbol") view=pages::public_points::PublicPointsPage ssr=SsrMode::Async/>
                    <Route path=path!("/invitations/accept") view=pages::invitation::AcceptInvitationPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
