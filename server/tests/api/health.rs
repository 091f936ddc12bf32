use crate::helpers::{spawn_app, spawn_app_with, test_settings};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn readyz_is_ready_when_database_and_chain_answer() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert_eq!(body["checks"]["chain"]["ok"], true);
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_a_broken_database_url_as_not_ready() {
    let guard = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the server must start anyway and say it is not ready.
    let broken = "postgres://postgres:secret-password@127.0.0.1:1/nowhere".to_owned();
    let app = spawn_app_with(test_settings(guard.path().to_path_buf(), broken), guard).await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "not_ready");
    assert_eq!(json["checks"]["database"]["ok"], false);
    assert_eq!(
        json["checks"]["chain"]["ok"], true,
        "the chain is fine, only the database is broken"
    );
    assert!(
        !body.contains("secret-password"),
        "probe answers never carry credentials"
    );

    // Liveness is unaffected: the process itself is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_an_unreachable_chain_node_as_not_ready() {
    let guard = tempfile::tempdir().unwrap();
    let data_dir = guard.path().to_path_buf();
    let database_url = crate::helpers::fresh_database_url(&data_dir).await;
    let mut settings = test_settings(data_dir, database_url);
    settings.chain = server::config::ChainSettings::Remote {
        rpc_url: "http://127.0.0.1:1/rpc/v3".into(),
        network: mvs::Network::Testnet,
    };
    let app = spawn_app_with(settings, guard).await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["checks"]["database"]["ok"], true);
    assert_eq!(json["checks"]["chain"]["ok"], false);
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_exported_in_prometheus_text_format() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("pointmint_http_requests_total{")
                && l.contains(r#"route="/healthz""#)
                && l.contains(r#"status="200""#)),
        "the /healthz request is counted:\n{text}"
    );
    assert!(text.contains("pointmint_build_info"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
    app.stop().await;
}
