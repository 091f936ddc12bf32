//! Outgoing webhooks end to end: a receiver started by the test gets signed events,
//! retries keep the webhook-id, 410 disables the endpoint, private targets are refused.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::domain::api_keys::Scope;
use axum::{extract::State, http::HeaderMap, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::{
    api_support::{api_fixture, assert_problem},
    helpers::spawn_app_configured,
};

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone)]
struct Receiver {
    /// Status codes to answer with, in order; 200 once they run out.
    answers: Arc<Mutex<VecDeque<u16>>>,
    tx: mpsc::UnboundedSender<Received>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let _ = receiver.tx.send(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let code = receiver.answers.lock().unwrap().pop_front().unwrap_or(200);
    axum::http::StatusCode::from_u16(code).unwrap()
}

/// Starts a receiver on 127.0.0.1 answering `answers` first; returns its URL and inbox.
async fn start_receiver(answers: &[u16]) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver {
        answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/points", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/hooks/points", post(receive))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, rx)
}

async fn next(inbox: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(15), inbox.recv())
        .await
        .expect("a webhook arrives in time")
        .unwrap()
}

/// What a shop does on receipt: recompute the Standard Webhooks signature.
fn verify(secret: &str, message: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", message.id, message.timestamp, message.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    message.signature.split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn a_confirmed_award_reaches_the_receiver_signed_and_a_failed_attempt_is_retried_with_the_same_id(
) {
    let fx = api_fixture().await;
    let key = fx.all_scopes().await;
    let (good_url, mut good) = start_receiver(&[]).await;
    let (flaky_url, mut flaky) = start_receiver(&[500]).await;
    let created: Value = fx
        .post(
            "/webhooks",
            &key,
            &json!({ "url": good_url, "event_types": ["operation.confirmed"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let flaky_hook = fx
        .post(
            "/webhooks",
            &key,
            &json!({ "url": flaky_url, "event_types": ["operation.confirmed"] }),
        )
        .await;
    assert_eq!(flaky_hook.status(), 201);
    let flaky_hook: Value = flaky_hook.json().await.unwrap();
    let listed: Value = fx.get("/webhooks", &key).await.json().await.unwrap();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("secret").is_none()),
        "the secret is shown once"
    );

    fx.customer(&key, "alice").await;
    let award: Value = fx
        .post(
            "/awards",
            &key,
            &json!({ "customer": "alice", "amount": 150 }),
        )
        .await
        .json()
        .await
        .unwrap();
    // The app's worker signs, broadcasts and confirms the award on the development chain.
    crate::api_support::wait_confirmed(&fx.db, award["id"].as_i64().unwrap()).await;

    let message = next(&mut good).await;
    assert!(
        verify(&secret, &message),
        "the signature verifies with the endpoint's secret"
    );
    assert!(message.id.starts_with("msg_"));
    let body: Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(body["type"], "operation.confirmed");
    assert_eq!(body["data"]["operation"]["id"], award["id"]);
    assert_eq!(body["data"]["to_customer"], "alice");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let age = app::domain::clock::now() - message.timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age));

    let first = next(&mut flaky).await;
    let second = next(&mut flaky).await;
    assert_eq!(second.id, first.id, "a retry keeps the webhook-id");
    assert_eq!(second.body, first.body);

    // The delivery log shows the failure and the success.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log: Value = fx
        .get(&format!("/webhooks/{}/deliveries", flaky_hook["id"]), &key)
        .await
        .json()
        .await
        .unwrap();
    let delivery = &log["data"][0];
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{log}"
    );
    assert_eq!(delivery["last_status_code"], 200);
    assert_eq!(delivery["msg_id"].as_str(), Some(first.id.as_str()));

    // Redelivery sends the same message again.
    let redeliver = fx
        .post(
            &format!(
                "/webhooks/{}/deliveries/{}/redeliver",
                flaky_hook["id"], delivery["id"]
            ),
            &key,
            &json!({}),
        )
        .await;
    assert_eq!(redeliver.status(), 202);
    let again = next(&mut flaky).await;
    assert_eq!((again.id, again.body), (first.id, first.body));
}

