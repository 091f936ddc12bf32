use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, page_error, query_value, FormError};
use crate::{
    server_fns::staff::{invitation_offer, AcceptInvitation},
    urls::with_query,
};

/// `/invitations/accept?token=...`: the link from an invitation mail.
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let token = query_value("token");
    let offer = Resource::new(move || token.get().unwrap_or_default(), invitation_offer);
    let action = ServerAction::<AcceptInvitation>::new();
    let error = form_error(action);
    view! {
        <Title text="Invitation · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let token = token.get_untracked().unwrap_or_default();
                match offer.await {
                    Err(error) => page_error(error),
                    Ok(offer) => {
                        let here = with_query("/invitations/accept", "token", &token);
                        view! {
                            <section class="page narrow">
                                <h1>"Join " {offer.store_name.clone()}</h1>
                                <p>"You are invited as " <strong>{offer.role.as_str()}</strong> " (invitation for " {offer.email.clone()} ")."</p>
                                {match offer.signed_in_as {
                                    Some(_) => view! {
                                        <ActionForm action=action>
                                            <FormError error/>
                                            <input type="hidden" name="token" value=token.clone()/>
                                            <button type="submit" class="primary">"Accept the invitation"</button>
                                        </ActionForm>
                                    }.into_any(),
                                    None => view! {
                                        <p>
                                            <a class="button primary" href=with_query("/login", "next", &here)>"Log in to accept"</a>
                                            " · no account yet? "
                                            <a href="/signup">"Create one with " {offer.email.clone()}</a>
                                            ", confirm it, then open this link again."
                                        </p>
                                    }.into_any(),
                                }}
                            </section>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
