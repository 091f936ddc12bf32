//! API authentication and tenancy: missing or revoked keys, scopes, other stores' data.

use app::domain::api_keys::{self, Scope};
use reqwest::Method;
use serde_json::json;

use crate::api_support::{
    api_fixture, assert_problem, fixture_vault, store_with_points, wait_confirmed,
};

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_keys_get_401_and_change_nothing() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    fx.customer(&key, "alice").await;
    let before = fx.counts().await;

    let no_header = fx
        .app
        .client
        .get(fx.app.url("/api/v1/store"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_header.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    assert_problem(no_header, 401, "unauthorized").await;
    assert_problem(
        fx.get("/store", "pm_live_not-a-key").await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = format!("pm_live_{}", "A".repeat(32));
    assert_problem(fx.get("/store", &unknown).await, 401, "unauthorized").await;

    let listed = api_keys::list(&fx.db, fx.store_id).await.unwrap();
    let revoked_id = listed.iter().find(|k| k.revoked_at.is_none()).unwrap().id;
    api_keys::revoke(&fx.db, fx.store_id, revoked_id)
        .await
        .unwrap();
    let award = json!({ "customer": "alice", "amount": 10 });
    assert_problem(fx.post("/awards", &key, &award).await, 401, "unauthorized").await;
    assert_problem(fx.get("/store", &key).await, 401, "unauthorized").await;
    assert_eq!(fx.counts().await, before, "refused requests change nothing");
}

#[tokio::test]
async fn a_key_without_the_scope_gets_403_and_changes_nothing() {
    let fx = api_fixture().await;
    let read_only = fx.key(&[Scope::PointsRead]).await;
    let writer = fx.key(&[Scope::PointsWrite]).await;
    fx.customer(&writer, "alice").await;
    let before = fx.counts().await;

    let body = assert_problem(
        fx.post(
            "/awards",
            &read_only,
            &json!({ "customer": "alice", "amount": 5 }),
        )
        .await,
        403,
        "insufficient_scope",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("points:write"));
    assert_problem(
        fx.put(
            "/customers/bob",
            &read_only,
            &json!({ "email": "bob@example.com" }),
        )
        .await,
        403,
        "insufficient_scope",
    )
    .await;
    assert_problem(
        fx.get("/customers/alice", &writer).await,
        403,
        "insufficient_scope",
    )
    .await;
    assert_problem(
        fx.get("/webhooks", &read_only).await,
        403,
        "insufficient_scope",
    )
    .await;
    assert_problem(
        fx.post(
            "/webhooks",
            &writer,
            &json!({ "url": "http://127.0.0.1:9/h" }),
        )
        .await,
        403,
        "insufficient_scope",
    )
    .await;
    // Scope is checked before the body: an invalid body from a key without the scope is 403 too.
    assert_problem(
        fx.post("/awards", &read_only, &json!({ "amount": "lots" }))
            .await,
        403,
        "insufficient_scope",
    )
    .await;
    assert_eq!(fx.counts().await, before);

    // The same requests pass with the scope.
    assert_eq!(fx.get("/store", &read_only).await.status(), 200);
    assert_eq!(fx.get("/customers/alice", &read_only).await.status(), 200);
}

#[tokio::test]
async fn another_stores_customers_operations_and_webhooks_are_not_found() {
    let fx = api_fixture().await;
    let ours = fx.all_scopes().await;
    let (other_store, _) =
        store_with_points(&fx.db, &fixture_vault(&fx.app), "elsewhere", 1_000).await;
    let theirs = fx.key_for(other_store, &Scope::ALL).await;

    fx.customer(&theirs, "carol").await;
    let op: serde_json::Value = fx
        .post(
            "/awards",
            &theirs,
            &json!({ "customer": "carol", "amount": 7 }),
        )
        .await
        .json()
        .await
        .unwrap();
    // Settle the award first: its confirmation moves balances and writes events, and the
    // snapshot below must only change if a refused request changed something.
    wait_confirmed(&fx.db, op["id"].as_i64().unwrap()).await;
    let hook: serde_json::Value = fx
        .post(
            "/webhooks",
            &theirs,
            &json!({ "url": "http://127.0.0.1:9/h" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let before = fx.counts().await;

    assert_problem(fx.get("/customers/carol", &ours).await, 404, "not_found").await;
    assert_problem(
        fx.get(&format!("/operations/{}", op["id"]), &ours).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        fx.get("/operations?customer=carol", &ours).await,
        404,
        "not_found",
    )
    .await;
    let ours_list: serde_json::Value = fx.get("/operations", &ours).await.json().await.unwrap();
    assert_eq!(
        ours_list["data"],
        json!([]),
        "the other store's operation is not listed"
    );
    let hook_path = format!("/webhooks/{}", hook["id"]);
    assert_problem(
        fx.request(Method::DELETE, &hook_path, &ours)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        fx.get(&format!("{hook_path}/deliveries"), &ours).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        fx.post(&format!("{hook_path}/test"), &ours, &json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        fx.post(
            "/awards",
            &ours,
            &json!({ "customer": "carol", "amount": 1 }),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    assert_eq!(
        fx.counts().await,
        before,
        "nothing of the other store changed"
    );
    // The owner still sees it.
    assert_eq!(
        fx.get(&format!("/operations/{}", op["id"]), &theirs)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn keys_are_stored_hashed_listed_by_prefix_and_record_their_use() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsRead]).await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM api_keys")
        .fetch_all(fx.db.pool())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&key[8..])),
        "only the SHA-256 is stored"
    );
    let listed = api_keys::list(&fx.db, fx.store_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(key.starts_with(&listed[0].prefix));
    assert_eq!(listed[0].last_used_at, None);
    assert_eq!(fx.get("/store", &key).await.status(), 200);
    assert!(api_keys::list(&fx.db, fx.store_id).await.unwrap()[0]
        .last_used_at
        .is_some());
    assert!(matches!(
        api_keys::revoke(&fx.db, fx.store_id + 1, listed[0].id).await,
        Err(api_keys::ApiKeyError::NotFound)
    ));
}

#[tokio::test]
async fn the_key_is_judged_before_the_body_on_every_write_endpoint() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    let read_only = fx.key(&[Scope::PointsRead]).await;
    fx.customer(&key, "alice").await;
    let unknown = format!("pm_live_{}", "A".repeat(32));
    let before = fx.counts().await;

    // The write endpoints check the key and the customer in one query, after reading the
    // body: a bad body must still be answered 401 or 403 when the key is bad.
    for path in ["/awards", "/redemptions", "/transfers"] {
        let bad_body = json!({ "amount": "lots" });
        assert_problem(
            fx.post(path, &unknown, &bad_body).await,
            401,
            "unauthorized",
        )
        .await;
        assert_problem(
            fx.post(path, &read_only, &bad_body).await,
            403,
            "insufficient_scope",
        )
        .await;
        let not_json = fx
            .request(Method::POST, path, &unknown)
            .header("content-type", "text/plain")
            .body("amount=5")
            .send()
            .await
            .unwrap();
        assert_problem(not_json, 401, "unauthorized").await;
        assert_problem(fx.post(path, &key, &bad_body).await, 422, "invalid_request").await;
    }
    let nobody = json!({ "customer": "nobody", "amount": 5 });
    assert_problem(
        fx.post("/awards", &unknown, &nobody).await,
        401,
        "unauthorized",
    )
    .await;
    let problem = assert_problem(
        fx.post("/awards", &key, &nobody).await,
        422,
        "invalid_request",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "customer");
    let transfer = json!({ "from_customer": "nobody", "to_customer": "alice", "amount": 5 });
    let problem = assert_problem(
        fx.post("/transfers", &key, &transfer).await,
        422,
        "invalid_request",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "from_customer");
    assert_eq!(fx.counts().await, before, "refused requests change nothing");
}
