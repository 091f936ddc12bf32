//! Shared set-up of the REST API tests: a running app with a store whose point system is
//! confirmed, and API keys for it.

use app::domain::{
    api_keys::{self, KeyName, Scope, Scopes},
    custody::{KeyVault, MasterKey},
    db::Database,
    ledger::{
        point_systems::{self, PointSystem, PointSystemSpec},
        Amount,
    },
};
use mvs::symbol::{AvatarName, Symbol};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

pub struct ApiFixture {
    pub app: TestApp,
    pub db: Database,
    pub store_id: i64,
    pub point_system: PointSystem,
}

/// Creates an operator and a store named `slug`, with a point system the app's worker has
/// issued and confirmed on the development chain.
pub async fn store_with_points(
    db: &Database,
    vault: &KeyVault,
    slug: &str,
    supply: u64,
) -> (i64, PointSystem) {
    let operator_id: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ($1, 'x', 0) RETURNING id",
    )
    .bind(format!("owner@{slug}.example"))
    .fetch_one(db.pool())
    .await
    .unwrap();
    let store = app::domain::stores::create(db, operator_id, slug, slug)
        .await
        .unwrap();
    let spec = PointSystemSpec {
        symbol: Symbol::parse(&format!("{}.POINTS", slug.to_uppercase())).unwrap(),
        name: format!("{slug} points"),
        description: "test points".into(),
        decimals: 0,
        max_supply: Amount::new(supply).unwrap(),
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse(slug).unwrap(),
    };
    point_systems::register(db, vault, store.id, &spec)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ps = PointSystem::of_store(db, store.id).await.unwrap().unwrap();
        if ps.status == "confirmed" {
            return (store.id, ps);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not issue {slug}'s point system"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits until the worker has confirmed operation `id` on chain; returns its txid.
pub async fn wait_confirmed(db: &Database, id: i64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row: (String, Option<String>) =
            sqlx::query_as("SELECT state, txid FROM operations WHERE id = $1")
                .bind(id)
                .fetch_one(db.pool())
                .await
                .unwrap();
        if row.0 == "confirmed" {
            return row.1.expect("a confirmed operation has a txid");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "operation {id} did not confirm (state {})",
            row.0
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A vault under the server's own master key (DATA_DIR/master.key).
pub fn fixture_vault(app: &TestApp) -> KeyVault {
    KeyVault::new(
        MasterKey::load_or_create(&app.data_dir.join("master.key")).unwrap(),
        mvs::Network::Testnet,
    )
}

pub async fn api_fixture() -> ApiFixture {
    let app = spawn_app().await;
    let db = Database::connect(&app.database_url, 4).await.unwrap();
    let (store_id, point_system) =
        store_with_points(&db, &fixture_vault(&app), "corner", 1_000_000).await;
    ApiFixture {
        app,
        db,
        store_id,
        point_system,
    }
}

impl ApiFixture {
    /// A new key of this store with the given scopes.
    pub async fn key(&self, scopes: &[Scope]) -> String {
        self.key_for(self.store_id, scopes).await
    }

    pub async fn key_for(&self, store_id: i64, scopes: &[Scope]) -> String {
        let (_, key) = api_keys::create(
            &self.db,
            store_id,
            &KeyName::parse("test").unwrap(),
            &Scopes::new(scopes.iter().copied()).unwrap(),
            None,
        )
        .await
        .unwrap();
        key.reveal().to_owned()
    }

    pub async fn all_scopes(&self) -> String {
        self.key(&Scope::ALL).await
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(&format!("/api/v1{path}")))
            .bearer_auth(key)
    }

    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, key)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.request(method, path, key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, key, body).await
    }

    pub async fn put(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, key, body).await
    }

    /// Creates a customer through the API.
    pub async fn customer(&self, key: &str, external_id: &str) -> Value {
        let response = self
            .put(
                &format!("/customers/{external_id}"),
                key,
                &serde_json::json!({ "email": format!("{external_id}@example.com") }),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    /// Row counts of every table an API write can change.
    pub async fn counts(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "operations",
            "customers",
            "store_customers",
            "idempotency_records",
            "webhook_endpoints",
            "webhook_deliveries",
            "api_keys",
        ] {
            counts.push(self.count(table).await);
        }
        let available: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM balances")
                .fetch_one(self.db.pool())
                .await
                .unwrap();
        counts.push(available);
        counts
    }
}

/// Asserts a problem+json answer with `status` and `code`; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}
