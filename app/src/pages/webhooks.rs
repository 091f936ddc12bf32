use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{
    form_error, page_error, query_value, AccountBar, FieldError, FormError, Notice,
};
use crate::{
    errors::AppError,
    server_fns::webhooks::{
        webhook_endpoint_detail, webhooks_overview, CreateWebhookEndpoint, DeleteWebhookEndpoint,
        DeliveryRow, EndpointDetailView, EndpointRow, RedeliverWebhook, SendWebhookTest,
        SetWebhookEnabled, WebhooksView, EVENT_TYPES,
    },
};

fn param(name: &'static str) -> impl Fn() -> Option<i64> + Copy {
    let params = use_params_map();
    move || {
        params
            .with(|p| p.get(name))
            .and_then(|v| v.parse::<i64>().ok())
    }
}

/// `/dashboard/stores/{id}/webhooks`: the store's webhook endpoints (managers and owners).
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let store_id = param("id");
    let create = ServerAction::<CreateWebhookEndpoint>::new();
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let delete = ServerAction::<DeleteWebhookEndpoint>::new();
    let data = Resource::new(
        move || {
            (
                store_id(),
                create.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |(store_id, ..)| async move {
            match store_id {
                Some(id) => webhooks_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Webhooks · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => endpoints_view(view, create, toggle, delete),
                }
            })}
        </Suspense>
    }
}

