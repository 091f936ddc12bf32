//! Session cookies: attributes, a new id at log-in, server-side invalidation at log-out.

use reqwest::header;

use crate::{accounts::db, browser::Browser, helpers::spawn_app_configured, smtp::SmtpServer};

const PASSWORD: &str = "correct horse battery";

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("pointmint_session="))
}

async fn log_in(app_address: &str, cookie: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .post(format!("{app_address}/fn/log_in"))
        .header(header::ACCEPT, "text/html")
        .form(&[("email", "ann@example.com"), ("password", PASSWORD)]);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn dashboard_status(app_address: &str, cookie: &str) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Browsers ask for text/html; leptos answers other clients' redirects with a header instead of a 302.
    let request = client
        .get(format!("{app_address}/dashboard"))
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookie);
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_cycled_at_log_in_and_dead_after_log_out() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| s.smtp_url = Some(url)).await;
    let _ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;

    let first = log_in(&app.address, None).await;
    let set_cookie = session_cookie(&first).expect("log-in sets the session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http: no Secure flag: {set_cookie}"
    );
    assert!(
        set_cookie.contains("Max-Age="),
        "expires after inactivity: {set_cookie}"
    );
    let first_cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(dashboard_status(&app.address, &first_cookie).await, 200);

    // Logging in again on a session gives it a new id; the old id no longer works.
    let second = log_in(&app.address, Some(&first_cookie)).await;
    let second_cookie = session_cookie(&second)
        .expect("a new id is sent")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(first_cookie, second_cookie);
    assert_eq!(dashboard_status(&app.address, &first_cookie).await, 302);
    assert_eq!(dashboard_status(&app.address, &second_cookie).await, 200);

    // The store keeps only hashes of session ids.
    let db = db(&app).await;
    let raw_id = second_cookie.trim_start_matches("pointmint_session=");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id = $1")
        .bind(raw_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // Log-out ends the session on the server: replaying the cookie gets nowhere.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let out = client
        .post(format!("{}/fn/log_out", app.address))
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, &second_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(dashboard_status(&app.address, &second_cookie).await, 302);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(left, 1, "only the sign-up browser's session remains");
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn https_public_url_marks_the_cookie_secure() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| {
        s.smtp_url = Some(url);
        s.public_url = Some("https://points.example".into());
    })
    .await;
    let browser = Browser::new(&app);
    // A plain form post with no Origin (as from a same-site browser without JS).
    let posted = browser
        .submit(
            "sign_up",
            "/signup",
            &[
                ("email", "ann@example.com"),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.location, "/signup?done=1");
    let mail = smtp
        .inbox
        .wait_for(
            "ann@example.com",
            "Confirm",
            std::time::Duration::from_secs(30),
        )
        .await;
    assert!(
        mail.decoded()
            .contains("https://points.example/verify-email?token="),
        "links use the public URL"
    );
    let token = crate::browser::token_of(&mail.link("https://points.example/verify-email?token="));
    browser
        .submit("verify_email", "/verify-email", &[("token", &token)])
        .await;
    let response = log_in(&app.address, None).await;
    let set_cookie = session_cookie(&response).unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    app.stop().await;
}
