use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, query_value, FormError};
use crate::server_fns::accounts::VerifyEmail;

/// `/verify-email?token=...`: the link from the verification mail. Confirming is a button
/// (a POST), so mail scanners that fetch links change nothing.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let error = form_error(action);
    let token = query_value("token");
    view! {
        <Title text="Confirm your e-mail address · pointmint"/>
        <section class="page narrow">
            <h1>"Confirm your e-mail address"</h1>
            <ActionForm action=action>
                <FormError error/>
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default()/>
                <button type="submit" class="primary">"Confirm my e-mail address"</button>
            </ActionForm>
        </section>
    }
}
