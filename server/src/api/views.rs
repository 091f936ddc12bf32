//! Response bodies of the API (also the schemas of the OpenAPI document).

use app::domain::ledger::{
    customers::StoreCustomer, point_systems::PointSystem, Balance, Operation,
};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct PointSystemView {
    pub id: i64,
    #[schema(example = "CORNER.POINTS")]
    pub symbol: String,
    pub name: String,
    pub description: String,
    pub decimals: u8,
    /// Base units; at most 2^53-1.
    pub max_supply: u64,
    /// `pending`, `broadcast` or `confirmed`.
    #[schema(example = "confirmed")]
    pub status: String,
    pub treasury_address: String,
    pub issue_txid: Option<String>,
}

impl From<PointSystem> for PointSystemView {
    fn from(p: PointSystem) -> Self {
        Self {
            id: p.id,
            symbol: p.symbol,
            name: p.name,
            description: p.description,
            decimals: p.decimals,
            max_supply: p.max_supply,
            status: p.status,
            treasury_address: p.treasury_address,
            issue_txid: p.issue_txid,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StoreView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    /// The store's point system, once registered.
    pub point_system: Option<PointSystemView>,
}

/// Points of one customer, in base units.
#[derive(Serialize, ToSchema)]
pub struct BalanceView {
    /// May be spent now (pending outgoing already subtracted).
    pub available: u64,
    /// On its way in, not yet confirmed on chain.
    pub pending_in: u64,
    /// Confirmed on chain.
    pub confirmed: u64,
}

impl From<Balance> for BalanceView {
    fn from(b: Balance) -> Self {
        Self {
            available: b.available,
            pending_in: b.pending_in,
            confirmed: b.confirmed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    /// The store's own id of the customer.
    #[schema(example = "cust-1001")]
    pub external_id: String,
    pub email: String,
    pub name: Option<String>,
    /// The customer's custodial MVS address.
    pub address: String,
    pub balance: BalanceView,
}

impl CustomerView {
    pub fn new(customer: StoreCustomer, balance: Balance) -> Self {
        Self {
            external_id: customer.external_id,
            email: customer.email,
            name: customer.name,
            address: customer.address,
            balance: balance.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OperationView {
    pub id: i64,
    /// `award`, `redeem`, `transfer`, `adjust`, `withdraw` or `deposit`.
    #[schema(example = "award")]
    pub kind: String,
    /// Base units.
    #[schema(example = 150)]
    pub amount: u64,
    /// `queued`, `signed`, `broadcast`, `confirmed` or `failed`.
    #[schema(example = "queued")]
    pub state: String,
    pub to_address: String,
    pub to_avatar: Option<String>,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub txid: Option<String>,
    /// Block height of the confirming transaction.
    pub height: Option<i64>,
    /// Why the operation failed.
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Operation> for OperationView {
    fn from(op: Operation) -> Self {
        Self {
            id: op.id,
            kind: op.kind.as_str().to_owned(),
            amount: op.amount,
            state: op.state.as_str().to_owned(),
            to_address: op.to_address,
            to_avatar: op.to_avatar,
            reason: op.reason,
            idempotency_key: op.idempotency_key,
            txid: op.txid,
            height: op.height,
            error: op.error,
            created_at: op.created_at,
            updated_at: op.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OperationPage {
    pub data: Vec<OperationView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}
