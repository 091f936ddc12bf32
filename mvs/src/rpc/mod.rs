//! A JSON-RPC v3 client for an MVS node (mvsd or the development chain).

mod client;
mod error;
mod types;

pub use client::{BlockRef, Client};
pub use error::RpcError;
pub use types::*;

/// Node error codes (mvsd) that the development chain also uses.
pub mod codes {
    /// Malformed JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Wrong parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal failure.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Bad command parameters.
    pub const BAD_PARAMS: i64 = 1021;
    /// Invalid address.
    pub const BAD_ADDRESS: i64 = 4010;
    /// Not enough asset.
    pub const ASSET_LACK: i64 = 5001;
    /// Symbol already issued.
    pub const SYMBOL_EXISTS: i64 = 5009;
    /// Asset not found (development chain's choice; mvsd's code is not documented in PROTOCOL.md).
    pub const ASSET_NOT_FOUND: i64 = 5010;
    /// Invalid symbol.
    pub const BAD_SYMBOL: i64 = 5012;
    /// Transaction failed validation.
    pub const TX_VALIDATE_FAILED: i64 = 5304;
    /// Transaction could not be broadcast.
    pub const TX_BROADCAST_FAILED: i64 = 5305;
    /// Transaction not found.
    pub const TX_NOT_FOUND: i64 = 5306;
    /// Invalid avatar name.
    pub const BAD_AVATAR_NAME: i64 = 7001;
    /// Avatar already registered (development chain's choice).
    pub const AVATAR_EXISTS: i64 = 7002;
    /// Avatar not found.
    pub const AVATAR_NOT_FOUND: i64 = 7006;
}
