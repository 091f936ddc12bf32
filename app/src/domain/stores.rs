//! Stores: creating one (its creator becomes owner) and listing an operator's stores.

use sqlx::Row;

use crate::{
    domain::{clock, db::Database},
    errors::AppError,
    models::{Role, StoreSummary},
};

/// A store's name: 1 to 80 characters after trimming.
pub fn parse_name(input: &str) -> Result<String, AppError> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::InvalidStoreName);
    }
    Ok(name.to_owned())
}

/// A store's address part: 3-40 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
/// Empty input derives the slug from the name.
pub fn parse_slug(input: &str, name: &str) -> Result<String, AppError> {
    let source = if input.trim().is_empty() { name } else { input };
    let mut slug = String::new();
    for c in source.trim().to_lowercase().chars() {
        match c {
            'a'..='z' | '0'..='9' => slug.push(c),
            _ if input.trim().is_empty() && !slug.ends_with('-') => slug.push('-'),
            '-' => slug.push('-'),
            _ if input.trim().is_empty() => {}
            _ => return Err(AppError::InvalidSlug),
        }
    }
    if input.trim().is_empty() {
        slug = slug.trim_matches('-').to_owned();
    }
    let valid = (3..=40).contains(&slug.len()) && !slug.starts_with('-') && !slug.ends_with('-');
    valid.then_some(slug).ok_or(AppError::InvalidSlug)
}

/// Creates a store with `operator_id` as its owner.
#[tracing::instrument(skip(db))]
pub async fn create(
    db: &Database,
    operator_id: i64,
    name: &str,
    slug: &str,
) -> Result<StoreSummary, AppError> {
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("INSERT INTO stores (name, slug, created_at) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING id")
        .bind(name)
        .bind(slug)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::SlugTaken)?;
    let id: i64 = row.try_get("id")?;
    sqlx::query("INSERT INTO store_members (store_id, operator_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(operator_id)
        .bind(Role::Owner.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StoreSummary {
        id,
        name: name.to_owned(),
        slug: slug.to_owned(),
        role: Role::Owner,
    })
}

/// The stores an operator works on, by name.
#[tracing::instrument(skip(db))]
pub async fn list_for(db: &Database, operator_id: i64) -> Result<Vec<StoreSummary>, AppError> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, s.slug, m.role FROM stores s JOIN store_members m ON m.store_id = s.id \
         WHERE m.operator_id = $1 ORDER BY s.name, s.id",
    )
    .bind(operator_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoreSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                slug: row.try_get("slug")?,
                role: Role::parse(&row.try_get::<String, _>("role")?)
                    .map_err(|_| AppError::Internal)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            parse_slug("", "Tom's Coffee & Tea").unwrap(),
            "tom-s-coffee-tea"
        );
        assert_eq!(parse_slug("my-shop", "x").unwrap(), "my-shop");
        assert_eq!(parse_slug("My Shop", "x"), Err(AppError::InvalidSlug));
        assert_eq!(parse_slug("ab", "x"), Err(AppError::InvalidSlug));
        assert_eq!(parse_slug("-abc", "x"), Err(AppError::InvalidSlug));
        assert_eq!(parse_slug("", "!!"), Err(AppError::InvalidSlug));
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("  Corner Shop ").unwrap(), "Corner Shop");
        assert_eq!(parse_name("   "), Err(AppError::InvalidStoreName));
        assert_eq!(parse_name(&"x".repeat(81)), Err(AppError::InvalidStoreName));
    }
}
