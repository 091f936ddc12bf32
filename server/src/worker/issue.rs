//! Issuing registered point systems: register the issuer avatar on the treasury address,
//! then issue the MST to the treasury, as two chained transactions stored together.

use anyhow::Context;
use mvs::{
    builder::{
        AvatarRegistration, DomainCertificate, MstIssue, MstSecondaryIssue, SecondaryIssue,
        Spendable,
    },
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
        let reserved = chain_txs::Reservations::read(&self.db).await?;
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
            fee_change: fee_address,
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

        let ps = Some(pending.id);
        let avatar_id =
            chain_txs::record_signed(&mut tx, &avatar, Purpose::Avatar, ps, &reserved).await?;
        let issue_id = match avatar_id {
            Some(_) => {
                chain_txs::record_signed(&mut tx, &issue, Purpose::Issue, ps, &reserved).await?
            }
            None => None,
        };
        let Some(issue_id) = issue_id else {
            return Ok(());
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

/// A queued secondary issue and what building it needs.
#[derive(Debug)]
struct QueuedSecondaryIssue {
    operation_id: i64,
    amount: u64,
    point_system_id: i64,
    symbol: String,
    description: String,
    decimals: u8,
    threshold: u8,
    issuer_avatar: String,
    treasury_key_id: i64,
    treasury_address: String,
}

impl Worker {
    /// Builds, signs and stores queued secondary issues, one in flight per point system:
    /// each spends the issue certificate the previous one re-output.
    pub(super) async fn issue_more_supply(&self) -> anyhow::Result<()> {
        let rows = sqlx::query(
            "SELECT o.id, o.amount, p.id, p.symbol, p.description, p.decimals, p.secondary_issue, \
               p.issuer_avatar, p.treasury_key_id, k.address \
             FROM operations o JOIN point_systems p ON p.id = o.point_system_id \
             JOIN custody_keys k ON k.id = p.treasury_key_id \
             WHERE o.kind = 'secondary_issue' AND o.state = 'queued' AND p.status = 'confirmed' \
             ORDER BY o.id LIMIT 20",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut seen = std::collections::HashSet::new();
        for row in rows {
            let queued = QueuedSecondaryIssue {
                operation_id: row.try_get(0)?,
                amount: row.try_get::<i64, _>(1)? as u64,
                point_system_id: row.try_get(2)?,
                symbol: row.try_get(3)?,
                description: row.try_get(4)?,
                decimals: row.try_get::<i64, _>(5)? as u8,
                threshold: row.try_get::<i64, _>(6)? as u8,
                issuer_avatar: row.try_get(7)?,
                treasury_key_id: row.try_get(8)?,
                treasury_address: row.try_get(9)?,
            };
            if !seen.insert(queued.point_system_id) {
                continue;
            }
            if let Err(error) = self.secondary_issue(&queued).await {
                tracing::warn!(symbol = %queued.symbol, operation = queued.operation_id, error = format!("{error:#}"), "building the secondary issue failed; will retry");
            }
        }
        Ok(())
    }

    async fn secondary_issue(&self, queued: &QueuedSecondaryIssue) -> anyhow::Result<()> {
        use app::domain::ledger::{secondary_issue::required_share, settle};

        // The issue certificate sits in the newest confirmed issue or secondary issue of
        // the point system; a newer one still in flight will move it: wait for it.
        let issues = sqlx::query(
            "SELECT raw_hex, state FROM chain_txs WHERE point_system_id = $1 \
             AND purpose IN ('issue', 'secondary_issue') AND state IN ('signed', 'broadcast', 'confirmed') \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(queued.point_system_id)
        .fetch_optional(self.db.pool())
        .await?
        .context("the point system has no issue transaction")?;
        let (raw_hex, state): (String, String) = (issues.try_get(0)?, issues.try_get(1)?);
        if state != "confirmed" {
            return Ok(());
        }
        let treasury = self
            .vault
            .private_key(&self.db, queued.treasury_key_id)
            .await?;
        let certificate = issue_certificate(&raw_hex, &queued.symbol, &treasury)?;
        let supply = self.chain.get_asset(&queued.symbol).await?.maximum_supply;
        let required = required_share(queued.threshold, supply);
        let reserved = chain_txs::Reservations::read(&self.db).await?;
        let asset_utxos = self
            .chain
            .list_asset_utxos(&queued.treasury_address, &queued.symbol)
            .await?;
        let fee_utxos = self.chain.list_etp_utxos(&self.fee_wallet.address).await?;
        let fee_key = self
            .vault
            .private_key(&self.db, self.fee_wallet.key_id)
            .await?;

        let mut tx = self.db.begin_write().await?;
        let claim = format!(
            "SELECT id FROM operations WHERE id = $1 AND state = 'queued'{}",
            chain_txs::skip_locked(self.db.dialect())
        );
        let claimed: Option<i64> = sqlx::query_scalar(&claim)
            .bind(queued.operation_id)
            .fetch_optional(&mut *tx)
            .await?;
        if claimed.is_none() {
            return Ok(());
        }
        let cert_key = super::selection::outpoint_key(
            &certificate.outpoint.txid.to_string(),
            certificate.outpoint.index,
        );
        if reserved.contains(&cert_key) {
            return Ok(());
        }
        let asset_inputs = if required == 0 {
            Vec::new()
        } else {
            match super::selection::select_asset(&asset_utxos, &reserved, required) {
                Some(inputs) => inputs,
                None => {
                    let held: u64 = asset_utxos
                        .iter()
                        .map(super::selection::asset_quantity)
                        .sum();
                    if held < required {
                        // Not a wait: the treasury gave away too much since the request.
                        let reason = format!(
                            "the treasury holds {held} points on chain; issuing more needs at least {required} (the point system's threshold)"
                        );
                        settle::fail_in(&mut tx, queued.operation_id, &reason).await?;
                        tx.commit().await?;
                        tracing::warn!(symbol = %queued.symbol, held, required, "secondary issue refused: threshold share not held");
                    }
                    // Otherwise outputs are reserved by transfers in flight: next round.
                    return Ok(());
                }
            }
        };
        let Some(fee_inputs) = select_etp(&fee_utxos, &reserved, MIN_TX_FEE) else {
            tracing::warn!(address = %self.fee_wallet.address, "the fee wallet cannot pay a secondary issue");
            return Ok(());
        };
        let transaction = MstSecondaryIssue {
            network: self.vault.network(),
            symbol: Symbol::parse(&queued.symbol)?,
            volume: queued.amount,
            decimals: queued.decimals,
            threshold: queued.threshold,
            issuer: AvatarName::parse(&queued.issuer_avatar)?,
            to: treasury.address(),
            description: queued.description.clone(),
            certificate,
            asset_inputs: spendables(&asset_inputs, &treasury)?,
            fee_inputs: spendables(&fee_inputs, &fee_key)?,
            fee_change: Address::parse(&self.fee_wallet.address)?,
            fee: MIN_TX_FEE,
        }
        .build()
        .context("building the secondary issue")?;
        let Some(chain_tx_id) = chain_txs::record_signed(
            &mut tx,
            &transaction,
            Purpose::SecondaryIssue,
            Some(queued.point_system_id),
            &reserved,
        )
        .await?
        else {
            return Ok(());
        };
        let txid = transaction.txid().to_string();
        sqlx::query("UPDATE operations SET state = 'signed', chain_tx_id = $1, txid = $2, updated_at = $3 WHERE id = $4 AND state = 'queued'")
            .bind(chain_tx_id)
            .bind(&txid)
            .bind(app::domain::clock::now())
            .bind(queued.operation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(symbol = %queued.symbol, %txid, amount = queued.amount, "secondary issue signed and stored");
        Ok(())
    }
}

/// The output of a stored issue (or secondary issue) holding the symbol's issue certificate.
fn issue_certificate(
    raw_hex: &str,
    symbol: &str,
    treasury: &mvs::keys::PrivateKey,
) -> anyhow::Result<Spendable> {
    use mvs::attachment::{AttachmentBody, CertType};
    let tx = <Transaction as mvs::encoding::Decode>::decode_hex(raw_hex)?;
    let (index, output) = tx
        .outputs
        .iter()
        .enumerate()
        .find(|(_, o)| {
            matches!(&o.attachment.body, AttachmentBody::Certificate(c)
                if c.cert_type == CertType::Issue && c.symbol == symbol)
        })
        .context("the issue carries no issue certificate (its policy allows no secondary issue)")?;
    Ok(Spendable {
        outpoint: OutPoint::new(tx.txid(), index as u32),
        output: output.clone(),
        key: treasury.clone(),
    })
}
