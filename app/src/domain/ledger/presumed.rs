//! Look-ups a caller took from a cache, re-checked by the write that relies on them.
//!
//! Why: the API's write endpoints keep API keys and store customers in the process, so an
//! award costs one database round trip (its write) instead of two. A key revoked, or a
//! store's customer id pointed at another customer, by this process or any other, must
//! still stop the writes that follow at once: the write itself checks what the cache
//! said, in its own transaction, and refuses with [`LedgerError::Stale`] when the
//! database says otherwise; the caller then looks again and retries.
//!
//! [`LedgerError::Stale`]: super::LedgerError::Stale

use std::collections::BTreeSet;

use sqlx::AnyConnection;

use crate::domain::db::{bound_sql::BoundSql, Dialect};

/// What a submission presumes of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presumed {
    /// The API key that asks, presumed not revoked.
    pub api_key_id: Option<i64>,
    /// A store customer, presumed to be the platform customer whose address is `key_id`.
    pub customer: Option<PresumedCustomer>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PresumedCustomer {
    pub store_id: i64,
    pub external_id: String,
    pub key_id: i64,
}

impl Presumed {
    /// An SQL condition, its values bound into `sql`, that is true exactly when every
    /// presumption of `all` holds; `None` when they presume nothing. Each part is index
    /// look-ups (API keys by id, store customers by primary key), never a scan.
    pub(super) fn condition<'a>(
        sql: &mut BoundSql,
        all: impl IntoIterator<Item = &'a Presumed>,
    ) -> Option<String> {
        let (keys, customers) = Self::distinct(all);
        let mut parts = Vec::new();
        if !keys.is_empty() {
            let ids: Vec<String> = keys.iter().map(|id| sql.bind(*id)).collect();
            parts.push(format!(
                "(SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND id IN ({})) = {}",
                ids.join(", "),
                keys.len()
            ));
        }
        if !customers.is_empty() {
            let rows: Vec<String> = customers
                .iter()
                .map(|c| {
                    format!(
                        "({}, {}, {})",
                        sql.bind(c.store_id),
                        sql.bind(c.external_id.clone()),
                        sql.bind(c.key_id)
                    )
                })
                .collect();
            // VALUES names its columns column1.. on SQLite and PostgreSQL alike.
            parts.push(format!(
                "(SELECT COUNT(*) FROM (VALUES {}) AS v \
                  JOIN store_customers sc ON sc.store_id = v.column1 AND sc.external_id = v.column2 \
                  JOIN customers c ON c.id = sc.customer_id AND c.key_id = v.column3) = {}",
                rows.join(", "),
                customers.len()
            ));
        }
        (!parts.is_empty()).then(|| format!("({})", parts.join(" AND ")))
    }

    /// The API keys and the store customers that `all` presume, each once.
    pub(super) fn distinct<'a>(
        all: impl IntoIterator<Item = &'a Presumed>,
    ) -> (BTreeSet<i64>, BTreeSet<&'a PresumedCustomer>) {
        let mut keys = BTreeSet::new();
        let mut customers = BTreeSet::new();
        for presumed in all {
            keys.extend(presumed.api_key_id);
            customers.extend(presumed.customer.as_ref());
        }
        (keys, customers)
    }

    /// Whether this submission's presumptions hold, read on `conn` (inside the write
    /// transaction of the item-by-item path).
    pub(super) async fn hold(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
    ) -> Result<bool, sqlx::Error> {
        let mut sql = BoundSql::new(dialect);
        let Some(condition) = Self::condition(&mut sql, [self]) else {
            return Ok(true);
        };
        sql.push(&format!(
            "SELECT CAST(CASE WHEN {condition} THEN 1 ELSE 0 END AS BIGINT) AS held"
        ));
        let row = sql.query().fetch_one(conn).await?;
        Ok(sqlx::Row::try_get::<i64, _>(&row, "held")? == 1)
    }
}
