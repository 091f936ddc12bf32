//! Avatars customers register for their wallet address (one each), so others can send
//! points to a name. Recording the wish is all this does; the worker registers the avatar
//! on chain, and the state of that chain transaction is the avatar's state.

use mvs::symbol::AvatarName;
use sqlx::Row;

use crate::{
    domain::{clock, db::Database},
    errors::AppError,
};

/// A customer's avatar and where its registration is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerAvatar {
    pub name: String,
    /// `pending` (not built yet), then the chain transaction's state: signed, broadcast,
    /// confirmed or failed.
    pub state: String,
}

/// The customer's avatar, if they asked for one.
pub async fn of_customer(
    db: &Database,
    customer_id: i64,
) -> Result<Option<CustomerAvatar>, AppError> {
    let row = sqlx::query(
        "SELECT a.name, COALESCE(t.state, 'pending') FROM customer_avatars a \
         LEFT JOIN chain_txs t ON t.id = a.chain_tx_id WHERE a.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row
        .map(|r| -> Result<CustomerAvatar, sqlx::Error> {
            Ok(CustomerAvatar {
                name: r.try_get(0)?,
                state: r.try_get(1)?,
            })
        })
        .transpose()?)
}

/// Records the customer's wish for `name`. Refused when they have one already (a failed
/// registration may be replaced) or the platform knows the name (a customer's or an issuer's).
/// The caller checks the chain.
#[tracing::instrument(skip(db))]
pub async fn request(db: &Database, customer_id: i64, name: &AvatarName) -> Result<(), AppError> {
    let key = name.as_str().to_lowercase();
    let mut tx = db.begin_write().await?;
    if let Some(existing) = of_customer_in(&mut tx, customer_id).await? {
        if existing != "failed" {
            return Err(AppError::AlreadyHasAvatar);
        }
        sqlx::query("DELETE FROM customer_avatars WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
    }
    let issuer: Option<i64> =
        sqlx::query_scalar("SELECT id FROM point_systems WHERE LOWER(issuer_avatar) = $1")
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
    if issuer.is_some() {
        return Err(AppError::AvatarNameTaken);
    }
    let inserted = sqlx::query(
        "INSERT INTO customer_avatars (customer_id, name, name_key, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name_key) DO NOTHING",
    )
    .bind(customer_id)
    .bind(name.as_str())
    .bind(&key)
    .bind(clock::now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::AvatarNameTaken);
    }
    tx.commit().await?;
    Ok(())
}

async fn of_customer_in(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(t.state, 'pending') FROM customer_avatars a \
         LEFT JOIN chain_txs t ON t.id = a.chain_tx_id WHERE a.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await
}
