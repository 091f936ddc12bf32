use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError};
use crate::{
    errors::AppError,
    models::Role,
    server_fns::customers::{
        customer_overview, list_customers, CreateCustomer, CustomerPageView, CustomersPageView,
        MovePoints, OperationView,
    },
};

/// How often a customer page re-reads operations that are still on their way.
const POLL_EVERY: Duration = Duration::from_millis(1000);

fn id_param(name: &'static str) -> impl Fn() -> Option<i64> + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || {
        params
            .with(|p| p.get(name))
            .and_then(|id| id.parse::<i64>().ok())
    }
}

/// `/dashboard/stores/{id}/customers`: search, pages and a form to add a customer.
#[component]
pub fn CustomersPage() -> impl IntoView {
    let store_id = id_param("id");
    let query = use_query_map();
    let create = ServerAction::<CreateCustomer>::new();
    let data = Resource::new(
        move || {
            let (q, page) = query.with(|q| {
                (
                    q.get("q").unwrap_or_default(),
                    q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
                )
            });
            (store_id(), q, page, create.version().get())
        },
        |(store_id, q, page, _)| async move {
            match store_id {
                Some(id) => list_customers(id, q, page).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Customers · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => customers_view(view, create, query.with_untracked(|q| q.get("q").unwrap_or_default())),
                }
            })}
        </Suspense>
    }
}

