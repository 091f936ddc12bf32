use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    models::Role,
    server_fns::store_settings::{
        store_settings, RenameStore, SaveStoreSettings, StoreSettingsView,
    },
};

/// `/dashboard/stores/{id}/settings`: the store's name and policies (confirmations, batch
/// window, earn rate).
#[component]
pub fn StoreSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let rename = ServerAction::<RenameStore>::new();
    let save = ServerAction::<SaveStoreSettings>::new();
    let data = Resource::new(
        move || {
            (
                params
                    .with(|p| p.get("id"))
                    .and_then(|id| id.parse::<i64>().ok()),
                rename.version().get(),
                save.version().get(),
            )
        },
        |(store_id, _, _)| async move {
            match store_id {
                Some(id) => store_settings(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Store settings · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => settings_view(view, rename, save),
                }
            })}
        </Suspense>
    }
}

fn settings_view(
    data: StoreSettingsView,
    rename: ServerAction<RenameStore>,
    save: ServerAction<SaveStoreSettings>,
) -> AnyView {
    let error = form_error(rename);
    let store_id = data.store.id;
    let can_edit = data.store.role >= Role::Manager;
    let policies = policies(&data, save, can_edit);
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href="/dashboard">"← Your stores"</a></p>
            <h1>"Settings of " <span data-testid="store-name">{data.store.name.clone()}</span></h1>
            <Notice flag="renamed">"Store renamed."</Notice>
            <p>"Address: " {data.store.slug.clone()}</p>
            {if can_edit {
                view! {
                    <ActionForm action=rename>
                        <FormError error/>
                        <input type="hidden" name="store_id" value=store_id/>
                        <label>"Store name" <input type="text" name="name" maxlength="80" required value=data.store.name.clone()/></label>
                        <FieldError error field="name"/>
                        <button type="submit" class="primary">"Rename store"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! { <p class="hint">"A manager or owner can rename the store."</p> }.into_any()
            }}
            {policies}
        </section>
    }
    .into_any()
}

fn platform_note(own: Option<u64>, platform: u64, unit: &str) -> String {
    match own {
        Some(_) => format!("Empty follows the platform's setting ({platform}{unit})."),
        None => format!("Following the platform's setting ({platform}{unit}); enter a number to choose your own."),
    }
}

/// Required confirmations, batch window and earn rate: a form for managers and owners, the
/// values for staff.
fn policies(
    data: &StoreSettingsView,
    save: ServerAction<SaveStoreSettings>,
    can_edit: bool,
) -> AnyView {
    let error = form_error(save);
    let confirmations = data
        .required_confirmations
        .map(|n| n.to_string())
        .unwrap_or_default();
    let window = data
        .batch_window_ms
        .map(|n| n.to_string())
        .unwrap_or_default();
    let confirmations_note =
        platform_note(data.required_confirmations, data.platform_confirmations, "");
    let window_note = platform_note(data.batch_window_ms, data.platform_batch_window_ms, " ms");
    let effective_confirmations = data
        .required_confirmations
        .unwrap_or(data.platform_confirmations);
    let effective_window = data
        .batch_window_ms
        .unwrap_or(data.platform_batch_window_ms);
    let store_id = data.store.id;
    let earn_rate = data.earn_rate.clone();
    if !can_edit {
        return view! {
            <h2>"Policies"</h2>
            <dl class="settings" data-testid="store-policies">
                <dt>"Required confirmations"</dt><dd data-testid="required-confirmations">{effective_confirmations}</dd>
                <dt>"Batch window"</dt><dd data-testid="batch-window">{effective_window} " ms"</dd>
                <dt>"Default earn rate"</dt><dd data-testid="earn-rate">{earn_rate} " points per currency unit"</dd>
            </dl>
            <p class="hint">"A manager or owner can change these."</p>
        }
        .into_any();
    }
    view! {
        <h2>"Policies"</h2>
        <Notice flag="saved">"Settings saved."</Notice>
        <ActionForm action=save>
            <FormError error/>
            <input type="hidden" name="store_id" value=store_id/>
            <label for="required_confirmations">"Required confirmations (1 to 1000 blocks)"</label>
            <input id="required_confirmations" type="number" name="required_confirmations" min="1" max="1000" step="1"
                value=confirmations aria-describedby="required_confirmations-hint"/>
            <p class="hint" id="required_confirmations-hint">"Blocks on top of an operation's transaction before it counts as confirmed. " {confirmations_note}</p>
            <FieldError error field="required_confirmations"/>
            <label for="batch_window_ms">"Batch window (0 to 60000 milliseconds)"</label>
            <input id="batch_window_ms" type="number" name="batch_window_ms" min="0" max="60000" step="1"
                value=window aria-describedby="batch_window_ms-hint"/>
            <p class="hint" id="batch_window_ms-hint">"How long the first queued operation waits for others, so they share one transaction. " {window_note}</p>
            <FieldError error field="batch_window_ms"/>
            <label for="earn_rate">"Default earn rate (points per currency unit)"</label>
            <input id="earn_rate" type="text" inputmode="decimal" name="earn_rate" required value=earn_rate
                aria-describedby="earn_rate-hint"/>
            <p class="hint" id="earn_rate-hint">"Points an order earns per unit of its total, e.g. 1 or 2.5 (up to three decimals)."</p>
            <FieldError error field="earn_rate"/>
            <button type="submit" class="primary">"Save settings"</button>
        </ActionForm>
    }
    .into_any()
}
