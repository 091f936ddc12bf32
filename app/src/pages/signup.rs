use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, query_flag, FieldError, FormError};
use crate::server_fns::accounts::SignUp;

/// `/signup`: create an operator account.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = form_error(action);
    let done = query_flag("done");
    view! {
        <Title text="Create an account · pointmint"/>
        <section class="page narrow">
            <h1>"Create an operator account"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <p class="notice" role="status" data-testid="signup-done">
                        "Check your mail: we have sent you a link to confirm your e-mail address."
                    </p>
                }
            >
                <ActionForm action=action>
                    <FormError error/>
                    <label>"E-mail address" <input type="email" name="email" autocomplete="email" required/></label>
                    <FieldError error field="email"/>
                    <label>"Password" <input type="password" name="password" autocomplete="new-password" minlength="10" required/></label>
                    <FieldError error field="password"/>
                    <label>"Repeat the password" <input type="password" name="password_repeat" autocomplete="new-password" required/></label>
                    <FieldError error field="password_repeat"/>
                    <button type="submit" class="primary">"Create account"</button>
                </ActionForm>
                <p>"Already have an account? " <a href="/login">"Log in"</a></p>
            </Show>
        </section>
    }
}
