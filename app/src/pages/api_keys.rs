use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{
    form_error, page_error, query_value, AccountBar, FieldError, FormError, Notice,
};
use crate::{
    errors::AppError,
    server_fns::api_keys::{api_keys_overview, ApiKeyRow, ApiKeysView, CreateApiKey, RevokeApiKey},
};

/// `/dashboard/stores/{id}/api-keys`: the store's REST API keys (managers and owners).
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let params = use_params_map();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let data = Resource::new(
        move || {
            (
                params
                    .with(|p| p.get("id"))
                    .and_then(|id| id.parse::<i64>().ok()),
                create.version().get(),
                revoke.version().get(),
            )
        },
        |(store_id, ..)| async move {
            match store_id {
                Some(id) => api_keys_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="API keys · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => keys_view(view, create, revoke),
                }
            })}
        </Suspense>
    }
}

fn keys_view(
    data: ApiKeysView,
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
) -> AnyView {
    let create_error = form_error(create);
    let revoke_error = form_error(revoke);
    let store_id = data.store.id;
    // `?revoke=ID` is the confirmation step (a link, so it works without JavaScript).
    let confirming = query_value("revoke");
    let keys = data.keys;
    let confirm_row = Signal::derive({
        let keys = keys.clone();
        move || {
            let id = confirming.get()?.parse::<i64>().ok()?;
            keys.iter()
                .find(|k| k.id == id && k.revoked.is_none())
                .cloned()
        }
    });
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href="/dashboard">"← Your stores"</a></p>
            <h1>"API keys of " {data.store.name.clone()}</h1>
            <p class="hint">
                "Your shop's back end uses a key to call the REST API (see "
                <a href="/api/docs">"the API documentation"</a>
                "). Only managers and owners see and manage keys."
            </p>
            <Notice flag="revoked">"Key revoked. Requests with it are refused from now on."</Notice>
            {data.fresh.map(|fresh| view! {
                <div class="notice fresh-secret" role="status" data-testid="new-api-key">
                    <p><strong>"Your new API key — copy it now. It is shown only this once."</strong></p>
                    <p><code data-testid="new-api-key-value" data-key-id=fresh.id>{fresh.key}</code></p>
                </div>
            })}
            <FormError error=revoke_error/>
            {move || confirm_row.get().map(|key| view! {
                <div class="confirm" role="alertdialog" data-testid="confirm-revoke">
                    <p>"Revoke the key " <strong>{key.name.clone()}</strong> " (" <code>{key.prefix.clone()} "…"</code> ")? Requests with it will be refused. This cannot be undone."</p>
                    <ActionForm action=revoke>
                        <input type="hidden" name="store_id" value=store_id/>
                        <input type="hidden" name="key_id" value=key.id/>
                        <button type="submit" class="danger">"Yes, revoke this key"</button>
                        " "
                        <a href=format!("/dashboard/stores/{store_id}/api-keys")>"Cancel"</a>
                    </ActionForm>
                </div>
            })}
            {if keys.is_empty() {
                view! { <p data-testid="no-api-keys">"No API keys yet."</p> }.into_any()
            } else {
                view! {
                    <table class="api-keys">
                        <thead><tr><th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Created"</th><th>"Last used"</th><th>"State"</th><th></th></tr></thead>
                        <tbody>{keys.into_iter().map(|key| key_row(key, store_id)).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            <h2>"Create a key"</h2>
            <ActionForm action=create>
                <FormError error=create_error/>
                <input type="hidden" name="store_id" value=store_id/>
                <label>"Name" <input type="text" name="name" maxlength="80" required placeholder="Shop back end"/></label>
                <FieldError error=create_error field="name"/>
                <fieldset>
                    <legend>"Scopes"</legend>
                    {data.all_scopes.into_iter().map(|scope| view! {
                        <label class="checkbox">
                            <input type="checkbox" name="scopes[]" value=scope.clone()/>
                            " " {scope.clone()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <FieldError error=create_error field="scopes"/>
                <button type="submit" class="primary">"Create key"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

fn key_row(key: ApiKeyRow, store_id: i64) -> impl IntoView {
    let revoked = key.revoked.is_some();
    view! {
        <tr data-api-key=key.id>
            <td>{key.name.clone()}</td>
            <td><code data-testid="api-key-prefix">{key.prefix.clone()} "…"</code></td>
            <td>{key.scopes.join(" ")}</td>
            <td>{key.created.clone()}</td>
            <td data-testid="api-key-last-used">{key.last_used.clone().unwrap_or_else(|| "never".to_owned())}</td>
            <td data-testid="api-key-state">{match &key.revoked {
                Some(at) => format!("revoked {at}"),
                None => "active".to_owned(),
            }}</td>
            <td>{(!revoked).then(|| view! {
                <a href=format!("/dashboard/stores/{store_id}/api-keys?revoke={}", key.id)>"Revoke…"</a>
            })}</td>
        </tr>
    }
}
