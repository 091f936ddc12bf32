//! Registering the avatars customers asked for: one avatar registration per customer,
//! bound to their custodial address, paid by the fee wallet. The registration is stored
//! before it is broadcast like every other transaction; its confirmation (or the node's
//! refusal) is the avatar's state.

use anyhow::Context;
use mvs::{
    builder::AvatarRegistration,
    consensus::{AVATAR_REGISTER_FEE, MIN_TX_FEE},
    symbol::AvatarName,
    Address,
};
use sqlx::Row;

use super::{
    chain_txs::{self, Purpose},
    selection::select_etp,
    send::spendables,
    Worker,
};

impl Worker {
    /// Builds and stores the registration of every customer avatar that has none yet.
    pub(super) async fn register_customer_avatars(&self) -> anyhow::Result<()> {
        let rows = sqlx::query(
            "SELECT a.customer_id, a.name, k.address FROM customer_avatars a \
             JOIN customers c ON c.id = a.customer_id JOIN custody_keys k ON k.id = c.key_id \
             WHERE a.chain_tx_id IS NULL ORDER BY a.created_at LIMIT 20",
        )
        .fetch_all(self.db.pool())
        .await?;
        for row in rows {
            let (customer_id, name, address): (i64, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if let Err(error) = self.register_avatar(customer_id, &name, &address).await {
                tracing::warn!(avatar = %name, error = format!("{error:#}"), "registering a customer avatar failed; will retry");
            }
        }
        Ok(())
    }

    async fn register_avatar(
        &self,
        customer_id: i64,
        name: &str,
        address: &str,
    ) -> anyhow::Result<()> {
        let fee_key = self
            .vault
            .private_key(&self.db, self.fee_wallet.key_id)
            .await?;
        let reserved = chain_txs::Reservations::read(&self.db).await?;
        let fee_utxos = self.chain.list_etp_utxos(&self.fee_wallet.address).await?;
        let fee_address = Address::parse(&self.fee_wallet.address)?;

        let mut tx = self.db.begin_write().await?;
        // Claim the row inside the write transaction, so two workers register it once.
        let claim = format!(
            "SELECT chain_tx_id FROM customer_avatars WHERE customer_id = $1{}",
            chain_txs::skip_locked(self.db.dialect())
        );
        let unclaimed: Option<Option<i64>> = sqlx::query_scalar(&claim)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?;
        if unclaimed != Some(None) {
            return Ok(());
        }
        let needed = AVATAR_REGISTER_FEE + MIN_TX_FEE;
        let fee_inputs = select_etp(&fee_utxos, &reserved, needed).with_context(|| {
            format!(
                "the fee wallet {} needs {needed} satoshi to register an avatar",
                self.fee_wallet.address
            )
        })?;
        let registration = AvatarRegistration {
            network: self.vault.network(),
            name: AvatarName::parse(name)?,
            address: Address::parse(address)?,
            fee_inputs: spendables(&fee_inputs, &fee_key)?,
            fee_change: fee_address,
        }
        .build()
        .context("building the avatar registration")?;
        let Some(id) =
            chain_txs::record_signed(&mut tx, &registration, Purpose::Avatar, None, &reserved)
                .await?
        else {
            return Ok(());
        };
        sqlx::query("UPDATE customer_avatars SET chain_tx_id = $1 WHERE customer_id = $2 AND chain_tx_id IS NULL")
            .bind(id)
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(avatar = %name, txid = %registration.txid(), "customer avatar registration signed and stored");
        Ok(())
    }
}
