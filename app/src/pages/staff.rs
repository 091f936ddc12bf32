use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::forms::{form_error, page_error, AccountBar, FieldError, FormError, Notice};
use crate::{
    errors::AppError,
    models::{MemberView, Role, StaffView},
    server_fns::staff::{staff_overview, ChangeMemberRole, InviteStaff, RemoveMember},
};

/// `/dashboard/stores/{id}/staff`: members, invitations and roles of one store.
#[component]
pub fn StaffPage() -> impl IntoView {
    let params = use_params_map();
    let store_id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
    };
    let invite = ServerAction::<InviteStaff>::new();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let data = Resource::new(
        move || {
            (
                store_id(),
                invite.version().get(),
                change.version().get(),
                remove.version().get(),
            )
        },
        |(store_id, ..)| async move {
            match store_id {
                Some(id) => staff_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Staff · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => staff_view(view, invite, change, remove),
                }
            })}
        </Suspense>
    }
}

fn staff_view(
    data: StaffView,
    invite: ServerAction<InviteStaff>,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
) -> AnyView {
    let invite_error = form_error(invite);
    let change_error = form_error(change);
    let remove_error = form_error(remove);
    let my_role = data.store.role;
    let store_id = data.store.id;
    let invitable: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| my_role.can_invite(*r))
        .collect();
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p><a href="/dashboard">"← Your stores"</a></p>
            <h1>"Staff of " {data.store.name.clone()}</h1>
            <p>"Your role: " <strong data-testid="my-role">{my_role.as_str()}</strong></p>
            <Notice flag="invited">"Invitation sent."</Notice>
            <FormError error=change_error/>
            <FormError error=remove_error/>
            <table class="members">
                <thead><tr><th>"E-mail"</th><th>"Role"</th>{my_role.can_manage_members().then(|| view! { <th>"Change"</th> })}</tr></thead>
                <tbody>
                    {data.members.into_iter().map(|member| member_row(member, store_id, my_role, change, remove)).collect_view()}
                </tbody>
            </table>
            {(!data.invitations.is_empty()).then(|| view! {
                <h2>"Invited, not yet accepted"</h2>
                <ul class="invitations">
                    {data.invitations.into_iter().map(|i| view! { <li>{i.email} " (" {i.role.as_str()} ")"</li> }).collect_view()}
                </ul>
            })}
            {(!invitable.is_empty()).then(|| view! {
                <h2>"Invite someone"</h2>
                <ActionForm action=invite>
                    <FormError error=invite_error/>
                    <input type="hidden" name="store_id" value=store_id/>
                    <label>"E-mail address" <input type="email" name="email" required/></label>
                    <FieldError error=invite_error field="email"/>
                    <label>"Role"
                        <select name="role">
                            {invitable.iter().map(|r| view! { <option value=r.as_str() selected=*r == Role::Staff>{r.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <FieldError error=invite_error field="role"/>
                    <button type="submit" class="primary">"Send invitation"</button>
                </ActionForm>
            })}
        </section>
    }
    .into_any()
}

fn member_row(
    member: MemberView,
    store_id: i64,
    my_role: Role,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let email = member.email.clone();
    let controls = my_role.can_manage_members().then(|| {
        let current = member.role;
        view! {
            <td>
                <ActionForm action=change>
                    <input type="hidden" name="store_id" value=store_id/>
                    <input type="hidden" name="operator_id" value=member.operator_id/>
                    <select name="role" aria-label=format!("Role of {email}")>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> }).collect_view()}
                    </select>
                    <button type="submit">"Change role"</button>
                </ActionForm>
                <ActionForm action=remove>
                    <input type="hidden" name="store_id" value=store_id/>
                    <input type="hidden" name="operator_id" value=member.operator_id/>
                    <button type="submit">"Remove"</button>
                </ActionForm>
            </td>
        }
    });
    view! {
        <tr data-member=member.email.clone()>
            <td>{member.email.clone()}</td>
            <td data-testid="member-role">{member.role.as_str()}</td>
            {controls}
        </tr>
    }
}
