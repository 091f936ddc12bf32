//! The dashboard's point-system page and server functions: field errors, roles, tenant
//! isolation (the chain worker's issuing is covered by the worker and browser tests).

use crate::{
    accounts::db,
    browser::Browser,
    helpers::{spawn_app_configured, TestApp},
    smtp::SmtpServer,
};

const PASSWORD: &str = "correct horse battery";

async fn app_with_smtp() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| s.smtp_url = Some(url)).await;
    (app, smtp)
}

async fn create_store(browser: &Browser, name: &str, slug: &str) -> i64 {
    let posted = browser.submit("create_store", "/dashboard", &[("name", name), ("slug", slug)]).await;
    posted.location.strip_prefix("/dashboard?created=").unwrap_or_else(|| panic!("{posted:?}")).parse().unwrap()
}

async fn point_systems(app: &TestApp) -> i64 {
    let db = db(app).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM point_systems").fetch_one(db.pool()).await.unwrap();
    db.close().await;
    n
}

fn form<'a>(store: &'a str, symbol: &'a str, avatar: &'a str, max_supply: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("store_id", store),
        ("symbol", symbol),
        ("name", "Coffee points"),
        ("description", ""),
        ("decimals", "0"),
        ("max_supply", max_supply),
        ("secondary_issue", "0"),
        ("issuer_avatar", avatar),
    ]
}

#[tokio::test]
async fn point_system_registration_checks_fields_roles_and_tenants() {
    let (app, smtp) = app_with_smtp().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner").await;
    let id = store.to_string();
    let page = format!("/dashboard/stores/{store}/points");

    let (status, _, html) = ann.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="no-point-system""#) && html.contains("Register point system"), "{html}");

    // Invalid input goes back to the form with the field's error; nothing is registered.
    for (symbol, avatar, supply, code) in [
        ("co", "corner-coffee", "1000", "symbol_length"),
        ("coffee", "corner-coffee", "1000", "symbol_characters"),
        ("COFFEE.TOKEN", "corner-coffee", "1000", "symbol_reserved_word"),
        ("COFFEE", "a b", "1000", "invalid_avatar"),
        ("COFFEE", "corner-coffee", "0", "invalid_max_supply"),
        ("COFFEE", "corner-coffee", "9007199254740992", "invalid_max_supply"),
    ] {
        let posted = ann.submit("register_point_system", &page, &form(&id, symbol, avatar, supply)).await;
        assert_eq!(posted.error().as_deref(), Some(code), "{symbol} {avatar} {supply}");
    }
    let (_, _, html) = ann.page(&format!("{page}?error=symbol_reserved_word")).await;
    assert!(html.contains(r#"data-error-for="symbol""#) && html.contains("reserved word"), "{html}");
    assert_eq!(point_systems(&app).await, 0);

    // Staff may look but not register; another operator's store is not found.
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.page(&page).await.0, 404);
    let (status, body) = bob.call("register_point_system", &form(&id, "COFFEE", "corner-coffee", "1000")).await;
    assert_eq!((status.as_u16(), body), (404, serde_json::json!("NotFound")));
    let (status, _) = bob.call("points_overview", &[("store_id", &id)]).await;
    assert_eq!(status, 404);
    {
        let db = db(&app).await;
        let bob_id: i64 = sqlx::query_scalar("SELECT id FROM operators WHERE email = $1")
            .bind("bob@example.com")
            .fetch_one(db.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO store_members (store_id, operator_id, role, created_at) VALUES ($1, $2, 'staff', 0)")
            .bind(store)
            .bind(bob_id)
            .execute(db.pool())
            .await
            .unwrap();
        db.close().await;
    }
    let (status, _, html) = bob.page(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains("A manager or owner can register one") && !html.contains("Register point system"), "{html}");
    let (status, body) = bob.call("register_point_system", &form(&id, "COFFEE", "corner-coffee", "1000")).await;
    assert_eq!((status.as_u16(), body), (403, serde_json::json!("Forbidden")));
    assert_eq!(point_systems(&app).await, 0);

    // The owner registers; the page shows the pending status.
    let posted = ann.submit("register_point_system", &page, &form(&id, "COFFEE", "corner-coffee", "1000")).await;
    assert_eq!(posted.location, format!("{page}?registered=1"));
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(html.contains(r#"data-testid="point-symbol">COFFEE<"#) && html.contains(r#"data-status="#), "{html}");
    let (status, body) = ann.call("points_overview", &[("store_id", &id)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["point_system"]["symbol"], "COFFEE");

    // A second registration, or the same symbol for another store, is refused.
    let posted = ann.submit("register_point_system", &page, &form(&id, "COFFEE2", "corner-coffee", "1000")).await;
    assert_eq!(posted.error().as_deref(), Some("point_system_exists"));
    let other = create_store(&ann, "Other Shop", "other").await;
    let other_page = format!("/dashboard/stores/{other}/points");
    let (status, body) = ann.call("check_symbol", &[("store_id", &other.to_string()), ("symbol", "COFFEE")]).await;
    assert_eq!((status.as_u16(), body), (200, serde_json::json!("SymbolTaken")));
    let posted = ann.submit("register_point_system", &other_page, &form(&other.to_string(), "COFFEE", "other-shop", "1000")).await;
    assert_eq!(posted.error().as_deref(), Some("symbol_taken"));
    assert_eq!(point_systems(&app).await, 1);

    app.stop().await;
}
