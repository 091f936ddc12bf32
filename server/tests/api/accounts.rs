//! Operator accounts over HTTP with a real SMTP server: sign-up, verification, log-in,
//! log-out, password reset and change, and every way they refuse bad input.

use std::time::Duration;

use app::domain::db::Database;
use sqlx::Row;

use crate::{
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

pub async fn db(app: &TestApp) -> Database {
    Database::connect(&app.database_url, 2).await.unwrap()
}

async fn scalar(db: &Database, sql: &str, bind: &str) -> i64 {
    sqlx::query(sql)
        .bind(bind)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

#[tokio::test]
async fn sign_up_verify_log_in_log_out_through_mailed_links() {
    let (app, smtp) = app_with_smtp().await;
    let browser = Browser::new(&app);
    let email = "ann@example.com";

    let posted = browser
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", " Ann@Example.com "),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (posted.status.as_u16(), posted.location.as_str()),
        (302, "/signup?done=1")
    );
    let (_, _, html) = browser.page("/signup?done=1").await;
    assert!(
        html.contains("Check your mail"),
        "the no-JS result is visible"
    );

    let mail = smtp
        .inbox
        .wait_for(email, "Confirm your pointmint account", MAIL_WAIT)
        .await;
    assert!(
        mail.raw.contains("multipart/alternative")
            && mail.raw.contains("text/plain")
            && mail.raw.contains("text/html")
    );
    let link = mail.link(&format!("{}/verify-email?token=", app.address));

    // Not verified yet: log-in refuses and mails a fresh link.
    let posted = browser
        .submit(
            "log_in",
            "/login",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("not_verified"));
    let (_, _, html) = browser.page(&posted.location).await;
    assert!(html.contains("Confirm your e-mail address first"), "{html}");

    // Follow the link: the page offers a confirm button carrying the token.
    let (status, _, html) = browser.page(&link).await;
    assert_eq!(status, 200);
    let token = token_of(&link);
    assert!(html.contains(&token));
    let posted = browser
        .submit("verify_email", "/verify-email", &[("token", &token)])
        .await;
    assert_eq!(posted.location, "/login?verified=1");

    // The same link again is refused.
    let posted = browser
        .submit("verify_email", "/verify-email", &[("token", &token)])
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));

    let posted = browser
        .submit(
            "log_in",
            "/login",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(posted.location, "/dashboard");
    let (status, _, html) = browser.page("/dashboard").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(email) && html.contains("You have no stores yet"),
        "{html}"
    );

    let posted = browser.submit("log_out", "/dashboard", &[]).await;
    assert_eq!(posted.location, "/?logged_out=1");
    let (status, location, _) = browser.page("/dashboard").await;
    assert_eq!(
        (status.as_u16(), location.as_str()),
        (302, "/login?next=/dashboard")
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer_and_change_nothing() {
    let (app, smtp) = app_with_smtp().await;
    let _ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let stranger = Browser::new(&app);
    let wrong = stranger
        .submit(
            "log_in",
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    let unknown = stranger
        .submit(
            "log_in",
            "/login",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong.error().as_deref(), Some("wrong_credentials"));
    assert_eq!(unknown.error().as_deref(), Some("wrong_credentials"));
    let (_, _, html) = stranger.page(&wrong.location).await;
    assert!(html.contains("E-mail address or password is wrong."));
    assert_eq!(
        stranger.page("/dashboard").await.0,
        302,
        "still not signed in"
    );

    // From the hydrated page the same error arrives typed, with a 400.
    let (status, body) = stranger
        .call(
            "log_in",
            &[
                ("email", "ann@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body, serde_json::json!("WrongCredentials"));

    // Bad sign-up input: clear field errors, no account created.
    let posted = stranger
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", "not-an-address"),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("invalid_email"));
    let posted = stranger
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", "bob@example.com"),
                ("password", "short"),
                ("password_repeat", "short"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("password_too_short-10"));
    let (_, _, html) = stranger.page(&posted.location).await;
    assert!(
        html.contains(r#"data-error-for="password""#)
            && html.contains("Use at least 10 characters"),
        "{html}"
    );
    let posted = stranger
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", "bob@example.com"),
                ("password", PASSWORD),
                ("password_repeat", "something else"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("passwords_differ"));
    let db = db(&app).await;
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM operators WHERE email = $1",
            "bob@example.com"
        )
        .await,
        0
    );

    // Signing up again with a taken address answers the same and mails the owner instead.
    let posted = stranger
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", "ann@example.com"),
                ("password", "another password"),
                ("password_repeat", "another password"),
            ],
        )
        .await;
    assert_eq!(posted.location, "/signup?done=1");
    smtp.inbox
        .wait_for("ann@example.com", "already have", MAIL_WAIT)
        .await;
    let posted = stranger
        .submit(
            "log_in",
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "another password"),
            ],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("wrong_credentials"),
        "the password was not replaced"
    );
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn too_many_failures_lock_the_account_and_the_address_for_a_while() {
    let (app, smtp) = app_with_smtp().await;
    let _ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let attacker = Browser::new(&app);
    for _ in 0..5 {
        let posted = attacker
            .submit(
                "log_in",
                "/login",
                &[
                    ("email", "ann@example.com"),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
        assert_eq!(posted.error().as_deref(), Some("wrong_credentials"));
    }
    // Even the right password is refused now, with a clear message.
    let posted = attacker
        .submit(
            "log_in",
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("rate_limited-15"));
    let (_, _, html) = attacker.page(&posted.location).await;
    assert!(
        html.contains("Too many attempts; try again in 15 minutes."),
        "{html}"
    );
    let (status, _) = attacker
        .call(
            "log_in",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, 429);

    // Per address: 20 failures over many accounts block the next one too.
    for i in 0..14 {
        let email = format!("user{i}@example.com");
        attacker
            .submit(
                "log_in",
                "/login",
                &[("email", &email), ("password", "guess guess guess")],
            )
            .await;
    }
    let posted = attacker
        .submit(
            "log_in",
            "/login",
            &[
                ("email", "fresh@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("wrong_credentials"),
        "20th failure still counts"
    );
    let posted = attacker
        .submit(
            "log_in",
            "/login",
            &[
                ("email", "other@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    assert!(
        posted
            .error()
            .is_some_and(|e| e.starts_with("rate_limited-")),
        "{posted:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn password_reset_by_mailed_link_works_once_and_ends_sessions() {
    let (app, smtp) = app_with_smtp().await;
    let email = "ann@example.com";
    let ann = Browser::signed_up(&app, &smtp.inbox, email, PASSWORD).await;
    assert_eq!(ann.page("/dashboard").await.0, 200);

    let someone = Browser::new(&app);
    // Unknown addresses get the same answer and no mail.
    let posted = someone
        .submit(
            "request_password_reset",
            "/forgot-password",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(posted.location, "/forgot-password?done=1");
    let posted = someone
        .submit(
            "request_password_reset",
            "/forgot-password",
            &[("email", email)],
        )
        .await;
    assert_eq!(posted.location, "/forgot-password?done=1");
    let mail = smtp
        .inbox
        .wait_for(email, "Reset your pointmint password", MAIL_WAIT)
        .await;
    let link = mail.link(&format!("{}/reset-password?token=", app.address));
    let token = token_of(&link);
    assert_eq!(someone.page(&link).await.0, 200);

    let new_password = "a brand new password";
    let posted = someone
        .submit(
            "reset_password",
            "/reset-password",
            &[
                ("token", &token),
                ("password", "short"),
                ("password_repeat", "short"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("password_too_short-10"));
    assert!(
        posted.location.contains(&token),
        "the form keeps its token: {}",
        posted.location
    );
    let posted = someone
        .submit(
            "reset_password",
            "/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("password_repeat", new_password),
            ],
        )
        .await;
    assert_eq!(posted.location, "/login?reset=1");
    // The link is spent.
    let posted = someone
        .submit(
            "reset_password",
            "/reset-password",
            &[
                ("token", &token),
                ("password", "yet another password"),
                ("password_repeat", "yet another password"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));

    assert_eq!(
        ann.page("/dashboard").await.0,
        302,
        "the reset ended the old session"
    );
    let posted = someone
        .submit(
            "log_in",
            "/login",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("wrong_credentials"));
    let posted = someone
        .submit(
            "log_in",
            "/login",
            &[("email", email), ("password", new_password)],
        )
        .await;
    assert_eq!(posted.location, "/dashboard");
    app.stop().await;
}

#[tokio::test]
async fn expired_links_are_refused_and_change_nothing() {
    let (app, smtp) = app_with_smtp().await;
    let browser = Browser::new(&app);
    let email = "ann@example.com";
    browser
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ],
        )
        .await;
    let mail = smtp.inbox.wait_for(email, "Confirm", MAIL_WAIT).await;
    let token = token_of(&mail.link(&format!("{}/verify-email?token=", app.address)));
    let db = db(&app).await;
    sqlx::query("UPDATE account_tokens SET expires_at = 0")
        .execute(db.pool())
        .await
        .unwrap();

    let posted = browser
        .submit("verify_email", "/verify-email", &[("token", &token)])
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));
    let (_, _, html) = browser.page(&posted.location).await;
    assert!(html.contains("This link is invalid, has expired or has already been used."));
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM operators WHERE email = $1 AND verified_at IS NULL",
            email
        )
        .await,
        1
    );
    // Made-up tokens too.
    let posted = browser
        .submit(
            "verify_email",
            "/verify-email",
            &[("token", &"ab".repeat(32))],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));
    let posted = browser
        .submit(
            "reset_password",
            "/reset-password",
            &[
                ("token", "nonsense"),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_ends_other_sessions() {
    let (app, smtp) = app_with_smtp().await;
    let email = "ann@example.com";
    let laptop = Browser::signed_up(&app, &smtp.inbox, email, PASSWORD).await;
    let phone = Browser::new(&app);
    assert_eq!(
        phone
            .submit(
                "log_in",
                "/login",
                &[("email", email), ("password", PASSWORD)]
            )
            .await
            .location,
        "/dashboard"
    );

    let new_password = "a brand new password";
    let posted = laptop
        .submit(
            "change_password",
            "/account",
            &[
                ("current_password", "wrong wrong wrong"),
                ("password", new_password),
                ("password_repeat", new_password),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("wrong_current_password"));
    let posted = laptop
        .submit(
            "change_password",
            "/account",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_repeat", new_password),
            ],
        )
        .await;
    assert_eq!(posted.location, "/account?done=1");
    assert_eq!(
        laptop.page("/account").await.0,
        200,
        "this session continues"
    );
    assert_eq!(
        phone.page("/account").await.0,
        302,
        "the other session ended"
    );
    // Not signed in at all: refused.
    let (status, body) = Browser::new(&app)
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_repeat", new_password),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (401, serde_json::json!("NotSignedIn"))
    );
    app.stop().await;
}
