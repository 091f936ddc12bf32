use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    server_fns::accounts::{current_operator, ChangePassword},
};

/// `/account`: the signed-in operator's account (change password).
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_operator());
    let action = ServerAction::<ChangePassword>::new();
    let error = form_error(action);
    view! {
        <Title text="Your account · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await.and_then(|me| me.ok_or(AppError::NotSignedIn)) {
                    Err(error) => page_error(error),
                    Ok(me) => view! {
                        <AccountBar email=me.email.clone()/>
                        <section class="page narrow">
                            <h1>"Your account"</h1>
                            <p>"Signed in as " <strong>{me.email}</strong></p>
                            <h2>"Change your password"</h2>
                            <Notice flag="done">"Your password has been changed; your other sessions have been ended."</Notice>
                            <ActionForm action=action>
                                <FormError error/>
                                <label>"Current password" <input type="password" name="current_password" autocomplete="current-password" required/></label>
                                <FieldError error field="current_password"/>
                                <label>"New password" <input type="password" name="password" autocomplete="new-password" minlength="10" required/></label>
                                <FieldError error field="password"/>
                                <label>"Repeat the new password" <input type="password" name="password_repeat" autocomplete="new-password" required/></label>
                                <FieldError error field="password_repeat"/>
                                <button type="submit" class="primary">"Change password"</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
