//! Secondary issue from the dashboard's point-system page against the development chain:
//! refused when the policy forbids it or the treasury lacks the threshold share (nothing
//! changes), otherwise issued, confirmed, and the chain's supply, the treasury balance and
//! reconciliation all agree.

use std::time::Duration;

use app::domain::{
    db::Database,
    email::Email,
    ledger::{
        customers,
        point_systems::PointSystem,
        submit::{submit, Destination, NewOperation},
        Amount, Balance, OperationKind,
    },
};

use crate::{
    accounts::db,
    api_support::{fixture_vault, wait_confirmed},
    browser::{hidden_field, Browser},
    helpers::spawn_app_configured,
    smtp::SmtpServer,
};

const PASSWORD: &str = "correct horse battery";

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

/// Registers a point system of 1,000,000 with `policy` through the form and waits until
/// the worker has issued it.
async fn register(
    browser: &Browser,
    db: &Database,
    store: i64,
    symbol: &str,
    avatar: &str,
    policy: &str,
) -> PointSystem {
    let id = store.to_string();
    let page = format!("/dashboard/stores/{store}/points");
    let posted = browser
        .submit(
            "register_point_system",
            &page,
            &[
                ("store_id", id.as_str()),
                ("symbol", symbol),
                ("name", "Points"),
                ("description", ""),
                ("decimals", "0"),
                ("max_supply", "1000000"),
                ("secondary_issue", policy),
                ("issuer_avatar", avatar),
            ],
        )
        .await;
    assert_eq!(posted.error(), None, "{posted:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ps = PointSystem::of_store(db, store).await.unwrap().unwrap();
        if ps.status == "confirmed" {
            return ps;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{symbol} was not issued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(db: &Database, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

#[tokio::test]
async fn more_points_are_issued_where_the_policy_allows_and_refused_where_it_does_not() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| s.smtp_url = Some(url)).await;
    let db = db(&app).await;
    let chain = mvs::rpc::Client::new(app.chain_url.clone().unwrap(), Duration::from_secs(10));
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let more_store = create_store(&ann, "More Shop", "more-shop").await;
    let fixed_store = create_store(&ann, "Fixed Shop", "fixed-shop").await;
    let more = register(&ann, &db, more_store, "MORE.POINTS", "more-shop", "51").await;
    let _fixed = register(&ann, &db, fixed_store, "FIXED.POINTS", "fixed-shop", "0").await;
    let (more_page, fixed_page) = (
        format!("/dashboard/stores/{more_store}/points"),
        format!("/dashboard/stores/{fixed_store}/points"),
    );
    let (more_id, fixed_id) = (more_store.to_string(), fixed_store.to_string());

    // The page offers the form only where the policy allows it.
    let (_, _, html) = ann.page(&more_page).await;
    assert!(
        html.contains(r#"data-testid="secondary-issue-form""#),
        "{html}"
    );
    let (_, _, html) = ann.page(&fixed_page).await;
    assert!(
        html.contains(r#"data-testid="secondary-issue-fixed""#)
            && !html.contains(r#"data-testid="secondary-issue-form""#),
        "{html}"
    );

    // Policy 0: a clear refusal, and nothing changes anywhere.
    let posted = ann
        .submit(
            "issue_more_points",
            &fixed_page,
            &[
                ("store_id", fixed_id.as_str()),
                ("amount", "500"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("secondary_issue_forbidden"));
    let (_, _, html) = ann
        .page(&format!("{fixed_page}?error=secondary_issue_forbidden"))
        .await;
    assert!(html.contains("allows no secondary issue"), "{html}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM operations WHERE kind = 'secondary_issue'"
        )
        .await,
        0
    );
    assert_eq!(
        chain
            .get_asset("FIXED.POINTS")
            .await
            .unwrap()
            .maximum_supply,
        1_000_000
    );

    // Another operator cannot issue into ann's store.
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    let (status, _) = bob
        .call(
            "issue_more_points",
            &[
                ("store_id", more_id.as_str()),
                ("amount", "500"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(status.as_u16(), 404);

    // Threshold 51%: the treasury holds everything, so 250,000 more are issued. The form
    // carries a request id made when it was rendered: submitting it twice (a double click)
    // issues once.
    let (_, _, html) = ann.page(&more_page).await;
    let request_id = hidden_field(&html, "request_id");
    assert!(request_id.len() >= 20, "{request_id}");
    for _ in 0..2 {
        let posted = ann
            .submit(
                "issue_more_points",
                &more_page,
                &[
                    ("store_id", more_id.as_str()),
                    ("amount", "250000"),
                    ("reason", "holiday season"),
                    ("request_id", request_id.as_str()),
                ],
            )
            .await;
        assert_eq!(
            posted.location,
            format!("{more_page}?issued=1"),
            "{posted:?}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM operations WHERE kind = 'secondary_issue'"
        )
        .await,
        1,
        "the repeated request was answered with the first operation"
    );
    let (_, _, html) = ann.page(&more_page).await;
    assert_ne!(
        hidden_field(&html, "request_id"),
        request_id,
        "a new rendering of the form gets a new id"
    );
    let (op_id, actor, reason): (i64, String, Option<String>) = sqlx::query_as(
        "SELECT id, actor, reason FROM operations WHERE kind = 'secondary_issue' AND point_system_id = $1",
    )
    .bind(more.id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(actor.starts_with("operator:"), "{actor}");
    assert_eq!(reason.as_deref(), Some("holiday season"));
    let txid = wait_confirmed(&db, op_id).await;
    let decoded = chain.get_raw_tx(&txid.parse().unwrap()).await.unwrap();
    assert!(
        decoded.outputs.iter().any(|o| matches!(&o.attachment.body,
            mvs::attachment::AttachmentBody::AssetIssue(d) if d.is_secondary_issue() && d.max_supply == 250_000)),
        "the confirmed transaction is a secondary issue of 250,000"
    );
    assert_eq!(
        chain.get_asset("MORE.POINTS").await.unwrap().maximum_supply,
        1_250_000
    );
    let treasury = Balance::fetch(&db, more.treasury_key_id, more.id)
        .await
        .unwrap();
    assert_eq!(
        treasury,
        Balance {
            available: 1_250_000,
            pending_in: 0,
            confirmed: 1_250_000
        }
    );
    let on_chain: u64 = chain
        .get_address_asset(&more.treasury_address, Some("MORE.POINTS"))
        .await
        .unwrap()
        .iter()
        .map(|b| b.confirmed)
        .sum();
    assert_eq!(on_chain, 1_250_000);
    let ps = PointSystem::of_store(&db, more_store)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ps.max_supply, 1_250_000,
        "the point system shows the new supply"
    );
    let report = server::reconcile::reconcile(&db, &chain).await.unwrap();
    assert!(report.differences.is_empty(), "{report}");
    // New supply in the treasury is neither issued to customers nor redeemed by them.
    let (_, _, html) = ann.page(&format!("/dashboard/stores/{more_store}")).await;
    for (testid, value) in [
        ("total-issued", "0"),
        ("total-redeemed", "0"),
        ("total-outstanding", "0"),
    ] {
        assert!(
            html.contains(&format!(r#"data-testid="{testid}">{value}<"#)),
            "{testid} {value}: {html}"
        );
    }

    // Give most points away: the treasury no longer holds 51% and is refused up front.
    let vault = fixture_vault(&app);
    let alice = customers::upsert(
        &db,
        &vault,
        more_store,
        "alice",
        &Email::parse("alice@example.com").unwrap(),
        None,
    )
    .await
    .unwrap();
    submit(
        &db,
        NewOperation {
            point_system_id: more.id,
            kind: OperationKind::Award,
            amount: Amount::new(700_000).unwrap(),
            from_key_id: more.treasury_key_id,
            to: Destination::Custodial {
                key_id: alice.key_id,
                address: alice.address.clone(),
            },
            actor: "test".into(),
            reason: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let posted = ann
        .submit(
            "issue_more_points",
            &more_page,
            &[
                ("store_id", more_id.as_str()),
                ("amount", "1000"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("secondary_issue_share_too_low")
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM operations WHERE kind = 'secondary_issue'"
        )
        .await,
        1
    );
    db.close().await;
    app.stop().await;
}
