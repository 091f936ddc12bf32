//! `/points/{SYMBOL}`: a point system's public page (no sign-in) with a verify box that
//! puts the ledger's record of a transaction next to what the chain says.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    errors::AppError,
    server_fns::public_points::{
        public_points, verify, PublicOperation, PublicPointsView, VerifyView,
    },
};

#[component]
pub fn PublicPointsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let symbol = move || params.with(|p| p.get("symbol").unwrap_or_default());
    let data = Resource::new(symbol, public_points);
    let checked = Resource::new(
        move || {
            (
                symbol(),
                query.with(|q| q.get("verify").unwrap_or_default()),
            )
        },
        |(symbol, q)| async move {
            if q.trim().is_empty() {
                Ok(None)
            } else {
                verify(symbol, q).await.map(Some)
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => points_view(view, checked).into_any(),
                    Err(error) => {
                        #[cfg(feature = "ssr")]
                        crate::server_fns::respond::page_status(&error);
                        let title = if error == AppError::NotFound { "No such points" } else { "This page cannot be shown" };
                        view! {
                            <Title text="Not found · pointmint"/>
                            <section class="page narrow" data-testid="points-not-found">
                                <h1>{title}</h1>
                                <p role="alert">{if error == AppError::NotFound { "No point system has this symbol here.".to_owned() } else { error.to_string() }}</p>
                                <p><a href="/">"pointmint home"</a></p>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn ops_table(ops: Vec<PublicOperation>) -> AnyView {
    view! {
        <table class="operations">
            <thead><tr><th>"#"</th><th>"Kind"</th><th>"Points"</th><th>"State"</th><th>"Block"</th><th>"Transaction"</th></tr></thead>
            <tbody>
                {ops.into_iter().map(|o| view! {
                    <tr data-operation-id=o.id data-state=o.state.clone()>
                        <td>{o.id}</td><td>{o.kind}</td><td>{o.amount}</td><td>{o.state.clone()}</td>
                        <td>{o.height.map(|h| h.to_string()).unwrap_or_default()}</td>
                        <td>{o.txid.map(|t| view! { <code>{t}</code> })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn points_view(
    data: PublicPointsView,
    checked: Resource<Result<Option<VerifyView>, AppError>>,
) -> impl IntoView {
    let action = format!("/points/{}", data.symbol);
    let recent = data.recent.clone();
    view! {
        <Title text=format!("{} · pointmint", data.symbol)/>
        <section class="page" data-testid="public-points">
            <h1>{data.name.clone()} " (" <span data-testid="points-symbol">{data.symbol.clone()}</span> ")"</h1>
            <p>{data.description.clone()}</p>
            <dl class="facts">
                <dt>"Store"</dt><dd>{data.store_name.clone()}</dd>
                <dt>"Issuer avatar"</dt><dd data-testid="issuer-avatar">{data.issuer_avatar.clone()}</dd>
                <dt>"Status"</dt><dd>{data.status.clone()}</dd>
                <dt>"Issue transaction"</dt><dd>{data.issue_txid.clone().map(|t| view! { <code>{t}</code> })}</dd>
                <dt>"Treasury address"</dt><dd><code>{data.treasury_address.clone()}</code></dd>
                <dt>"Supply issued"</dt><dd data-testid="supply-issued">{data.issued}</dd>
                <dt>"Outstanding (out of the treasury)"</dt><dd data-testid="supply-outstanding">{data.outstanding}</dd>
                <dt>"Holders"</dt><dd data-testid="holders">{data.holders}</dd>
            </dl>
            <h2>"Verify a transaction"</h2>
            <form method="get" action=action role="search">
                <label>"Transaction id or operation number" <input type="text" name="verify" required/></label>
                <button type="submit">"Verify"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match checked.await {
                        Ok(Some(v)) => verify_view(v),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <h2>"Recent transactions"</h2>
            {if recent.is_empty() { view! { <p>"None yet."</p> }.into_any() } else { ops_table(recent) }}
        </section>
    }
}

fn verify_view(v: VerifyView) -> AnyView {
    let chain = match v.chain {
        None => view! { <p data-testid="chain-says">"No transaction to look up on the chain (the operation has none yet, or nothing matched)."</p> }.into_any(),
        Some(c) if c.unavailable => view! { <p data-testid="chain-says">"The chain node did not answer; try again in a moment."</p> }.into_any(),
        Some(c) if !c.found => view! { <p data-testid="chain-says" data-found="false">"The chain does not know this transaction."</p> }.into_any(),
        Some(c) => view! {
            <div data-testid="chain-says" data-found="true">
                <p>{match (c.height, c.confirmations) {
                    (Some(h), Some(n)) => format!("Found in block {h}, {n} confirmations."),
                    _ => "Found, not in a block yet.".to_owned(),
                }}</p>
                <ul>
                    {c.outputs.into_iter().map(|o| view! { <li><code>{o.address}</code> " receives " {o.quantity}</li> }).collect_view()}
                </ul>
            </div>
        }.into_any(),
    };
    view! {
        <div class="verify" data-testid="verify-result">
            <h3>"What the ledger says"</h3>
            {if v.ledger.is_empty() {
                view! { <p data-testid="ledger-says">"No operation of these points matches " <code>{v.query.clone()}</code> "."</p> }.into_any()
            } else {
                view! { <div data-testid="ledger-says">{ops_table(v.ledger)}</div> }.into_any()
            }}
            <h3>"What the chain says"</h3>
            {v.txid.map(|t| view! { <p>"Transaction " <code>{t}</code></p> })}
            {chain}
        </div>
    }
    .into_any()
}
