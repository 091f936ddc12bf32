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
    let posted = browser
        .submit(
            "create_store",
            "/dashboard",
            &[("name", name), ("slug", slug)],
        )
        .await;
    posted
        .location
        .strip_prefix("/dashboard?created=")
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap()
}

async fn point_systems(app: &TestApp) -> i64 {
    let db = db(app).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM point_systems")
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    n
}

fn form<'a>(
    store: &'a str,
    symbol: &'a str,
    avatar: &'a str,
    max_supply: &'a str,
) -> Vec<(&'a str, &'a str)> {
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
    assert!(
        html.contains(r#"data-testid="no-point-system""#) && html.contains("Register point system"),
        "{html}"
    );

    // Invalid input goes back to the form with the field's error; nothing is registered.
    for (symbol, avatar, supply, code) in [
        ("co", "corner-coffee", "1000", "symbol_length"),
        ("coffee", "corner-coffee", "1000", "symbol_characters"),
        (
            "COFFEE.TOKEN",
            "corner-coffee",
            "1000",
            "symbol_reserved_word",
        ),
        ("COFFEE", "a b", "1000", "invalid_avatar"),
        ("COFFEE", "corner-coffee", "0", "invalid_max_supply"),
        (
            "COFFEE",
            "corner-coffee",
            "9007199254740992",
            "invalid_max_supply",
        ),
    ] {
        let posted = ann
            .submit(
                "register_point_system",
                &page,
                &form(&id, symbol, avatar, supply),
            )
            .await;
        assert_eq!(
            posted.error().as_deref(),
            Some(code),
            "{symbol} {avatar} {supply}"
        );
    }
    let (_, _, html) = ann
        .page(&format!("{page}?error=symbol_reserved_word"))
        .await;
    assert!(
        html.contains(r#"data-error-for="symbol""#) && html.contains("reserved word"),
        "{html}"
    );
    assert_eq!(point_systems(&app).await, 0);

    // Staff may look but not register; another operator's store is not found.
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.page(&page).await.0, 404);
    let (status, body) = bob
        .call(
            "register_point_system",
            &form(&id, "COFFEE", "corner-coffee", "1000"),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (404, serde_json::json!("NotFound"))
    );
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
    assert!(
        html.contains("A manager or owner can register one")
            && !html.contains("Register point system"),
        "{html}"
    );
    let (status, body) = bob
        .call(
            "register_point_system",
            &form(&id, "COFFEE", "corner-coffee", "1000"),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (403, serde_json::json!("Forbidden"))
    );
    assert_eq!(point_systems(&app).await, 0);

    // The owner registers; the page shows the pending status.
    let posted = ann
        .submit(
            "register_point_system",
            &page,
            &form(&id, "COFFEE", "corner-coffee", "1000"),
        )
        .await;
    assert_eq!(posted.location, format!("{page}?registered=1"));
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(
        html.contains(r#"data-testid="point-symbol">COFFEE<"#) && html.contains(r#"data-status="#),
        "{html}"
    );
    let (status, body) = ann.call("points_overview", &[("store_id", &id)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["point_system"]["symbol"], "COFFEE");

    // A second registration, or the same symbol for another store, is refused.
    let posted = ann
        .submit(
            "register_point_system",
            &page,
            &form(&id, "COFFEE2", "corner-coffee", "1000"),
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("point_system_exists"));
    let other = create_store(&ann, "Other Shop", "other").await;
    let other_page = format!("/dashboard/stores/{other}/points");
    let (status, body) = ann
        .call(
            "check_symbol",
            &[("store_id", &other.to_string()), ("symbol", "COFFEE")],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (200, serde_json::json!("SymbolTaken"))
    );
    let posted = ann
        .submit(
            "register_point_system",
            &other_page,
            &form(&other.to_string(), "COFFEE", "other-shop", "1000"),
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("symbol_taken"));
    let posted = ann
        .submit(
            "register_point_system",
            &other_page,
            &form(&other.to_string(), "OTHER", "Corner-Coffee", "1000"),
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("avatar_taken"));
    assert_eq!(point_systems(&app).await, 1);

    // Renaming: managers and owners only, with the store-name rules; staff are refused.
    let settings = format!("/dashboard/stores/{store}/settings");
    let posted = ann
        .submit(
            "rename_store",
            &settings,
            &[("store_id", &id), ("name", "  ")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_store_name"));
    let posted = ann
        .submit(
            "rename_store",
            &settings,
            &[("store_id", &id), ("name", "Corner Café")],
        )
        .await;
    assert_eq!(posted.location, format!("{settings}?renamed=1"));
    let (status, _, html) = ann.page(&posted.location).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="store-name">Corner Café<"#)
            && html.contains("Store renamed."),
        "{html}"
    );
    let (status, body) = bob
        .call("rename_store", &[("store_id", &id), ("name", "Bob's")])
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (403, serde_json::json!("Forbidden"))
    );
    let (_, _, html) = bob.page(&settings).await;
    assert!(
        html.contains("A manager or owner can rename the store.") && html.contains("Corner Café"),
        "{html}"
    );
    let carol = Browser::signed_up(&app, &smtp.inbox, "carol@example.com", PASSWORD).await;
    assert_eq!(carol.page(&settings).await.0, 404);
    assert_eq!(
        carol
            .call("rename_store", &[("store_id", &id), ("name", "Carol's")])
            .await
            .0,
        404
    );

    app.stop().await;
}

async fn wait_point_system_confirmed(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let db = db(app).await;
        let status: String = sqlx::query_scalar("SELECT status FROM point_systems")
            .fetch_one(db.pool())
            .await
            .unwrap();
        db.close().await;
        if status == "confirmed" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the point system did not confirm (status {status})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn operations(app: &TestApp) -> i64 {
    let db = db(app).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operations")
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    n
}

#[tokio::test]
async fn customers_are_created_listed_and_given_points_by_role_within_their_store_only() {
    let (app, smtp) = app_with_smtp().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner").await;
    let id = store.to_string();
    let posted = ann
        .submit(
            "register_point_system",
            &format!("/dashboard/stores/{store}/points"),
            &form(&id, "COFFEE", "corner-coffee", "100000"),
        )
        .await;
    assert!(posted.error().is_none(), "{posted:?}");

    // Customers: field errors, then one created; the list finds it.
    let list = format!("/dashboard/stores/{store}/customers");
    let (status, _, html) = ann.page(&list).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="no-customers""#), "{html}");
    let posted = ann
        .submit(
            "create_customer",
            &list,
            &[
                ("store_id", &id),
                ("external_id", " "),
                ("email", "mia@example.com"),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_external_id"));
    let posted = ann
        .submit(
            "create_customer",
            &list,
            &[
                ("store_id", &id),
                ("external_id", "C-1"),
                ("email", "mia"),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_email"));
    let posted = ann
        .submit(
            "create_customer",
            &list,
            &[
                ("store_id", &id),
                ("external_id", "C-1"),
                ("email", "mia@example.com"),
                ("name", "Mia"),
            ],
        )
        .await;
    let customer: i64 = posted
        .location
        .strip_prefix(&format!("{list}/"))
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap();
    let (_, _, html) = ann.page(&format!("{list}?q=mia")).await;
    assert!(html.contains(r#"data-customer="C-1""#), "{html}");
    let (_, _, html) = ann.page(&format!("{list}?q=nobody")).await;
    assert!(html.contains("No customer matches this search."), "{html}");

    wait_point_system_confirmed(&app).await;
    let page = format!("{list}/{customer}");
    let cid = customer.to_string();
    let mv = |kind: &'static str,
              amount: &'static str,
              direction: &'static str,
              reason: &'static str| {
        vec![
            ("store_id", id.clone()),
            ("customer_id", cid.clone()),
            ("kind", kind.to_owned()),
            ("amount", amount.to_owned()),
            ("direction", direction.to_owned()),
            ("reason", reason.to_owned()),
        ]
    };
    async fn post(
        b: &Browser,
        page: &str,
        form: Vec<(&'static str, String)>,
    ) -> crate::browser::Posted {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.submit("move_points", page, &form).await
    }
    async fn call(b: &Browser, form: Vec<(&'static str, String)>) -> u16 {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.call("move_points", &form).await.0.as_u16()
    }

    // Refusals change nothing.
    assert_eq!(
        post(&ann, &page, mv("award", "abc", "", ""))
            .await
            .error()
            .as_deref(),
        Some("invalid_amount")
    );
    assert_eq!(
        post(&ann, &page, mv("award", "0", "", ""))
            .await
            .error()
            .as_deref(),
        Some("invalid_amount")
    );
    assert_eq!(
        post(&ann, &page, mv("award", "100001", "", ""))
            .await
            .error()
            .as_deref(),
        Some("insufficient_balance")
    );
    assert_eq!(
        post(&ann, &page, mv("redeem", "1", "", ""))
            .await
            .error()
            .as_deref(),
        Some("insufficient_balance")
    );
    assert_eq!(
        post(&ann, &page, mv("adjust", "5", "credit", " "))
            .await
            .error()
            .as_deref(),
        Some("reason_required")
    );
    let too_long: &'static str = "x".repeat(501).leak();
    assert_eq!(
        post(&ann, &page, mv("adjust", "5", "credit", too_long))
            .await
            .error()
            .as_deref(),
        Some("reason_too_long")
    );
    assert_eq!(operations(&app).await, 0);

    // An award queues an operation; the page follows it. The form carries a request id
    // made when it was rendered: submitted twice (a double click, a resent POST), it awards
    // once and both answers name the same operation.
    let (_, _, html) = ann.page(&page).await;
    let request_id = crate::browser::hidden_field(&html, "request_id");
    assert!(request_id.len() >= 20, "{request_id}");
    let mut award = mv("award", "100", "", "");
    award.push(("request_id", request_id.clone()));
    let posted = post(&ann, &page, award.clone()).await;
    assert!(
        posted.location.starts_with(&format!("{page}?operation=")),
        "{posted:?}"
    );
    let again = post(&ann, &page, award).await;
    assert_eq!(
        again.location, posted.location,
        "the repeat names the first operation"
    );
    assert_eq!(
        operations(&app).await,
        1,
        "a repeated request moves points once"
    );
    let (_, _, html) = ann.page(&page).await;
    assert_ne!(
        crate::browser::hidden_field(&html, "request_id"),
        request_id,
        "a new rendering of the form gets a new id"
    );
    let (status, _, html) = ann.page(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-operation-id=")
            && html.contains("Award points")
            && html.contains("Adjust points"),
        "{html}"
    );
    let (status, body) = ann
        .call(
            "customer_overview",
            &[("store_id", &id), ("customer_id", &cid)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["operations"][0]["kind"], "award");
    assert_eq!(body["operations"][0]["amount"], 100);

    // The operations list, filtered, and the same as CSV.
    let ops = format!("/dashboard/stores/{store}/operations");
    let (status, _, html) = ann.page(&format!("{ops}?kind=award")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-kind="award""#) && html.contains("C-1") && html.contains("treasury"),
        "{html}"
    );
    let (_, _, html) = ann.page(&format!("{ops}?kind=redeem")).await;
    assert!(
        html.contains("No operation matches these filters.")
            && !html.contains("data-operation-id="),
        "{html}"
    );
    let (status, _, csv) = ann.page(&format!("{ops}.csv?kind=award")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,created_at,kind,amount,from,to,state,txid,height,reason,error"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",award,100,treasury,C-1,"), "{csv}");
    let (_, _, csv) = ann.page(&format!("{ops}.csv?kind=redeem")).await;
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert_eq!(Browser::new(&app).page(&format!("{ops}.csv")).await.0, 401);

    // Another operator sees nothing; as staff they may award but not redeem or adjust.
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.page(&page).await.0, 404);
    assert_eq!(bob.page(&format!("{ops}.csv")).await.0, 404);
    assert_eq!(bob.page(&ops).await.0, 404);
    assert_eq!(
        bob.call(
            "customer_overview",
            &[("store_id", &id), ("customer_id", &cid)]
        )
        .await
        .0,
        404
    );
    assert_eq!(call(&bob, mv("award", "1", "", "")).await, 404);
    assert_eq!(
        bob.call(
            "list_customers",
            &[("store_id", &id), ("query", ""), ("page", "1")]
        )
        .await
        .0,
        404
    );
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
    let (_, _, html) = bob.page(&page).await;
    assert!(
        html.contains("Award points") && !html.contains("Adjust points"),
        "{html}"
    );
    assert_eq!(call(&bob, mv("redeem", "1", "", "")).await, 403);
    assert_eq!(call(&bob, mv("adjust", "1", "debit", "typo")).await, 403);
    assert_eq!(operations(&app).await, 1);
    assert_eq!(call(&bob, mv("award", "1", "", "")).await, 200);
    assert_eq!(operations(&app).await, 2);

    // The same customer id through another store of the same operator: not found.
    let other = create_store(&ann, "Other Shop", "other").await;
    let (status, _) = ann
        .call(
            "customer_overview",
            &[("store_id", &other.to_string()), ("customer_id", &cid)],
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        ann.page(&format!("/dashboard/stores/{other}/customers/{customer}"))
            .await
            .0,
        404
    );

    app.stop().await;
}
