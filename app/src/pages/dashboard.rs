use leptos::prelude::*;
use leptos_meta::Title;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError};
use crate::{
    errors::AppError,
    server_fns::{
        accounts::current_operator,
        stores::{my_stores, CreateStore},
    },
};

/// `/dashboard`: the operator's stores and a form to create one.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let create = ServerAction::<CreateStore>::new();
    let error = form_error(create);
    let data = Resource::new(
        move || create.version().get(),
        |_| async move {
            let me = current_operator().await?.ok_or(AppError::NotSignedIn)?;
            Ok::<_, AppError>((me, my_stores().await?))
        },
    );
    view! {
        <Title text="Your stores · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok((me, stores)) => view! {
                        <AccountBar email=me.email/>
                        <section class="page">
                            <h1>"Your stores"</h1>
                            {if stores.is_empty() {
                                view! { <p data-testid="no-stores">"You have no stores yet. Create your first one below."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="stores">
                                        <thead><tr><th>"Store"</th><th>"Address"</th><th>"Your role"</th><th></th></tr></thead>
                                        <tbody>
                                            {stores.into_iter().map(|store| view! {
                                                <tr data-store-id=store.id>
                                                    <td><a href=format!("/dashboard/stores/{}", store.id) data-testid="store-overview-link">{store.name}</a></td>
                                                    <td>{store.slug}</td>
                                                    <td>{store.role.as_str()}</td>
                                                    <td>
                                                        <a href=format!("/dashboard/stores/{}/points", store.id)>"Points"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/customers", store.id)>"Customers"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/operations", store.id)>"Operations"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/staff", store.id)>"Staff"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/settings", store.id)>"Settings"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/api-keys", store.id)>"API keys"</a>
                                                        " "
                                                        <a href=format!("/dashboard/stores/{}/webhooks", store.id)>"Webhooks"</a>
                                                    </td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <h2>"Create a store"</h2>
                            <ActionForm action=create>
                                <FormError error/>
                                <label>"Name" <input type="text" name="name" maxlength="80" required/></label>
                                <FieldError error field="name"/>
                                <label>"Address (optional; lowercase letters, digits and dashes)" <input type="text" name="slug" maxlength="40"/></label>
                                <FieldError error field="slug"/>
                                <button type="submit" class="primary">"Create store"</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