fn endpoints_view(
    data: WebhooksView,
    create: ServerAction<CreateWebhookEndpoint>,
    toggle: ServerAction<SetWebhookEnabled>,
    delete: ServerAction<DeleteWebhookEndpoint>,
) -> AnyView {
    let create_error = form_error(create);
    let toggle_error = form_error(toggle);
    let delete_error = form_error(delete);
    let store_id = data.store.id;
    // `?delete=ID` is the confirmation step (a link, so it works without JavaScript).
    let confirming = query_value("delete");
    let endpoints = data.endpoints;
    let confirm_row = Signal::derive({
        let endpoints = endpoints.clone();
        move || {
            let id = confirming.get()?.parse::<i64>().ok()?;
            endpoints.iter().find(|e| e.id == id).cloned()
        }
    });
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href="/dashboard">"← Your stores"</a></p>
            <h1>"Webhooks of " {data.store.name.clone()}</h1>
            <p class="hint">
                "pointmint sends signed events (Standard Webhooks) to these URLs. "
                "Only managers and owners see and manage endpoints."
            </p>
            <Notice flag="enabled">"Endpoint enabled."</Notice>
            <Notice flag="disabled">"Endpoint disabled; its undelivered messages were dropped."</Notice>
            <Notice flag="deleted">"Endpoint deleted."</Notice>
            {data.fresh.map(|fresh| view! {
                <div class="notice fresh-secret" role="status" data-testid="new-webhook-secret">
                    <p><strong>"The endpoint's signing secret — copy it now. It is shown only this once."</strong></p>
                    <p><code data-testid="new-webhook-secret-value" data-endpoint-id=fresh.endpoint_id>{fresh.secret}</code></p>
                </div>
            })}
            <FormError error=toggle_error/>
            <FormError error=delete_error/>
            {move || confirm_row.get().map(|endpoint| view! {
                <div class="confirm" role="alertdialog" data-testid="confirm-delete">
                    <p>"Delete the endpoint " <code>{endpoint.url.clone()}</code> "? Nothing more will be sent to it. This cannot be undone."</p>
                    <ActionForm action=delete>
                        <input type="hidden" name="store_id" value=store_id/>
                        <input type="hidden" name="endpoint_id" value=endpoint.id/>
                        <button type="submit" class="danger">"Yes, delete this endpoint"</button>
                        " "
                        <a href=format!("/dashboard/stores/{store_id}/webhooks")>"Cancel"</a>
                    </ActionForm>
                </div>
            })}
            {if endpoints.is_empty() {
                view! { <p data-testid="no-webhooks">"No webhook endpoints yet."</p> }.into_any()
            } else {
                view! {
                    <table class="webhooks">
                        <thead><tr><th>"URL"</th><th>"Events"</th><th>"State"</th><th></th></tr></thead>
                        <tbody>{endpoints.into_iter().map(|e| endpoint_row(e, store_id, toggle)).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Add an endpoint"</h2>
            <ActionForm action=create>
                <FormError error=create_error/>
                <input type="hidden" name="store_id" value=store_id/>
                <label>"URL" <input type="url" name="url" maxlength="2048" required placeholder="https://shop.example.com/hooks/points"/></label>
                <FieldError error=create_error field="url"/>
                <label>"Description (optional)" <input type="text" name="description" maxlength="200"/></label>
                <FieldError error=create_error field="description"/>
                <fieldset>
                    <legend>"Events (none ticked: every event)"</legend>
                    {EVENT_TYPES.into_iter().map(|name| view! {
                        <label class="checkbox">
                            <input type="checkbox" name="event_types[]" value=name/>
                            " " {name}
                        </label>
                    }).collect_view()}
                </fieldset>
                <FieldError error=create_error field="event_types"/>
                <button type="submit" class="primary">"Add endpoint"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

fn events_label(types: &[String]) -> String {
    if types.is_empty() {
        "all events".to_owned()
    } else {
        types.join(", ")
    }
}

fn endpoint_row(
    endpoint: EndpointRow,
    store_id: i64,
    toggle: ServerAction<SetWebhookEnabled>,
) -> impl IntoView {
    let enabled = endpoint.enabled;
    let state = match (&endpoint.disabled_reason, enabled) {
        (_, true) => "enabled".to_owned(),
        (Some(reason), false) => format!("disabled ({reason})"),
        (None, false) => "disabled".to_owned(),
    };
    view! {
        <tr data-webhook=endpoint.id>
            <td>
                <a href=format!("/dashboard/stores/{store_id}/webhooks/{}", endpoint.id)>{endpoint.url.clone()}</a>
                {(!endpoint.description.is_empty()).then(|| view! { <br/><span class="hint">{endpoint.description.clone()}</span> })}
            </td>
            <td>{events_label(&endpoint.event_types)}</td>
            <td data-testid="webhook-state">{state}</td>
            <td>
                <ActionForm action=toggle>
                    <input type="hidden" name="store_id" value=store_id/>
                    <input type="hidden" name="endpoint_id" value=endpoint.id/>
                    <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                    <button type="submit">{if enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                <a href=format!("/dashboard/stores/{store_id}/webhooks?delete={}", endpoint.id)>"Delete…"</a>
            </td>
        </tr>
    }
}

/// `/dashboard/stores/{id}/webhooks/{endpoint}`: one endpoint's delivery log, with
/// redeliver and "send test event".
#[component]
pub fn WebhookEndpointPage() -> impl IntoView {
    let store_id = param("id");
    let endpoint_id = param("endpoint");
    let before = query_value("before");
    let test = ServerAction::<SendWebhookTest>::new();
    let redeliver = ServerAction::<RedeliverWebhook>::new();
    let data = Resource::new(
        move || {
            (
                store_id(),
                endpoint_id(),
                before.get().and_then(|b| b.parse::<i64>().ok()),
                test.version().get(),
                redeliver.version().get(),
            )
        },
        |(store_id, endpoint_id, before, ..)| async move {
            match (store_id, endpoint_id) {
                (Some(store), Some(endpoint)) => {
                    webhook_endpoint_detail(store, endpoint, before).await
                }
                _ => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Webhook deliveries · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => detail_view(view, test, redeliver),
                }
            })}
        </Suspense>
    }
}

fn detail_view(
    data: EndpointDetailView,
    test: ServerAction<SendWebhookTest>,
    redeliver: ServerAction<RedeliverWebhook>,
) -> AnyView {
    let test_error = form_error(test);
    let redeliver_error = form_error(redeliver);
    let store_id = data.store.id;
    let endpoint = data.endpoint;
    let endpoint_id = endpoint.id;
    let base = format!("/dashboard/stores/{store_id}/webhooks/{endpoint_id}");
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href=format!("/dashboard/stores/{store_id}/webhooks")>"← Webhooks of " {data.store.name.clone()}</a></p>
            <h1>"Deliveries to " <code data-testid="endpoint-url">{endpoint.url.clone()}</code></h1>
            <p>"Events: " {events_label(&endpoint.event_types)} " · "
               {if endpoint.enabled { "enabled".to_owned() } else { format!("disabled{}", endpoint.disabled_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()) }}</p>
            <Notice flag="test_sent">"Test event queued; it appears below and is sent within seconds."</Notice>
            <Notice flag="redelivered">"Queued again with the same webhook-id."</Notice>
            <ActionForm action=test>
                <FormError error=test_error/>
                <input type="hidden" name="store_id" value=store_id/>
                <input type="hidden" name="endpoint_id" value=endpoint_id/>
                <button type="submit" class="primary">"Send test event"</button>
            </ActionForm>
            <FormError error=redeliver_error/>
            <p><a href=base.clone()>"Refresh"</a></p>
            {if data.deliveries.is_empty() {
                view! { <p data-testid="no-deliveries">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <table class="deliveries">
                        <thead><tr>
                            <th>"Event"</th><th>"webhook-id"</th><th>"Status"</th><th>"Response"</th>
                            <th>"Attempts"</th><th>"Next attempt"</th><th>"Last attempt"</th><th>"Queued"</th><th></th>
                        </tr></thead>
                        <tbody>{data.deliveries.into_iter().map(|d| delivery_row(d, store_id, endpoint_id, redeliver)).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            <p class="paging">
                {query_value("before").get_untracked().is_some().then(|| view! { <a href=base.clone()>"Newest"</a> " " })}
                {data.older.map(|cursor| view! { <a href=format!("{base}?before={cursor}") data-testid="older-deliveries">"Older deliveries →"</a> })}
            </p>
        </section>
    }
    .into_any()
}

fn delivery_row(
    delivery: DeliveryRow,
    store_id: i64,
    endpoint_id: i64,
    redeliver: ServerAction<RedeliverWebhook>,
) -> impl IntoView {
    view! {
        <tr data-delivery=delivery.id data-status=delivery.status.clone()>
            <td>{delivery.event_type.clone()}</td>
            <td><code data-testid="webhook-id">{delivery.msg_id.clone()}</code></td>
            <td data-testid="delivery-status">{delivery.status.clone()}</td>
            <td>
                <span data-testid="response-code">{delivery.response_code.map(|c| c.to_string()).unwrap_or_else(|| "—".to_owned())}</span>
                {delivery.excerpt.clone().map(|text| view! { <pre class="excerpt">{text}</pre> })}
            </td>
            <td data-testid="attempts">{delivery.attempts}</td>
            <td>{delivery.next_attempt.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>{delivery.last_attempt.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>{delivery.created.clone()}</td>
            <td>
                <ActionForm action=redeliver>
                    <input type="hidden" name="store_id" value=store_id/>
                    <input type="hidden" name="endpoint_id" value=endpoint_id/>
                    <input type="hidden" name="delivery_id" value=delivery.id/>
                    <button type="submit">"Redeliver"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
