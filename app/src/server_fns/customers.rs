//! A store's customers: create, list and search, one customer's balance and operations, and
//! awarding, redeeming and adjusting points.
//!
//! Roles: every member may look and award (staff at the till award points); redeeming and
//! adjusting need a manager or owner. Every function checks the session and membership
//! first; another store's customer id answers "not found".

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
    server_fns::points::PointSystemView,
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        custody::KeyVault,
        email::Email,
        ledger::{
            customers,
            operation::COLUMNS,
            point_systems::PointSystem,
            submit::{self, Destination, NewOperation},
            Amount, Balance, Operation, OperationKind,
        },
        membership::require_member,
        store_settings::{self, OrderTotal, PlatformPolicy},
    },
    models::Role,
    server_fns::{
        auth,
        points::ledger_to_app,
        respond::{answer, finish},
    },
};

/// Customers shown per page of the list.
pub const PAGE_SIZE: i64 = 20;

/// One customer of a store, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: i64,
    pub external_id: String,
    pub email: String,
    pub name: Option<String>,
}

/// What the customer list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomersPageView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub customers: Vec<CustomerRow>,
    pub page: i64,
    pub has_next: bool,
}

/// One operation as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationView {
    pub id: i64,
    pub kind: String,
    /// Points into (true) or out of (false) the customer's address.
    pub incoming: bool,
    pub amount: u64,
    pub state: String,
    pub txid: Option<String>,
    pub height: Option<i64>,
    pub error: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    /// For a broadcast operation already in a block: its depth on chain so far.
    pub confirmations: Option<u64>,
}

impl OperationView {
    pub fn is_final(&self) -> bool {
        self.state == "confirmed" || self.state == "failed"
    }
}

/// One customer with balance and history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPageView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub customer: CustomerRow,
    pub address: String,
    pub point_system: Option<PointSystemView>,
    pub available: u64,
    pub pending_in: u64,
    pub confirmed: u64,
    /// The newest operations, or those older than `before`, [`HISTORY_PAGE`] at most.
    pub operations: Vec<OperationView>,
    /// Depth at which an operation counts as confirmed (the store's policy, else the
    /// platform's): the N of the n/N shown for operations under way.
    pub required_confirmations: u64,
    /// The cursor this page was asked for (`None`: the newest operations).
    pub before: Option<i64>,
    /// Id to pass as `before` for the next older page, if there are older operations.
    pub older: Option<i64>,
    /// The store's default earn rate in points per currency unit (`1.5`), for the award form.
    pub earn_rate: String,
    /// Idempotency id for the movement forms as rendered now; the forms add the action's
    /// version so each completed submission gets a new one.
    pub request_id: String,
}

/// Operations shown per page of a customer's history.
pub const HISTORY_PAGE: i64 = 50;

#[cfg(feature = "ssr")]
fn customers_page(store_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/customers")
}

#[cfg(feature = "ssr")]
fn customer_page(store_id: i64, customer_id: i64) -> String {
    format!("/dashboard/stores/{store_id}/customers/{customer_id}")
}

#[cfg(feature = "ssr")]
fn vault() -> Result<KeyVault, AppError> {
    use_context::<KeyVault>().ok_or_else(|| {
        tracing::error!("KeyVault was not provided to this request");
        AppError::Internal
    })
}

/// Creates a customer of the store (or updates the one with that id); any member may.
#[server(prefix = "/fn", endpoint = "create_customer")]
pub async fn create_customer(
    store_id: i64,
    external_id: String,
    email: String,
    name: String,
) -> Result<i64, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
        let external_id = external_id.trim();
        if external_id.is_empty() || external_id.chars().count() > 100 {
            return Err(AppError::InvalidExternalId);
        }
        let email = Email::parse(&email)?;
        let name = name.trim();
        if name.chars().count() > 100 {
            return Err(AppError::InvalidCustomerName);
        }
        let name = (!name.is_empty()).then_some(name);
        let customer =
            customers::upsert_welcoming(&ctx, &vault()?, store.id, external_id, &email, name)
                .await
                .map_err(ledger_to_app)?;
        Ok(customer.customer_id)
    }
    .await;
    finish(result, &customers_page(store_id), |id| {
        customer_page(store_id, *id)
    })
}

