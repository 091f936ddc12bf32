//! The dashboard's API keys and webhooks pages: keys shown once and working against the
//! REST API, revocation, staff refused, other tenants' ids "not found", private webhook
//! targets refused next to the URL field, "send test event" and redeliver reaching a
//! receiver started by the test.

use std::time::Duration;

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;
use tokio::sync::mpsc;

use crate::{
    accounts::db,
    browser::Browser,
    helpers::{spawn_app_configured, TestApp},
    smtp::SmtpServer,
};

const PASSWORD: &str = "correct horse battery";
// Upper bounds for a loaded CI machine, not speed requirements.
const WAIT: Duration = Duration::from_secs(30);

async fn app_with_smtp(allow_private: bool) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| {
        s.smtp_url = Some(url);
        s.webhooks.allow_private = allow_private;
    })
    .await;
    (app, smtp)
}

/// Creates a store through the dashboard's form and returns its id.
async fn create_store(browser: &Browser, name: &str) -> i64 {
    let posted = browser
        .submit(
            "create_store",
            "/dashboard",
            &[("name", name), ("slug", "")],
        )
        .await;
    posted
        .location
        .strip_prefix("/dashboard?created=")
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap()
}

/// The first `prefix` + `len` characters of `alphabet` found in `html`.
fn find_secret(html: &str, prefix: &str, len: usize, alphabet: fn(char) -> bool) -> Option<String> {
    html.match_indices(prefix).find_map(|(at, _)| {
        let rest: String = html[at + prefix.len()..]
            .chars()
            .take_while(|c| alphabet(*c))
            .collect();
        (rest.len() == len).then(|| format!("{prefix}{rest}"))
    })
}

fn api_key_in(html: &str) -> Option<String> {
    find_secret(html, "pm_live_", 32, |c| c.is_ascii_alphanumeric())
}

fn webhook_secret_in(html: &str) -> Option<String> {
    find_secret(html, "whsec_", 32, |c| {
        c.is_ascii_alphanumeric() || c == '+' || c == '/'
    })
}

async fn api_status(app: &TestApp, key: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/store"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Creates a key through the form; returns its id and the plain key the page showed once.
async fn create_key(browser: &Browser, store_id: i64, scopes: &[&str]) -> (i64, String) {
    let page = format!("/dashboard/stores/{store_id}/api-keys");
    let store = store_id.to_string();
    let mut form = vec![("store_id", store.as_str()), ("name", "Shop back end")];
    form.extend(scopes.iter().map(|s| ("scopes[]", *s)));
    let posted = browser.submit("create_api_key", &page, &form).await;
    assert_eq!(posted.location, format!("{page}?created=1"), "{posted:?}");
    let (status, _, html) = browser.page(&posted.location).await;
    assert_eq!(status, 200);
    let key = api_key_in(&html).unwrap_or_else(|| panic!("the new key is shown: {html}"));
    let id = html
        .split("data-key-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the shown key carries its id");
    (id, key)
}

/// Every key's id, store and revocation, to prove nothing changed.
async fn keys_snapshot(app: &TestApp) -> Vec<(i64, i64, Option<i64>)> {
    let db = db(app).await;
    let rows = sqlx::query("SELECT id, store_id, revoked_at FROM api_keys ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    db.close().await;
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Every endpoint's state and the number of deliveries.
async fn webhooks_snapshot(app: &TestApp) -> (Vec<(i64, String, Option<i64>, Option<i64>)>, i64) {
    let db = db(app).await;
    let rows =
        sqlx::query("SELECT id, url, disabled_at, deleted_at FROM webhook_endpoints ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries")
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    (
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect(),
        deliveries,
    )
}

/// One request a receiver got.
#[derive(Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    headers: HeaderMap,
    body: String,
) -> &'static str {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let _ = tx.send(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    "thanks"
}

/// A receiver on 127.0.0.1 answering 200 "thanks"; returns its URL and inbox.
async fn start_receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let router = Router::new().route("/hooks", post(receive)).with_state(tx);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, rx)
}

async fn next(inbox: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(WAIT, inbox.recv())
        .await
        .expect("a webhook arrives in time")
        .unwrap()
}

