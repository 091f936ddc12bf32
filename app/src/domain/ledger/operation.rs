//! Operations: the ledger's entries and their life cycle on chain.

use sqlx::{any::AnyRow, Row};

use super::LedgerError;
use crate::domain::db::Database;

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// Treasury -> customer.
    Award,
    /// Customer -> treasury.
    Redeem,
    /// Customer -> another customer, an avatar or an external address.
    Transfer,
    /// A correction by staff, with a reason, in either direction.
    Adjust,
    /// Customer -> the customer's own external address.
    Withdraw,
    /// Seen on chain: an outside address paid a custodial one.
    Deposit,
    /// More supply issued into the treasury, where the point system's policy allows it.
    SecondaryIssue,
}

/// Where an operation is on its way to the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationState {
    Queued,
    Signed,
    Broadcast,
    Confirmed,
    Failed,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

text_enum!(OperationKind {
    Award => "award", Redeem => "redeem", Transfer => "transfer",
    Adjust => "adjust", Withdraw => "withdraw", Deposit => "deposit",
    SecondaryIssue => "secondary_issue",
});
text_enum!(OperationState {
    Queued => "queued", Signed => "signed", Broadcast => "broadcast",
    Confirmed => "confirmed", Failed => "failed",
});

/// One ledger entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    pub id: i64,
    pub point_system_id: i64,
    pub kind: OperationKind,
    pub amount: u64,
    #[serde(skip)]
    pub from_key_id: Option<i64>,
    #[serde(skip)]
    pub to_key_id: Option<i64>,
    pub to_address: String,
    pub to_avatar: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub state: OperationState,
    pub txid: Option<String>,
    pub height: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns [`Operation::from_row`] reads, for `SELECT {COLUMNS} FROM operations`.
pub const COLUMNS: &str =
    "id, point_system_id, kind, amount, from_key_id, to_key_id, to_address, to_avatar, \
     actor, reason, idempotency_key, state, txid, height, error, created_at, updated_at";

impl Operation {
    pub fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        let state: String = row.try_get("state")?;
        let decode = |column: &str, text: &str| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: format!("unknown value {text:?}").into(),
        };
        Ok(Self {
            id: row.try_get("id")?,
            point_system_id: row.try_get("point_system_id")?,
            kind: OperationKind::parse(&kind).ok_or_else(|| decode("kind", &kind))?,
            amount: row.try_get::<i64, _>("amount")? as u64,
            from_key_id: row.try_get("from_key_id")?,
            to_key_id: row.try_get("to_key_id")?,
            to_address: row.try_get("to_address")?,
            to_avatar: row.try_get("to_avatar")?,
            actor: row.try_get("actor")?,
            reason: row.try_get("reason")?,
            idempotency_key: row.try_get("idempotency_key")?,
            state: OperationState::parse(&state).ok_or_else(|| decode("state", &state))?,
            txid: row.try_get("txid")?,
            height: row.try_get("height")?,
            error: row.try_get("error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Loads one operation of a point system (the point system scopes it to one tenant).
    pub async fn fetch(
        db: &Database,
        point_system_id: i64,
        id: i64,
    ) -> Result<Operation, LedgerError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM operations WHERE id = $1 AND point_system_id = $2"
        ))
        .bind(id)
        .bind(point_system_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(LedgerError::NotFound("operation"))?;
        Ok(Operation::from_row(&row)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_through_text() {
        for kind in [
            OperationKind::Award,
            OperationKind::Redeem,
            OperationKind::Transfer,
            OperationKind::Adjust,
            OperationKind::Withdraw,
            OperationKind::Deposit,
            OperationKind::SecondaryIssue,
        ] {
            assert_eq!(OperationKind::parse(kind.as_str()), Some(kind));
        }
        for state in [
            OperationState::Queued,
            OperationState::Signed,
            OperationState::Broadcast,
            OperationState::Confirmed,
            OperationState::Failed,
        ] {
            assert_eq!(OperationState::parse(state.as_str()), Some(state));
        }
        assert_eq!(OperationKind::parse("mint"), None);
    }
}
