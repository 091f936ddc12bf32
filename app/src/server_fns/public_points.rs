//! The public page of a point system (no sign-in): supply, holders, recent transactions,
//! and a check of one transaction or operation against the chain.
//!
//! Only what the chain shows anyway is published: amounts, txids, states. No e-mail address
//! or store-side customer id leaves this module.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        ledger::{operation::COLUMNS, Operation},
    },
    server_fns::respond::answer,
};

/// One recent transaction of the point system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicOperation {
    pub id: i64,
    pub kind: String,
    pub amount: u64,
    pub state: String,
    pub txid: Option<String>,
    pub height: Option<i64>,
}

/// What `/points/{SYMBOL}` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPointsView {
    pub symbol: String,
    pub name: String,
    pub description: String,
    pub store_name: String,
    pub issuer_avatar: String,
    pub status: String,
    pub issue_txid: Option<String>,
    pub treasury_address: String,
    /// Issued on chain (the whole supply is issued to the treasury at once).
    pub issued: u64,
    /// Out of the treasury: held by customers or sent outside.
    pub outstanding: u64,
    /// Addresses on the platform other than the treasury holding some of these points.
    pub holders: u64,
    pub recent: Vec<PublicOperation>,
}

/// One output of a transaction paying these points, as the chain shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainOutput {
    pub address: String,
    pub quantity: u64,
}

/// What the chain says about a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    pub found: bool,
    pub height: Option<u64>,
    pub confirmations: Option<u64>,
    pub outputs: Vec<ChainOutput>,
    /// Set when the node did not answer.
    pub unavailable: bool,
}

/// The verify box's answer: the ledger's view next to the chain's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyView {
    pub query: String,
    pub txid: Option<String>,
    pub ledger: Vec<PublicOperation>,
    pub chain: Option<ChainView>,
}

#[cfg(feature = "ssr")]
fn public_op(op: Operation) -> PublicOperation {
    PublicOperation {
        id: op.id,
        kind: op.kind.as_str().to_owned(),
        amount: op.amount,
        state: op.state.as_str().to_owned(),
        txid: op.txid,
        height: op.height,
    }
}

/// The point system with this symbol: (id, treasury key id, the view without figures).
#[cfg(feature = "ssr")]
async fn find(ctx: &ServerContext, symbol: &str) -> Result<(i64, i64, PublicPointsView), AppError> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT p.id, p.treasury_key_id, p.symbol, p.name, p.description, s.name, p.issuer_avatar, \
           p.status, p.issue_txid, k.address, p.max_supply \
         FROM point_systems p JOIN stores s ON s.id = p.store_id JOIN custody_keys k ON k.id = p.treasury_key_id \
         WHERE p.symbol = $1",
    )
    .bind(symbol.trim().to_uppercase())
    .fetch_optional(ctx.db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let status: String = row.try_get(7)?;
    let max_supply = row.try_get::<i64, _>(10)? as u64;
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        PublicPointsView {
            symbol: row.try_get(2)?,
            name: row.try_get(3)?,
            description: row.try_get(4)?,
            store_name: row.try_get(5)?,
            issuer_avatar: row.try_get(6)?,
            issued: if status == "confirmed" { max_supply } else { 0 },
            status,
            issue_txid: row.try_get(8)?,
            treasury_address: row.try_get(9)?,
            outstanding: 0,
            holders: 0,
            recent: Vec::new(),
        },
    ))
}