fn verifies(secret: &str, message: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", message.id, message.timestamp, message.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    message.signature.split(' ').any(|s| s == expected)
}

/// Creates an endpoint through the form; returns its id and the secret the page showed once.
async fn create_endpoint(browser: &Browser, store_id: i64, url: &str) -> (i64, String) {
    let page = format!("/dashboard/stores/{store_id}/webhooks");
    let posted = browser
        .submit(
            "create_webhook_endpoint",
            &page,
            &[
                ("store_id", &store_id.to_string()),
                ("url", url),
                ("description", "Order system"),
                ("event_types[]", "webhook.test"),
                ("event_types[]", "operation.confirmed"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{page}?created=1"), "{posted:?}");
    let (_, _, html) = browser.page(&posted.location).await;
    let secret = webhook_secret_in(&html).unwrap_or_else(|| panic!("the secret is shown: {html}"));
    let id = html
        .split("data-endpoint-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the shown secret carries its endpoint id");
    (id, secret)
}

/// Reloads the endpoint's page until `done` holds for its HTML (the sender works in the background).
async fn wait_for_log(browser: &Browser, page: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, _, html) = browser.page(page).await;
        assert_eq!(status, 200);
        if done(&html) {
            return html;
        }
        assert!(std::time::Instant::now() < deadline, "{html}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_key_is_shown_once_works_against_the_api_and_answers_401_once_revoked() {
    let (app, smtp) = app_with_smtp(true).await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store_id = create_store(&ann, "Corner Coffee").await;
    let page = format!("/dashboard/stores/{store_id}/api-keys");
    let (_, _, dashboard) = ann.page("/dashboard").await;
    assert!(
        dashboard.contains(&format!("href=\"{page}\"")),
        "{dashboard}"
    );
    assert!(dashboard.contains(&format!("href=\"/dashboard/stores/{store_id}/webhooks\"")));
    let (_, _, overview) = ann.page(&format!("/dashboard/stores/{store_id}")).await;
    assert!(
        overview.contains(&format!("href=\"{page}\""))
            && overview.contains(&format!("href=\"/dashboard/stores/{store_id}/webhooks\"")),
        "the store's navigation links both pages: {overview}"
    );

    let (key_id, key) = create_key(&ann, store_id, &["points:read", "points:write"]).await;
    assert_eq!(api_status(&app, &key).await, 200);

    // A reload shows the prefix and the scopes, never the key again.
    let (_, _, html) = ann.page(&page).await;
    assert_eq!(api_key_in(&html), None, "{html}");
    assert!(html.contains(&key[..12]), "the prefix is listed: {html}");
    assert!(
        !html.contains(r#"data-testid="api-key-last-used">never<"#),
        "the API call is recorded as the key's last use: {html}"
    );
    assert!(html.contains("points:read points:write"), "{html}");

    // Bad input: messages next to the fields, nothing created.
    let before = keys_snapshot(&app).await;
    let store = store_id.to_string();
    let posted = ann
        .submit(
            "create_api_key",
            &page,
            &[("store_id", &store), ("name", "No scopes")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_scopes"));
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(html.contains(r#"data-error-for="scopes""#), "{html}");
    let posted = ann
        .submit(
            "create_api_key",
            &page,
            &[
                ("store_id", &store),
                ("name", " "),
                ("scopes[]", "points:read"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_key_name"));
    let posted = ann
        .submit(
            "create_api_key",
            &page,
            &[
                ("store_id", &store),
                ("name", "x"),
                ("scopes[]", "points:admin"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_scopes"));
    assert_eq!(keys_snapshot(&app).await, before);

    // Revoking asks first, then the API refuses the key.
    let (_, _, html) = ann.page(&format!("{page}?revoke={key_id}")).await;
    assert!(html.contains("Yes, revoke this key"), "{html}");
    let posted = ann
        .submit(
            "revoke_api_key",
            &page,
            &[("store_id", &store), ("key_id", &key_id.to_string())],
        )
        .await;
    assert_eq!(posted.location, format!("{page}?revoked=1"), "{posted:?}");
    assert_eq!(api_status(&app, &key).await, 401);
    let (_, _, html) = ann.page(&page).await;
    assert!(html.contains(">revoked "), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn staff_may_not_see_or_change_keys_and_webhooks() {
    let (app, smtp) = app_with_smtp(true).await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store_id = create_store(&ann, "Corner Coffee").await;
    let (key_id, key) = create_key(&ann, store_id, &["points:read"]).await;
    let (url, _inbox) = start_receiver().await;
    let (endpoint_id, _) = create_endpoint(&ann, store_id, &url).await;

    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    let db = db(&app).await;
    let bob_id: i64 = sqlx::query_scalar("SELECT id FROM operators WHERE email = $1")
        .bind("bob@example.com")
        .fetch_one(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO store_members (store_id, operator_id, role, created_at) VALUES ($1, $2, 'staff', 0)",
    )
    .bind(store_id)
    .bind(bob_id)
    .execute(db.pool())
    .await
    .unwrap();
    db.close().await;
    let keys = keys_snapshot(&app).await;
    let hooks = webhooks_snapshot(&app).await;

    let (_, _, overview) = bob.page(&format!("/dashboard/stores/{store_id}")).await;
    assert!(
        overview.contains("Customers") && !overview.contains("/api-keys"),
        "staff are not offered the keys page: {overview}"
    );
    for page in [
        format!("/dashboard/stores/{store_id}/api-keys"),
        format!("/dashboard/stores/{store_id}/webhooks"),
        format!("/dashboard/stores/{store_id}/webhooks/{endpoint_id}"),
    ] {
        let (status, _, html) = bob.page(&page).await;
        assert_eq!(status, 403, "{page}");
        assert!(html.contains("Your role in this store does not allow that."));
        assert!(!html.contains(&key[..12]) && !html.contains(&url), "{html}");
    }
    let store = store_id.to_string();
    let endpoint = endpoint_id.to_string();
    let key_id = key_id.to_string();
    for (server_fn, form) in [
        (
            "create_api_key",
            vec![
                ("store_id", store.as_str()),
                ("name", "mine"),
                ("scopes[]", "points:write"),
            ],
        ),
        (
            "revoke_api_key",
            vec![("store_id", &store), ("key_id", &key_id)],
        ),
        (
            "create_webhook_endpoint",
            vec![("store_id", &store), ("url", url.as_str())],
        ),
        (
            "set_webhook_enabled",
            vec![
                ("store_id", &store),
                ("endpoint_id", &endpoint),
                ("enabled", "false"),
            ],
        ),
        (
            "delete_webhook_endpoint",
            vec![("store_id", &store), ("endpoint_id", &endpoint)],
        ),
        (
            "send_webhook_test",
            vec![("store_id", &store), ("endpoint_id", &endpoint)],
        ),
    ] {
        let posted = bob.submit(server_fn, "/dashboard", &form).await;
        assert_eq!(posted.error().as_deref(), Some("forbidden"), "{server_fn}");
        let (status, body) = bob.call(server_fn, &form).await;
        assert_eq!(
            (status.as_u16(), body),
            (403, serde_json::json!("Forbidden")),
            "{server_fn}"
        );
    }
    assert_eq!(keys_snapshot(&app).await, keys);
    assert_eq!(webhooks_snapshot(&app).await, hooks);
    assert_eq!(api_status(&app, &key).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn another_stores_keys_endpoints_and_deliveries_are_not_found_and_unchanged() {
    let (app, smtp) = app_with_smtp(true).await;
    let (url, mut inbox) = start_receiver().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let ann_store = create_store(&ann, "Corner Coffee").await;
    let (ann_key_id, ann_key) = create_key(&ann, ann_store, &["points:read"]).await;
    let (ann_endpoint, _) = create_endpoint(&ann, ann_store, &url).await;
    let ann_page = format!("/dashboard/stores/{ann_store}/webhooks/{ann_endpoint}");
    ann.submit(
        "send_webhook_test",
        &ann_page,
        &[
            ("store_id", &ann_store.to_string()),
            ("endpoint_id", &ann_endpoint.to_string()),
        ],
    )
    .await;
    next(&mut inbox).await;
    let html = wait_for_log(&ann, &ann_page, |html| {
        html.contains("data-status=\"succeeded\"")
    })
    .await;
    let ann_delivery: i64 = html
        .split("data-delivery=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .unwrap();

    let carl = Browser::signed_up(&app, &smtp.inbox, "carl@example.com", PASSWORD).await;
    let carl_store = create_store(&carl, "Carl's Corner").await;
    let (carl_endpoint, _) = create_endpoint(&carl, carl_store, &url).await;
    let keys = keys_snapshot(&app).await;
    let hooks = webhooks_snapshot(&app).await;

    // Ann's store itself, and Ann's ids inside Carl's own store.
    for page in [
        format!("/dashboard/stores/{ann_store}/api-keys"),
        format!("/dashboard/stores/{ann_store}/webhooks"),
        ann_page.clone(),
        format!("/dashboard/stores/{carl_store}/webhooks/{ann_endpoint}"),
    ] {
        let (status, _, html) = carl.page(&page).await;
        assert_eq!(status, 404, "{page}");
        assert!(!html.contains(&url), "{html}");
    }
    let (ann_s, carl_s) = (ann_store.to_string(), carl_store.to_string());
    let (ann_e, carl_e) = (ann_endpoint.to_string(), carl_endpoint.to_string());
    let (key_id, delivery) = (ann_key_id.to_string(), ann_delivery.to_string());
    for (server_fn, form) in [
        (
            "revoke_api_key",
            vec![("store_id", carl_s.as_str()), ("key_id", key_id.as_str())],
        ),
        (
            "revoke_api_key",
            vec![("store_id", &ann_s), ("key_id", &key_id)],
        ),
        (
            "set_webhook_enabled",
            vec![
                ("store_id", &carl_s),
                ("endpoint_id", &ann_e),
                ("enabled", "false"),
            ],
        ),
        (
            "delete_webhook_endpoint",
            vec![("store_id", &carl_s), ("endpoint_id", &ann_e)],
        ),
        (
            "delete_webhook_endpoint",
            vec![("store_id", &ann_s), ("endpoint_id", &ann_e)],
        ),
        (
            "send_webhook_test",
            vec![("store_id", &carl_s), ("endpoint_id", &ann_e)],
        ),
        (
            "redeliver_webhook",
            vec![
                ("store_id", &carl_s),
                ("endpoint_id", &carl_e),
                ("delivery_id", &delivery),
            ],
        ),
        (
            "redeliver_webhook",
            vec![
                ("store_id", &carl_s),
                ("endpoint_id", &ann_e),
                ("delivery_id", &delivery),
            ],
        ),
        (
            "redeliver_webhook",
            vec![
                ("store_id", &ann_s),
                ("endpoint_id", &ann_e),
                ("delivery_id", &delivery),
            ],
        ),
        (
            "webhook_endpoint_detail",
            vec![("store_id", &carl_s), ("endpoint_id", &ann_e)],
        ),
    ] {
        let (status, body) = carl.call(server_fn, &form).await;
        assert_eq!(
            (status.as_u16(), body),
            (404, serde_json::json!("NotFound")),
            "{server_fn} {form:?}"
        );
        if server_fn != "webhook_endpoint_detail" {
            let posted = carl.submit(server_fn, "/dashboard", &form).await;
            assert_eq!(
                posted.error().as_deref(),
                Some("not_found"),
                "{server_fn} {form:?}"
            );
        }
    }
    assert_eq!(keys_snapshot(&app).await, keys);
    assert_eq!(webhooks_snapshot(&app).await, hooks);
    assert_eq!(api_status(&app, &ann_key).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn send_test_event_and_redeliver_reach_the_receiver_and_show_in_the_delivery_log() {
    let (app, smtp) = app_with_smtp(true).await;
    let (url, mut inbox) = start_receiver().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store_id = create_store(&ann, "Corner Coffee").await;
    let list_page = format!("/dashboard/stores/{store_id}/webhooks");
    let (endpoint_id, secret) = create_endpoint(&ann, store_id, &url).await;
    let (_, _, html) = ann.page(&list_page).await;
    assert_eq!(
        webhook_secret_in(&html),
        None,
        "the secret is shown once: {html}"
    );
    assert!(
        html.contains(&url)
            && html.contains("Order system")
            && html.contains("operation.confirmed, webhook.test"),
        "{html}"
    );

    let page = format!("{list_page}/{endpoint_id}");
    let (store, endpoint) = (store_id.to_string(), endpoint_id.to_string());
    let ids = [
        ("store_id", store.as_str()),
        ("endpoint_id", endpoint.as_str()),
    ];
    let posted = ann.submit("send_webhook_test", &page, &ids).await;
    assert_eq!(posted.location, format!("{page}?test_sent=1"), "{posted:?}");
    let message = next(&mut inbox).await;
    assert!(
        verifies(&secret, &message),
        "signed with the secret shown once"
    );
    let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    let html = wait_for_log(&ann, &page, |html| {
        html.contains("data-status=\"succeeded\"")
    })
    .await;
    assert!(
        html.contains(&message.id),
        "the log shows the webhook-id: {html}"
    );
    assert!(
        html.contains(">200<") && html.contains("thanks"),
        "code and excerpt: {html}"
    );
    let delivery: String = html
        .split("data-delivery=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    // Redeliver: a new attempt with the same webhook-id and body.
    let posted = ann
        .submit(
            "redeliver_webhook",
            &page,
            &[
                ("store_id", &store),
                ("endpoint_id", &endpoint),
                ("delivery_id", &delivery),
            ],
        )
        .await;
    assert_eq!(
        posted.location,
        format!("{page}?redelivered=1"),
        "{posted:?}"
    );
    let again = next(&mut inbox).await;
    assert_eq!((&again.id, &again.body), (&message.id, &message.body));
    let html = wait_for_log(&ann, &page, |html| {
        html.matches("data-status=\"succeeded\"").count() == 2
    })
    .await;
    assert_eq!(
        html.matches(&format!(">{}<", message.id)).count(),
        2,
        "{html}"
    );

    // The log comes in pages of 20, newest first, with a link to the older ones.
    let db = db(&app).await;
    for _ in 0..20 {
        app::domain::webhooks::deliveries::send_test(&db, store_id, endpoint_id)
            .await
            .unwrap();
    }
    db.close().await;
    let (_, _, html) = ann.page(&page).await;
    assert_eq!(html.matches("<tr data-delivery=").count(), 20, "{html}");
    let older = html
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("?before="))
        .unwrap_or_else(|| panic!("a link to older deliveries: {html}"))
        .to_owned();
    let (_, _, html) = ann.page(&older).await;
    assert_eq!(html.matches("<tr data-delivery=").count(), 2, "{html}");
    assert!(
        html.contains(&format!("data-delivery=\"{delivery}\"")),
        "the first delivery is on the last page"
    );
    assert!(!html.contains("?before="), "no page after the last: {html}");

    // Disabled endpoints get no test event; enabled again, they do.
    let posted = ann
        .submit(
            "set_webhook_enabled",
            &list_page,
            &[
                ("store_id", &store),
                ("endpoint_id", &endpoint),
                ("enabled", "false"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{list_page}?disabled=1"));
    let (_, _, html) = ann.page(&list_page).await;
    assert!(
        html.contains("disabled (disabled by an operator)"),
        "{html}"
    );
    let posted = ann.submit("send_webhook_test", &page, &ids).await;
    assert_eq!(posted.error().as_deref(), Some("webhook_endpoint_disabled"));
    let posted = ann
        .submit(
            "set_webhook_enabled",
            &list_page,
            &[
                ("store_id", &store),
                ("endpoint_id", &endpoint),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{list_page}?enabled=1"));

    // Deleting asks first; then the endpoint is gone from the list.
    let (_, _, html) = ann.page(&format!("{list_page}?delete={endpoint_id}")).await;
    assert!(html.contains("Yes, delete this endpoint"), "{html}");
    let posted = ann
        .submit("delete_webhook_endpoint", &list_page, &ids)
        .await;
    assert_eq!(posted.location, format!("{list_page}?deleted=1"));
    let (_, _, html) = ann.page(&list_page).await;
    assert!(
        !html.contains(&url) && html.contains("No webhook endpoints yet."),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_private_or_malformed_webhook_url_is_a_field_error_and_creates_nothing() {
    let (app, smtp) = app_with_smtp(false).await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store_id = create_store(&ann, "Corner Coffee").await;
    let page = format!("/dashboard/stores/{store_id}/webhooks");
    let store = store_id.to_string();
    for (url, code) in [
        ("http://127.0.0.1:9/hooks", "private_webhook_target"),
        ("http://localhost:9/hooks", "private_webhook_target"),
        ("http://169.254.169.254/latest", "private_webhook_target"),
        ("not a url", "invalid_webhook_url"),
        (
            "https://user:pw@shop.example.com/hooks",
            "invalid_webhook_url",
        ),
    ] {
        let posted = ann
            .submit(
                "create_webhook_endpoint",
                &page,
                &[("store_id", &store), ("url", url)],
            )
            .await;
        assert_eq!(posted.error().as_deref(), Some(code), "{url}");
    }
    let posted = ann
        .submit(
            "create_webhook_endpoint",
            &page,
            &[("store_id", &store), ("url", "http://127.0.0.1:9/hooks")],
        )
        .await;
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(
        html.contains(r#"data-error-for="url""#)
            && html.contains("private, loopback or link-local"),
        "{html}"
    );
    let (status, body) = ann
        .call(
            "create_webhook_endpoint",
            &[("store_id", &store), ("url", "http://10.0.0.1/hooks")],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (400, serde_json::json!("PrivateWebhookTarget"))
    );
    assert_eq!(webhooks_snapshot(&app).await, (vec![], 0));
    app.stop().await;
}

/// Every session row's data, as the database holds it.
async fn sessions_text(app: &TestApp) -> String {
    let db = db(app).await;
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT data FROM sessions")
        .fetch_all(db.pool())
        .await
        .unwrap();
    db.close().await;
    rows.iter()
        .map(|data| String::from_utf8_lossy(data).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the page that shows a secret once: it must say `Cache-Control: no-store`.
async fn uncached_page(browser: &Browser, path: &str) -> String {
    let response = browser
        .client
        .get(format!("{}{path}", browser.base))
        .header(reqwest::header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "{path}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_new_key_or_secret_waits_sealed_in_the_session_and_its_page_is_not_cached() {
    let (app, smtp) = app_with_smtp(true).await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store_id = create_store(&ann, "Corner Coffee").await;
    let store = store_id.to_string();

    // API key: between the form post and the page, the session row holds it sealed only.
    let page = format!("/dashboard/stores/{store_id}/api-keys");
    let posted = ann
        .submit(
            "create_api_key",
            &page,
            &[
                ("store_id", &store),
                ("name", "Shop back end"),
                ("scopes[]", "points:read"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{page}?created=1"), "{posted:?}");
    let sessions = sessions_text(&app).await;
    let html = uncached_page(&ann, &posted.location).await;
    let key = api_key_in(&html).unwrap_or_else(|| panic!("the new key is shown: {html}"));
    assert!(sessions.contains("pointmint.fresh_api_key"), "{sessions}");
    assert!(
        !sessions.contains(&key),
        "the key is in the session: {sessions}"
    );
    assert!(!sessions.contains("pm_live_"), "{sessions}");
    assert_eq!(api_status(&app, &key).await, 200, "the opened key works");

    // Webhook secret: the same.
    let page = format!("/dashboard/stores/{store_id}/webhooks");
    let posted = ann
        .submit(
            "create_webhook_endpoint",
            &page,
            &[
                ("store_id", &store),
                ("url", "http://127.0.0.1:9/hook"),
                ("description", ""),
                ("event_types[]", "webhook.test"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{page}?created=1"), "{posted:?}");
    let sessions = sessions_text(&app).await;
    let html = uncached_page(&ann, &posted.location).await;
    let secret = webhook_secret_in(&html).unwrap_or_else(|| panic!("the secret is shown: {html}"));
    assert!(
        sessions.contains("pointmint.fresh_webhook_secret"),
        "{sessions}"
    );
    assert!(!sessions.contains(&secret), "{sessions}");
    assert!(!sessions.contains("whsec_"), "{sessions}");
    // Shown once: a reload does not show it again.
    let html = uncached_page(&ann, &page).await;
    assert_eq!(webhook_secret_in(&html), None, "{html}");
    app.stop().await;
}
