//! The platform's fee wallet: the one ETP address that pays every transaction's fee.

use app::domain::{
    custody::{KeyPurpose, KeyVault},
    db::Database,
};

use app::domain::fee_wallet::ROLE;

/// The fee wallet's key and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeWallet {
    pub key_id: i64,
    pub address: String,
}

impl FeeWallet {
    /// The platform's fee wallet, created on first start.
    #[tracing::instrument(skip_all)]
    pub async fn ensure(db: &Database, vault: &KeyVault) -> anyhow::Result<FeeWallet> {
        if let Some(wallet) = Self::find(db).await? {
            return Ok(wallet);
        }
        let mut tx = db.begin_write().await?;
        let key = vault.create_key(&mut tx, KeyPurpose::FeeWallet).await?;
        let claimed = sqlx::query("INSERT INTO platform_keys (role, key_id) VALUES ($1, $2) ON CONFLICT (role) DO NOTHING")
            .bind(ROLE)
            .bind(key.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 1 {
            tx.commit().await?;
            tracing::info!(address = %key.address, "fee wallet created");
        } else {
            // Another process created it first: keep theirs, drop ours.
            tx.rollback().await?;
        }
        Self::find(db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the fee wallet vanished right after creation"))
    }

    async fn find(db: &Database) -> anyhow::Result<Option<FeeWallet>> {
        let row = app::domain::fee_wallet::find(db).await?;
        Ok(row.map(|(key_id, address)| FeeWallet { key_id, address }))
    }
}
