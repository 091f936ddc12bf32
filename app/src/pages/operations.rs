use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::forms::{page_error, AccountBar};
use crate::{
    errors::AppError,
    server_fns::operations::{
        known, known_date, store_operations, OperationsPageView, KINDS, STATES,
    },
    urls::with_query,
};

/// `/dashboard/stores/{id}/operations`: every operation of the store, filtered by kind,
/// state and creation date (UTC), with a CSV download of the same selection.
#[component]
pub fn OperationsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let filters = move || {
        query.with(|q| {
            (
                known(&q.get("kind").unwrap_or_default(), &KINDS),
                known(&q.get("state").unwrap_or_default(), &STATES),
                known_date(&q.get("from").unwrap_or_default()),
                known_date(&q.get("to").unwrap_or_default()),
            )
        })
    };
    let data = Resource::new(
        move || {
            (
                params
                    .with(|p| p.get("id"))
                    .and_then(|id| id.parse::<i64>().ok()),
                filters(),
            )
        },
        |(store_id, (kind, state, from, to))| async move {
            match store_id {
                Some(id) => store_operations(id, kind, state, Some(from), Some(to)).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Operations · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let filters = filters();
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => operations_view(view, filters),
                }
            })}
        </Suspense>
    }
}

fn operations_view(
    data: OperationsPageView,
    (kind, state, from, to): (String, String, String, String),
) -> AnyView {
    let store_id = data.store.id;
    let base = format!("/dashboard/stores/{store_id}/operations");
    let mut csv = format!("{base}.csv");
    for (key, value) in [
        ("kind", &kind),
        ("state", &state),
        ("from", &from),
        ("to", &to),
    ] {
        csv = with_query(&csv, key, value);
    }
    let filtered = !kind.is_empty() || !state.is_empty() || !from.is_empty() || !to.is_empty();
    let required = data.required_confirmations;
    // n/N for operations under way; the block for confirmed ones.
    let progress = move |r: &crate::server_fns::operations::OperationRow| match (
        r.state.as_str(),
        r.confirmations,
    ) {
        ("broadcast", Some(n)) => format!(" ({n}/{required} confirmations)"),
        ("broadcast", None) => format!(" (waiting for {required} confirmations)"),
        (_, _) => r
            .height
            .map(|h| format!(" (block {h})"))
            .unwrap_or_default(),
    };
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p>
                <a href="/dashboard">"← Your stores"</a> " · "
                <a href=format!("/dashboard/stores/{store_id}/customers")>"Customers"</a> " · "
                <a href=format!("/dashboard/stores/{store_id}/points")>"Points"</a>
            </p>
            <h1>"Operations of " {data.store.name.clone()}</h1>
            <form method="get" action=base.clone() role="search">
                <label>"Kind"
                    <select name="kind">
                        <option value="" selected=kind.is_empty()>"Any kind"</option>
                        {KINDS.iter().map(|k| view! { <option value=*k selected=kind == *k>{*k}</option> }).collect_view()}
                    </select>
                </label>
                <label>"State"
                    <select name="state">
                        <option value="" selected=state.is_empty()>"Any state"</option>
                        {STATES.iter().map(|s| view! { <option value=*s selected=state == *s>{*s}</option> }).collect_view()}
                    </select>
                </label>
                <label>"From (UTC)" <input type="date" name="from" value=from/></label>
                <label>"To (UTC)" <input type="date" name="to" value=to/></label>
                <button type="submit">"Filter"</button>
            </form>
            <p><a href=csv download="operations.csv" rel="external">"Download as CSV"</a></p>
            {if data.rows.is_empty() {
                let text = if filtered { "No operation matches these filters." } else { "No operations yet." };
                view! { <p data-testid="no-operations">{text}</p> }.into_any()
            } else {
                view! {
                    <table class="operations">
                        <thead><tr><th>"#"</th><th>"Kind"</th><th>"Points"</th><th>"From"</th><th>"To"</th><th>"State"</th><th>"Transaction"</th><th>"Reason or error"</th></tr></thead>
                        <tbody>
                            {data.rows.into_iter().map(|r| view! {
                                <tr data-operation-id=r.id data-state=r.state.clone() data-kind=r.kind.clone()>
                                    <td>{r.id}</td>
                                    <td>{r.kind.clone()}</td>
                                    <td>{r.amount}</td>
                                    <td>{r.from.clone()}</td>
                                    <td>{r.to.clone()}</td>
                                    <td data-testid="operation-progress">{r.state.clone()} {progress(&r)}</td>
                                    <td>{r.txid.clone().map(|t| view! { <code>{t}</code> })}</td>
                                    <td>{r.reason.clone().or(r.error.clone()).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