/// A page of the store's customers, optionally filtered by id, e-mail or name.
#[server(prefix = "/fn", endpoint = "list_customers")]
pub async fn list_customers(
    store_id: i64,
    query: String,
    page: i64,
) -> Result<CustomersPageView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let page = page.max(1);
            let pattern = format!("%{}%", query.trim().to_lowercase().replace(['%', '_'], ""));
            let rows = sqlx::query(
                "SELECT sc.customer_id, sc.external_id, c.email, sc.name FROM store_customers sc \
                 JOIN customers c ON c.id = sc.customer_id \
                 WHERE sc.store_id = $1 AND (LOWER(sc.external_id) LIKE $2 OR LOWER(c.email) LIKE $2 \
                   OR LOWER(COALESCE(sc.name, '')) LIKE $2) \
                 ORDER BY sc.created_at DESC, sc.external_id LIMIT $3 OFFSET $4",
            )
            .bind(store.id)
            .bind(pattern)
            .bind(PAGE_SIZE + 1)
            .bind((page - 1) * PAGE_SIZE)
            .fetch_all(ctx.db.pool())
            .await?;
            use sqlx::Row;
            let mut customers = rows
                .iter()
                .map(|r| {
                    Ok(CustomerRow { id: r.try_get(0)?, external_id: r.try_get(1)?, email: r.try_get(2)?, name: r.try_get(3)? })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let has_next = customers.len() as i64 > PAGE_SIZE;
            customers.truncate(PAGE_SIZE as usize);
            Ok(CustomersPageView {
                me: OperatorView { id: operator.id, email: operator.email.to_string() },
                store,
                customers,
                page,
                has_next,
            })
        }
        .await,
    )
}

/// The store's customer with this id (scoped to the store), with its custodial key.
#[cfg(feature = "ssr")]
async fn store_customer(
    ctx: &ServerContext,
    store_id: i64,
    customer_id: i64,
) -> Result<(CustomerRow, i64, String), AppError> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT sc.customer_id, sc.external_id, c.email, sc.name, c.key_id, k.address FROM store_customers sc \
         JOIN customers c ON c.id = sc.customer_id JOIN custody_keys k ON k.id = c.key_id \
         WHERE sc.store_id = $1 AND sc.customer_id = $2",
    )
    .bind(store_id)
    .bind(customer_id)
    .fetch_optional(ctx.db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((
        CustomerRow {
            id: row.try_get(0)?,
            external_id: row.try_get(1)?,
            email: row.try_get(2)?,
            name: row.try_get(3)?,
        },
        row.try_get(4)?,
        row.try_get(5)?,
    ))
}

/// Fills in the depth of broadcast operations that are in a block.
#[cfg(feature = "ssr")]
pub(crate) async fn add_confirmations(operations: &mut [OperationView]) {
    crate::server_fns::chain_depth::fill(
        operations,
        10,
        |op| op.txid.as_deref().filter(|_| op.state == "broadcast"),
        |op, depth| op.confirmations = Some(depth),
    )
    .await;
}

/// One customer: balance and a page of operations, newest first (`before`: only those with
/// a smaller id, the cursor of the "older operations" link).
#[server(prefix = "/fn", endpoint = "customer_overview")]
pub async fn customer_overview(
    store_id: i64,
    customer_id: i64,
    before: Option<i64>,
) -> Result<CustomerPageView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let (customer, key_id, address) = store_customer(&ctx, store.id, customer_id).await?;
            let point_system = PointSystem::of_store(&ctx.db, store.id).await.map_err(ledger_to_app)?;
            let settings = store_settings::load(&ctx.db, store.id).await?;
            let required_confirmations = settings.confirmations_needed(PlatformPolicy::current()?);
            let mut older = None;
            let (balance, operations) = match &point_system {
                Some(p) => {
                    let rows = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM operations WHERE point_system_id = $1 AND (from_key_id = $2 OR to_key_id = $2) \
                         AND id < $3 ORDER BY id DESC LIMIT $4"
                    ))
                    .bind(p.id)
                    .bind(key_id)
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(HISTORY_PAGE + 1)
                    .fetch_all(ctx.db.pool())
                    .await?;
                    // The balance after the operations: a confirmation that commits between
                    // the two reads then shows as still under way (the page polls again),
                    // never as confirmed beside the balance from before it.
                    let balance = Balance::fetch(&ctx.db, key_id, p.id).await?;
                    // One row more than a page tells whether older ones exist.
                    let more = rows.len() as i64 > HISTORY_PAGE;
                    let rows = &rows[..rows.len().min(HISTORY_PAGE as usize)];
                    let operations = rows
                        .iter()
                        .map(|row| {
                            let op = Operation::from_row(row)?;
                            Ok(OperationView {
                                id: op.id,
                                kind: op.kind.as_str().to_owned(),
                                incoming: op.to_key_id == Some(key_id),
                                amount: op.amount,
                                state: op.state.as_str().to_owned(),
                                txid: op.txid,
                                height: op.height,
                                error: op.error,
                                reason: op.reason,
                                created_at: op.created_at,
                                confirmations: None,
                            })
                        })
                        .collect::<Result<Vec<OperationView>, sqlx::Error>>()?;
                    let mut operations = operations;
                    if more {
                        older = operations.last().map(|op| op.id);
                    }
                    add_confirmations(&mut operations).await;
                    (balance, operations)
                }
                None => (Balance::default(), Vec::new()),
            };
            Ok(CustomerPageView {
                me: OperatorView { id: operator.id, email: operator.email.to_string() },
                store,
                customer,
                address,
                point_system: point_system.map(Into::into),
                available: balance.available,
                pending_in: balance.pending_in,
                confirmed: balance.confirmed,
                operations,
                required_confirmations,
                before,
                older,
                earn_rate: settings.earn_rate.to_string(),
                request_id: crate::server_fns::respond::new_request_id(),
            })
        }
        .await,
    )
}

