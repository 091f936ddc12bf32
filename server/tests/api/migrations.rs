use sqlx::Row;

use crate::helpers::spawn_app;

/// Counts the migration files of a dialect, so a new migration cannot go unapplied.
fn migration_files(dialect: &str) -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/").to_owned() + dialect;
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

#[tokio::test]
async fn every_migration_is_applied_at_start() {
    let app = spawn_app().await;
    let db = app::domain::db::Database::connect(&app.database_url, 1)
        .await
        .unwrap();
    let applied: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get("n");
    assert_eq!(applied as usize, migration_files(db.dialect().name()));
    assert!(applied > 0);

    // The schema is usable through the same code path on both dialects.
    sqlx::query("INSERT INTO operators (email, password_hash, created_at) VALUES ($1, $2, $3)")
        .bind("owner@example.com")
        .bind("$argon2id$placeholder")
        .bind(1_700_000_000_i64)
        .execute(db.pool())
        .await
        .unwrap();
    let duplicate =
        sqlx::query("INSERT INTO operators (email, password_hash, created_at) VALUES ($1, $2, $3)")
            .bind("owner@example.com")
            .bind("$argon2id$other")
            .bind(1_700_000_001_i64)
            .execute(db.pool())
            .await;
    assert!(duplicate.is_err(), "e-mail addresses are unique");
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let app = spawn_app().await;
    let db = app::domain::db::Database::connect(&app.database_url, 1)
        .await
        .unwrap();
    db.migrate().await.expect("a second run is a no-op");
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn sqlite_databases_use_write_ahead_logging() {
    let app = spawn_app().await;
    let db = app::domain::db::Database::connect(&app.database_url, 1)
        .await
        .unwrap();
    if db.dialect() == app::domain::db::Dialect::Sqlite {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode.to_lowercase(), "wal");
    }
    db.close().await;
    app.stop().await;
}
