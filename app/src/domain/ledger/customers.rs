//! Customers: one per e-mail address on the platform, known to each store by its own id.

use sqlx::Row;

use super::LedgerError;
use crate::domain::{
    clock,
    context::ServerContext,
    custody::{KeyPurpose, KeyVault},
    customer_sessions,
    db::Database,
    email::Email,
};

/// A store's view of a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCustomer {
    pub customer_id: i64,
    pub store_id: i64,
    pub external_id: String,
    pub email: String,
    pub name: Option<String>,
    pub key_id: i64,
    pub address: String,
}

/// Creates or updates the customer a store knows as `external_id`.
///
/// A customer already on the platform (same e-mail) keeps their address, so points of
/// every store land in one wallet.
#[tracing::instrument(skip(db, vault, email, name))]
pub async fn upsert(
    db: &Database,
    vault: &KeyVault,
    store_id: i64,
    external_id: &str,
    email: &Email,
    name: Option<&str>,
) -> Result<StoreCustomer, LedgerError> {
    upsert_in(db, vault, store_id, external_id, email, name, None).await
}

/// [`upsert`], and a customer new to the platform gets a welcome mail with a link to
/// their wallet (queued in the same transaction, so it exists exactly when they do).
#[tracing::instrument(skip(ctx, vault, email, name))]
pub async fn upsert_welcoming(
    ctx: &ServerContext,
    vault: &KeyVault,
    store_id: i64,
    external_id: &str,
    email: &Email,
    name: Option<&str>,
) -> Result<StoreCustomer, LedgerError> {
    let customer = upsert_in(
        &ctx.db,
        vault,
        store_id,
        external_id,
        email,
        name,
        Some(ctx),
    )
    .await?;
    ctx.mail.wake();
    Ok(customer)
}

async fn upsert_in(
    db: &Database,
    vault: &KeyVault,
    store_id: i64,
    external_id: &str,
    email: &Email,
    name: Option<&str>,
    welcome: Option<&ServerContext>,
) -> Result<StoreCustomer, LedgerError> {
    let mut tx = db.begin_write().await?;
    let now = clock::now();
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let customer_id = match existing {
        Some(id) => id,
        None => {
            let key = vault.create_key(&mut tx, KeyPurpose::Customer).await?;
            let id: i64 = sqlx::query_scalar("INSERT INTO customers (email, key_id, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(email.as_str())
                .bind(key.id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(ctx) = welcome {
                let store_name: String =
                    sqlx::query_scalar("SELECT name FROM stores WHERE id = $1")
                        .bind(store_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(LedgerError::NotFound("store"))?;
                customer_sessions::queue_welcome(&mut tx, ctx, id, email, &store_name)
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "could not queue the welcome mail");
                        LedgerError::Database(sqlx::Error::Protocol(
                            "could not queue the welcome mail".into(),
                        ))
                    })?;
            }
            id
        }
    };
    sqlx::query(
        "INSERT INTO store_customers (store_id, external_id, customer_id, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (store_id, external_id) DO UPDATE SET customer_id = excluded.customer_id, \
           name = excluded.name, updated_at = excluded.updated_at",
    )
    .bind(store_id)
    .bind(external_id)
    .bind(customer_id)
    .bind(name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let customer = fetch_in(&mut tx, store_id, external_id)
        .await?
        .ok_or(LedgerError::NotFound("customer"))?;
    tx.commit().await?;
    Ok(customer)
}

/// The customer a store knows as `external_id`; other stores' customers are not found.
pub async fn fetch(
    db: &Database,
    store_id: i64,
    external_id: &str,
) -> Result<Option<StoreCustomer>, LedgerError> {
    let mut conn = db.pool().acquire().await?;
    fetch_in(&mut conn, store_id, external_id).await
}

/// A store customer's columns for a query that joins `store_customers sc`, `customers c`
/// and `custody_keys ck` to another table (named so they cannot clash with its columns).
pub(crate) const JOINED_COLUMNS: &str = "c.id AS sc_customer_id, sc.store_id AS sc_store_id, \
     sc.external_id AS sc_external_id, c.email AS sc_email, sc.name AS sc_name, \
     c.key_id AS sc_key_id, ck.address AS sc_address";

/// The customer of a row selected with [`JOINED_COLUMNS`]; `None` when the join found none.
pub(crate) fn from_joined_row(
    row: &sqlx::any::AnyRow,
) -> Result<Option<StoreCustomer>, sqlx::Error> {
    let Some(customer_id) = row.try_get::<Option<i64>, _>("sc_customer_id")? else {
        return Ok(None);
    };
    Ok(Some(StoreCustomer {
        customer_id,
        store_id: row.try_get("sc_store_id")?,
        external_id: row.try_get("sc_external_id")?,
        email: row.try_get("sc_email")?,
        name: row.try_get("sc_name")?,
        key_id: row.try_get("sc_key_id")?,
        address: row.try_get("sc_address")?,
    }))
}

async fn fetch_in(
    conn: &mut sqlx::AnyConnection,
    store_id: i64,
    external_id: &str,
) -> Result<Option<StoreCustomer>, LedgerError> {
    let row = sqlx::query(
        "SELECT c.id, sc.store_id, sc.external_id, c.email, sc.name, c.key_id, k.address \
         FROM store_customers sc JOIN customers c ON c.id = sc.customer_id JOIN custody_keys k ON k.id = c.key_id \
         WHERE sc.store_id = $1 AND sc.external_id = $2",
    )
    .bind(store_id)
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .map(|row| -> Result<StoreCustomer, sqlx::Error> {
            Ok(StoreCustomer {
                customer_id: row.try_get(0)?,
                store_id: row.try_get(1)?,
                external_id: row.try_get(2)?,
                email: row.try_get(3)?,
                name: row.try_get(4)?,
                key_id: row.try_get(5)?,
                address: row.try_get(6)?,
            })
        })
        .transpose()?)
}
