//! The customer wallet: sign-in by e-mailed link, sign-out, and what the wallet page shows
//! (balances across stores, the address with its QR code, and the history).
//!
//! Everything is scoped to the signed-in customer's own custodial key, taken from the
//! session: no id in a request can point at another customer's points.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    server_fns::{customers::OperationView, wallet_avatar::WalletAvatar},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, customer_sessions, email::Email, ledger::Operation},
    server_fns::{
        auth,
        respond::{answer, finish},
        wallet_auth,
    },
    urls::with_query,
};

/// Points of one store's point system held by the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletBalance {
    pub point_system_id: i64,
    pub store_name: String,
    pub symbol: String,
    pub available: u64,
    pub pending_in: u64,
    pub confirmed: u64,
}

/// An operation as its customer sees it. Deliberately without the store's `reason` (an
/// internal note of the store's staff or back end) and the node's `error` (raw chain and
/// worker messages, which may name internals): this struct is the page's hydration data,
/// so whatever it holds reaches the browser even when the page does not show it. A failed
/// operation is explained in customer terms instead ([`Self::progress_text`]); the store's
/// dashboard still shows the node's message to operators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletOperationView {
    pub id: i64,
    pub kind: String,
    /// Points into (true) or out of (false) the customer's address.
    pub incoming: bool,
    pub amount: u64,
    pub state: String,
    pub txid: Option<String>,
    pub height: Option<i64>,
    pub created_at: i64,
    /// For a broadcast operation already in a block: its depth on chain so far.
    pub confirmations: Option<u64>,
}

impl WalletOperationView {
    pub fn is_final(&self) -> bool {
        self.state == "confirmed" || self.state == "failed"
    }

    /// The progress in words, as the dashboard says it, with a failure in customer terms.
    pub fn progress_text(&self) -> String {
        // A failed operation gives reserved points back to the sender (ledger::settle::fail).
        let failure = if self.incoming {
            "the points did not arrive"
        } else {
            "the points are back in your balance"
        };
        crate::pages::customers::state_text(&OperationView {
            id: self.id,
            kind: self.kind.clone(),
            incoming: self.incoming,
            amount: self.amount,
            state: self.state.clone(),
            txid: self.txid.clone(),
            height: self.height,
            error: Some(failure.to_owned()),
            reason: None,
            created_at: self.created_at,
            confirmations: self.confirmations,
        })
    }
}

#[cfg(feature = "ssr")]
impl From<OperationView> for WalletOperationView {
    fn from(op: OperationView) -> Self {
        Self {
            id: op.id,
            kind: op.kind,
            incoming: op.incoming,
            amount: op.amount,
            state: op.state,
            txid: op.txid,
            height: op.height,
            created_at: op.created_at,
            confirmations: op.confirmations,
        }
    }
}

/// One operation in the customer's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletOperation {
    pub op: WalletOperationView,
    pub symbol: String,
    /// The other side: where the points went, or where they came from.
    pub counterparty: String,
}

/// What the signed-in wallet page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    pub email: String,
    pub address: String,
    /// The address as a QR code (an SVG document rendered on the server).
    pub address_qr_svg: String,
    /// The avatar the customer registered (or asked for), if any.
    pub avatar: Option<WalletAvatar>,
    pub balances: Vec<WalletBalance>,
    pub operations: Vec<WalletOperation>,
}

impl WalletView {
    /// Whether something is still on its way (the page keeps refreshing until not).
    pub fn has_pending(&self) -> bool {
        let avatar_pending = self
            .avatar
            .as_ref()
            .is_some_and(|a| a.state != "confirmed" && a.state != "failed");
        avatar_pending || self.operations.iter().any(|o| !o.op.is_final())
    }
}

/// Mails a sign-in link if a customer has this address; the answer is the same either way.
#[server(prefix = "/fn", endpoint = "wallet_request_link")]
pub async fn request_wallet_link(email: String) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let email = Email::parse(&email)?;
        let ip = auth::client_ip().await;
        customer_sessions::request_link(&ctx, &email, &ip).await
    }
    .await;
    finish(result, "/wallet", |_| "/wallet?sent=1".to_owned())
}

/// Signs the customer in with the token of an e-mailed link, then opens the wallet.
#[server(prefix = "/fn", endpoint = "wallet_sign_in")]
pub async fn wallet_sign_in(token: String) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let customer_id = customer_sessions::consume_link(&ctx, token.trim()).await?;
        wallet_auth::start_customer_session(customer_id).await
    }
    .await;
    finish(
        result,
        &with_query("/wallet/sign-in", "token", &token),
        |_| "/wallet".to_owned(),
    )
}

