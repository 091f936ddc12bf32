//! The platform's fee wallet as the dashboard and the worker see it: its address (kept in
//! `platform_keys`) and what the node says it holds.

use mvs::consensus::{AVATAR_REGISTER_FEE, MST_ISSUE_FEE};

use crate::domain::db::Database;

/// The `platform_keys` role of the fee wallet's key.
pub const ROLE: &str = "fee_wallet";

/// Below this the operator is warned: it pays for fewer than two point-system issues.
pub const LOW_BALANCE: u64 = 2 * (MST_ISSUE_FEE + AVATAR_REGISTER_FEE);

/// What the fee wallet holds, as the node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeWalletStatus {
    pub address: String,
    /// Satoshi in unspent outputs (pending ones included).
    pub balance: u64,
    /// Unspent outputs.
    pub outputs: usize,
    /// `balance` is below [`LOW_BALANCE`].
    pub low: bool,
}

/// The fee wallet's key id and address; `None` before the first start created it.
pub async fn find(db: &Database) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT k.id, k.address FROM platform_keys p JOIN custody_keys k ON k.id = p.key_id WHERE p.role = $1",
    )
    .bind(ROLE)
    .fetch_optional(db.pool())
    .await
}

/// The fee wallet's balance and output count, with the low-balance flag.
#[tracing::instrument(skip(chain))]
pub async fn status(
    chain: &mvs::rpc::Client,
    address: &str,
) -> Result<FeeWalletStatus, mvs::rpc::RpcError> {
    let utxos = chain.list_etp_utxos(address).await?;
    let balance = utxos.iter().map(|u| u.value).sum();
    Ok(FeeWalletStatus {
        address: address.to_owned(),
        balance,
        outputs: utxos.len(),
        low: balance < LOW_BALANCE,
    })
}
