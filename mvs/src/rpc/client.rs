//! The HTTP JSON-RPC client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::error::RpcError;
use super::types::*;
use crate::tx::Txid;

/// Which block `getblock` should return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockRef {
    /// By height.
    Height(u64),
    /// By hash (displayed hex).
    Hash(String),
}

/// A JSON-RPC v3 client. Cheap to clone (shares the connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    next_id: std::sync::Arc<AtomicU64>,
}

impl Client {
    /// A client for `url` (e.g. `http://127.0.0.1:8820/rpc/v3`); every call gives up after `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Client {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .expect("HTTP client without TLS always builds");
        Client {
            http,
            url: url.into(),
            next_id: std::sync::Arc::new(AtomicU64::new(1)),
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional `params`, returning the raw `result`.
    pub async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "3.0", "id": id, "method": method, "params": params});
        let response = self
            .http
            .post(&self.url)
            .json(&request)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = response.text().await.map_err(transport_error)?;
        let envelope: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) if !status.is_success() => {
                return Err(RpcError::Http {
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                })
            }
            Err(e) => {
                return Err(RpcError::InvalidResponse(format!(
                    "{e}: {}",
                    body.chars().take(200).collect::<String>()
                )))
            }
        };
        if let Some(error) = envelope.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError::Rejected {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        match envelope.get("result") {
            Some(result) => Ok(result.clone()),
            None if !status.is_success() => Err(RpcError::Http {
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            }),
            None => Err(RpcError::InvalidResponse("neither result nor error".into())),
        }
    }

    /// Calls `method` and deserializes the result.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T, RpcError> {
        let result = self.call(method, params).await?;
        serde_json::from_value(result)
            .map_err(|e| RpcError::InvalidResponse(format!("{method}: {e}")))
    }

    /// `getheight`: height of the best block.
    pub async fn get_height(&self) -> Result<u64, RpcError> {
        self.call_as("getheight", vec![]).await
    }

    /// `getblock` with full transactions.
    pub async fn get_block(&self, block: BlockRef) -> Result<BlockInfo, RpcError> {
        self.get_block_as(block, true).await
    }

    /// `getblock` without the transactions' contents: header fields and txids.
    pub async fn get_block_summary(&self, block: BlockRef) -> Result<BlockSummary, RpcError> {
        self.get_block_as(block, false).await
    }

    async fn get_block_as<T: DeserializeOwned>(
        &self,
        block: BlockRef,
        tx_json: bool,
    ) -> Result<T, RpcError> {
        let key = match block {
            BlockRef::Height(h) => json!(h),
            BlockRef::Hash(h) => json!(h),
        };
        self.call_as(
            "getblock",
            vec![key, json!({"json": true, "tx_json": tx_json})],
        )
        .await
    }

    /// `gettx` as JSON, with `height` 0 while unconfirmed.
    pub async fn get_tx(&self, txid: &Txid) -> Result<TxInfo, RpcError> {
        self.call_as(
            "gettx",
            vec![json!(txid.to_string()), json!({"json": true})],
        )
        .await
    }

    /// `gettx` as raw hex, decoded.
    pub async fn get_raw_tx(&self, txid: &Txid) -> Result<crate::tx::Transaction, RpcError> {
        use crate::encoding::Decode;
        let hex: String = self
            .call_as(
                "gettx",
                vec![json!(txid.to_string()), json!({"json": false})],
            )
            .await?;
        crate::tx::Transaction::decode_hex(&hex)
            .map_err(|e| RpcError::InvalidResponse(format!("gettx raw: {e}")))
    }

    /// `sendrawtx`: broadcasts, returning the txid.
    pub async fn send_raw_tx(&self, raw_hex: &str) -> Result<Txid, RpcError> {
        let txid: String = self.call_as("sendrawtx", vec![json!(raw_hex)]).await?;
        txid.parse()
            .map_err(|_| RpcError::InvalidResponse(format!("sendrawtx returned {txid:?}")))
    }

    /// `decoderawtx`.
    pub async fn decode_raw_tx(&self, raw_hex: &str) -> Result<TxInfo, RpcError> {
        self.call_as("decoderawtx", vec![json!(raw_hex)]).await
    }

    /// `validateaddress`.
    pub async fn validate_address(&self, address: &str) -> Result<AddressValidation, RpcError> {
        self.call_as("validateaddress", vec![json!(address)]).await
    }

    /// `getaddressetp`: ETP balance.
    pub async fn get_address_etp(&self, address: &str) -> Result<EtpBalance, RpcError> {
        self.call_as("getaddressetp", vec![json!(address)]).await
    }

    /// `getaddressetp {"utxo":true}`: spendable plain-ETP outputs.
    pub async fn list_etp_utxos(&self, address: &str) -> Result<Vec<Utxo>, RpcError> {
        let list: UtxoList = self
            .call_as("getaddressetp", vec![json!(address), json!({"utxo": true})])
            .await?;
        Ok(list.utxo)
    }

    /// `getaddressasset`: asset balances, optionally of one symbol.
    pub async fn get_address_asset(
        &self,
        address: &str,
        symbol: Option<&str>,
    ) -> Result<Vec<AssetBalance>, RpcError> {
        let mut options = json!({});
        if let Some(s) = symbol {
            options["symbol"] = json!(s);
        }
        self.call_as("getaddressasset", vec![json!(address), options])
            .await
    }

    /// `getaddressasset {"utxo":true}`: spendable outputs holding `symbol`.
    pub async fn list_asset_utxos(
        &self,
        address: &str,
        symbol: &str,
    ) -> Result<Vec<Utxo>, RpcError> {
        let list: UtxoList = self
            .call_as(
                "getaddressasset",
                vec![json!(address), json!({"symbol": symbol, "utxo": true})],
            )
            .await?;
        Ok(list.utxo)
    }

    /// `getasset`.
    pub async fn get_asset(&self, symbol: &str) -> Result<AssetInfo, RpcError> {
        self.call_as("getasset", vec![json!(symbol)]).await
    }

    /// `getdid`: an avatar by name or by address.
    pub async fn get_did(&self, symbol_or_address: &str) -> Result<DidInfo, RpcError> {
        self.call_as("getdid", vec![json!(symbol_or_address)]).await
    }

    /// Development chain: mine `n` blocks now, returning their hashes.
    pub async fn generate(&self, n: u32) -> Result<Vec<String>, RpcError> {
        self.call_as("generate", vec![json!(n)]).await
    }

    /// Development chain: drop block `hash` and its descendants, returning their transactions to the pool.
    pub async fn invalidate_block(&self, hash: &str) -> Result<(), RpcError> {
        self.call("invalidateblock", vec![json!(hash)])
            .await
            .map(|_| ())
    }
}

fn transport_error(e: reqwest::Error) -> RpcError {
    if e.is_timeout() {
        RpcError::Timeout
    } else {
        RpcError::Transport(e.to_string())
    }
}
