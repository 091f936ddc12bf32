use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    models::Role,
    server_fns::store_settings::{store_settings, RenameStore, StoreSettingsView},
};

/// `/dashboard/stores/{id}/settings`: the store's name.
#[component]
pub fn StoreSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let rename = ServerAction::<RenameStore>::new();
    let data = Resource::new(
        move || {
            (
                params
                    .with(|p| p.get("id"))
                    .and_then(|id| id.parse::<i64>().ok()),
                rename.version().get(),
            )
        },
        |(store_id, _)| async move {
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
                    Ok(view) => settings_view(view, rename),
                }
            })}
        </Suspense>
    }
}

fn settings_view(data: StoreSettingsView, rename: ServerAction<RenameStore>) -> AnyView {
    let error = form_error(rename);
    let store_id = data.store.id;
    let can_edit = data.store.role >= Role::Manager;
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
        </section>
    }
    .into_any()
}
