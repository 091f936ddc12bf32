//! Store settings (confirmations, batch window, earn rate) and what follows from them: the
//! worker confirms each store's operations at the store's own depth, the pages show n/N,
//! the overview counts confirmed points per day, the customer history pages back.

use std::time::Duration;

use app::domain::db::Database;

use crate::{
    api_support::{fixture_vault, store_with_points},
    browser::Browser,
    helpers::{fresh_database_url, spawn_app_configured, spawn_app_with, test_settings, TestApp},
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

/// (required_confirmations, batch_window_ms, earn_rate_milli) as stored.
async fn stored(db: &Database, store: i64) -> (Option<i64>, Option<i64>, i64) {
    sqlx::query_as(
        "SELECT required_confirmations, batch_window_ms, earn_rate_milli FROM stores WHERE id = $1",
    )
    .bind(store)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

fn settings_form<'a>(
    store: &'a str,
    c: &'a str,
    w: &'a str,
    e: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("store_id", store),
        ("required_confirmations", c),
        ("batch_window_ms", w),
        ("earn_rate", e),
    ]
}

#[tokio::test]
async fn settings_are_parsed_authorised_and_scoped_to_their_store() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| s.smtp_url = Some(url)).await;
    let db = Database::connect(&app.database_url, 2).await.unwrap();
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner").await;
    let id = store.to_string();
    let page = format!("/dashboard/stores/{store}/settings");

    // A new store follows the platform (2 confirmations in tests) and earns 1 point per unit.
    assert_eq!(stored(&db, store).await, (None, None, 1000));
    let (status, _, html) = ann.page(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Following the platform&#x27;s setting (2)")
            || html.contains("Following the platform's setting (2)"),
        "{html}"
    );

    // Valid values are stored exactly.
    let posted = ann
        .submit(
            "save_store_settings",
            &page,
            &settings_form(&id, "6", "1500", "2.5"),
        )
        .await;
    assert_eq!(posted.location, format!("{page}?saved=1"), "{posted:?}");
    assert_eq!(stored(&db, store).await, (Some(6), Some(1500), 2500));
    let (_, _, html) = ann.page(&posted.location).await;
    assert!(
        html.contains("Settings saved.")
            && html.contains(r#"value="2.5""#)
            && html.contains(r#"value="6""#),
        "{html}"
    );

    // Each bad field: its own message next to it, and nothing changes (not even the good fields).
    for (form, code, field) in [
        (
            settings_form(&id, "0", "100", "3"),
            "invalid_confirmations",
            "required_confirmations",
        ),
        (
            settings_form(&id, "1001", "100", "3"),
            "invalid_confirmations",
            "required_confirmations",
        ),
        (
            settings_form(&id, "3", "60001", "3"),
            "invalid_batch_window",
            "batch_window_ms",
        ),
        (
            settings_form(&id, "3", "-1", "3"),
            "invalid_batch_window",
            "batch_window_ms",
        ),
        (
            settings_form(&id, "3", "100", "0"),
            "invalid_earn_rate",
            "earn_rate",
        ),
        (
            settings_form(&id, "3", "100", "1.0001"),
            "invalid_earn_rate",
            "earn_rate",
        ),
        (
            settings_form(&id, "3", "100", "x"),
            "invalid_earn_rate",
            "earn_rate",
        ),
    ] {
        let posted = ann.submit("save_store_settings", &page, &form).await;
        assert_eq!(posted.error().as_deref(), Some(code), "{form:?}");
        assert_eq!(
            stored(&db, store).await,
            (Some(6), Some(1500), 2500),
            "{form:?}"
        );
        let (_, _, html) = ann.page(&posted.location).await;
        assert!(
            html.contains(&format!(r#"data-error-for="{field}""#)),
            "{html}"
        );
    }
    // The hydrated page gets the error as JSON with status 400.
    let (status, body) = ann
        .call("save_store_settings", &settings_form(&id, "3", "100", "0"))
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (400, serde_json::json!("InvalidEarnRate"))
    );

    // Empty confirmations and window go back to the platform's settings.
    let posted = ann
        .submit(
            "save_store_settings",
            &page,
            &settings_form(&id, "", " ", "0.125"),
        )
        .await;
    assert!(posted.error().is_none(), "{posted:?}");
    assert_eq!(stored(&db, store).await, (None, None, 125));

    // Another operator's store is not found, and nothing changes.
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.page(&page).await.0, 404);
    let (status, body) = bob
        .call("save_store_settings", &settings_form(&id, "9", "9", "9"))
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (404, serde_json::json!("NotFound"))
    );
    assert_eq!(stored(&db, store).await, (None, None, 125));

    // Staff read the settings but may not change them.
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
    let (status, body) = bob
        .call("save_store_settings", &settings_form(&id, "9", "9", "9"))
        .await;
    assert_eq!(
        (status.as_u16(), body),
        (403, serde_json::json!("Forbidden"))
    );
    let posted = bob
        .submit(
            "save_store_settings",
            &page,
            &settings_form(&id, "9", "9", "9"),
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("forbidden"));
    assert_eq!(stored(&db, store).await, (None, None, 125));
    let (status, _, html) = bob.page(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="earn-rate">0.125"#)
            && html.contains("A manager or owner can change these.")
            && !html.contains("Save settings"),
        "{html}"
    );
    db.close().await;
    app.stop().await;
}

