//! What a merchant does before the first award: an account, a store, a point system issued
//! on the chain, an API key, customers, and a signed-in dashboard session.
//!
//! The account, store, point system and key are made with the domain crate on the server's
//! database (in the product they are dashboard forms); customers are created and the session
//! started over HTTP, as a shop back end and a browser do.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use app::domain::{
    api_keys::{self, KeyName, Scope, Scopes},
    clock,
    custody::{KeyVault, MasterKey},
    db::Database,
    ledger::{
        point_systems::{self, PointSystem, PointSystemSpec},
        Amount,
    },
    password::{self, Password},
};
use mvs::symbol::{AvatarName, Symbol};

pub const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench password 2026";

pub struct Fixture {
    pub store_id: i64,
    pub api_key: String,
    pub customers: Arc<Vec<String>>,
    pub cookie: String,
    /// A signed-in wallet session of the first customer (who receives awards in turn).
    pub wallet_cookie: String,
    /// Seconds from registering the point system to its confirmation on the chain.
    pub issue_seconds: f64,
}

pub async fn prepare(
    db: &Database,
    data_dir: &Path,
    client: &reqwest::Client,
    base: &str,
    customers: usize,
) -> anyhow::Result<Fixture> {
    let hash = password::hash(&Password::parse(PASSWORD.into()).map_err(|e| anyhow!("{e:?}"))?)
        .await
        .map_err(|e| anyhow!("{e:?}"))?;
    let operator_id: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, verified_at, created_at) VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(EMAIL)
    .bind(hash)
    .bind(clock::now())
    .fetch_one(db.pool())
    .await?;
    let store = app::domain::stores::create(db, operator_id, "Bench store", "bench")
        .await
        .map_err(|e| anyhow!("{e:?}"))?;
    // The server created the master key at start; the same key seals the treasury key.
    let vault = KeyVault::new(
        MasterKey::load_or_create(&data_dir.join("master.key"))?,
        mvs::Network::Testnet,
    );
    let spec = PointSystemSpec {
        symbol: Symbol::parse("BENCH.POINTS")?,
        name: "Bench points".into(),
        description: "load test".into(),
        decimals: 0,
        max_supply: Amount::new(1_000_000_000_000)?,
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse("benchstore")?,
    };
    let started = Instant::now();
    point_systems::register(db, &vault, store.id, &spec)
        .await
        .map_err(|e| anyhow!("{e:?}"))?;
    loop {
        let ps = PointSystem::of_store(db, store.id)
            .await?
            .context("the point system vanished")?;
        if ps.status == "confirmed" {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!(
                "the worker did not confirm the point system (status {})",
                ps.status
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let issue_seconds = started.elapsed().as_secs_f64();
    let (_, key) = api_keys::create(
        db,
        store.id,
        &KeyName::parse("bench")?,
        &Scopes::new(Scope::ALL.iter().copied())?,
        None,
    )
    .await?;
    let api_key = key.reveal().to_owned();

    let ids: Vec<String> = (0..customers).map(|i| format!("cust-{i:05}")).collect();
    let create = crate::load::closed_loop(ids.len(), 8, {
        let (client, base, key, ids) = (
            client.clone(),
            base.to_owned(),
            api_key.clone(),
            ids.clone(),
        );
        move |i| {
            let request = client
                .put(format!("{base}/api/v1/customers/{}", ids[i]))
                .bearer_auth(&key)
                .json(&serde_json::json!({ "email": format!("{}@example.com", ids[i]) }));
            async move {
                let r = request.send().await.map_err(|e| e.to_string())?;
                let status = r.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("{status}: {}", r.text().await.unwrap_or_default()))
                }
            }
        }
    })
    .await;
    if create.errors > 0 {
        bail!("creating customers failed: {:?}", create.first_error);
    }

    let response = client
        .post(format!("{base}/fn/log_in"))
        .header("accept", "text/html")
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = session_cookie(&response)
        .with_context(|| format!("log-in set no session cookie ({})", response.status()))?;

    let wallet_cookie = wallet_cookie(client, base, data_dir, &ids[0]).await?;

    Ok(Fixture {
        store_id: store.id,
        api_key,
        customers: Arc::new(ids),
        cookie,
        wallet_cookie,
        issue_seconds,
    })
}

/// The session cookie a response set.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("pointmint_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// Signs a customer in the way a customer does: with the link of the welcome mail the
/// server wrote to its outbox (no SMTP configured) when the store created the customer.
async fn wallet_cookie(
    client: &reqwest::Client,
    base: &str,
    data_dir: &Path,
    external_id: &str,
) -> anyhow::Result<String> {
    let recipient = format!("To: {external_id}@example.com");
    let started = Instant::now();
    let token = loop {
        if let Some(token) = outbox_token(&data_dir.join("outbox"), &recipient)? {
            break token;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("no welcome mail for {external_id} in the outbox");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let response = client
        .post(format!("{base}/fn/wallet_sign_in"))
        .header("accept", "text/html")
        .form(&[("token", token.as_str())])
        .send()
        .await?;
    session_cookie(&response).with_context(|| {
        format!(
            "wallet sign-in set no session cookie ({})",
            response.status()
        )
    })
}

/// The sign-in token of the mail to `recipient` in `outbox`, if it was written yet.
fn outbox_token(outbox: &Path, recipient: &str) -> anyhow::Result<Option<String>> {
    let Ok(dir) = std::fs::read_dir(outbox) else {
        return Ok(None);
    };
    for entry in dir {
        let raw = std::fs::read_to_string(entry?.path())?;
        if !raw.lines().any(|l| l == recipient) {
            continue;
        }
        // Quoted-printable: soft line breaks go, `=3D` is `=`.
        let text = raw
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        let token = text.split("/wallet/sign-in?token=").nth(1).map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_hexdigit)
                .collect::<String>()
        });
        return match token {
            Some(token) if token.len() == 64 => Ok(Some(token)),
            _ => bail!("the mail to {recipient} holds no sign-in link"),
        };
    }
    Ok(None)
}