fn customers_view(
    data: CustomersPageView,
    create: ServerAction<CreateCustomer>,
    q: String,
) -> AnyView {
    let error = form_error(create);
    let store_id = data.store.id;
    let base = format!("/dashboard/stores/{store_id}/customers");
    let page_link = {
        let base = base.clone();
        let q = q.clone();
        move |page: i64| {
            crate::urls::with_query(
                &crate::urls::with_query(&base, "q", &q),
                "page",
                &page.to_string(),
            )
        }
    };
    let searched = !q.is_empty();
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p>
                <a href="/dashboard">"← Your stores"</a> " · "
                <a href=format!("/dashboard/stores/{store_id}/points")>"Points"</a> " · "
                <a href=format!("/dashboard/stores/{store_id}/operations")>"Operations"</a>
            </p>
            <h1>"Customers of " {data.store.name.clone()}</h1>
            <form method="get" action=base.clone() role="search">
                <label>"Search by id, e-mail or name" <input type="search" name="q" value=q.clone()/></label>
                <button type="submit">"Search"</button>
            </form>
            {if data.customers.is_empty() {
                let text = if searched { "No customer matches this search." } else { "No customers yet. Add the first one below." };
                view! { <p data-testid="no-customers">{text}</p> }.into_any()
            } else {
                view! {
                    <table class="customers">
                        <thead><tr><th>"Id in your shop"</th><th>"E-mail"</th><th>"Name"</th></tr></thead>
                        <tbody>
                            {data.customers.into_iter().map(|c| view! {
                                <tr data-customer=c.external_id.clone()>
                                    <td><a href=format!("/dashboard/stores/{store_id}/customers/{}", c.id)>{c.external_id.clone()}</a></td>
                                    <td>{c.email}</td>
                                    <td>{c.name.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <nav class="pager" aria-label="Pages">
                {(data.page > 1).then(|| view! { <a rel="prev" href=page_link(data.page - 1)>"← Previous"</a> })}
                " Page " {data.page} " "
                {data.has_next.then(|| view! { <a rel="next" href=page_link(data.page + 1)>"Next →"</a> })}
            </nav>
            <h2>"Add a customer"</h2>
            <ActionForm action=create>
                <FormError error/>
                <input type="hidden" name="store_id" value=store_id/>
                <label>"Customer id in your shop" <input type="text" name="external_id" maxlength="100" required/></label>
                <FieldError error field="external_id"/>
                <label>"Customer e-mail" <input type="email" name="email" required/></label>
                <FieldError error field="email"/>
                <label>"Customer name (optional)" <input type="text" name="name" maxlength="100"/></label>
                <FieldError error field="name"/>
                <button type="submit" class="primary">"Add customer"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// `/dashboard/stores/{id}/customers/{customer}`: balance, history and point movements whose
/// progress updates in place until they are confirmed or failed.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let store_id = id_param("id");
    let customer_id = id_param("customer");
    let award = ServerAction::<MovePoints>::new();
    let redeem = ServerAction::<MovePoints>::new();
    let adjust = ServerAction::<MovePoints>::new();
    let tick = RwSignal::new(0u64);
    // The page (forms included) loads once; balance and operations (`live`) are re-read
    // after every movement and while one is under way, without touching what is typed.
    // `?before=ID` pages back through the history (a plain link: works without JavaScript).
    let query = use_query_map();
    let before = move || {
        query
            .with(|q| q.get("before"))
            .and_then(|b| b.parse::<i64>().ok())
    };
    let data = Resource::new(
        move || (store_id(), customer_id(), before()),
        |(store_id, customer_id, before)| async move {
            match (store_id, customer_id) {
                (Some(s), Some(c)) => customer_overview(s, c, before).await,
                _ => Err(AppError::NotFound),
            }
        },
    );
    let live = Resource::new(
        move || {
            (
                store_id(),
                customer_id(),
                before(),
                award.version().get(),
                redeem.version().get(),
                adjust.version().get(),
                tick.get(),
            )
        },
        |(store_id, customer_id, before, ..)| async move {
            match (store_id, customer_id) {
                (Some(s), Some(c)) => customer_overview(s, c, before).await,
                _ => Err(AppError::NotFound),
            }
        },
    );
    super::refresh_while(tick, POLL_EVERY, move || {
        live.get_untracked()
            .and_then(Result::ok)
            .is_some_and(|v| v.operations.iter().any(|op| !op.is_final()))
    });
    view! {
        <Title text="Customer · pointmint"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => customer_view(view, award, redeem, adjust, live),
                }
            })}
        </Transition>
    }
}

pub(crate) fn state_text(op: &OperationView) -> String {
    match op.state.as_str() {
        "queued" => "Queued".to_owned(),
        "signed" => "Signed, about to be broadcast".to_owned(),
        "broadcast" => match (op.confirmations, op.height) {
            (Some(1), _) => "Broadcast, in a block: 1 confirmation so far".to_owned(),
            (Some(n), _) => format!("Broadcast, in a block: {n} confirmations so far"),
            (None, Some(h)) => format!("Broadcast, in block {h}, waiting for confirmations"),
            (None, None) => "Broadcast, waiting for a block".to_owned(),
        },
        "confirmed" => match op.height {
            Some(h) => format!("Confirmed in block {h}"),
            None => "Confirmed".to_owned(),
        },
        "failed" => format!(
            "Failed: {}",
            op.error
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned())
        ),
        other => other.to_owned(),
    }
}

/// An operation's progress with its confirmations as n/N, N being the store's policy.
fn progress_text(op: &OperationView, required: u64) -> String {
    match (op.state.as_str(), op.confirmations, op.height) {
        ("broadcast", Some(n), _) => format!("Broadcast, in a block: {n}/{required} confirmations"),
        ("broadcast", None, Some(h)) => {
            format!("Broadcast, in block {h}: waiting for {required} confirmations")
        }
        ("broadcast", None, None) => {
            format!("Broadcast, waiting for a block: 0/{required} confirmations")
        }
        _ => state_text(op),
    }
}

fn customer_view(
    data: CustomerPageView,
    award: ServerAction<MovePoints>,
    redeem: ServerAction<MovePoints>,
    adjust: ServerAction<MovePoints>,
    live: Resource<Result<CustomerPageView, AppError>>,
) -> AnyView {
    let store_id = data.store.id;
    let customer_id = data.customer.id;
    let role = data.store.role;
    let confirmed_ps = data.point_system.as_ref().is_some_and(|p| p.is_confirmed());
    let earn_rate = data.earn_rate.clone();
    let request_id = data.request_id.clone();
    let symbol = data
        .point_system
        .as_ref()
        .map(|p| p.symbol.clone())
        .unwrap_or_default();
    let title = data
        .customer
        .name
        .clone()
        .unwrap_or_else(|| data.customer.external_id.clone());
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href=format!("/dashboard/stores/{store_id}/customers")>"← Customers of " {data.store.name.clone()}</a></p>
            <h1>{title}</h1>
            <p>"Id in your shop: " {data.customer.external_id.clone()} " · " {data.customer.email.clone()}</p>
            <p>"Address: " <code>{data.address.clone()}</code></p>
            <h2>"Balance"</h2>
            <Transition fallback=|| ()>
                {move || {
                    let symbol = symbol.clone();
                    Suspend::new(async move {
                        match live.await {
                            Ok(data) => view! {
                                <dl class="balance" aria-live="polite">
                                    <dt>"Available"</dt><dd data-testid="balance-available">{data.available} " " {symbol}</dd>
                                    <dt>"Confirmed on chain"</dt><dd data-testid="balance-confirmed">{data.confirmed}</dd>
                                    <dt>"On the way in"</dt><dd data-testid="balance-pending">{data.pending_in}</dd>
                                </dl>
                            }
                            .into_any(),
                            Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
            {if !confirmed_ps {
                view! {
                    <p data-testid="not-ready">"Points can be awarded once the store's point system is confirmed on chain. "
                        <a href=format!("/dashboard/stores/{store_id}/points")>"See the point system"</a></p>
                }.into_any()
            } else {
                view! {
                    {move_form(award, store_id, customer_id, request_id.clone(), "award", "Award points", false, Some(earn_rate.clone()))}
                    {(role >= Role::Manager).then(|| move_form(redeem, store_id, customer_id, request_id.clone(), "redeem", "Redeem points", false, None))}
                    {(role >= Role::Manager).then(|| move_form(adjust, store_id, customer_id, request_id.clone(), "adjust", "Adjust points", true, None))}
                    {(role < Role::Manager).then(|| view! { <p class="hint">"Redeeming and adjusting need a manager or owner."</p> })}
                }.into_any()
            }}
            <h2>"Operations"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(data) => operations_table(data),
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

fn operations_table(data: CustomerPageView) -> AnyView {
    let required = data.required_confirmations;
    let operations = data.operations;
    let here = format!(
        "/dashboard/stores/{}/customers/{}",
        data.store.id, data.customer.id
    );
    let pages = view! {
        <nav class="pages" aria-label="Operation history pages">
            {data.before.is_some().then(|| view! { <a href=here.clone() data-testid="history-newest">"← Newest operations"</a> " " })}
            {data.older.map(|id| view! { <a rel="next" href=format!("{here}?before={id}") data-testid="history-older">"Older operations →"</a> })}
        </nav>
    };
    view! {
            {if operations.is_empty() {
                view! { <p data-testid="no-operations">"No operations yet."</p> }.into_any()
            } else {
                view! {
                    <table class="operations" aria-live="polite">
                        <thead><tr><th>"#"</th><th>"Kind"</th><th>"Points"</th><th>"Progress"</th><th>"Transaction"</th></tr></thead>
                        <tbody>
                            {operations.into_iter().map(|op| {
                                let text = progress_text(&op, required);
                                let sign = if op.incoming { "+" } else { "−" };
                                view! {
                                    <tr data-operation-id=op.id data-state=op.state.clone()>
                                        <td>{op.id}</td>
                                        <td>{op.kind.clone()} {op.reason.clone().map(|r| format!(" ({r})"))}</td>
                                        <td>{sign} {op.amount}</td>
                                        <td data-testid="operation-progress">{text}</td>
                                        <td>{op.txid.clone().map(|t| view! { <code data-testid="operation-txid">{t}</code> })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {pages}
    }
    .into_any()
}

fn move_form(
    action: ServerAction<MovePoints>,
    store_id: i64,
    customer_id: i64,
    // Made when the page was rendered; with the action's version added, a double submit
    // carries the same id (moved once) and the next completed submission a new one.
    request_id: String,
    kind: &'static str,
    title: &'static str,
    adjust: bool,
    // For awards: the store's earn rate, offered as "order total -> points".
    earn_rate: Option<String>,
) -> impl IntoView {
    let error = form_error(action);
    // After a post without JavaScript, `?form=` names the form that `?error=` belongs to.
    let posted = super::forms::query_value("form");
    let error = Signal::derive(move || {
        if action.value().with(Option::is_some) || posted.get().as_deref() == Some(kind) {
            error.get()
        } else {
            None
        }
    });
    let amount_id = format!("{kind}-amount");
    view! {
        <section class="move-points" data-form=kind>
            <h2>{title}</h2>
            <ActionForm action>
                <FormError error/>
                <input type="hidden" name="store_id" value=store_id/>
                <input type="hidden" name="customer_id" value=customer_id/>
                <input type="hidden" name="kind" value=kind/>
                <input type="hidden" name="request_id"
                    value=move || format!("{request_id}-{kind}-{}", action.version().get())/>
                {adjust.then(|| view! {
                    <label>"Direction"
                        <select name="direction">
                            <option value="credit">"Give points to the customer"</option>
                            <option value="debit">"Take points from the customer"</option>
                        </select>
                    </label>
                })}
                <label for=amount_id.clone()>{format!("Points to {kind}")}</label>
                <input id=amount_id type="number" name="amount" min="1" required=earn_rate.is_none()/>
                <FieldError error field="amount"/>
                {earn_rate.map(|rate| {
                    let total_id = format!("{kind}-order-total");
                    view! {
                        <label for=total_id.clone()>"Or the order total"</label>
                        <input id=total_id.clone() type="text" inputmode="decimal" name="order_total" placeholder="12.50"
                            aria-describedby=format!("{total_id}-hint")/>
                        <p class="hint" id=format!("{total_id}-hint") data-testid="earn-rate">
                            {format!("With points left empty, the order total earns {rate} points per currency unit (rounded down).")}
                        </p>
                        <FieldError error field="order_total"/>
                    }
                })}
                {adjust.then(|| view! {
                    <label>"Reason" <input type="text" name="reason" maxlength="500" required/></label>
                    <FieldError error field="reason"/>
                })}
                <button type="submit" class="primary">{title}</button>
            </ActionForm>
        </section>
    }
}
