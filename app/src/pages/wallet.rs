//! `/wallet`: the customer's points wallet. Signed out, an e-mail field that sends a
//! sign-in link; signed in, balances across stores, the address with its QR code, a form to
//! send points and the history, which refreshes in place while something is on its way.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use super::forms::{form_error, query_value, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    server_fns::{
        wallet::{
            wallet_overview, RequestWalletLink, WalletOperation, WalletSignIn, WalletSignOut,
            WalletView,
        },
        wallet_avatar::{RegisterWalletAvatar, WalletAvatar},
    },
};

/// How often the wallet re-reads balances and history while an operation is on its way.
const POLL_EVERY: Duration = Duration::from_millis(1500);
/// An idle wallet (nothing pending) looks for incoming points every this many intervals.
const IDLE_EVERY_NTH: u32 = 4;

#[component]
pub fn WalletPage() -> impl IntoView {
    // The page (with the send form) loads once; balances and history (`live`) are re-read
    // while something is pending, so what is typed in the form survives the updates.
    // Both are read again after a form posts back here (`?sent_operation=`, `?avatar=`).
    let search = use_location().search;
    let data = Resource::new(move || search.get(), |_| wallet_overview());
    let tick = RwSignal::new(0u64);
    let live = Resource::new(move || (tick.get(), search.get()), |_| wallet_overview());
    // Points may also arrive from someone else at any time: an idle wallet looks again
    // every IDLE_EVERY_NTH interval, a busy one at every interval.
    let idle_rounds = std::rc::Rc::new(std::cell::Cell::new(0u32));
    super::refresh_while(tick, POLL_EVERY, move || {
        let signed_in = live.get_untracked().and_then(Result::ok).flatten();
        let waiting = signed_in.as_ref().is_some_and(|v| v.has_pending());
        idle_rounds.set(idle_rounds.get() + 1);
        let due = waiting || (signed_in.is_some() && idle_rounds.get() >= IDLE_EVERY_NTH);
        if due {
            idle_rounds.set(0);
        }
        due
    });
    view! {
        <Title text="Your points wallet · pointmint"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <section class="page narrow"><p role="alert">{error.to_string()}</p></section> }.into_any(),
                    Ok(None) => signed_out_view(),
                    Ok(Some(view)) => wallet_view(view, live),
                }
            })}
        </Transition>
    }
}

