//! Stores, invitations and roles; and that no server function lets an operator reach
//! another operator's store.

use std::time::Duration;

use sqlx::Row;

use crate::{
    accounts::db,
    browser::{token_of, Browser},
    helpers::{spawn_app_configured, TestApp},
    smtp::SmtpServer,
};

const PASSWORD: &str = "correct horse battery";
// An upper bound for a loaded CI machine, not a speed requirement.
const MAIL_WAIT: Duration = Duration::from_secs(30);

async fn app_with_smtp() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| s.smtp_url = Some(url)).await;
    (app, smtp)
}

/// Creates a store through the form and returns its id.
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

/// Everything about a store's membership, to prove nothing changed.
async fn membership_snapshot(app: &TestApp) -> Vec<(i64, i64, String)> {
    let db = db(app).await;
    let rows = sqlx::query(
        "SELECT store_id, operator_id, role FROM store_members ORDER BY store_id, operator_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let invitations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM store_invitations")
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    let mut snapshot: Vec<(i64, i64, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    snapshot.push((-1, invitations, "invitations".into()));
    snapshot
}

#[tokio::test]
async fn create_store_lists_it_and_refuses_bad_or_taken_slugs() {
    let (app, smtp) = app_with_smtp().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let id = create_store(&ann, "Corner Coffee", "").await;
    let (_, _, html) = ann.page("/dashboard").await;
    assert!(
        html.contains("Corner Coffee") && html.contains("corner-coffee") && html.contains("owner"),
        "{html}"
    );
    assert!(html.contains(&format!("/dashboard/stores/{id}/staff")));

    let posted = ann
        .submit(
            "create_store",
            "/dashboard",
            &[("name", "Other"), ("slug", "corner-coffee")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("slug_taken"));
    let posted = ann
        .submit(
            "create_store",
            "/dashboard",
            &[("name", "Other"), ("slug", "Not A Slug")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_slug"));
    let posted = ann
        .submit(
            "create_store",
            "/dashboard",
            &[("name", "   "), ("slug", "")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_store_name"));
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(html.contains("Give the store a name"), "{html}");

    let visitor = Browser::new(&app);
    let (status, body) = visitor
        .call("create_store", &[("name", "Sneaky"), ("slug", "sneaky")])
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (401, serde_json::json!("NotSignedIn"))
    );
    let db = db(&app).await;
    let stores: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stores")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stores, 1);
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn invitation_by_mail_is_accepted_once_by_the_invited_address_only() {
    let (app, smtp) = app_with_smtp().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner").await;
    let staff_page = format!("/dashboard/stores/{store}/staff");

    let posted = ann
        .submit(
            "invite_staff",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("email", "not an address"),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_email"));
    let posted = ann
        .submit(
            "invite_staff",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("email", "bob@example.com"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_role"));
    let posted = ann
        .submit(
            "invite_staff",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("email", "ann@example.com"),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("already_member"));
    let posted = ann
        .submit(
            "invite_staff",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("email", "bob@example.com"),
                ("role", "manager"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{staff_page}?invited=1"));
    let (_, _, html) = ann.page(&staff_page).await;
    assert!(
        html.contains("Invited, not yet accepted") && html.contains("bob@example.com"),
        "{html}"
    );

    let invitation = smtp
        .inbox
        .wait_for(
            "bob@example.com",
            "invited to work on Corner Coffee",
            MAIL_WAIT,
        )
        .await;
    let link = invitation.link(&format!("{}/invitations/accept?token=", app.address));
    let token = token_of(&link);

    // Not signed in: the page explains and links to log-in with a way back.
    let bob = Browser::new(&app);
    let (status, _, html) = bob.page(&link).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Corner Coffee")
            && html.contains("manager")
            && html.contains("/login?next=/invitations/accept%3Ftoken%3D"),
        "{html}"
    );

    // Someone else signed in cannot use it, and the link stays valid.
    let carol = Browser::signed_up(&app, &smtp.inbox, "carol@example.com", PASSWORD).await;
    let posted = carol
        .submit(
            "accept_invitation",
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("invitation_for_other_email")
    );

    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    let posted = bob
        .submit(
            "accept_invitation",
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(posted.location, staff_page);
    let (_, _, html) = bob.page(&staff_page).await;
    assert!(html.contains(r#"data-testid="my-role">manager<"#), "{html}");
    let posted = bob
        .submit(
            "accept_invitation",
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("link_invalid"),
        "a used invitation link is refused"
    );

    // A manager may invite staff but not owners, and may not change roles.
    let bob_id = member_id(&app, "bob@example.com").await;
    let posted = bob
        .submit(
            "invite_staff",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("email", "dan@example.com"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("forbidden"));
    let ann_id = member_id(&app, "ann@example.com").await;
    let (status, _) = bob
        .call(
            "change_member_role",
            &[
                ("store_id", &store.to_string()),
                ("operator_id", &ann_id.to_string()),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(status, 403);

    // The owner changes roles and removes; the last owner cannot leave.
    let posted = ann
        .submit(
            "change_member_role",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("operator_id", &bob_id.to_string()),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{staff_page}?changed=1"));
    let posted = ann
        .submit(
            "change_member_role",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("operator_id", &ann_id.to_string()),
                ("role", "manager"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("last_owner"));
    let posted = ann
        .submit(
            "remove_member",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("operator_id", &ann_id.to_string()),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("last_owner"));
    let posted = ann
        .submit(
            "remove_member",
            &staff_page,
            &[
                ("store_id", &store.to_string()),
                ("operator_id", &bob_id.to_string()),
            ],
        )
        .await;
    assert_eq!(posted.location, format!("{staff_page}?removed=1"));
    assert_eq!(
        bob.page(&staff_page).await.0,
        404,
        "a removed member sees nothing"
    );
    app.stop().await;
}

async fn member_id(app: &TestApp, email: &str) -> i64 {
    let db = db(app).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM operators WHERE email = $1")
        .bind(email)
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    id
}

#[tokio::test]
async fn another_operators_store_is_not_found_through_every_server_function() {
    let (app, smtp) = app_with_smtp().await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let mallory = Browser::signed_up(&app, &smtp.inbox, "mallory@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner")
        .await
        .to_string();
    let _own = create_store(&mallory, "Mallory Mart", "mallory").await;
    let ann_id = member_id(&app, "ann@example.com").await.to_string();
    let mallory_id = member_id(&app, "mallory@example.com").await.to_string();
    let before = membership_snapshot(&app).await;

    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("staff_overview", vec![("store_id", &store)]),
        (
            "invite_staff",
            vec![
                ("store_id", &store),
                ("email", "mallory@example.com"),
                ("role", "owner"),
            ],
        ),
        (
            "change_member_role",
            vec![
                ("store_id", &store),
                ("operator_id", &ann_id),
                ("role", "staff"),
            ],
        ),
        (
            "change_member_role",
            vec![
                ("store_id", &store),
                ("operator_id", &mallory_id),
                ("role", "owner"),
            ],
        ),
        (
            "remove_member",
            vec![("store_id", &store), ("operator_id", &ann_id)],
        ),
    ];
    for (server_fn, form) in &attempts {
        let (status, body) = mallory.call(server_fn, form).await;
        assert_eq!(
            (status.as_u16(), body),
            (404, serde_json::json!("NotFound")),
            "{server_fn}"
        );
        if *server_fn != "staff_overview" {
            // The forms, posted without JavaScript.
            let posted = mallory.submit(server_fn, "/dashboard", form).await;
            assert_eq!(
                posted.error().as_deref(),
                Some("not_found"),
                "{server_fn} without JS"
            );
        }
    }
    // Guessed ids that exist nowhere answer the same.
    let (status, _) = mallory
        .call("staff_overview", &[("store_id", "999999")])
        .await;
    assert_eq!(status, 404);
    let (status, _, html) = mallory
        .page(&format!("/dashboard/stores/{store}/staff"))
        .await;
    assert_eq!(status, 404);
    assert!(
        !html.contains("Corner Coffee"),
        "nothing of the store leaks"
    );
    let (_, _, html) = mallory.page("/dashboard").await;
    assert!(html.contains("Mallory Mart") && !html.contains("Corner Coffee"));

    assert_eq!(membership_snapshot(&app).await, before, "nothing changed");
    assert_eq!(
        smtp.inbox.count_to("mallory@example.com").await,
        1,
        "no invitation mail was sent"
    );
    app.stop().await;
}
