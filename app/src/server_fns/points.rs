//! A store's point system: registration and its status while the worker issues it on chain.
//!
//! Roles: every member (staff included) may see the point system; only managers and owners
//! may register one. Every function checks the session and the caller's membership first;
//! another tenant's store id answers "not found".

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        custody::KeyVault,
        ledger::{
            point_systems::{self, PointSystem, PointSystemSpec},
            Amount, LedgerError,
        },
        membership::require_member,
    },
    models::Role,
    server_fns::{
        auth,
        respond::{answer, finish},
    },
};

/// A point system as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointSystemView {
    pub id: i64,
    pub symbol: String,
    pub name: String,
    pub description: String,
    pub decimals: u8,
    pub max_supply: u64,
    pub secondary_issue: u8,
    pub issuer_avatar: String,
    pub treasury_address: String,
    /// pending -> broadcast -> confirmed
    pub status: String,
    pub issue_txid: Option<String>,
}

impl PointSystemView {
    pub fn is_confirmed(&self) -> bool {
        self.status == "confirmed"
    }
}

/// What the point-system page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsPageView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub point_system: Option<PointSystemView>,
    /// The issue transaction's depth so far, while it is broadcast and in a block.
    pub issue_confirmations: Option<u64>,
    /// The store's confirmation depth (its own, else the platform's): the N of n/N.
    pub required_confirmations: u64,
    /// The idempotency id of the "issue more points" form as rendered now (a new one each
    /// time the page data loads, so a second issue on purpose is not taken for a repeat).
    pub issue_request_id: String,
}

#[cfg(feature = "ssr")]
impl From<PointSystem> for PointSystemView {
    fn from(p: PointSystem) -> Self {
        Self {
            id: p.id,
            symbol: p.symbol,
            name: p.name,
            description: p.description,
            decimals: p.decimals,
            max_supply: p.max_supply,
            secondary_issue: p.secondary_issue,
            issuer_avatar: p.issuer_avatar,
            treasury_address: p.treasury_address,
            status: p.status,
            issue_txid: p.issue_txid,
        }
    }
}

#[cfg(feature = "ssr")]
fn points_page(store_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/points")
}

/// A ledger refusal as the message a form shows (amounts here are the maximum supply).
#[cfg(feature = "ssr")]
fn ledger_error(error: LedgerError) -> AppError {
    match error {
        LedgerError::Amount(_) => AppError::InvalidMaxSupply,
        other => ledger_to_app(other),
    }
}

/// A ledger refusal as an [`AppError`]; internal failures are logged and collapse.
#[cfg(feature = "ssr")]
pub(crate) fn ledger_to_app(error: LedgerError) -> AppError {
    match error {
        LedgerError::SymbolTaken(_) => AppError::SymbolTaken,
        LedgerError::PointSystemExists => AppError::PointSystemExists,
        LedgerError::Amount(_) => AppError::InvalidAmount,
        LedgerError::InsufficientBalance { .. } => AppError::InsufficientBalance,
        LedgerError::ReasonRequired => AppError::ReasonRequired,
        LedgerError::ReasonTooLong => AppError::ReasonTooLong,
        LedgerError::PointSystemNotReady => AppError::PointSystemNotReady,
        LedgerError::NotFound(_) => AppError::NotFound,
        other => {
            tracing::error!(error = %other, code = other.code(), "ledger refused a dashboard request");
            AppError::Internal
        }
    }
}

/// How long a page waits for the chain node before going on without its answer.
#[cfg(feature = "ssr")]
pub(crate) const CHAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the chain already has an MST with this symbol. An unreachable node answers
/// `false`: the worker's issue would then fail with the node's reason.
#[cfg(feature = "ssr")]
async fn taken_on_chain(symbol: &str) -> bool {
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return false;
    };
    matches!(
        tokio::time::timeout(CHAIN_WAIT, chain.get_asset(symbol)).await,
        Ok(Ok(_))
    )
}

/// Whether another point system or the chain already has this issuer avatar (the worker
/// registers it on the new treasury address, which would fail).
#[cfg(feature = "ssr")]
async fn avatar_taken(
    ctx: &ServerContext,
    avatar: &mvs::symbol::AvatarName,
) -> Result<bool, AppError> {
    let ours: Option<i64> =
        sqlx::query_scalar("SELECT id FROM point_systems WHERE LOWER(issuer_avatar) = $1")
            .bind(avatar.as_str().to_lowercase())
            .fetch_optional(ctx.db.pool())
            .await?;
    if ours.is_some() {
        return Ok(true);
    }
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return Ok(false);
    };
    Ok(matches!(
        tokio::time::timeout(CHAIN_WAIT, chain.get_did(avatar.as_str())).await,
        Ok(Ok(_))
    ))
}

/// The MST symbol rules as a form error.
#[cfg(feature = "ssr")]
pub fn parse_symbol(text: &str) -> Result<mvs::symbol::Symbol, AppError> {
    use mvs::symbol::{Symbol, SymbolError};
    Symbol::parse(text.trim()).map_err(|e| match e {
        SymbolError::Length(_) => AppError::SymbolLength,
        SymbolError::InvalidCharacter(..) => AppError::SymbolCharacters,
        SymbolError::ReservedWord(_) => AppError::SymbolReservedWord,
    })
}

