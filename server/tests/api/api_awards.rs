//! Awards, redemptions and customers through the REST API: the happy path, idempotency,
//! invalid bodies, and that refusals change nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::api_support::{api_fixture, assert_problem};

#[tokio::test]
async fn a_shop_creates_a_customer_awards_redeems_and_reads_the_operations() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;

    let store: Value = fx.get("/store", &key).await.json().await.unwrap();
    assert_eq!(store["point_system"]["symbol"], "CORNER.POINTS");
    assert_eq!(store["point_system"]["status"], "confirmed");

    let alice = fx.customer(&key, "alice").await;
    assert_eq!(alice["external_id"], "alice");
    assert!(alice["address"].as_str().unwrap().starts_with('t'));
    assert_eq!(
        alice["balance"],
        json!({ "available": 0, "pending_in": 0, "confirmed": 0 })
    );

    let award = fx
        .post(
            "/awards",
            &key,
            &json!({ "customer": "alice", "amount": 150, "reason": "order 1001 paid" }),
        )
        .await;
    assert_eq!(award.status(), 202);
    let award: Value = award.json().await.unwrap();
    assert_eq!(
        (
            award["kind"].as_str(),
            award["amount"].as_u64(),
            award["state"].as_str()
        ),
        (Some("award"), Some(150), Some("queued"))
    );

    let alice: Value = fx.get("/customers/alice", &key).await.json().await.unwrap();
    assert_eq!(alice["balance"]["pending_in"], 150);

    // Nothing confirmed yet: alice cannot spend what is still on its way.
    assert_problem(
        fx.post(
            "/redemptions",
            &key,
            &json!({ "customer": "alice", "amount": 10 }),
        )
        .await,
        409,
        "insufficient_balance",
    )
    .await;
    let txid = crate::api_support::wait_confirmed(&fx.db, award["id"].as_i64().unwrap()).await;
    let redemption = fx
        .post(
            "/redemptions",
            &key,
            &json!({ "customer": "alice", "amount": 100 }),
        )
        .await;
    assert_eq!(redemption.status(), 202);
    let redemption: Value = redemption.json().await.unwrap();

    let op: Value = fx
        .get(&format!("/operations/{}", award["id"]), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (op["state"].as_str(), op["txid"].as_str()),
        (Some("confirmed"), Some(txid.as_str()))
    );

    // Cursor pagination, newest first.
    let page: Value = fx
        .get("/operations?customer=alice&limit=1", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["id"], redemption["id"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next: Value = fx
        .get(
            &format!("/operations?customer=alice&limit=1&cursor={cursor}"),
            &key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["data"][0]["id"], award["id"]);
    assert_eq!(next["next_cursor"], Value::Null);
    assert_problem(
        fx.get("/operations?limit=500", &key).await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(
        fx.get("/operations?cursor=abc", &key).await,
        422,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_answer_and_a_different_body_is_refused() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    fx.customer(&key, "alice").await;
    let body = json!({ "customer": "alice", "amount": 40 });
    let send = |body: Value| {
        fx.request(Method::POST, "/awards", &key)
            .header("Idempotency-Key", "order-1001-paid")
            .json(&body)
            .send()
    };

    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), 202);
    let first_text = first.text().await.unwrap();
    let before = fx.counts().await;

    let replay = send(body.clone()).await.unwrap();
    assert_eq!(
        replay.status(),
        202,
        "the replay answers with the original status"
    );
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        replay.text().await.unwrap(),
        first_text,
        "and the original body"
    );
    assert_eq!(fx.counts().await, before, "a replay changes nothing");

    let reused = send(json!({ "customer": "alice", "amount": 41 }))
        .await
        .unwrap();
    assert_problem(reused, 422, "idempotency_key_reused").await;
    assert_eq!(fx.counts().await, before);

    // Another key creates another operation; no key at all always does.
    let other = fx
        .request(Method::POST, "/awards", &key)
        .header("Idempotency-Key", "order-1002-paid")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 202);
    assert_eq!(fx.count("operations").await, 2);
    let bad_key = fx
        .request(Method::POST, "/awards", &key)
        .header("Idempotency-Key", "has space")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(bad_key, 422, "invalid_request").await;
}

#[tokio::test]
async fn concurrent_first_attempts_with_one_key_create_one_operation() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    fx.customer(&key, "alice").await;
    let body = json!({ "customer": "alice", "amount": 5 });
    // Spawned so the requests overlap on the server.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(
                fx.request(Method::POST, "/awards", &key)
                    .header("Idempotency-Key", "race")
                    .json(&body)
                    .send(),
            )
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap().unwrap();
        assert_eq!(answer.status(), 202);
        ids.push(answer.json::<Value>().await.unwrap()["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same operation");
    assert_eq!(fx.count("operations").await, 1);
}

#[tokio::test]
async fn invalid_bodies_get_422_with_field_details_and_change_nothing() {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    fx.customer(&key, "alice").await;
    let before = fx.counts().await;

    let cases: Vec<(Value, &str)> = vec![
        (json!({ "customer": "alice", "amount": 1.5 }), "amount"),
        (json!({ "customer": "alice", "amount": "150" }), "amount"),
        (json!({ "customer": "alice", "amount": -5 }), "amount"),
        (json!({ "customer": "alice", "amount": 0 }), "amount"),
        (
            json!({ "customer": "alice", "amount": 9007199254740992u64 }),
            "amount",
        ),
        (json!({ "customer": "alice", "amount": 1e20 }), "amount"),
        (json!({ "customer": "alice" }), "amount"),
        (json!({ "amount": 5 }), "customer"),
        (json!({ "customer": "nobody", "amount": 5 }), "customer"),
        (
            json!({ "customer": "alice", "amount": 5, "bonus": true }),
            "bonus",
        ),
        (json!({ "customer": 12, "amount": 5 }), "customer"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            fx.post("/awards", &key, &body).await,
            422,
            "invalid_request",
        )
        .await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} -> {problem}");
    }
    // Several problems are reported together.
    let problem = assert_problem(
        fx.post("/awards", &key, &json!({ "amount": 2.5 })).await,
        422,
        "invalid_request",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);

    assert_problem(
        fx.put("/customers/bob", &key, &json!({ "email": "not-an-email" }))
            .await,
        422,
        "invalid_request",
    )
    .await;
    let not_json = fx
        .request(Method::POST, "/awards", &key)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400, "malformed_json").await;
    let not_object = fx.post("/awards", &key, &json!([1, 2])).await;
    assert_problem(not_object, 422, "invalid_request").await;
    let wrong_type = fx
        .request(Method::POST, "/awards", &key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(wrong_type, 415, "unsupported_media_type").await;
    let huge = format!(
        "{{\"customer\":\"alice\",\"amount\":5,\"reason\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let too_large = fx
        .request(Method::POST, "/awards", &key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(too_large, 413, "payload_too_large").await;
    assert_problem(fx.get("/nowhere", &key).await, 404, "not_found").await;

    assert_eq!(
        fx.counts().await,
        before,
        "no refused request changed anything"
    );
}
