//! Issuing registered point systems: register the issuer avatar on the treasury address,
//! then issue the MST to the treasury, as two chained transactions stored together.

use anyhow::Context;
use mvs::{
    builder::{AvatarRegistration, DomainCertificate, MstIssue, SecondaryIssue, Spendable},
    consensus::{AVATAR_REGISTER_FEE, MAX_DEVELOPER_SHARE, MIN_TX_FEE, MST_ISSUE_FEE},
    symbol::{AvatarName, Symbol},
    tx::{OutPoint, Transaction},
    Address,
};
use sqlx::Row;

use super::{
    chain_txs::{self, Purpose},
    selection::select_etp,
    send::spendables,
    Worker,
};

#[derive(Debug)]
struct PendingIssue {
    id: i64,
    symbol: String,
    name: String,
    description: String,
    decimals: u8,
    max_supply: u64,
    secondary_issue: u8,
    issuer_avatar: String,
    treasury_key_id: i64,
}

impl Worker {
    /// Builds and stores the issue of every point system that has none yet.
    pub(super) async fn issue_point_systems(&self) -> anyhow::Result<()> {
        let rows = sqlx::query(
            "SELECT id, symbol, name, description, decimals, max_supply, secondary_issue, issuer_avatar, treasury_key_id \
             FROM point_systems WHERE status = 'pending' AND issue_chain_tx_id IS NULL ORDER BY id LIMIT 20",
        )
        .fetch_all(self.db.pool())
        .await?;
        for row in rows {
            let pending = PendingIssue {
                id: row.try_get(0)?,
                symbol: row.try_get(1)?,
                name: row.try_get(2)?,
                description: row.try_get(3)?,
                decimals: row.try_get::<i64, _>(4)? as u8,
                max_supply: row.try_get::<i64, _>(5)? as u64,
                secondary_issue: row.try_get::<i64, _>(6)? as u8,
                issuer_avatar: row.try_get(7)?,
                treasury_key_id: row.try_get(8)?,
            };
            if let Err(error) = self.issue(&pending).await {
                tracing::warn!(symbol = %pending.symbol, error = format!("{error:#}"), "building the issue failed; will retry");
            }
        }
        Ok(())
    }

    async fn issue(&self, pending: &PendingIssue) -> anyhow::Result<()> {
        let treasury = self
            .vault
            .private_key(&self.db, pending.treasury_key_id)
            .await?;
        let fee_key = self
            .vault
            .private_key(&self.db, self.fee_wallet.key_id)
            .await?;
        let fee_utxos = self.chain.list_etp_utxos(&self.fee_wallet.address).await?;
        let fee_address = Address::parse(&self.fee_wallet.address)?;
        let network = self.vault.network();

        let mut tx = self.db.begin_write().await?;
        // Claim the point system inside the write transaction: another worker may have
        // stored its issue since the list was read, and two issues would fail each other.
        let claim = format!(
            "SELECT issue_chain_tx_id FROM point_systems WHERE id = $1 AND status = 'pending'{}",
            chain_txs::skip_locked(self.db.dialect())
        );
        let unclaimed: Option<Option<i64>> = sqlx::query_scalar(&claim)
            .bind(pending.id)
            .fetch_optional(&mut *tx)
            .await?;
        if unclaimed != Some(None) {
            return Ok(());
        }
        let reserved = chain_txs::reserved_outpoints(&mut tx).await?;
        // Enough for both: the avatar's fee, the issue's fee and one ordinary fee of slack.
        let needed = AVATAR_REGISTER_FEE + MST_ISSUE_FEE + MIN_TX_FEE;
        let fee_inputs = select_etp(&fee_utxos, &reserved, needed).with_context(|| {
            format!(
                "the fee wallet {} needs {needed} satoshi to issue a point system",
                self.fee_wallet.address
            )
        })?;

        let avatar = AvatarRegistration {
            network,
            name: AvatarName::parse(&pending.issuer_avatar)?,
            address: treasury.address(),
            fee_inputs: spendables(&fee_inputs, &fee_key)?,
            fee_change: fee_address.clone(),
        }
        .build()
        .context("building the avatar registration")?;
        // The issue pays from the registration's change, so the two always go together.
        let change = change_output(&avatar, &fee_address, &fee_key)?;
        let issue = MstIssue {
            network,
            symbol: Symbol::parse(&pending.symbol)?,
            max_supply: pending.max_supply,
            decimals: pending.decimals,
            secondary_issue: secondary_issue(pending.secondary_issue),
            issuer: AvatarName::parse(&pending.issuer_avatar)?,
            to: treasury.address(),
            description: if pending.description.is_empty() {
                pending.name.clone()
            } else {
                pending.description.clone()
            },
            domain_certificate: DomainCertificate::AutoIssue,
            fee_inputs: vec![change],
            fee_change: fee_address,
            developer_share: MAX_DEVELOPER_SHARE,
        }
        .build()
        .context("building the issue")?;

        let stored = async {
            chain_txs::record_signed(&mut tx, &avatar, Purpose::Avatar, Some(pending.id)).await?;
            chain_txs::record_signed(&mut tx, &issue, Purpose::Issue, Some(pending.id)).await
        }
        .await;
        let issue_id = match stored {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        sqlx::query("UPDATE point_systems SET issue_chain_tx_id = $1 WHERE id = $2 AND issue_chain_tx_id IS NULL")
            .bind(issue_id)
            .bind(pending.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(symbol = %pending.symbol, txid = %issue.txid(), "point system issue signed and stored");
        Ok(())
    }
}

fn secondary_issue(threshold: u8) -> SecondaryIssue {
    match threshold {
        0 => SecondaryIssue::Never,
        127 => SecondaryIssue::Free,
        percent => SecondaryIssue::Threshold(percent),
    }
}

/// The fee wallet's ETP change output of `tx`, as an input for the next transaction.
fn change_output(
    tx: &Transaction,
    fee_address: &Address,
    fee_key: &mvs::keys::PrivateKey,
) -> anyhow::Result<Spendable> {
    let script = fee_address.script_pubkey();
    let (index, output) = tx
        .outputs
        .iter()
        .enumerate()
        .find(|(_, o)| o.script_pubkey == script && o.value > 0)
        .context("the avatar registration left no change for the issue")?;
    Ok(Spendable {
        outpoint: OutPoint::new(tx.txid(), index as u32),
        output: output.clone(),
        key: fee_key.clone(),
    })
}
