//! The ledger: point systems, customers, balances and the operations that move points.
//!
//! Every change is one database transaction that checks its invariants as it writes:
//! spending is a conditional `UPDATE ... WHERE available >= amount`, so no interleaving of
//! concurrent requests can make a balance negative, on SQLite or PostgreSQL.

pub mod amount;
pub mod balances;
mod bulk;
pub mod customers;
mod direct_sqlite;
pub mod error;
pub mod operation;
pub mod point_systems;
pub mod presumed;
pub mod secondary_issue;
pub mod settle;
pub mod submit;
pub mod writer;
mod writer_connection;

pub use amount::Amount;
pub use balances::Balance;
pub use error::LedgerError;
pub use operation::{Operation, OperationKind, OperationState};
