//! Sending points from the wallet: to another customer by e-mail, to an avatar, or to any
//! MVS address (a withdrawal to self-custody). Two steps so it works without JavaScript:
//! [`preview_send`] checks and shows what will happen, [`send_points`] does it.
//!
//! The sender is always the signed-in customer's own address, from the session; the form
//! names only which points, how many and to whom.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        customer_sessions::WalletCustomer,
        email::Email,
        ledger::{
            submit::{self, Destination, NewOperation},
            Amount, Balance, LedgerError, OperationKind,
        },
    },
    server_fns::{
        respond::{answer, finish},
        wallet_auth,
    },
    urls::with_query,
};

/// What the review step shows before the customer confirms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPreview {
    pub point_system_id: i64,
    pub store_name: String,
    pub symbol: String,
    pub amount: u64,
    pub available: u64,
    /// What the customer typed, as it will be used.
    pub to: String,
    /// Who or what receives the points, in words.
    pub recipient: String,
    /// The MVS address the points go to; none for a customer named by e-mail, whose address
    /// is theirs to share (the review must not turn e-mail addresses into chain addresses).
    pub to_address: Option<String>,
    /// The confirm form's idempotency id, new with each review: confirming twice (a double
    /// click, a resent POST) sends once.
    pub request_id: String,
}

/// The review page for a send with these fields.
pub fn review_page(point_system_id: &str, to: &str, amount: &str) -> String {
    let page = crate::urls::with_query("/wallet/send", "point_system", point_system_id);
    crate::urls::with_query(&crate::urls::with_query(&page, "to", to), "amount", amount)
}

/// A recipient resolved to a ledger destination.
#[cfg(feature = "ssr")]
struct Resolved {
    destination: Destination,
    kind: OperationKind,
    recipient: String,
    /// Named by e-mail: the review does not show the address.
    by_email: bool,
}

#[cfg(feature = "ssr")]
fn ledger_to_app(error: LedgerError) -> AppError {
    match error {
        LedgerError::InvalidAddress(_) => AppError::InvalidAddress,
        LedgerError::InvalidAvatar(_) => AppError::UnknownAvatar,
        other => crate::server_fns::points::ledger_to_app(other),
    }
}

/// The custodial key holding `address`, if the platform holds it.
#[cfg(feature = "ssr")]
async fn custodial_key(ctx: &ServerContext, address: &str) -> Result<Option<i64>, AppError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM custody_keys WHERE address = $1")
            .bind(address)
            .fetch_optional(ctx.db.pool())
            .await?,
    )
}

/// The address an avatar is bound to: the chain's answer, or a confirmed issuer avatar of a
/// point system on this platform (the chain may answer slowly).
#[cfg(feature = "ssr")]
async fn avatar_address(ctx: &ServerContext, name: &str) -> Result<String, AppError> {
    use crate::server_fns::points::CHAIN_WAIT;
    if let Some(chain) = use_context::<mvs::rpc::Client>() {
        if let Ok(Ok(did)) = tokio::time::timeout(CHAIN_WAIT, chain.get_did(name)).await {
            return Ok(did.address);
        }
    }
    let ours: Option<String> = sqlx::query_scalar(
        "SELECT k.address FROM point_systems p JOIN custody_keys k ON k.id = p.treasury_key_id \
         WHERE LOWER(p.issuer_avatar) = $1 AND p.status = 'confirmed'",
    )
    .bind(name.to_lowercase())
    .fetch_optional(ctx.db.pool())
    .await?;
    ours.ok_or(AppError::UnknownAvatar)
}

/// Reads the "to" field: an e-mail address (a customer here), an MVS address, or an avatar.
#[cfg(feature = "ssr")]
async fn resolve(
    ctx: &ServerContext,
    sender: &WalletCustomer,
    to: &str,
) -> Result<Resolved, AppError> {
    let to = to.trim();
    if to.contains('@') && !to.starts_with('@') {
        // "Unknown recipient" says whether an address has a wallet here: needed to catch a
        // typo, so the lookups are limited per customer instead (review and confirm alike).
        crate::domain::rate_limit::count_recipient_lookup(&ctx.db, sender.id).await?;
        let email = Email::parse(to).map_err(|_| AppError::UnknownRecipient)?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT c.key_id, k.address FROM customers c JOIN custody_keys k ON k.id = c.key_id WHERE c.email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(ctx.db.pool())
        .await?;
        let (key_id, address) = row.ok_or(AppError::UnknownRecipient)?;
        if key_id == sender.key_id {
            return Err(AppError::SendToSelf);
        }
        return Ok(Resolved {
            destination: Destination::Custodial { key_id, address },
            kind: OperationKind::Transfer,
            recipient: format!("the customer {email}"),
            by_email: true,
        });
    }
    if mvs::Address::parse(to).is_ok() {
        // Only an address of the wallet's own network can receive its points.
        let network = mvs::Address::parse(&sender.address)
            .ok()
            .and_then(|a| a.network())
            .ok_or(AppError::Internal)?;
        if mvs::Address::parse_for(to, network).is_err() {
            return Err(AppError::InvalidAddress);
        }
        if to == sender.address {
            return Err(AppError::SendToSelf);
        }
        // An address the platform holds stays inside the ledger (both sides see it at once).
        if let Some(key_id) = custodial_key(ctx, to).await? {
            return Ok(Resolved {
                destination: Destination::Custodial {
                    key_id,
                    address: to.to_owned(),
                },
                kind: OperationKind::Transfer,
                recipient: format!("the address {to}"),
                by_email: false,
            });
        }
        return Ok(Resolved {
            destination: Destination::External {
                address: to.to_owned(),
                avatar: None,
            },
            kind: OperationKind::Withdraw,
            recipient: format!("the outside address {to}"),
            by_email: false,
        });
    }
    // 34 base58 characters are an address with a typo, not an avatar name.
    let base58 = |c: char| c.is_ascii_alphanumeric() && !"0OIl".contains(c);
    if to.len() == 34 && to.chars().all(base58) {
        return Err(AppError::InvalidAddress);
    }
    let name = mvs::symbol::AvatarName::parse(to).map_err(|_| AppError::InvalidAddress)?;
    let address = avatar_address(ctx, name.as_str()).await?;
    if address == sender.address {
        return Err(AppError::SendToSelf);
    }
    let destination = match custodial_key(ctx, &address).await? {
        Some(key_id) => Destination::Custodial {
            key_id,
            address: address.clone(),
        },
        None => Destination::External {
            address: address.clone(),
            avatar: Some(name.as_str().to_owned()),
        },
    };
    Ok(Resolved {
        destination,
        kind: OperationKind::Transfer,
        recipient: format!("the avatar {}", name.as_str()),
        by_email: false,
    })
}