fn signed_out_view() -> AnyView {
    let action = ServerAction::<RequestWalletLink>::new();
    let error = form_error(action);
    view! {
        <section class="page narrow" data-testid="wallet-signed-out">
            <h1>"Your points wallet"</h1>
            <p>"Loyalty points from the stores you shop at, in one wallet that is really yours. Enter the e-mail address you gave the store; we mail you a link to sign in."</p>
            <Notice flag="sent">"Check your mail: if a wallet belongs to this address, a sign-in link is on its way. It is valid for 30 minutes."</Notice>
            <Notice flag="signed_out">"You have signed out of your wallet."</Notice>
            {move || (action.value().get().is_some_and(|r| r.is_ok())).then(|| view! {
                <p class="notice" role="status">"Check your mail: if a wallet belongs to this address, a sign-in link is on its way. It is valid for 30 minutes."</p>
            })}
            <ActionForm action=action>
                <FormError error/>
                <label>"E-mail address" <input type="email" name="email" autocomplete="email" required/></label>
                <FieldError error field="email"/>
                <button type="submit" class="primary">"Mail me a sign-in link"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

fn wallet_view(data: WalletView, live: Resource<Result<Option<WalletView>, AppError>>) -> AnyView {
    let sign_out = ServerAction::<WalletSignOut>::new();
    let sent = query_value("sent_operation");
    let sendable: Vec<_> = data
        .balances
        .iter()
        .filter(|b| b.available > 0)
        .map(|b| {
            (
                b.point_system_id,
                format!("{} ({}), {} available", b.symbol, b.store_name, b.available),
            )
        })
        .collect();
    view! {
        <nav class="account-bar" aria-label="Wallet">
            <span data-testid="wallet-signed-in-as">{data.email.clone()}</span>
            <ActionForm action=sign_out>
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </nav>
        <section class="page">
            <h1>"Your points wallet"</h1>
            {move || sent.get().map(|id| view! {
                <p class="notice" role="status" data-testid="sent-notice">"Your points are on their way (operation #" {id} "). The history below shows their progress."</p>
            })}
            <h2>"Balances"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(Some(data)) => balances_table(&data),
                        Ok(None) => view! { <p role="alert">"You have been signed out. " <a href="/wallet">"Sign in again"</a></p> }.into_any(),
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <h2>"Your address"</h2>
            <div class="wallet-address">
                <div class="qr" data-testid="address-qr" inner_html=data.address_qr_svg.clone()></div>
                <p>"Points sent to this MVS address arrive in your wallet:"</p>
                <p><code data-testid="wallet-address">{data.address.clone()}</code></p>
            </div>
            <h2>"Your avatar"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(Some(WalletView { avatar: Some(avatar), .. })) => avatar_state(avatar),
                        _ => ().into_any(),
                    }
                })}
            </Transition>
            {data.avatar.as_ref().is_none_or(|a| a.state == "failed").then(avatar_form)}
            <h2>"Send points"</h2>
            {if sendable.is_empty() {
                view! { <p data-testid="nothing-to-send">"You have no points to send yet."</p> }.into_any()
            } else {
                view! {
                    // Step one of two: a plain GET to the review page, with or without JavaScript.
                    <form method="get" action="/wallet/send" class="send-points">
                        <label>"Points"
                            <select name="point_system">
                                {sendable.into_iter().map(|(id, label)| view! { <option value=id>{label}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>"Amount" <input type="number" name="amount" min="1" required/></label>
                        <label>"To: an e-mail address, an avatar or an MVS address"
                            <input type="text" name="to" required autocomplete="off"/></label>
                        <p class="hint">"To move points to a wallet of your own (self-custody), enter its MVS address."</p>
                        <button type="submit" class="primary">"Review"</button>
                    </form>
                }.into_any()
            }}
            <h2>"History"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(Some(data)) => history_table(data.operations),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

fn avatar_state(avatar: WalletAvatar) -> AnyView {
    let text = match avatar.state.as_str() {
        "confirmed" => "registered on chain: others can send points to this name".to_owned(),
        "failed" => "the chain refused the registration; choose another name".to_owned(),
        "pending" => "waiting to be registered on chain".to_owned(),
        _ => "being registered on chain".to_owned(),
    };
    view! {
        <p data-testid="wallet-avatar" data-state=avatar.state.clone() aria-live="polite">
            <strong>{avatar.name}</strong> ": " {text}
        </p>
    }
    .into_any()
}

fn avatar_form() -> impl IntoView {
    let action = ServerAction::<RegisterWalletAvatar>::new();
    let error = form_error(action);
    view! {
        <ActionForm action=action>
            <p class="hint">"An avatar is a name on the MVS chain for your address, so people can send you points by name."</p>
            <FormError error/>
            <label>"Avatar name" <input type="text" name="avatar" minlength="3" maxlength="63" required autocomplete="off"/></label>
            <FieldError error field="avatar"/>
            <button type="submit">"Register avatar"</button>
        </ActionForm>
    }
}

fn balances_table(data: &WalletView) -> AnyView {
    if data.balances.is_empty() {
        return view! { <p data-testid="no-balances">"No points yet. Points a store awards you appear here."</p> }.into_any();
    }
    view! {
        <table class="balances" aria-live="polite">
            <thead><tr><th>"Store"</th><th>"Points"</th><th>"Available"</th><th>"On the way in"</th></tr></thead>
            <tbody>
                {data.balances.iter().map(|b| view! {
                    <tr data-symbol=b.symbol.clone()>
                        <td>{b.store_name.clone()}</td>
                        <td><a href=format!("/points/{}", b.symbol)>{b.symbol.clone()}</a></td>
                        <td data-testid="wallet-available">{b.available}</td>
                        <td data-testid="wallet-pending">{b.pending_in}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn history_table(operations: Vec<WalletOperation>) -> AnyView {
    if operations.is_empty() {
        return view! { <p data-testid="no-history">"Nothing has happened in this wallet yet."</p> }.into_any();
    }
    view! {
        <table class="operations" aria-live="polite">
            <thead><tr><th>"#"</th><th>"What"</th><th>"Points"</th><th>"With"</th><th>"Progress"</th><th>"Transaction"</th></tr></thead>
            <tbody>
                {operations.into_iter().map(|o| {
                    let text = o.op.progress_text();
                    let sign = if o.op.incoming { "+" } else { "−" };
                    view! {
                        <tr data-operation-id=o.op.id data-state=o.op.state.clone() data-kind=o.op.kind.clone()>
                            <td>{o.op.id}</td>
                            <td>{o.op.kind.clone()}</td>
                            <td>{sign} {o.op.amount} " " {o.symbol.clone()}</td>
                            <td><code>{o.counterparty.clone()}</code></td>
                            <td data-testid="operation-progress">{text}</td>
                            <td>{o.op.txid.clone().map(|t| view! { <code data-testid="operation-txid">{t}</code> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `/wallet/sign-in?token=...`: the link from the mail. Signing in is a button (a POST), so
/// mail scanners that fetch links cannot use up the single-use link.
#[component]
pub fn WalletSignInPage() -> impl IntoView {
    let action = ServerAction::<WalletSignIn>::new();
    let error = form_error(action);
    let token = query_value("token");
    view! {
        <Title text="Sign in to your wallet · pointmint"/>
        <section class="page narrow">
            <h1>"Sign in to your points wallet"</h1>
            <ActionForm action=action>
                <FormError error/>
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default()/>
                <button type="submit" class="primary">"Open my wallet"</button>
            </ActionForm>
            {move || error.get().is_some().then(|| view! { <p><a href="/wallet">"Ask for a new link"</a></p> })}
        </section>
    }
}