/// The public page's data; an unknown symbol is "not found".
#[server(prefix = "/fn", endpoint = "public_points")]
pub async fn public_points(symbol: String) -> Result<PublicPointsView, AppError> {
    answer(
        async {
            use sqlx::Row;
            let ctx = ServerContext::get()?;
            let (id, treasury, mut view) = find(&ctx, &symbol).await?;
            let treasury_confirmed: Option<i64> = sqlx::query_scalar(
                "SELECT confirmed FROM balances WHERE key_id = $1 AND point_system_id = $2",
            )
            .bind(treasury)
            .bind(id)
            .fetch_optional(ctx.db.pool())
            .await?;
            view.outstanding = view
                .issued
                .saturating_sub(treasury_confirmed.unwrap_or(0) as u64);
            let holders = sqlx::query(
                "SELECT COUNT(*) AS n FROM balances WHERE point_system_id = $1 AND key_id <> $2 AND confirmed > 0",
            )
            .bind(id)
            .bind(treasury)
            .fetch_one(ctx.db.pool())
            .await?;
            view.holders = holders.try_get::<i64, _>("n")? as u64;
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM operations WHERE point_system_id = $1 ORDER BY id DESC LIMIT 20"
            ))
            .bind(id)
            .fetch_all(ctx.db.pool())
            .await?;
            view.recent = rows
                .iter()
                .map(|r| Operation::from_row(r).map(public_op))
                .collect::<Result<_, _>>()?;
            Ok(view)
        }
        .await,
    )
}

/// Asks the node about `txid`: found or not, height, depth, outputs of `symbol`.
#[cfg(feature = "ssr")]
async fn ask_chain(txid: &str, symbol: &str) -> ChainView {
    use crate::server_fns::points::CHAIN_WAIT;
    let unavailable = ChainView {
        found: false,
        height: None,
        confirmations: None,
        outputs: Vec::new(),
        unavailable: true,
    };
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return unavailable;
    };
    let Ok(parsed) = txid.parse::<mvs::tx::Txid>() else {
        return ChainView {
            unavailable: false,
            ..unavailable
        };
    };
    let Ok(Ok(tip)) = tokio::time::timeout(CHAIN_WAIT, chain.get_height()).await else {
        return unavailable;
    };
    match tokio::time::timeout(CHAIN_WAIT, chain.get_tx(&parsed)).await {
        Ok(Ok(info)) => {
            let in_block = info.height > 0 && info.height <= tip;
            let outputs = info
                .outputs
                .iter()
                .filter_map(|o| {
                    let attachment = &o["attachment"];
                    (attachment["symbol"].as_str() == Some(symbol)).then(|| ChainOutput {
                        address: o["address"].as_str().unwrap_or_default().to_owned(),
                        quantity: attachment["quantity"].as_u64().unwrap_or(0),
                    })
                })
                .collect();
            ChainView {
                found: true,
                height: in_block.then_some(info.height),
                confirmations: in_block.then(|| tip - info.height + 1),
                outputs,
                unavailable: false,
            }
        }
        Ok(Err(error)) if error.is_definitely_rejected() || error.code().is_some() => ChainView {
            unavailable: false,
            ..unavailable
        },
        _ => unavailable,
    }
}

/// The verify box: a txid or an operation id of this point system, the ledger's record of
/// it and what the chain says.
#[server(prefix = "/fn", endpoint = "public_verify")]
pub async fn verify(symbol: String, query: String) -> Result<VerifyView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let (id, _, view) = find(&ctx, &symbol).await?;
            let query = query.trim().trim_start_matches('#').to_owned();
            let ledger_rows = if let Ok(op_id) = query.parse::<i64>() {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM operations WHERE point_system_id = $1 AND id = $2"
                ))
                .bind(id)
                .bind(op_id)
                .fetch_all(ctx.db.pool())
                .await?
            } else {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM operations WHERE point_system_id = $1 AND txid = $2 ORDER BY id"
                ))
                .bind(id)
                .bind(query.to_lowercase())
                .fetch_all(ctx.db.pool())
                .await?
            };
            let ledger: Vec<PublicOperation> = ledger_rows
                .iter()
                .map(|r| Operation::from_row(r).map(public_op))
                .collect::<Result<_, _>>()?;
            let is_txid = query.len() == 64 && query.bytes().all(|b| b.is_ascii_hexdigit());
            let txid = if is_txid {
                Some(query.to_lowercase())
            } else {
                ledger.iter().find_map(|o| o.txid.clone())
            };
            let chain = match &txid {
                Some(txid) => Some(ask_chain(txid, &view.symbol).await),
                None => None,
            };
            Ok(VerifyView { query, txid, ledger, chain })
        }
        .await,
    )
}