/// Checks a send without changing anything: which points, whether enough are available,
/// and who receives them.
#[cfg(feature = "ssr")]
async fn check(
    ctx: &ServerContext,
    sender: &WalletCustomer,
    point_system_id: &str,
    to: &str,
    amount: &str,
) -> Result<(SendPreview, Resolved, Amount), AppError> {
    use sqlx::Row;
    let point_system_id: i64 = point_system_id
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let row = sqlx::query(
        "SELECT s.name, p.symbol FROM point_systems p JOIN stores s ON s.id = p.store_id WHERE p.id = $1",
    )
    .bind(point_system_id)
    .fetch_optional(ctx.db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let amount = Amount::parse(amount).map_err(|_| AppError::InvalidAmount)?;
    let resolved = resolve(ctx, sender, to).await?;
    let balance = Balance::fetch(&ctx.db, sender.key_id, point_system_id).await?;
    if balance.available < amount.units() {
        return Err(AppError::InsufficientBalance);
    }
    let to_address = match &resolved.destination {
        _ if resolved.by_email => None,
        Destination::Custodial { address, .. } | Destination::External { address, .. } => {
            Some(address.clone())
        }
    };
    let preview = SendPreview {
        point_system_id,
        store_name: row.try_get(0)?,
        symbol: row.try_get(1)?,
        amount: amount.units(),
        available: balance.available,
        to: to.trim().to_owned(),
        recipient: resolved.recipient.clone(),
        to_address,
        request_id: String::new(),
    };
    Ok((preview, resolved, amount))
}

/// The review step: what sending would do (nothing is changed).
#[server(prefix = "/fn", endpoint = "wallet_preview_send")]
pub async fn preview_send(
    point_system: String,
    to: String,
    amount: String,
) -> Result<SendPreview, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let sender = wallet_auth::require_customer(&ctx).await?;
            let (preview, ..) = check(&ctx, &sender, &point_system, &to, &amount).await?;
            Ok(SendPreview {
                request_id: crate::server_fns::respond::new_request_id(),
                ..preview
            })
        }
        .await,
    )
}

/// The operation an earlier confirm with this idempotency key made, if any. Looked up before
/// the checks so a repeat answers with the first send even when it took the balance below
/// the amount (the ledger would refuse the repeat as "insufficient" otherwise).
#[cfg(feature = "ssr")]
async fn earlier_send(
    ctx: &ServerContext,
    point_system: &str,
    key: &str,
) -> Result<Option<i64>, AppError> {
    let Ok(point_system_id) = point_system.trim().parse::<i64>() else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar(
        "SELECT id FROM operations WHERE point_system_id = $1 AND idempotency_key = $2",
    )
    .bind(point_system_id)
    .bind(key)
    .fetch_optional(ctx.db.pool())
    .await?)
}

/// Sends the points (after the review); answers with the new operation's id. The review's
/// `request_id` makes a repeated confirm answer with the first operation.
#[server(prefix = "/fn", endpoint = "wallet_send")]
pub async fn send_points(
    point_system: String,
    to: String,
    amount: String,
    request_id: Option<String>,
) -> Result<i64, AppError> {
    let form_page = with_query(&review_page(&point_system, &to, &amount), "step", "confirm");
    let result = async {
        let ctx = ServerContext::get()?;
        let sender = wallet_auth::require_customer(&ctx).await?;
        // Scoped to the customer: one customer's id never matches another's operation.
        let idempotency_key = request_id
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty() && r.len() <= 100)
            .map(|r| format!("wallet:{}:{r}", sender.id));
        if let Some(key) = &idempotency_key {
            if let Some(id) = earlier_send(&ctx, &point_system, key).await? {
                return Ok(id);
            }
        }
        let (preview, resolved, amount) = check(&ctx, &sender, &point_system, &to, &amount).await?;
        let submitted = submit::submit(
            &ctx.db,
            NewOperation {
                point_system_id: preview.point_system_id,
                kind: resolved.kind,
                amount,
                from_key_id: sender.key_id,
                to: resolved.destination,
                actor: format!("customer:{}", sender.id),
                reason: None,
                idempotency_key,
            },
        )
        .await
        .map_err(ledger_to_app)?;
        Ok(submitted.operation().id)
    }
    .await;
    finish(result, &form_page, |id| {
        format!("/wallet?sent_operation={id}")
    })
}