/// Mines a block every 100 ms while not paused; for a chain that mines only on demand.
struct Miner {
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Miner {
    fn start(chain: mvs::rpc::Client) -> Miner {
        let paused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = paused.clone();
        let task = tokio::spawn(async move {
            loop {
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = chain.generate(1).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Miner { paused, task }
    }

    /// Pauses mining; returns once a block being mined has been mined.
    async fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits (a generous upper bound, not a speed requirement) until `check` gives a value.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state(db: &Database, operation: i64) -> String {
    sqlx::query_scalar("SELECT state FROM operations WHERE id = $1")
        .bind(operation)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

struct Shop {
    store: i64,
    customer: i64,
}

impl Shop {
    fn customer_page(&self) -> String {
        format!(
            "/dashboard/stores/{}/customers/{}",
            self.store, self.customer
        )
    }

    /// Awards (or redeems) through the dashboard form; returns the operation's id.
    async fn mv(&self, browser: &Browser, kind: &str, amount: &str, order_total: &str) -> i64 {
        let (store, customer) = (self.store.to_string(), self.customer.to_string());
        let posted = browser
            .submit(
                "move_points",
                &self.customer_page(),
                &[
                    ("store_id", &store),
                    ("customer_id", &customer),
                    ("kind", kind),
                    ("amount", amount),
                    ("order_total", order_total),
                ],
            )
            .await;
        posted
            .location
            .split("operation=")
            .nth(1)
            .unwrap_or_else(|| panic!("{posted:?}"))
            .parse()
            .unwrap()
    }
}

/// A store with a confirmed point system, `ann` as its owner, its settings and a customer.
async fn shop(
    app: &TestApp,
    db: &Database,
    ann: &Browser,
    slug: &str,
    confirmations: &str,
) -> Shop {
    let (store, _) = store_with_points(db, &fixture_vault(app), slug, 1_000_000).await;
    sqlx::query(
        "INSERT INTO store_members (store_id, operator_id, role, created_at) \
                 SELECT $1, id, 'owner', 0 FROM operators WHERE email = 'ann@example.com'",
    )
    .bind(store)
    .execute(db.pool())
    .await
    .unwrap();
    let id = store.to_string();
    let settings = format!("/dashboard/stores/{store}/settings");
    let posted = ann
        .submit(
            "save_store_settings",
            &settings,
            &settings_form(&id, confirmations, "", "1.5"),
        )
        .await;
    assert!(posted.error().is_none(), "{posted:?}");
    let list = format!("/dashboard/stores/{store}/customers");
    let posted = ann
        .submit(
            "create_customer",
            &list,
            &[
                ("store_id", &id),
                ("external_id", "C-1"),
                ("email", &format!("mia@{slug}.example")),
                ("name", "Mia"),
            ],
        )
        .await;
    let customer = posted
        .location
        .strip_prefix(&format!("{list}/"))
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap();
    Shop { store, customer }
}

fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    app::pages::chart::date_label(now / 86_400)
}

#[tokio::test]
async fn each_store_confirms_at_its_own_depth_and_its_pages_count_what_is_confirmed() {
    let smtp = SmtpServer::start().await;
    let guard = tempfile::tempdir().unwrap();
    let data_dir = guard.path().to_path_buf();
    let mut settings = test_settings(data_dir.clone(), fresh_database_url(&data_dir).await);
    settings.smtp_url = Some(smtp.url());
    // Blocks only when the test mines them, so depths are under its control.
    settings.chain = server::config::ChainSettings::Embedded {
        block_interval: Duration::ZERO,
    };
    let app = spawn_app_with(settings, guard).await;
    let chain = mvs::rpc::Client::new(app.chain_url.clone().unwrap(), Duration::from_secs(10));
    let miner = Miner::start(chain.clone());
    let db = Database::connect(&app.database_url, 4).await.unwrap();
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    // One block, the platform's two (tests), three blocks.
    let one = shop(&app, &db, &ann, "one", "1").await;
    let two = shop(&app, &db, &ann, "two", "").await;
    let three = shop(&app, &db, &ann, "three", "3").await;

    // Three awards in three transactions, all in the node's pool, then one block at a time.
    miner.pause(true).await;
    let ops = [
        one.mv(&ann, "award", "10", "").await,
        two.mv(&ann, "award", "10", "").await,
        // 12.50 at 1.5 points per unit: 18 points (rounded down).
        three.mv(&ann, "award", "", "12.50").await,
    ];
    for op in ops {
        wait_for("the awards to be broadcast", || async {
            (state(&db, op).await == "broadcast").then_some(())
        })
        .await;
    }
    let amount: i64 = sqlx::query_scalar("SELECT amount FROM operations WHERE id = $1")
        .bind(ops[2])
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        amount, 18,
        "the order total earned points at the store's rate"
    );
    let (_, _, html) = ann.page(&three.customer_page()).await;
    assert!(html.contains("0/3 confirmations"), "{html}");

    chain.generate(1).await.unwrap();
    wait_for("store one's award to confirm at depth 1", || async {
        (state(&db, ops[0]).await == "confirmed").then_some(())
    })
    .await;
    assert_eq!(
        state(&db, ops[1]).await,
        "broadcast",
        "the platform's depth is 2"
    );
    assert_eq!(
        state(&db, ops[2]).await,
        "broadcast",
        "store three asks for 3"
    );
    let (_, _, html) = ann.page(&three.customer_page()).await;
    assert!(
        html.contains("Broadcast, in a block: 1/3 confirmations"),
        "{html}"
    );
    let (_, _, html) = ann.page(&two.customer_page()).await;
    assert!(
        html.contains("Broadcast, in a block: 1/2 confirmations"),
        "{html}"
    );
    let (_, _, html) = ann
        .page(&format!("/dashboard/stores/{}/operations", three.store))
        .await;
    assert!(html.contains("(1/3 confirmations)"), "{html}");

    chain.generate(1).await.unwrap();
    wait_for("store two's award to confirm at depth 2", || async {
        (state(&db, ops[1]).await == "confirmed").then_some(())
    })
    .await;
    assert_eq!(
        state(&db, ops[2]).await,
        "broadcast",
        "store three asks for 3"
    );
    let (_, _, html) = ann.page(&three.customer_page()).await;
    assert!(
        html.contains("Broadcast, in a block: 2/3 confirmations"),
        "{html}"
    );

    chain.generate(1).await.unwrap();
    wait_for("store three's award to confirm at depth 3", || async {
        (state(&db, ops[2]).await == "confirmed").then_some(())
    })
    .await;

    // The overview counts confirmed operations only: 10 + 25 issued, 5 redeemed today.
    miner.pause(false).await;
    let award = one.mv(&ann, "award", "25", "").await;
    crate::api_support::wait_confirmed(&db, award).await;
    let redeem = one.mv(&ann, "redeem", "5", "").await;
    crate::api_support::wait_confirmed(&db, redeem).await;
    miner.pause(true).await;
    let pending = one.mv(&ann, "award", "7", "").await;
    let (status, _, html) = ann.page(&format!("/dashboard/stores/{}", one.store)).await;
    assert_eq!(status, 200);
    assert_ne!(state(&db, pending).await, "confirmed");
    for (testid, value) in [
        ("total-issued", "35"),
        ("total-redeemed", "5"),
        ("total-outstanding", "30"),
        ("total-customers", "1"),
    ] {
        assert!(
            html.contains(&format!(r#"data-testid="{testid}">{value}<"#)),
            "{testid} {value}: {html}"
        );
    }
    let day = today();
    let row = html
        .split(&format!(r#"<tr data-day="{day}">"#))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row for {day}: {html}"));
    for (series, value) in [("issued", "35"), ("redeemed", "5"), ("outstanding", "30")] {
        assert!(
            row.contains(&format!(r#"data-series="{series}">{value}<"#)),
            "{series}: {row}"
        );
    }
    assert_eq!(
        html.matches(r#"<tr data-day="#).count(),
        30,
        "30 days, quiet ones included"
    );
    for chart in ["issued", "redeemed", "outstanding"] {
        assert!(
            html.contains(&format!(r#"data-chart="{chart}""#)),
            "{chart}: {html}"
        );
    }
    assert!(
        html.contains("<title id=\"issued-title\">Points issued per day</title>"),
        "{html}"
    );
    assert!(
        html.contains(r#"data-testid="fee-wallet-balance""#) && !html.contains("fee-wallet-low"),
        "{html}"
    );
    // Another store's overview counts its own points only.
    let (_, _, html) = ann
        .page(&format!("/dashboard/stores/{}", three.store))
        .await;
    assert!(html.contains(r#"data-testid="total-issued">18<"#), "{html}");
    miner.pause(false).await;
    crate::api_support::wait_confirmed(&db, pending).await;

    // The operations list and its CSV filter by creation date (UTC days, both included).
    let days = |offset: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        app::pages::chart::date_label(now / 86_400 + offset)
    };
    let list = format!("/dashboard/stores/{}/operations", one.store);
    let (_, _, html) = ann
        .page(&format!("{list}?from={}&to={}", days(0), days(0)))
        .await;
    assert_eq!(html.matches("<tr data-operation-id=").count(), 4, "{html}");
    let (_, _, html) = ann.page(&format!("{list}?to={}", days(-1))).await;
    assert!(
        html.contains("No operation matches these filters."),
        "{html}"
    );
    let (_, _, csv) = ann.page(&format!("{list}.csv?from={}", days(1))).await;
    assert_eq!(csv.trim().lines().count(), 1, "header only: {csv}");
    let (_, _, csv) = ann
        .page(&format!("{list}.csv?kind=award&from={}", days(-1)))
        .await;
    assert_eq!(csv.trim().lines().count(), 4, "three awards: {csv}");
    // Every filter at once: each condition binds its own value, in the statement's order.
    let confirmed = csv
        .trim()
        .lines()
        .skip(1)
        .filter(|line| line.split(',').nth(6) == Some("confirmed"))
        .count();
    let (_, _, all_filters) = ann
        .page(&format!(
            "{list}.csv?kind=award&state=confirmed&from={}&to={}",
            days(-1),
            days(0)
        ))
        .await;
    assert_eq!(
        all_filters.trim().lines().count(),
        1 + confirmed,
        "{all_filters}"
    );
    assert!(confirmed > 0, "{csv}");

    // A store's batch window holds its first operation back for the others: two awards a
    // second apart share one transaction.
    let id = two.store.to_string();
    let posted = ann
        .submit(
            "save_store_settings",
            &format!("/dashboard/stores/{id}/settings"),
            &settings_form(&id, "", "3000", "1"),
        )
        .await;
    assert!(posted.error().is_none(), "{posted:?}");
    let first = two.mv(&ann, "award", "1", "").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = two.mv(&ann, "award", "1", "").await;
    let a = crate::api_support::wait_confirmed(&db, first).await;
    let b = crate::api_support::wait_confirmed(&db, second).await;
    assert_eq!(a, b, "both awards in one transaction");

    // History pages back 50 operations at a time, with plain links.
    for _ in 0..52 {
        two.mv(&ann, "award", "1", "").await;
    }
    let page = two.customer_page();
    let (_, _, html) = ann.page(&page).await;
    assert_eq!(html.matches("<tr data-operation-id=").count(), 50, "{html}");
    let older = html
        .split(r#" data-testid="history-older""#)
        .next()
        .filter(|_| html.contains("history-older"))
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.trim_end_matches('"').replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no link to older operations: {html}"));
    assert!(older.starts_with(&format!("{page}?before=")), "{older}");
    let (status, _, html) = ann.page(&older).await;
    assert_eq!(status, 200);
    // 1 + 2 + 52 operations of this customer: 5 on the second page, and a way back.
    assert_eq!(html.matches("<tr data-operation-id=").count(), 5, "{html}");
    assert!(
        html.contains(r#"data-testid="history-newest""#) && !html.contains("history-older"),
        "{html}"
    );

    miner.task.abort();
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_overview_says_when_the_chain_node_does_not_answer_instead_of_failing() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_configured(|s| {
        s.smtp_url = Some(url);
        // Nothing listens on the discard port: every chain call fails at once.
        s.chain = server::config::ChainSettings::Remote {
            rpc_url: "http://127.0.0.1:9/rpc/v3".to_owned(),
            network: mvs::Network::Testnet,
        };
        s.worker.enabled = false;
    })
    .await;
    let ann = Browser::signed_up(&app, &smtp.inbox, "ann@example.com", PASSWORD).await;
    let store = create_store(&ann, "Corner Coffee", "corner").await;
    let (status, _, html) = ann.page(&format!("/dashboard/stores/{store}")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"data-testid="fee-wallet-unavailable""#)
            && html.contains("The chain node does not answer right now")
            && html.contains(r#"data-testid="total-issued">0"#)
            && html.contains(r#"data-chart="issued""#),
        "{html}"
    );
    // The store list links to the overview; another operator's overview is not found.
    let (_, _, html) = ann.page("/dashboard").await;
    assert!(
        html.contains(&format!(
            r#"href="/dashboard/stores/{store}" data-testid="store-overview-link""#
        )),
        "{html}"
    );
    let bob = Browser::signed_up(&app, &smtp.inbox, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.page(&format!("/dashboard/stores/{store}")).await.0, 404);
    app.stop().await;
}