#[tokio::test]
async fn test_events_are_delivered_and_410_disables_the_endpoint() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::WebhooksManage]).await;
    let (url, mut inbox) = start_receiver(&[410]).await;
    let hook: Value = fx
        .post("/webhooks", &key, &json!({ "url": url }))
        .await
        .json()
        .await
        .unwrap();

    let test = fx
        .post(&format!("/webhooks/{}/test", hook["id"]), &key, &json!({}))
        .await;
    assert_eq!(test.status(), 202);
    let message = next(&mut inbox).await;
    assert!(verify(hook["secret"].as_str().unwrap(), &message));
    assert_eq!(
        serde_json::from_str::<Value>(&message.body).unwrap()["type"],
        "webhook.test"
    );

    // Gone: the endpoint is disabled and nothing more is sent.
    let mut disabled = Value::Null;
    for _ in 0..100 {
        let list: Value = fx.get("/webhooks", &key).await.json().await.unwrap();
        if list["data"][0]["enabled"] == false {
            disabled = list["data"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        disabled["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{disabled}"
    );
    assert_problem(
        fx.post(&format!("/webhooks/{}/test", hook["id"]), &key, &json!({}))
            .await,
        409,
        "endpoint_disabled",
    )
    .await;
    let log: Value = fx
        .get(&format!("/webhooks/{}/deliveries", hook["id"]), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"][0]["status"], "dead");
    assert_eq!(log["data"][0]["last_status_code"], 410);

    let delete = fx
        .request(Method::DELETE, &format!("/webhooks/{}", hook["id"]), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    let list: Value = fx.get("/webhooks", &key).await.json().await.unwrap();
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn private_and_loopback_targets_are_refused_unless_allowed() {
    let app = spawn_app_configured(|settings| settings.webhooks.allow_private = false).await;
    let db = app::domain::db::Database::connect(&app.database_url, 2)
        .await
        .unwrap();
    let (store_id, _) = crate::api_support::store_with_points(
        &db,
        &crate::api_support::fixture_vault(&app),
        "guarded",
        1_000,
    )
    .await;
    let (_, key) = app::domain::api_keys::create(
        &db,
        store_id,
        &app::domain::api_keys::KeyName::parse("k").unwrap(),
        &app::domain::api_keys::Scopes::new([Scope::WebhooksManage]).unwrap(),
        None,
    )
    .await
    .unwrap();
    for url in [
        "http://127.0.0.1:8080/h",
        "http://localhost/h",
        "http://10.0.0.5/h",
        "http://[::1]/h",
        "http://169.254.169.254/latest",
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/webhooks"))
            .bearer_auth(key.reveal())
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_request").await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}");
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// Two transactions writing events at once (the worker's sending and chain-following loops
/// do) can commit their ids out of order on PostgreSQL: the lower id after the higher one.
/// The fan-out sends both; it does not move past the lower id while its transaction runs.
#[tokio::test]
async fn an_event_that_commits_after_a_later_one_is_still_sent() {
    use crate::helpers::TestDatabase;
    use app::domain::{
        events::{self, EventType},
        webhooks::fanout,
    };
    if TestDatabase::from_env() == TestDatabase::Sqlite {
        // SQLite's writers take turns (`BEGIN IMMEDIATE`): ids commit in order there, and a
        // second writer could not even begin while the first is open.
        return;
    }
    let guard = tempfile::tempdir().unwrap();
    let (db, store_id) = store_with_an_endpoint(guard.path()).await;

    // The first writer takes the lower id and stays open; the second commits a higher one.
    let mut first = db.pool().begin().await.unwrap();
    events::emit(
        &mut first,
        store_id,
        EventType::WebhookTest,
        &json!({"n": 1}),
    )
    .await
    .unwrap();
    let mut second = db.pool().begin().await.unwrap();
    events::emit(
        &mut second,
        store_id,
        EventType::WebhookTest,
        &json!({"n": 2}),
    )
    .await
    .unwrap();
    second.commit().await.unwrap();
    fanout::run_once(&db, 200).await.unwrap();
    first.commit().await.unwrap();
    // The fan-out reads below the oldest writing transaction of the whole PostgreSQL
    // server, and other tests run beside this one: rounds may find nothing for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut fanned = 0;
    while fanned < 2 && Instant::now() < deadline {
        fanned += fanout::run_once(&db, 200).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let written: Vec<i64> = sqlx::query_scalar("SELECT id FROM events ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let sent: Vec<i64> =
        sqlx::query_scalar("SELECT event_id FROM webhook_deliveries ORDER BY event_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(
        sent, written,
        "one delivery per event, the earlier id included"
    );
    db.close().await;
}

/// Two dispatchers at once (two server processes on one database) send each event once:
/// both may read the same events, and only the one whose cursor move finds the cursor where
/// it read it writes deliveries.
#[tokio::test]
async fn two_fan_outs_at_once_send_each_event_once() {
    use app::domain::{
        events::{self, EventType},
        webhooks::fanout,
    };
    let guard = tempfile::tempdir().unwrap();
    let (db, store_id) = store_with_an_endpoint(guard.path()).await;
    const ROUNDS: usize = 20;
    const EVENTS: usize = 5;
    for round in 0..ROUNDS {
        let mut tx = db.begin_write().await.unwrap();
        for n in 0..EVENTS {
            events::emit(
                &mut tx,
                store_id,
                EventType::WebhookTest,
                &json!({"round": round, "n": n}),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        // Pairs of rounds until the events are out: a pair may find nothing (on PostgreSQL
        // while another test's transaction is older than these events), never more than
        // the events once.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut fanned = 0;
        while fanned < EVENTS {
            assert!(
                Instant::now() < deadline,
                "round {round}: {fanned} of {EVENTS} fanned out"
            );
            let (one, other) = tokio::join!(fanout::run_once(&db, 200), fanout::run_once(&db, 200));
            fanned += one.unwrap() + other.unwrap();
            if fanned < EVENTS {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        assert_eq!(fanned, EVENTS, "round {round}: an event fanned out twice");
    }
    let (deliveries, events): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM webhook_deliveries")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(
        (deliveries, events),
        ((ROUNDS * EVENTS) as i64, (ROUNDS * EVENTS) as i64)
    );
    db.close().await;
}

/// A fresh, migrated database with a store and one endpoint that wants every event type.
async fn store_with_an_endpoint(dir: &std::path::Path) -> (app::domain::db::Database, i64) {
    use app::domain::{
        custody::MasterKey,
        webhooks::{endpoints, EventFilter, SecretSealer},
    };
    let db = app::domain::db::Database::connect(&crate::helpers::fresh_database_url(dir).await, 4)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let store_id: i64 = sqlx::query_scalar(
        "INSERT INTO stores (name, slug, created_at) VALUES ('Shop', 'shop', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    // Nothing is sent in these tests: the deliveries the fan-out writes are what they check.
    let endpoint = endpoints::NewEndpoint::parse(
        "http://127.0.0.1:9/points",
        "",
        EventFilter::default(),
        true,
    )
    .await
    .unwrap();
    let sealer = SecretSealer::new(MasterKey::generate());
    endpoints::create(&db, &sealer, store_id, &endpoint)
        .await
        .unwrap();
    (db, store_id)
}
