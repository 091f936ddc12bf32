use crate::helpers::spawn_app;

#[tokio::test]
async fn landing_page_is_server_rendered_with_hydration_scripts() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Loyalty points your customers really own"));
    assert!(
        html.contains("/pkg/pointmint.js"),
        "the page loads the wasm glue"
    );
    assert!(
        html.contains(r#"href="/signup""#)
            && html.contains(r#"href="/login""#)
            && html.contains(r#"href="/wallet""#)
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_answer_404() {
    let app = spawn_app().await;
    let response = app.get("/definitely/not/here").await;
    assert_eq!(response.status(), 404);
    app.stop().await;
}
