use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, query_flag, query_value, FieldError, FormError};
use crate::server_fns::accounts::{RequestPasswordReset, ResetPassword};

/// `/forgot-password`: ask for a reset link.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = form_error(action);
    let done = query_flag("done");
    view! {
        <Title text="Forgot your password · pointmint"/>
        <section class="page narrow">
            <h1>"Forgot your password?"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <p class="notice" role="status" data-testid="reset-requested">
                        "If an account uses that address, we have sent it a link to choose a new password."
                    </p>
                }
            >
                <ActionForm action=action>
                    <FormError error/>
                    <label>"E-mail address" <input type="email" name="email" autocomplete="email" required/></label>
                    <FieldError error field="email"/>
                    <button type="submit" class="primary">"Send me a link"</button>
                </ActionForm>
            </Show>
        </section>
    }
}

/// `/reset-password?token=...`: the link from the reset mail.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = form_error(action);
    let token = query_value("token");
    view! {
        <Title text="Choose a new password · pointmint"/>
        <section class="page narrow">
            <h1>"Choose a new password"</h1>
            <ActionForm action=action>
                <FormError error/>
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default()/>
                <label>"New password" <input type="password" name="password" autocomplete="new-password" minlength="10" required/></label>
                <FieldError error field="password"/>
                <label>"Repeat the new password" <input type="password" name="password_repeat" autocomplete="new-password" required/></label>
                <FieldError error field="password_repeat"/>
                <button type="submit" class="primary">"Set the new password"</button>
            </ActionForm>
        </section>
    }
}
