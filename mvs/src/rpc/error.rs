//! Errors of RPC calls, split by what the caller can conclude.

/// Why an RPC call did not return a result.
///
/// Only [`RpcError::Rejected`] means the node answered and refused; every other
/// variant leaves the outcome unknown (the node may or may not have acted), so a
/// broadcast should be retried, not failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The node answered with a JSON-RPC error.
    #[error("node rejected the call ({code}): {message}")]
    Rejected {
        /// Error code (see [`crate::rpc::codes`]).
        code: i64,
        /// The node's message.
        message: String,
    },
    /// No answer within the timeout.
    #[error("timed out waiting for the node")]
    Timeout,
    /// Connection refused, reset, DNS failure and the like.
    #[error("transport error: {0}")]
    Transport(String),
    /// An HTTP status without a JSON-RPC body (proxy error, 5xx).
    #[error("HTTP {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// A body that is not the expected JSON.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl RpcError {
    /// True when the node definitely refused (it will refuse again): the operation can be failed.
    pub fn is_definitely_rejected(&self) -> bool {
        matches!(self, RpcError::Rejected { .. })
    }

    /// True when the call may or may not have taken effect: retry with backoff.
    pub fn is_outcome_unknown(&self) -> bool {
        !self.is_definitely_rejected()
    }

    /// The node's error code, if it answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            RpcError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when `sendrawtx` refused a transaction because the node already has it,
    /// which a broadcaster should count as success.
    pub fn is_already_known(&self) -> bool {
        match self {
            RpcError::Rejected { message, .. } => {
                // Only the transaction itself being known counts: "asset symbol X already
                // exists" or "avatar X already exists" are real rejections.
                let m = message.to_ascii_lowercase();
                let about_this_tx = m.starts_with("transaction ") || m.contains(" transaction ");
                (about_this_tx && m.contains("already exists"))
                    || m.contains("already in the pool")
                    || m.contains("already in block")
                    || m.contains("duplicate transaction")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod already_known_tests {
    use super::RpcError;

    fn rejected(message: &str) -> RpcError {
        RpcError::Rejected {
            code: 5304,
            message: message.into(),
        }
    }

    #[test]
    fn only_the_same_transaction_counts_as_already_known() {
        assert!(rejected("transaction 6a87ea already exists").is_already_known());
        assert!(!rejected("asset symbol SHOP.POINTS already exists").is_already_known());
        assert!(!rejected("avatar shopavatar already exists").is_already_known());
        assert!(!rejected("address t85H already has an avatar").is_already_known());
        assert!(!RpcError::Timeout.is_already_known());
    }
}
