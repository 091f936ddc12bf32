//! The customer wallet: sign-in by single-use e-mailed link (no enumeration, rate limited,
//! separate from operator sessions), and sending points, where a customer can only ever
//! see and move their own points and every refusal changes nothing.

use app::domain::{api_keys::Scope, password};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    api_support::{api_fixture, wait_confirmed, ApiFixture},
    browser::{hidden_field, token_of, Browser},
};

/// The newest mail to `to` whose subject contains `subject`, as its plain-text body.
async fn last_mail(fx: &ApiFixture, to: &str, subject: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE recipient = $1 AND subject LIKE $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .bind(format!("%{subject}%"))
    .fetch_optional(fx.db.pool())
    .await
    .unwrap()
}

async fn mails_to(fx: &ApiFixture, to: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1")
        .bind(to)
        .fetch_one(fx.db.pool())
        .await
        .unwrap()
}

/// The sign-in link's token in a wallet mail.
fn wallet_token(fx: &ApiFixture, mail: &str) -> String {
    let prefix = format!("{}/wallet/sign-in?token=", fx.app.address);
    let start = mail
        .find(&prefix)
        .unwrap_or_else(|| panic!("no wallet link in {mail}"));
    token_of(mail[start..].split_whitespace().next().unwrap())
}

/// Creates a customer through the API (which mails the welcome link).
async fn put_customer(fx: &ApiFixture, key: &str, external_id: &str, email: &str) {
    let response = fx
        .put(
            &format!("/customers/{external_id}"),
            key,
            &json!({ "email": email }),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// A browser signed in to the wallet of the customer with this e-mail (via the welcome mail).
async fn signed_in(fx: &ApiFixture, email: &str) -> Browser {
    let mail = last_mail(fx, email, "loyalty points")
        .await
        .expect("a welcome mail");
    let browser = Browser::new(&fx.app);
    let posted = browser
        .submit(
            "wallet_sign_in",
            "/wallet/sign-in",
            &[("token", &wallet_token(fx, &mail))],
        )
        .await;
    assert_eq!(posted.location, "/wallet", "{posted:?}");
    browser
}

async fn award(fx: &ApiFixture, key: &str, customer: &str, amount: u64) -> i64 {
    let response = fx
        .post(
            "/awards",
            key,
            &json!({ "customer": customer, "amount": amount }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_i64().unwrap()
}

async fn available(fx: &ApiFixture, email: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(b.available), 0) AS BIGINT) FROM balances b JOIN customers c ON c.key_id = b.key_id WHERE c.email = $1",
    )
    .bind(email)
    .fetch_one(fx.db.pool())
    .await
    .unwrap()
}

async fn operations(fx: &ApiFixture) -> i64 {
    fx.count("operations").await
}

#[tokio::test]
async fn a_sign_in_link_works_once_expires_and_reveals_no_accounts() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    put_customer(&fx, &key, "c-1", "ada@example.com").await;
    // A store's new customer gets exactly one welcome mail with a link to the wallet.
    assert_eq!(mails_to(&fx, "ada@example.com").await, 1);
    put_customer(&fx, &key, "c-1", "ada@example.com").await;
    assert_eq!(
        mails_to(&fx, "ada@example.com").await,
        1,
        "an update sends no second welcome"
    );

    let visitor = Browser::new(&fx.app);
    let (status, _, html) = visitor.page("/wallet").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="wallet-signed-out""#),
        "{html}"
    );

    let mail = last_mail(&fx, "ada@example.com", "loyalty points")
        .await
        .unwrap();
    let token = wallet_token(&fx, &mail);
    // Only the token's hash is stored.
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customer_tokens WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(fx.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, 0);

    let ada = Browser::new(&fx.app);
    let posted = ada
        .submit("wallet_sign_in", "/wallet/sign-in", &[("token", &token)])
        .await;
    assert_eq!(posted.location, "/wallet");
    let (_, _, html) = ada.page("/wallet").await;
    assert!(
        html.contains("ada@example.com") && html.contains(r#"data-testid="address-qr""#),
        "{html}"
    );
    assert!(html.contains("<svg"), "the QR code is drawn on the server");

    // The same link a second time: refused, and that browser is not signed in.
    let again = Browser::new(&fx.app);
    let posted = again
        .submit("wallet_sign_in", "/wallet/sign-in", &[("token", &token)])
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("link_invalid"),
        "{posted:?}"
    );
    let (_, _, html) = again.page("/wallet").await;
    assert!(html.contains(r#"data-testid="wallet-signed-out""#));

    // Same answer for a known and an unknown address; only the known one gets a mail.
    for email in ["ada@example.com", "nobody@example.com"] {
        let posted = visitor
            .submit("wallet_request_link", "/wallet", &[("email", email)])
            .await;
        assert_eq!(posted.location, "/wallet?sent=1", "{email}: {posted:?}");
    }
    assert_eq!(mails_to(&fx, "nobody@example.com").await, 0);
    let mail = last_mail(&fx, "ada@example.com", "Sign in")
        .await
        .expect("a sign-in mail");

    // An expired link is refused.
    sqlx::query("UPDATE customer_tokens SET expires_at = 1 WHERE used_at IS NULL")
        .execute(fx.db.pool())
        .await
        .unwrap();
    let late = Browser::new(&fx.app);
    let posted = late
        .submit(
            "wallet_sign_in",
            "/wallet/sign-in",
            &[("token", &wallet_token(&fx, &mail))],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("link_invalid"));

    // Link requests are limited per address, known or not, so the limit reveals nothing.
    for email in ["ada@example.com", "nobody@example.com"] {
        let mut limited = None;
        for attempt in 1..=6 {
            let posted = visitor
                .submit("wallet_request_link", "/wallet", &[("email", email)])
                .await;
            if posted
                .error()
                .is_some_and(|e| e.starts_with("rate_limited"))
            {
                limited = Some(attempt);
                break;
            }
        }
        assert_eq!(
            limited,
            Some(5),
            "{email}: the 5th request in the window is refused"
        );
    }

    // Sign-out ends wallet access.
    let posted = ada.submit("wallet_sign_out", "/wallet", &[]).await;
    assert_eq!(posted.location, "/wallet?signed_out=1");
    let (_, _, html) = ada.page("/wallet").await;
    assert!(html.contains(r#"data-testid="wallet-signed-out""#));
    fx.app.stop().await;
}

#[tokio::test]
async fn an_operator_session_does_not_open_a_wallet() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    // The operator's e-mail is also a customer's: still, the operator session is not a wallet session.
    put_customer(&fx, &key, "c-1", "owner@corner.example").await;
    let hash = password::hash(&password::Password::parse("correct horse battery".into()).unwrap())
        .await
        .unwrap();
    sqlx::query("UPDATE operators SET password_hash = $1, verified_at = 1 WHERE email = 'owner@corner.example'")
        .bind(hash)
        .execute(fx.db.pool())
        .await
        .unwrap();
    let operator = Browser::new(&fx.app);
    let posted = operator
        .submit(
            "log_in",
            "/login",
            &[
                ("email", "owner@corner.example"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(posted.location, "/dashboard", "{posted:?}");
    let (_, _, html) = operator.page("/wallet").await;
    assert!(
        html.contains(r#"data-testid="wallet-signed-out""#),
        "{html}"
    );
    let (status, body) = operator
        .call(
            "wallet_send",
            &[
                ("point_system", &fx.point_system.id.to_string()),
                ("to", "x@example.com"),
                ("amount", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // And a wallet session does not open the dashboard.
    let customer = signed_in(&fx, "owner@corner.example").await;
    let (status, location, _) = customer.page("/dashboard").await;
    assert_eq!(
        (status.as_u16(), location.as_str()),
        (302, "/login?next=/dashboard")
    );
    fx.app.stop().await;
}

#[tokio::test]
async fn customers_move_only_their_own_points_and_refusals_change_nothing() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    put_customer(&fx, &key, "a", "a@example.com").await;
    put_customer(&fx, &key, "b", "b@example.com").await;
    let awarded = award(&fx, &key, "a", 100).await;
    wait_confirmed(&fx.db, awarded).await;
    let a = signed_in(&fx, "a@example.com").await;
    let b = signed_in(&fx, "b@example.com").await;
    let ps = fx.point_system.id.to_string();

    // B sees nothing of A's: no balance, not A's operation.
    let (status, view) = b.call("wallet_overview", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(view["balances"], json!([]), "{view}");
    assert_eq!(view["operations"], json!([]), "{view}");
    let (_, _, html) = b.page("/wallet").await;
    assert!(!html.contains(&format!(r#"data-operation-id="{awarded}""#)));

    // B tampers with the form (extra from/customer fields naming A): the sender is still B,
    // who has nothing; A's points do not move.
    let before = operations(&fx).await;
    let a_key: i64 =
        sqlx::query_scalar("SELECT key_id FROM customers WHERE email = 'a@example.com'")
            .fetch_one(fx.db.pool())
            .await
            .unwrap();
    let posted = b
        .submit(
            "wallet_send",
            "/wallet/send",
            &[
                ("point_system", &ps),
                ("to", "b@example.com"),
                ("amount", "10"),
                ("from_key_id", &a_key.to_string()),
                ("customer_id", "1"),
            ],
        )
        .await;
    assert!(posted.error().is_some(), "{posted:?}");
    let posted = b
        .submit(
            "wallet_send",
            "/wallet/send",
            &[
                ("point_system", &ps),
                ("to", "a@example.com"),
                ("amount", "10"),
            ],
        )
        .await;
    assert_eq!(
        posted.error().as_deref(),
        Some("insufficient_balance"),
        "{posted:?}"
    );
    assert_eq!(available(&fx, "a@example.com").await, 100);

    // A's refused sends: too many, an invalid address (a typo; another network's), an
    // unknown avatar, an unknown person, themselves, a point system that does not exist.
    let outside_key = mvs::keys::PrivateKey::generate(mvs::Network::Testnet);
    let outside = outside_key.address().to_string();
    let typo = format!(
        "{}{}",
        &outside[..33],
        if outside.ends_with('x') { 'y' } else { 'x' }
    );
    let mainnet = mvs::keys::PrivateKey::generate(mvs::Network::Mainnet)
        .address()
        .to_string();
    for (to, amount, code) in [
        ("b@example.com", "101", "insufficient_balance"),
        ("b@example.com", "0", "invalid_amount"),
        (typo.as_str(), "5", "invalid_address"),
        (mainnet.as_str(), "5", "invalid_address"),
        ("not an address!", "5", "invalid_address"),
        ("nobody-registered-this", "5", "unknown_avatar"),
        ("stranger@example.com", "5", "unknown_recipient"),
        ("a@example.com", "5", "send_to_self"),
    ] {
        let posted = a
            .submit(
                "wallet_send",
                "/wallet/send",
                &[("point_system", &ps), ("to", to), ("amount", amount)],
            )
            .await;
        assert_eq!(
            posted.error().as_deref(),
            Some(code),
            "{to} {amount}: {posted:?}"
        );
        // The review step says the same, with the message next to the field.
        let (status, _, html) = a
            .page(&format!(
                "/wallet/send?point_system={ps}&to={to}&amount={amount}"
            ))
            .await;
        assert!(status.is_client_error(), "{to}: {status}");
        assert!(
            html.contains(r#"data-error-for="to""#) || html.contains(r#"data-error-for="amount""#),
            "{html}"
        );
    }
    let posted = a
        .submit(
            "wallet_send",
            "/wallet/send",
            &[
                ("point_system", "999999"),
                ("to", "b@example.com"),
                ("amount", "5"),
            ],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("not_found"));
    assert_eq!(operations(&fx).await, before, "nothing was recorded");
    assert_eq!(available(&fx, "a@example.com").await, 100);

    // The review shows what will happen; confirming sends; both sides see it confirmed.
    let (status, _, html) = a
        .page(&format!(
            "/wallet/send?point_system={ps}&to=b@example.com&amount=30"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="send-review""#)
            && html.contains("the customer b@example.com"),
        "{html}"
    );
    // A customer named by e-mail: the review does not give away their chain address.
    let b_address: String = sqlx::query_scalar(
        "SELECT k.address FROM customers c JOIN custody_keys k ON k.id = c.key_id WHERE c.email = 'b@example.com'",
    )
    .fetch_one(fx.db.pool())
    .await
    .unwrap();
    assert!(!html.contains(&b_address), "{html}");
    // The confirm form carries the review's request id: confirming twice sends once.
    let request_id = hidden_field(&html, "request_id");
    let mut sent = Vec::new();
    for _ in 0..2 {
        let posted = a
            .submit(
                "wallet_send",
                "/wallet/send",
                &[
                    ("point_system", &ps),
                    ("to", "b@example.com"),
                    ("amount", "30"),
                    ("request_id", &request_id),
                ],
            )
            .await;
        let id: i64 = posted
            .location
            .strip_prefix("/wallet?sent_operation=")
            .unwrap_or_else(|| panic!("{posted:?}"))
            .parse()
            .unwrap();
        sent.push(id);
    }
    assert_eq!(sent[0], sent[1], "the repeat answers with the first send");
    let id = sent[0];
    assert_eq!(operations(&fx).await, before + 1, "one operation");
    wait_confirmed(&fx.db, id).await;
    assert_eq!(available(&fx, "a@example.com").await, 70);
    assert_eq!(available(&fx, "b@example.com").await, 30);
    for (browser, incoming) in [(&a, false), (&b, true)] {
        let (_, view) = browser.call("wallet_overview", &[]).await;
        let op = view["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"]["id"] == id)
            .unwrap_or_else(|| panic!("{view}"));
        assert_eq!(op["op"]["state"], "confirmed");
        assert_eq!(op["op"]["incoming"], incoming);
    }
    // B still does not see A's award.
    let (_, view) = b.call("wallet_overview", &[]).await;
    assert!(!view["operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["op"]["id"] == awarded));

    // Withdraw to self-custody: any address of the network outside the platform.
    let posted = a
        .submit(
            "wallet_send",
            "/wallet/send",
            &[("point_system", &ps), ("to", &outside), ("amount", "5")],
        )
        .await;
    let id: i64 = posted
        .location
        .strip_prefix("/wallet?sent_operation=")
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap();
    wait_confirmed(&fx.db, id).await;
    let kind: String = sqlx::query_scalar("SELECT kind FROM operations WHERE id = $1")
        .bind(id)
        .fetch_one(fx.db.pool())
        .await
        .unwrap();
    assert_eq!(kind, "withdraw");
    assert_eq!(available(&fx, "a@example.com").await, 65);

    // From that outside wallet 3 points come back: the worker's scan finds them and A's
    // history shows a deposit from outside the platform.
    send_back_from_outside(&fx, &outside_key, &a_address(&fx).await, 3).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, view) = a.call("wallet_overview", &[]).await;
        let deposit = view["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"]["kind"] == "deposit")
            .cloned();
        if let Some(deposit) = deposit {
            assert_eq!(deposit["op"]["amount"], 3);
            assert_eq!(deposit["op"]["incoming"], true);
            assert_eq!(deposit["counterparty"], "outside the platform");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no deposit in {view}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    fx.app.stop().await;
}

async fn a_address(fx: &ApiFixture) -> String {
    sqlx::query_scalar(
        "SELECT k.address FROM customers c JOIN custody_keys k ON k.id = c.key_id WHERE c.email = 'a@example.com'",
    )
    .fetch_one(fx.db.pool())
    .await
    .unwrap()
}

/// An outsider's wallet sends `amount` points to `to` (the platform's fee wallet sponsors the fee).
async fn send_back_from_outside(
    fx: &ApiFixture,
    outside: &mvs::keys::PrivateKey,
    to: &str,
    amount: u64,
) {
    use mvs::builder::{MstTransfer, Recipient, Spendable};
    use mvs::encoding::Encode;
    let chain = mvs::rpc::Client::new(
        fx.app.chain_url.clone().unwrap(),
        std::time::Duration::from_secs(10),
    );
    let symbol = fx.point_system.symbol.clone();
    let spend = |utxos: Vec<mvs::rpc::Utxo>, key: &mvs::keys::PrivateKey| -> Vec<Spendable> {
        utxos
            .iter()
            .map(|u| Spendable {
                outpoint: u.outpoint().unwrap(),
                output: u.to_output().unwrap(),
                key: key.clone(),
            })
            .collect()
    };
    let vault = crate::api_support::fixture_vault(&fx.app);
    let fee_wallet = server::worker::FeeWallet::ensure(&fx.db, &vault)
        .await
        .unwrap();
    let fee_key = vault.private_key(&fx.db, fee_wallet.key_id).await.unwrap();
    let mut fee_utxos = chain.list_etp_utxos(&fee_wallet.address).await.unwrap();
    fee_utxos.truncate(1);
    let back = MstTransfer {
        network: mvs::Network::Testnet,
        symbol: symbol.clone(),
        asset_inputs: spend(
            chain
                .list_asset_utxos(&outside.address().to_string(), &symbol)
                .await
                .unwrap(),
            outside,
        ),
        recipients: vec![Recipient::address(mvs::Address::parse(to).unwrap(), amount)],
        asset_change: outside.address(),
        fee_inputs: spend(fee_utxos, &fee_key),
        fee_change: mvs::Address::parse(&fee_wallet.address).unwrap(),
        fee: mvs::consensus::MIN_TX_FEE,
    }
    .build()
    .unwrap();
    chain.send_raw_tx(&back.encode_hex()).await.unwrap();
}

/// Waits until the customer's avatar registration is confirmed on chain.
async fn wait_avatar_confirmed(fx: &ApiFixture, email: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT t.state FROM customer_avatars a JOIN customers c ON c.id = a.customer_id \
             JOIN chain_txs t ON t.id = a.chain_tx_id WHERE c.email = $1",
        )
        .bind(email)
        .fetch_optional(fx.db.pool())
        .await
        .unwrap();
        if state.as_deref() == Some("confirmed") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the avatar of {email} did not confirm ({state:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_customer_registers_an_avatar_and_receives_points_sent_to_it() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    put_customer(&fx, &key, "a", "a@example.com").await;
    put_customer(&fx, &key, "b", "b@example.com").await;
    let awarded = award(&fx, &key, "b", 20).await;
    wait_confirmed(&fx.db, awarded).await;
    let a = signed_in(&fx, "a@example.com").await;
    let b = signed_in(&fx, "b@example.com").await;

    // Refused: not an avatar name, the store's issuer avatar; nothing is recorded.
    for (name, code) in [
        ("x", "invalid_avatar_name"),
        ("corner", "avatar_name_taken"),
    ] {
        let posted = a
            .submit("wallet_register_avatar", "/wallet", &[("avatar", name)])
            .await;
        assert_eq!(posted.error().as_deref(), Some(code), "{name}: {posted:?}");
    }
    assert_eq!(fx.count("customer_avatars").await, 0);
    // Not signed in: refused.
    let stranger = Browser::new(&fx.app);
    let posted = stranger
        .submit(
            "wallet_register_avatar",
            "/wallet",
            &[("avatar", "ann-wallet")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("not_signed_in"));

    let posted = a
        .submit(
            "wallet_register_avatar",
            "/wallet",
            &[("avatar", "ann-wallet")],
        )
        .await;
    assert_eq!(posted.location, "/wallet?avatar=1", "{posted:?}");
    let posted = a
        .submit(
            "wallet_register_avatar",
            "/wallet",
            &[("avatar", "ann-other")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("already_has_avatar"));
    let posted = b
        .submit(
            "wallet_register_avatar",
            "/wallet",
            &[("avatar", "ANN-WALLET")],
        )
        .await;
    assert_eq!(posted.error().as_deref(), Some("avatar_name_taken"));

    // The worker registers it on chain for A's address; then B sends to the name.
    wait_avatar_confirmed(&fx, "a@example.com").await;
    let (_, _, html) = a.page("/wallet").await;
    assert!(
        html.contains(r#"data-testid="wallet-avatar" data-state="confirmed""#),
        "{html}"
    );
    let ps = fx.point_system.id.to_string();
    let posted = b
        .submit(
            "wallet_send",
            "/wallet/send",
            &[("point_system", &ps), ("to", "ann-wallet"), ("amount", "5")],
        )
        .await;
    let id: i64 = posted
        .location
        .strip_prefix("/wallet?sent_operation=")
        .unwrap_or_else(|| panic!("{posted:?}"))
        .parse()
        .unwrap();
    wait_confirmed(&fx.db, id).await;
    assert_eq!(available(&fx, "a@example.com").await, 5);
    assert_eq!(available(&fx, "b@example.com").await, 15);
    fx.app.stop().await;
}

#[tokio::test]
async fn the_wallet_never_carries_the_stores_reason_or_the_nodes_error() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    put_customer(&fx, &key, "c", "c@example.com").await;
    let response = fx
        .post(
            "/awards",
            &key,
            &json!({ "customer": "c", "amount": 9, "reason": "internal-note-7f3a" }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let awarded = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let failed = award(&fx, &key, "c", 4).await;
    wait_confirmed(&fx.db, awarded).await;
    wait_confirmed(&fx.db, failed).await;
    // The worker's record of a refusal, as it stores one (state and the node's message);
    // written directly because the development node refuses nothing on demand.
    sqlx::query("UPDATE operations SET state = 'failed', error = $1 WHERE id = $2")
        .bind("node-message-9c1e: bad-txns-inputs-missingorspent")
        .bind(failed)
        .execute(fx.db.pool())
        .await
        .unwrap();
    let c = signed_in(&fx, "c@example.com").await;
    let (status, view) = c.call("wallet_overview", &[]).await;
    assert_eq!(status, 200);
    let (_, _, html) = c.page("/wallet").await;
    for text in [view.to_string(), html.clone()] {
        assert!(!text.contains("internal-note-7f3a"), "{text}");
        assert!(!text.contains("node-message-9c1e"), "{text}");
    }
    assert!(
        html.contains("Failed: the points did not arrive"),
        "the failure is explained in customer terms: {html}"
    );
    fx.app.stop().await;
}

#[tokio::test]
async fn e_mail_recipient_lookups_are_limited_per_customer() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    put_customer(&fx, &key, "d", "d@example.com").await;
    put_customer(&fx, &key, "e", "e@example.com").await;
    let d = signed_in(&fx, "d@example.com").await;
    let e = signed_in(&fx, "e@example.com").await;
    let ps = fx.point_system.id.to_string();
    let preview = |browser: &Browser, to: String| {
        let ps = ps.clone();
        let browser = Browser {
            base: browser.base.clone(),
            client: browser.client.clone(),
        };
        async move {
            browser
                .call(
                    "wallet_preview_send",
                    &[("point_system", &ps), ("to", &to), ("amount", "1")],
                )
                .await
        }
    };
    // Known and unknown addresses count alike; the answer names what is wrong meanwhile.
    for n in 0..app::domain::rate_limit::MAX_RECIPIENT_LOOKUPS {
        let to = if n % 2 == 0 {
            format!("guess{n}@example.com")
        } else {
            "e@example.com".to_owned()
        };
        let (status, body) = preview(&d, to).await;
        assert!(
            status.is_client_error() && status != 429,
            "lookup {n}: {status} {body}"
        );
    }
    for to in ["e@example.com", "guess-more@example.com"] {
        let (status, body) = preview(&d, to.to_owned()).await;
        assert_eq!(status, 429, "{body}");
    }
    // Sending by e-mail is limited too, and nothing is recorded.
    let before = operations(&fx).await;
    let posted = d
        .submit(
            "wallet_send",
            "/wallet/send",
            &[
                ("point_system", &ps),
                ("to", "e@example.com"),
                ("amount", "1"),
            ],
        )
        .await;
    assert!(
        posted
            .error()
            .is_some_and(|e| e.starts_with("rate_limited")),
        "{posted:?}"
    );
    assert_eq!(operations(&fx).await, before);
    // Per customer: another customer still looks up freely.
    let (status, body) = preview(&e, "d@example.com".to_owned()).await;
    assert_eq!(status, 409, "known, but e has nothing to send: {body}");
    fx.app.stop().await;
}
