//! A store's staff: members, invitations, roles. Every function checks the session and the
//! caller's membership of the store first; another tenant's store id answers "not found".

use leptos::prelude::*;

use crate::{
    errors::AppError,
    models::{InvitationOfferView, StaffView},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, email::Email, membership::require_member, staff},
    models::{OperatorView, Role},
    server_fns::{
        auth,
        respond::{answer, finish},
    },
    urls::with_query,
};

#[cfg(feature = "ssr")]
fn staff_page(store_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/staff")
}

/// Members and pending invitations of a store the caller works on.
#[server(prefix = "/fn", endpoint = "staff_overview")]
pub async fn staff_overview(store_id: i64) -> Result<StaffView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            Ok(StaffView {
                members: staff::members(&ctx, store.id).await?,
                invitations: staff::pending_invitations(&ctx, store.id).await?,
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
            })
        }
        .await,
    )
}

/// Invites a person by e-mail (owners and managers; not above their own role).
#[server(prefix = "/fn", endpoint = "invite_staff")]
pub async fn invite_staff(store_id: i64, email: String, role: String) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let email = Email::parse(&email)?;
        let role = Role::parse(&role)?;
        staff::invite(&ctx, &operator, &store, &email, role).await
    }
    .await;
    finish(result, &staff_page(store_id), |_| {
        format!("{}?invited=1", staff_page(store_id))
    })
}

/// Gives a member another role (owners only).
#[server(prefix = "/fn", endpoint = "change_member_role")]
pub async fn change_member_role(
    store_id: i64,
    operator_id: i64,
    role: String,
) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        require_member(&ctx.db, operator.id, store_id, Role::Owner).await?;
        staff::change_role(&ctx, store_id, operator_id, Role::parse(&role)?).await
    }
    .await;
    finish(result, &staff_page(store_id), |_| {
        format!("{}?changed=1", staff_page(store_id))
    })
}

/// Removes a member from a store (owners only).
#[server(prefix = "/fn", endpoint = "remove_member")]
pub async fn remove_member(store_id: i64, operator_id: i64) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        require_member(&ctx.db, operator.id, store_id, Role::Owner).await?;
        staff::remove(&ctx, store_id, operator_id).await
    }
    .await;
    finish(result, &staff_page(store_id), |_| {
        format!("{}?removed=1", staff_page(store_id))
    })
}

/// What an invitation link offers (the link stays unspent).
#[server(prefix = "/fn", endpoint = "invitation_offer")]
pub async fn invitation_offer(token: String) -> Result<InvitationOfferView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let (store_name, role, email) = staff::offer(&ctx, token.trim()).await?;
            let signed_in_as = auth::signed_in(&ctx).await?.map(|o| o.email.to_string());
            Ok(InvitationOfferView {
                store_name,
                role,
                email: email.to_string(),
                signed_in_as,
            })
        }
        .await,
    )
}

/// Accepts an invitation for the signed-in operator.
#[server(prefix = "/fn", endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        staff::accept(&ctx, &operator, token.trim()).await
    }
    .await;
    finish(
        result,
        &with_query("/invitations/accept", "token", &token),
        |store_id| staff_page(*store_id),
    )
}
