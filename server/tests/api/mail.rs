//! Mail delivery: `.eml` files by default, SMTP retried until it succeeds, never on the request path.

use std::time::{Duration, Instant};

use crate::{
    accounts::db,
    browser::Browser,
    helpers::{spawn_app, spawn_app_configured},
    smtp::SmtpServer,
};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn without_smtp_mail_is_written_to_the_outbox_directory() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    browser
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
    let outbox = app.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    let eml = loop {
        let found = std::fs::read_dir(&outbox).ok().and_then(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(path) = found {
            break std::fs::read_to_string(path).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no .eml file appeared in {}",
            outbox.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        eml.contains("To: ann@example.com")
            && eml.contains("Subject: Confirm your pointmint account"),
        "{eml}"
    );
    assert!(eml.contains("multipart/alternative"));
    let decoded = crate::smtp::ReceivedMail {
        recipients: vec![],
        raw: eml,
    }
    .decoded();
    assert!(decoded.contains(&format!("{}/verify-email?token=", app.address)));
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_smtp_server_neither_blocks_the_request_nor_loses_the_mail() {
    // Reserve a port, then close it: connections are refused until the server starts there.
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let app = spawn_app_configured(|s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let browser = Browser::new(&app);

    let started = Instant::now();
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
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "sign-up waited for mail: {:?}",
        started.elapsed()
    );

    // Delivery fails and is rescheduled.
    let db = db(&app).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND attempts >= 1 AND last_error IS NOT NULL")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if failed == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt was recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The SMTP server comes up: the retry delivers.
    let smtp = SmtpServer::start_on(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    );
    let mail = smtp
        .inbox
        .wait_for("ann@example.com", "Confirm", Duration::from_secs(20))
        .await;
    assert!(mail.decoded().contains("/verify-email?token="));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let sent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL")
                .fetch_one(db.pool())
                .await
                .unwrap();
        if sent == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delivered mail was not marked sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.close().await;
    app.stop().await;
}

/// A backlog longer than one batch (a store importing its customers) goes out in one pass
/// of the delivery loop, not a batch per poll.
#[tokio::test]
async fn a_backlog_longer_than_one_batch_goes_out_in_one_pass() {
    use app::domain::{
        db::Database,
        email::Email,
        mail::{delivery, enqueue, transport::MailTransport, Mailbox, OutgoingMail},
    };
    let guard = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database_url(guard.path()).await;
    let db = Database::connect(&url, 2).await.unwrap();
    db.migrate().await.unwrap();
    const WAITING: usize = 45;
    let mut tx = db.begin_write().await.unwrap();
    for i in 0..WAITING {
        let mail = OutgoingMail {
            to: Email::parse(&format!("customer{i}@example.com")).unwrap(),
            subject: format!("Welcome {i}"),
            text: "Your points are waiting.".into(),
            html: "<p>Your points are waiting.</p>".into(),
        };
        enqueue(&mut tx, &mail).await.unwrap();
    }
    tx.commit().await.unwrap();
    let outbox = guard.path().join("outbox");
    let transport = MailTransport::files(outbox.clone()).unwrap();
    let from: Mailbox = "pointmint <noreply@example.com>".parse().unwrap();

    let sent = delivery::deliver_backlog(&db, &transport, &from)
        .await
        .unwrap();

    assert_eq!(sent, WAITING, "one pass sends the whole backlog");
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(unsent, 0);
    let files = std::fs::read_dir(&outbox).unwrap().count();
    assert_eq!(files, WAITING);
    assert_eq!(
        delivery::deliver_backlog(&db, &transport, &from)
            .await
            .unwrap(),
        0,
        "nothing is sent twice"
    );
    db.close().await;
}
