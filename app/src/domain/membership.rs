//! Store membership: the one place that decides whether an operator may act on a store.

use sqlx::Row;

use crate::{
    domain::db::Database,
    errors::AppError,
    models::{Role, StoreSummary},
};

/// Loads the store with the operator's role in it, if the role is at least `min_role`.
///
/// A store the operator is not a member of answers [`AppError::NotFound`], exactly like a
/// store that does not exist, so ids of other tenants reveal nothing. A member whose role
/// is too low gets [`AppError::Forbidden`].
#[tracing::instrument(skip(db))]
pub async fn require_member(
    db: &Database,
    operator_id: i64,
    store_id: i64,
    min_role: Role,
) -> Result<StoreSummary, AppError> {
    let row = sqlx::query(
        "SELECT s.id, s.name, s.slug, m.role FROM stores s JOIN store_members m ON m.store_id = s.id \
         WHERE s.id = $1 AND m.operator_id = $2",
    )
    .bind(store_id)
    .bind(operator_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let store = StoreSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        role: Role::parse(&row.try_get::<String, _>("role")?).map_err(|_| AppError::Internal)?,
    };
    if store.role < min_role {
        return Err(AppError::Forbidden);
    }
    Ok(store)
}
