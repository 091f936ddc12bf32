use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, query_value, FieldError, FormError, Notice};
use crate::server_fns::accounts::LogIn;

/// `/login?next=/path`: sign in.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = form_error(action);
    let next = query_value("next");
    view! {
        <Title text="Log in · pointmint"/>
        <section class="page narrow">
            <h1>"Log in"</h1>
            <Notice flag="verified">"Your e-mail address is confirmed. Log in to continue."</Notice>
            <Notice flag="reset">"Your password has been changed. Log in with the new one."</Notice>
            <ActionForm action=action>
                <FormError error/>
                <label>"E-mail address" <input type="email" name="email" autocomplete="email" required/></label>
                <FieldError error field="email"/>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                {move || next.get().map(|next| view! { <input type="hidden" name="next" value=next/> })}
                <button type="submit" class="primary">"Log in"</button>
            </ActionForm>
            <p><a href="/forgot-password">"Forgot your password?"</a> " · " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}