#[cfg(feature = "ssr")]
fn parse_spec(
    symbol: &str,
    name: &str,
    description: &str,
    decimals: &str,
    max_supply: &str,
    secondary_issue: &str,
    issuer_avatar: &str,
) -> Result<PointSystemSpec, AppError> {
    let symbol = parse_symbol(symbol)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::InvalidPointSystemName);
    }
    let description = description.trim();
    if description.chars().count() > 500 {
        return Err(AppError::InvalidDescription);
    }
    let decimals: u8 = decimals
        .trim()
        .parse()
        .map_err(|_| AppError::InvalidDecimals)?;
    if decimals > 19 {
        return Err(AppError::InvalidDecimals);
    }
    let max_supply = Amount::parse(max_supply.trim()).map_err(|_| AppError::InvalidMaxSupply)?;
    let secondary_issue: u8 = secondary_issue
        .trim()
        .parse()
        .map_err(|_| AppError::InvalidSecondaryIssue)?;
    if !(secondary_issue <= 100 || secondary_issue == 127) {
        return Err(AppError::InvalidSecondaryIssue);
    }
    let issuer_avatar = mvs::symbol::AvatarName::parse(issuer_avatar.trim())
        .map_err(|_| AppError::InvalidAvatar)?;
    Ok(PointSystemSpec {
        symbol,
        name: name.to_owned(),
        description: description.to_owned(),
        decimals,
        max_supply,
        secondary_issue,
        issuer_avatar,
    })
}

/// Depth of a transaction in the chain, if the node answers quickly and it is in a block.
#[cfg(feature = "ssr")]
async fn issue_depth(txid: &str) -> Option<u64> {
    let chain = use_context::<mvs::rpc::Client>()?;
    let txid: mvs::tx::Txid = txid.parse().ok()?;
    let tip = tokio::time::timeout(CHAIN_WAIT, chain.get_height())
        .await
        .ok()?
        .ok()?;
    let info = tokio::time::timeout(CHAIN_WAIT, chain.get_tx(&txid))
        .await
        .ok()?
        .ok()?;
    (info.height > 0 && info.height <= tip).then(|| tip - info.height + 1)
}

/// The store and its point system (if any), for any member of the store.
#[server(prefix = "/fn", endpoint = "points_overview")]
pub async fn points_overview(store_id: i64) -> Result<PointsPageView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let point_system = PointSystem::of_store(&ctx.db, store.id)
                .await
                .map_err(ledger_error)?;
            let settings = crate::domain::store_settings::load(&ctx.db, store.id).await?;
            let required_confirmations = settings
                .confirmations_needed(crate::domain::store_settings::PlatformPolicy::current()?);
            let issue_confirmations = match &point_system {
                Some(p) if p.status == "broadcast" => match p.issue_txid.as_deref() {
                    Some(txid) => issue_depth(txid).await,
                    None => None,
                },
                _ => None,
            };
            Ok(PointsPageView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
                point_system: point_system.map(Into::into),
                issue_confirmations,
                required_confirmations,
                issue_request_id: crate::server_fns::respond::new_request_id(),
            })
        }
        .await,
    )
}

/// Checks a symbol while it is typed: `None` when it may be registered, else why not
/// (MVS rules first, then whether a point system already uses it).
#[server(prefix = "/fn", endpoint = "check_symbol")]
pub async fn check_symbol(store_id: i64, symbol: String) -> Result<Option<AppError>, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let symbol = match parse_symbol(&symbol) {
                Ok(symbol) => symbol,
                Err(error) => return Ok(Some(error)),
            };
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM point_systems WHERE symbol = $1")
                    .bind(symbol.as_str())
                    .fetch_optional(ctx.db.pool())
                    .await?;
            if taken.is_some() || taken_on_chain(symbol.as_str()).await {
                return Ok(Some(AppError::SymbolTaken));
            }
            Ok(None)
        }
        .await,
    )
}

/// Registers the store's point system (managers and owners); the chain worker issues it.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "register_point_system")]
pub async fn register_point_system(
    store_id: i64,
    symbol: String,
    name: String,
    description: String,
    decimals: String,
    max_supply: String,
    secondary_issue: String,
    issuer_avatar: String,
) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Manager).await?;
        let spec = parse_spec(
            &symbol,
            &name,
            &description,
            &decimals,
            &max_supply,
            &secondary_issue,
            &issuer_avatar,
        )?;
        if PointSystem::of_store(&ctx.db, store.id)
            .await
            .map_err(ledger_error)?
            .is_some()
        {
            return Err(AppError::PointSystemExists);
        }
        if taken_on_chain(spec.symbol.as_str()).await {
            return Err(AppError::SymbolTaken);
        }
        if avatar_taken(&ctx, &spec.issuer_avatar).await? {
            return Err(AppError::AvatarTaken);
        }
        let vault = use_context::<KeyVault>().ok_or_else(|| {
            tracing::error!("KeyVault was not provided to this request");
            AppError::Internal
        })?;
        let point_system = point_systems::register(&ctx.db, &vault, store.id, &spec)
            .await
            .map_err(ledger_error)?;
        Ok(point_system.id)
    }
    .await;
    finish(result, &points_page(store_id), |_| {
        format!("{}?registered=1", points_page(store_id))
    })
}
