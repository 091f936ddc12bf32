//! Cross-site posts to forms and server functions are refused before they change anything.

use reqwest::header;

use crate::{accounts::db, helpers::spawn_app};

#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let form = [
        ("email", "ann@example.com"),
        ("password", "correct horse battery"),
        ("password_repeat", "correct horse battery"),
    ];
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = app
            .client
            .post(app.url("/fn/sign_up"))
            .header(header::ACCEPT, "text/html")
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("came from another site"));
    }
    let db = db(&app).await;
    let operators: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(operators, 0);

    // The same post from the site itself goes through.
    let response = app
        .client
        .post(app.url("/fn/sign_up"))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, &app.address)
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let operators: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(operators, 1);
    db.close().await;
    app.stop().await;
}