/// Awards (any member), redeems or adjusts (managers and owners) a customer's points.
/// `direction` matters for adjustments only: `credit` gives points, `debit` takes them.
#[server(prefix = "/fn", endpoint = "move_points")]
pub async fn move_points(
    store_id: i64,
    customer_id: i64,
    kind: String,
    amount: String,
    direction: Option<String>,
    reason: Option<String>,
    order_total: Option<String>,
    request_id: Option<String>,
) -> Result<i64, AppError> {
    let form_page = crate::urls::with_query(&customer_page(store_id, customer_id), "form", &kind);
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let kind = match kind.as_str() {
            "award" => OperationKind::Award,
            "redeem" => OperationKind::Redeem,
            "adjust" => OperationKind::Adjust,
            _ => return Err(AppError::BadRequest),
        };
        let min_role = if kind == OperationKind::Award {
            Role::Staff
        } else {
            Role::Manager
        };
        let store = require_member(&ctx.db, operator.id, store_id, min_role).await?;
        let (_, key_id, address) = store_customer(&ctx, store.id, customer_id).await?;
        let point_system = PointSystem::of_store(&ctx.db, store.id)
            .await
            .map_err(ledger_to_app)?
            .ok_or(AppError::PointSystemNotReady)?;
        // An award may give the order total instead of points: the store's earn rate turns
        // it into points (rounded down).
        let order_total = order_total.filter(|t| !t.trim().is_empty());
        let amount = match order_total {
            Some(total) if kind == OperationKind::Award && amount.trim().is_empty() => {
                let total = OrderTotal::parse(&total)?;
                let rate = store_settings::load(&ctx.db, store.id).await?.earn_rate;
                Amount::new(rate.points_for(total)).map_err(|_| AppError::InvalidOrderTotal)?
            }
            _ => Amount::parse(amount.trim()).map_err(|_| AppError::InvalidAmount)?,
        };
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if kind == OperationKind::Adjust && reason.is_none() {
            return Err(AppError::ReasonRequired);
        }
        let to_customer = match kind {
            OperationKind::Award => true,
            OperationKind::Redeem => false,
            _ => direction.as_deref() != Some("debit"),
        };
        let treasury = Destination::Custodial {
            key_id: point_system.treasury_key_id,
            address: point_system.treasury_address.clone(),
        };
        let customer = Destination::Custodial { key_id, address };
        let (from_key_id, to) = if to_customer {
            (point_system.treasury_key_id, customer)
        } else {
            (key_id, treasury)
        };
        // The form's request id, scoped to the operator: a double submit of one rendering
        // of the form is answered with the first operation instead of moving points twice.
        let idempotency_key = request_id
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty() && r.len() <= 100)
            .map(|r| format!("dashboard:{}:{r}", operator.id));
        let submitted = submit::submit(
            &ctx.db,
            NewOperation {
                point_system_id: point_system.id,
                kind,
                amount,
                from_key_id,
                to,
                actor: format!("operator:{}", operator.id),
                reason,
                idempotency_key,
            },
        )
        .await
        .map_err(ledger_to_app)?;
        Ok(submitted.operation().id)
    }
    .await;
    let page = customer_page(store_id, customer_id);
    finish(result, &form_page, |id| format!("{page}?operation={id}"))
}