/// Signs the customer out of the wallet.
#[server(prefix = "/fn", endpoint = "wallet_sign_out")]
pub async fn wallet_sign_out() -> Result<(), AppError> {
    let result = wallet_auth::end_customer_session().await;
    finish(result, "/wallet", |_| "/wallet?signed_out=1".to_owned())
}

/// The wallet of the signed-in customer, or `None` for a visitor who is not signed in.
#[server(prefix = "/fn", endpoint = "wallet_overview")]
pub async fn wallet_overview() -> Result<Option<WalletView>, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let Some(customer) = wallet_auth::signed_in_customer(&ctx).await? else {
                return Ok(None);
            };
            // History before balances: a confirmation that commits between the two reads
            // then shows as still under way (the page polls again) rather than as confirmed
            // beside the balance from before it (the page would stop polling on a stale
            // balance).
            let operations = history_of(&ctx, customer.key_id).await?;
            let balances = balances_of(&ctx, customer.key_id).await?;
            let avatar = crate::domain::customer_avatars::of_customer(&ctx.db, customer.id)
                .await?
                .map(|a| WalletAvatar {
                    name: a.name,
                    state: a.state,
                });
            Ok(Some(WalletView {
                email: customer.email.to_string(),
                address_qr_svg: qr_svg(&customer.address),
                address: customer.address,
                avatar,
                balances,
                operations,
            }))
        }
        .await,
    )
}

/// Every point system the customer's address has a balance of, store by store.
#[cfg(feature = "ssr")]
pub(crate) async fn balances_of(
    ctx: &ServerContext,
    key_id: i64,
) -> Result<Vec<WalletBalance>, AppError> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT p.id, s.name, p.symbol, b.available, b.pending_in, b.confirmed FROM balances b \
         JOIN point_systems p ON p.id = b.point_system_id JOIN stores s ON s.id = p.store_id \
         WHERE b.key_id = $1 ORDER BY s.name, p.symbol",
    )
    .bind(key_id)
    .fetch_all(ctx.db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| -> Result<WalletBalance, sqlx::Error> {
            Ok(WalletBalance {
                point_system_id: r.try_get(0)?,
                store_name: r.try_get(1)?,
                symbol: r.try_get(2)?,
                available: r.try_get::<i64, _>(3)? as u64,
                pending_in: r.try_get::<i64, _>(4)? as u64,
                confirmed: r.try_get::<i64, _>(5)? as u64,
            })
        })
        .collect::<Result<_, _>>()?)
}

/// The latest operations into or out of the customer's address, with their progress.
#[cfg(feature = "ssr")]
async fn history_of(ctx: &ServerContext, key_id: i64) -> Result<Vec<WalletOperation>, AppError> {
    use crate::domain::ledger::operation::COLUMNS;
    use sqlx::Row;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, \
           (SELECT symbol FROM point_systems p WHERE p.id = operations.point_system_id) AS op_symbol, \
           (SELECT address FROM custody_keys k WHERE k.id = operations.from_key_id) AS from_address \
         FROM operations WHERE from_key_id = $1 OR to_key_id = $1 ORDER BY id DESC LIMIT 50"
    ))
    .bind(key_id)
    .fetch_all(ctx.db.pool())
    .await?;
    let mut views = Vec::with_capacity(rows.len());
    let mut ops = Vec::with_capacity(rows.len());
    for row in &rows {
        let op = Operation::from_row(row)?;
        let symbol: String = row.try_get("op_symbol")?;
        let from_address: Option<String> = row.try_get("from_address")?;
        let incoming = op.to_key_id == Some(key_id);
        let counterparty = if incoming {
            from_address.unwrap_or_else(|| "outside the platform".to_owned())
        } else {
            match &op.to_avatar {
                Some(avatar) => format!("{avatar} ({})", op.to_address),
                None => op.to_address.clone(),
            }
        };
        ops.push(OperationView {
            id: op.id,
            kind: op.kind.as_str().to_owned(),
            incoming,
            amount: op.amount,
            state: op.state.as_str().to_owned(),
            txid: op.txid,
            height: op.height,
            // Never shown to the customer (see WalletOperationView).
            error: None,
            reason: None,
            created_at: op.created_at,
            confirmations: None,
        });
        views.push((symbol, counterparty));
    }
    crate::server_fns::customers::add_confirmations(&mut ops).await;
    Ok(ops
        .into_iter()
        .zip(views)
        .map(|(op, (symbol, counterparty))| WalletOperation {
            op: op.into(),
            symbol,
            counterparty,
        })
        .collect())
}

/// The address as an SVG QR code (medium error correction, scales with its box).
#[cfg(feature = "ssr")]
fn qr_svg(address: &str) -> String {
    use qrcode::{render::svg, EcLevel, QrCode};
    match QrCode::with_error_correction_level(address.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build(),
        Err(error) => {
            tracing::error!(%error, "could not draw the address as a QR code");
            String::new()
        }
    }
}
