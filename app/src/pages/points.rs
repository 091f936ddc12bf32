use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    models::Role,
    server_fns::{
        points::{
            check_symbol, points_overview, PointSystemView, PointsPageView, RegisterPointSystem,
        },
        secondary_issue::IssueMorePoints,
    },
};

/// How often the page asks for the point system's status while it is not yet confirmed.
const POLL_EVERY: Duration = Duration::from_millis(1000);

/// `/dashboard/stores/{id}/points`: register the store's point system, then follow its issue
/// transaction to confirmation (re-fetched in the browser; no reload).
#[component]
pub fn PointsPage() -> impl IntoView {
    let params = use_params_map();
    let store_id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
    };
    let register = ServerAction::<RegisterPointSystem>::new();
    // Created here so the page data (with a fresh request id for the form) reloads after an issue.
    let issue = ServerAction::<IssueMorePoints>::new();
    let tick = RwSignal::new(0u64);
    let data = Resource::new(
        move || {
            (
                store_id(),
                register.version().get(),
                issue.version().get(),
                tick.get(),
            )
        },
        |(store_id, ..)| async move {
            match store_id {
                Some(id) => points_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    // Re-read while the issue is under way.
    super::refresh_while(tick, POLL_EVERY, move || {
        data.get_untracked()
            .and_then(Result::ok)
            .and_then(|view| view.point_system)
            .is_some_and(|p| !p.is_confirmed())
    });
    view! {
        <Title text="Points · pointmint"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => points_view(view, register, issue),
                }
            })}
        </Transition>
    }
}

fn points_view(
    data: PointsPageView,
    register: ServerAction<RegisterPointSystem>,
    issue: ServerAction<IssueMorePoints>,
) -> AnyView {
    let request_id = data.issue_request_id.clone();
    let store_id = data.store.id;
    let role = data.store.role;
    let (depth, required) = (data.issue_confirmations, data.required_confirmations);
    // Managers and owners may issue more once the point system is on chain.
    let issue_more = data
        .point_system
        .as_ref()
        .filter(|p| p.is_confirmed() && role >= Role::Manager)
        .map(|p| p.secondary_issue);
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href="/dashboard">"← Your stores"</a> " · " <a href=format!("/dashboard/stores/{store_id}/customers")>"Customers"</a></p>
            <h1>"Points of " {data.store.name.clone()}</h1>
            <Notice flag="registered">"Point system registered. It is being issued on the chain now."</Notice>
            {match data.point_system {
                Some(point_system) => status_view(point_system, depth, required).into_any(),
                None if role >= Role::Manager => register_form(store_id, register).into_any(),
                None => view! {
                    <p data-testid="no-point-system">"This store has no point system yet. A manager or owner can register one."</p>
                }
                .into_any(),
            }}
            {issue_more.map(|threshold| view! { <super::secondary_issue::SecondaryIssueForm store_id threshold action=issue request_id/> })}
        </section>
    }
    .into_any()
}

fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "Queued: waiting to be sent to the chain",
        "broadcast" => "Broadcast: waiting for confirmations",
        "confirmed" => "Confirmed on chain",
        _ => "Unknown",
    }
}

fn secondary_issue_label(threshold: u8) -> String {
    match threshold {
        0 => "never".to_owned(),
        127 => "any time (free)".to_owned(),
        n => format!("when the issuer holds at least {n}% of the supply"),
    }
}

