//! The write endpoints keep API keys and customers in the process (`api::lookups`); these
//! tests change both behind the server's back, the way a dashboard in another process or
//! a second server would, and check that the very next write sees the change.

use app::domain::{
    api_keys::{self, Scope},
    email::Email,
    ledger::customers,
};
use serde_json::{json, Value};

use crate::api_support::{api_fixture, assert_problem, fixture_vault};

#[tokio::test]
async fn a_key_revoked_elsewhere_stops_the_next_award_though_the_server_remembers_it() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    fx.customer(&fx.all_scopes().await, "alice").await;
    let award = json!({ "customer": "alice", "amount": 5 });
    // Twice: the second award is served from what the server remembers.
    for _ in 0..2 {
        assert_eq!(fx.post("/awards", &key, &award).await.status(), 202);
    }
    let operations = fx.count("operations").await;

    // Revoked straight in the database: the server's process is not told.
    let id = api_keys::list(&fx.db, fx.store_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.scopes.contains(Scope::PointsWrite) && !k.scopes.contains(Scope::PointsRead))
        .unwrap()
        .id;
    api_keys::revoke(&fx.db, fx.store_id, id).await.unwrap();

    for path in ["/awards", "/redemptions"] {
        assert_problem(fx.post(path, &key, &award).await, 401, "unauthorized").await;
    }
    assert_eq!(fx.count("operations").await, operations);
}

#[tokio::test]
async fn a_customer_id_pointed_at_another_customer_elsewhere_gets_the_next_award() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    let first = fx.customer(&key, "c-1").await;
    assert_eq!(
        fx.post("/awards", &key, &json!({ "customer": "c-1", "amount": 7 }))
            .await
            .status(),
        202
    );

    // The shop's customer c-1 changes e-mail, written by another process: the id now
    // names a new platform customer with an address of its own.
    let moved = customers::upsert(
        &fx.db,
        &fixture_vault(&fx.app),
        fx.store_id,
        "c-1",
        &Email::parse("new-owner@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_ne!(moved.address, first["address"].as_str().unwrap());

    let award = fx
        .post("/awards", &key, &json!({ "customer": "c-1", "amount": 11 }))
        .await;
    assert_eq!(award.status(), 202);
    let award: Value = award.json().await.unwrap();
    assert_eq!(award["to_address"], moved.address.as_str());
    let (old_pending, new_pending) = (
        pending_in(&fx, first["address"].as_str().unwrap()).await,
        pending_in(&fx, &moved.address).await,
    );
    assert_eq!((old_pending, new_pending), (7, 11));
}

/// Points on their way to a custodial address.
async fn pending_in(fx: &crate::api_support::ApiFixture, address: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT b.pending_in FROM balances b JOIN custody_keys k ON k.id = b.key_id \
         WHERE k.address = $1 AND b.point_system_id = $2",
    )
    .bind(address)
    .bind(fx.point_system.id)
    .fetch_one(fx.db.pool())
    .await
    .unwrap()
}
