//! The OpenAPI document: it is OpenAPI 3.1, and every operation in it answers with a
//! status the document lists for it.

use app::domain::api_keys::Scope;
use serde_json::{json, Value};

use crate::api_support::api_fixture;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_the_docs_page_renders_it() {
    let fx = api_fixture().await;
    let response = fx.app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let doc: Value = serde_json::from_str(&text).unwrap();
    for path in [
        "/store",
        "/customers/{external_id}",
        "/awards",
        "/redemptions",
        "/transfers",
        "/operations/{id}",
        "/operations",
        "/webhooks",
        "/webhooks/{id}",
        "/webhooks/{id}/deliveries",
        "/webhooks/{id}/deliveries/{delivery}/redeliver",
        "/webhooks/{id}/test",
        "/chain/tx/{txid}",
        "/chain/addresses/{address}",
        "/chain/broadcast",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );

    let page = fx.app.get("/api/docs").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/api/v1/awards")
            && html.contains("OperationView")
            && html.contains("points:write")
    );
    assert!(
        !html.contains("<script"),
        "the page loads nothing from elsewhere"
    );
}

/// A valid request for each documented operation, built from a live fixture.
#[tokio::test]
async fn every_documented_operation_answers_with_a_documented_status() {
    let fx = api_fixture().await;
    let key = fx.key(&Scope::ALL).await;
    fx.customer(&key, "alice").await;
    fx.customer(&key, "bob").await;
    let award: Value = fx
        .post(
            "/awards",
            &key,
            &json!({ "customer": "alice", "amount": 100 }),
        )
        .await
        .json()
        .await
        .unwrap();
    crate::api_support::wait_confirmed(&fx.db, award["id"].as_i64().unwrap()).await;
    let (receiver, _inbox) = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/h", listener.local_addr().unwrap());
        let router = axum::Router::new().route("/h", axum::routing::post(|| async { "ok" }));
        (
            url,
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() }),
        )
    };
    let hook: Value = fx
        .post("/webhooks", &key, &json!({ "url": receiver }))
        .await
        .json()
        .await
        .unwrap();
    let test: Value = fx
        .post(&format!("/webhooks/{}/test", hook["id"]), &key, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let treasury = fx.point_system.treasury_address.clone();

    let doc: Value = fx
        .app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    // DELETE last, so the endpoint other calls use still exists.
    for wanted in ["get", "put", "post", "delete"] {
        for (template, item) in doc["paths"].as_object().unwrap() {
            let Some(operation) = item.get(wanted) else {
                continue;
            };
            let path = template
                .replace("{external_id}", "alice")
                .replace(
                    "{id}",
                    &if template.starts_with("/operations") {
                        award["id"].to_string()
                    } else {
                        hook["id"].to_string()
                    },
                )
                .replace("{delivery}", &test["id"].to_string())
                .replace("{txid}", &"ee".repeat(32))
                .replace("{address}", &treasury);
            let body = match (wanted, template.as_str()) {
                ("put", "/customers/{external_id}") => {
                    json!({ "email": "alice@example.com", "name": "Alice" })
                }
                ("post", "/awards") => json!({ "customer": "bob", "amount": 5 }),
                ("post", "/redemptions") => json!({ "customer": "alice", "amount": 5 }),
                ("post", "/transfers") => {
                    json!({ "from_customer": "alice", "to_customer": "bob", "amount": 5 })
                }
                ("post", "/webhooks") => {
                    json!({ "url": receiver, "event_types": ["operation.failed"] })
                }
                ("post", "/chain/broadcast") => json!({ "raw_tx": "00" }),
                _ => json!({}),
            };
            let method = reqwest::Method::from_bytes(wanted.to_uppercase().as_bytes()).unwrap();
            let mut request = fx.request(method, &path, &key);
            if wanted != "get" && wanted != "delete" {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16().to_string();
            let documented: Vec<&String> =
                operation["responses"].as_object().unwrap().keys().collect();
            let text = response.text().await.unwrap();
            assert!(
                documented.contains(&&status),
                "{wanted} {path} answered {status} ({text}); documented: {documented:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 17, "every documented operation was called");
}
