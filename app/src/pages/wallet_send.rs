//! `/wallet/send?point_system=&to=&amount=`: the review step of sending points. Shows what
//! will happen and asks to confirm; a problem is shown next to the field, with the form to
//! correct it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::forms::{form_error, FieldError, FormError};
use crate::{
    errors::AppError,
    server_fns::wallet_send::{preview_send, SendPoints, SendPreview},
};

#[component]
pub fn WalletSendPage() -> impl IntoView {
    let query = use_query_map();
    let fields = move || {
        query.with(|q| {
            (
                q.get("point_system").unwrap_or_default(),
                q.get("to").unwrap_or_default(),
                q.get("amount").unwrap_or_default(),
            )
        })
    };
    let preview = Resource::new(fields, |(ps, to, amount)| preview_send(ps, to, amount));
    view! {
        <Title text="Send points · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (ps, to, amount) = fields();
                match preview.await {
                    Ok(preview) => confirm_view(preview).into_any(),
                    Err(AppError::NotSignedIn) => view! {
                        <section class="page narrow">
                            <p role="alert">"Sign in to your wallet first. " <a href="/wallet">"Go to the wallet"</a></p>
                        </section>
                    }.into_any(),
                    Err(error) => correct_view(error, ps, to, amount).into_any(),
                }
            })}
        </Suspense>
    }
}

fn confirm_view(preview: SendPreview) -> impl IntoView {
    let action = ServerAction::<SendPoints>::new();
    let error = form_error(action);
    view! {
        <section class="page narrow" data-testid="send-review">
            <p><a href="/wallet">"← Your wallet"</a></p>
            <h1>"Check and confirm"</h1>
            <dl class="review">
                <dt>"Points"</dt><dd data-testid="review-amount">{preview.amount} " " {preview.symbol.clone()} " of " {preview.store_name.clone()}</dd>
                <dt>"To"</dt><dd data-testid="review-recipient">{preview.recipient.clone()}</dd>
                {preview.to_address.clone().map(|address| view! { <dt>"Address"</dt><dd><code data-testid="review-address">{address}</code></dd> })}
                <dt>"Available now"</dt><dd>{preview.available}</dd>
            </dl>
            <p class="hint">"Sent points cannot be called back."</p>
            <ActionForm action=action>
                <FormError error/>
                <FieldError error field="amount"/>
                <FieldError error field="to"/>
                <input type="hidden" name="point_system" value=preview.point_system_id/>
                <input type="hidden" name="to" value=preview.to.clone()/>
                <input type="hidden" name="amount" value=preview.amount/>
                <input type="hidden" name="request_id" value=preview.request_id.clone()/>
                <button type="submit" class="primary">"Send " {preview.amount} " " {preview.symbol.clone()}</button>
            </ActionForm>
        </section>
    }
}

fn correct_view(
    error: AppError,
    point_system: String,
    to: String,
    amount: String,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server_fns::respond::page_status(&error);
    let error = Signal::derive(move || Some(error.clone()));
    view! {
        <section class="page narrow" data-testid="send-refused">
            <p><a href="/wallet">"← Your wallet"</a></p>
            <h1>"Send points"</h1>
            <form method="get" action="/wallet/send">
                <FormError error/>
                <input type="hidden" name="point_system" value=point_system/>
                <label>"Amount" <input type="number" name="amount" min="1" value=amount required/></label>
                <FieldError error field="amount"/>
                <label>"To: an e-mail address, an avatar or an MVS address"
                    <input type="text" name="to" value=to required autocomplete="off"/></label>
                <FieldError error field="to"/>
                <button type="submit" class="primary">"Review"</button>
            </form>
        </section>
    }
}