fn status_view(p: PointSystemView, depth: Option<u64>, required: u64) -> impl IntoView {
    let status = p.status.clone();
    // n/N while the issue is in a block but not yet deep enough.
    let progress = (status == "broadcast").then(|| match depth {
        Some(n) => format!("{n}/{required} confirmations"),
        None => format!("0/{required} confirmations"),
    });
    view! {
        <h2>{p.name.clone()} " (" <span data-testid="point-symbol">{p.symbol.clone()}</span> ")"</h2>
        <section class="point-system-status" aria-live="polite" data-testid="point-system-status" data-status=status.clone()>
            <p>"Status: " <strong data-testid="point-system-state">{status_label(&status)}</strong>
                {progress.map(|text| view! { " " <span data-testid="issue-confirmations">{text}</span> })}</p>
            {(!p.is_confirmed()).then(|| view! { <p class="hint">"This page updates by itself until the issue is confirmed."</p> })}
            {p.issue_txid.clone().map(|txid| view! { <p>"Issue transaction: " <code data-testid="issue-txid">{txid}</code></p> })}
        </section>
        <dl class="point-system">
            <dt>"Description"</dt><dd>{if p.description.is_empty() { "—".to_owned() } else { p.description.clone() }}</dd>
            <dt>"Decimals"</dt><dd>{p.decimals}</dd>
            <dt>"Maximum supply"</dt><dd data-testid="max-supply">{p.max_supply}</dd>
            <dt>"Secondary issue"</dt><dd>{secondary_issue_label(p.secondary_issue)}</dd>
            <dt>"Issuer avatar"</dt><dd>{p.issuer_avatar.clone()}</dd>
            <dt>"Treasury address"</dt><dd><code>{p.treasury_address.clone()}</code></dd>
        </dl>
    }
}

fn register_form(store_id: i64, register: ServerAction<RegisterPointSystem>) -> impl IntoView {
    let error = form_error(register);
    // Live check of the symbol while it is typed (MVS rules, then whether it is taken).
    // Each keystroke asks the server and the answers can arrive in any order: an answer is
    // kept only if the field still holds the text it was asked about, so neither an older
    // answer (a valid prefix hiding the error of the whole symbol) nor a missing one can
    // stand for what is typed. A submission's own answer replaces the live one.
    let typed = StoredValue::new(String::new());
    let live = RwSignal::new(None);
    Effect::new(move |_| {
        register.version().track();
        live.set(None);
    });
    let on_input = move |ev| {
        let symbol = event_target_value(&ev);
        typed.set_value(symbol.clone());
        leptos::task::spawn_local(async move {
            let verdict = if symbol.is_empty() {
                None
            } else {
                check_symbol(store_id, symbol.clone()).await.ok().flatten()
            };
            if typed.with_value(|now| *now == symbol) {
                live.set(Some(verdict));
            }
        });
    };
    let symbol_error = Signal::derive(move || live.get().unwrap_or_else(|| error.get()));
    view! {
        <p data-testid="no-point-system">"This store has no point system yet. Register its points as an MST token on the MVS chain."</p>
        <h2>"Register the point system"</h2>
        <ActionForm action=register>
            <FormError error/>
            <input type="hidden" name="store_id" value=store_id/>
            <label>"Symbol (3 to 63 capital letters, digits and dots, e.g. SHOP.POINTS)"
                <input type="text" name="symbol" maxlength="63" required autocomplete="off"
                    on:input=on_input/>
            </label>
            <FieldError error=symbol_error field="symbol"/>
            <label>"Name" <input type="text" name="name" maxlength="80" required/></label>
            <FieldError error field="name"/>
            <label>"Description (optional)" <textarea name="description" maxlength="500" rows="2"></textarea></label>
            <FieldError error field="description"/>
            <label>"Decimals" <input type="number" name="decimals" min="0" max="19" value="0" required/></label>
            <FieldError error field="decimals"/>
            <label>"Maximum supply (in the smallest unit)" <input type="number" name="max_supply" min="1" value="1000000000" required/></label>
            <FieldError error field="max_supply"/>
            <label>"Secondary issue"
                <select name="secondary_issue">
                    <option value="0" selected>"Never: the supply is fixed"</option>
                    <option value="51">"When the issuer holds at least 51% of the supply"</option>
                    <option value="127">"Any time (free)"</option>
                </select>
            </label>
            <FieldError error field="secondary_issue"/>
            <label>"Issuer avatar (3 to 63 letters, digits, dots, dashes, underscores or @)"
                <input type="text" name="issuer_avatar" maxlength="63" required autocomplete="off"/>
            </label>
            <FieldError error field="issuer_avatar"/>
            <button type="submit" class="primary">"Register point system"</button>
        </ActionForm>
    }
}
