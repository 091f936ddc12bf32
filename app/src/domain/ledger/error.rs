use super::amount::AmountError;

/// The longest reason an operation may carry (the REST API, dashboard and wallet alike).
pub const MAX_REASON_CHARS: usize = 500;

/// Why a ledger change was refused. Every refusal leaves the database unchanged.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("not enough points: {available} available, {requested} requested")]
    InsufficientBalance { available: u64, requested: u64 },
    #[error(transparent)]
    Amount(#[from] AmountError),
    #[error("the idempotency key was already used with a different request")]
    IdempotencyConflict,
    #[error("this store already has a point system")]
    PointSystemExists,
    #[error("the symbol {0} is already registered")]
    SymbolTaken(String),
    #[error("the point system is not confirmed on chain yet")]
    PointSystemNotReady,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("an adjustment needs a reason")]
    ReasonRequired,
    #[error("a reason is at most {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("{0} is not an MVS address of this network")]
    InvalidAddress(String),
    #[error("{0} is not a valid avatar name")]
    InvalidAvatar(String),
    #[error(
        "this point system was issued with a fixed supply: its policy allows no secondary issue"
    )]
    SecondaryIssueForbidden,
    #[error("the treasury holds {held} points; issuing more needs at least {required} (the point system's threshold)")]
    SecondaryIssueShareTooLow { held: u64, required: u64 },
    #[error(
        "the total supply would exceed {max} (it is {supply} now, with issues in flight on top)"
    )]
    SupplyTooLarge { supply: u64, max: u64 },
    #[error("operation {0} cannot move from {1} to {2}")]
    InvalidTransition(i64, &'static str, &'static str),
    /// A look-up the submission presumed ([`super::presumed::Presumed`]) no longer holds:
    /// the API key was revoked or the customer id points at another customer now.
    #[error("the API key or the customer changed since it was looked up")]
    Stale,
    #[error(transparent)]
    Vault(#[from] crate::domain::custody::VaultError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl LedgerError {
    /// A stable machine-readable code, used in problem+json answers and form errors.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::InsufficientBalance { .. } => "insufficient_balance",
            LedgerError::Amount(_) => "invalid_amount",
            LedgerError::IdempotencyConflict => "idempotency_conflict",
            LedgerError::PointSystemExists => "point_system_exists",
            LedgerError::SymbolTaken(_) => "symbol_taken",
            LedgerError::PointSystemNotReady => "point_system_not_ready",
            LedgerError::NotFound(_) => "not_found",
            LedgerError::ReasonRequired => "reason_required",
            LedgerError::ReasonTooLong => "reason_too_long",
            LedgerError::InvalidAddress(_) => "invalid_address",
            LedgerError::InvalidAvatar(_) => "invalid_avatar",
            LedgerError::InvalidTransition(..) => "invalid_transition",
            LedgerError::SecondaryIssueForbidden => "secondary_issue_forbidden",
            LedgerError::SecondaryIssueShareTooLow { .. } => "secondary_issue_share_too_low",
            LedgerError::SupplyTooLarge { .. } => "supply_too_large",
            LedgerError::Stale => "stale_lookup",
            LedgerError::Vault(_) | LedgerError::Database(_) => "internal",
        }
    }
}
