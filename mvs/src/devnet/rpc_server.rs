//! The JSON-RPC endpoint: mvsd's envelope, method subset and error codes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::chain::Chain;
use super::state::{ChainView, Coin};
use super::Devnet;
use crate::address::{Address, AddressKind};
use crate::attachment::AttachmentBody;
use crate::consensus::RuleError;
use crate::encoding::{Decode, Encode};
use crate::hash::Hash256;
use crate::json::{attachment_json, transaction_json};
use crate::network::Network;
use crate::rpc::codes;
use crate::rpc::{
    AddressValidation, AssetBalance, AssetInfo, BlockInfo, DidInfo, EtpBalance, TxInfo, Utxo,
    UtxoList,
};
use crate::tx::{OutPoint, Transaction, Txid};

type Failure = (i64, String);
type Outcome = Result<Value, Failure>;

/// Routes `/rpc/v3` (and `/rpc`, `/rpc/v2`) to the dispatcher.
pub fn router(node: Arc<Devnet>) -> Router {
    Router::new()
        .route("/rpc/v3", post(handle))
        .route("/rpc/v2", post(handle))
        .route("/rpc", post(handle))
        .with_state(node)
}

async fn handle(State(node): State<Arc<Devnet>>, body: Bytes) -> Json<Value> {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(
                json!({"jsonrpc": "3.0", "id": null, "error": {"code": codes::PARSE_ERROR, "message": e.to_string()}}),
            )
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let version = request.get("jsonrpc").and_then(Value::as_str).unwrap_or("");
    let outcome = if version != "2.0" && version != "3.0" {
        Err((
            codes::INVALID_REQUEST,
            "jsonrpc must be \"2.0\" or \"3.0\"".to_string(),
        ))
    } else {
        match request.get("method").and_then(Value::as_str) {
            None => Err((codes::INVALID_REQUEST, "missing method".to_string())),
            Some(method) => {
                let params = match request.get("params") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(_) => {
                        return Json(
                            json!({"jsonrpc": version, "id": id, "error": {"code": codes::INVALID_PARAMS, "message": "params must be an array"}}),
                        )
                    }
                };
                // Validation and block production are CPU-bound: keep them off the async workers.
                let node = node.clone();
                let method = method.to_string();
                tokio::task::spawn_blocking(move || dispatch(&node, &method, &params))
                    .await
                    .unwrap_or_else(|e| Err((codes::INTERNAL_ERROR, e.to_string())))
            }
        }
    };
    Json(match outcome {
        Ok(result) => json!({"jsonrpc": version, "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": version, "id": id, "error": {"code": code, "message": message}})
        }
    })
}

fn dispatch(node: &Devnet, method: &str, params: &[Value]) -> Outcome {
    match method {
        "getheight" => Ok(json!(node.height())),
        "getblock" => node.with_chain(|c| get_block(c, params)),
        "gettx" | "gettransaction" => node.with_chain(|c| get_tx(c, params)),
        "sendrawtx" => send_raw_tx(node, params),
        "decoderawtx" => decode_raw_tx(node.network(), params),
        "validateaddress" => validate_address(node.network(), params),
        "getaddressetp" => node.with_chain(|c| get_address_etp(c, params)),
        "getaddressasset" => node.with_chain(|c| get_address_asset(c, params)),
        "getasset" => node.with_chain(|c| get_asset(c, params)),
        "getdid" => node.with_chain(|c| get_did(c, params)),
        "generate" => {
            let n = params.first().and_then(Value::as_u64).unwrap_or(1);
            if n == 0 || n > 10_000 {
                return Err((
                    codes::BAD_PARAMS,
                    "generate takes a block count of 1..=10000".into(),
                ));
            }
            let hashes = node
                .generate(n as u32)
                .map_err(|e| (codes::INTERNAL_ERROR, e.to_string()))?;
            Ok(json!(hashes
                .iter()
                .map(Hash256::to_string)
                .collect::<Vec<_>>()))
        }
        "invalidateblock" => {
            let hash = parse_hash(string_param(params, 0, "block hash")?)?;
            node.invalidate_block(&hash)
                .map_err(|e| (codes::BAD_PARAMS, e.to_string()))?;
            Ok(Value::Null)
        }
        _ => Err((
            codes::METHOD_NOT_FOUND,
            format!("method {method} not found"),
        )),
    }
}

fn string_param<'a>(params: &'a [Value], i: usize, what: &str) -> Result<&'a str, Failure> {
    params
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| (codes::BAD_PARAMS, format!("missing parameter: {what}")))
}

/// The options object among the parameters (`{"json":true}` and friends).
fn options(params: &[Value]) -> &serde_json::Map<String, Value> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    params
        .iter()
        .find_map(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Default::default))
}

fn flag(params: &[Value], name: &str, default: bool) -> bool {
    options(params)
        .get(name)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

fn parse_hash(s: &str) -> Result<Hash256, Failure> {
    s.parse()
        .map_err(|_| (codes::BAD_PARAMS, format!("invalid hash {s:?}")))
}

fn parse_address(s: &str, network: Network) -> Result<Address, Failure> {
    Address::parse_for(s, network)
        .map_err(|e| (codes::BAD_ADDRESS, format!("invalid address {s}: {e}")))
}

fn tx_info(tx: &Transaction, txid: Txid, height: u64, network: Network) -> TxInfo {
    let v = transaction_json(tx, network);
    TxInfo {
        hash: txid.to_string(),
        height,
        version: tx.version,
        inputs: v["inputs"].as_array().cloned().unwrap_or_default(),
        outputs: v["outputs"].as_array().cloned().unwrap_or_default(),
        lock_time: tx.lock_time,
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Outcome {
    serde_json::to_value(v).map_err(|e| (codes::INTERNAL_ERROR, e.to_string()))
}

fn get_block(chain: &Chain, params: &[Value]) -> Outcome {
    let key = params.first().ok_or((
        codes::BAD_PARAMS,
        "missing parameter: block hash or height".to_string(),
    ))?;
    let height = match key {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.len() == 64 => chain.height_of(&parse_hash(s)?),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let (block, hash) = height
        .and_then(|h| chain.block_at(h))
        .ok_or((codes::BAD_PARAMS, format!("block {key} not found")))?;
    if !flag(params, "json", true) {
        return Ok(json!(hex::encode(block.encode())));
    }
    let with_txs = flag(params, "tx_json", true);
    let network = chain.network();
    let transactions = if with_txs {
        block
            .transactions
            .iter()
            .map(|tx| tx_info(tx, tx.txid(), block.header.number, network))
            .collect()
    } else {
        Vec::new()
    };
    let mut v = to_value(BlockInfo {
        hash: hash.to_string(),
        number: block.header.number,
        previous_block_hash: block.header.previous_block_hash.to_string(),
        merkle_tree_hash: block.header.merkle_tree_hash.to_string(),
        timestamp: block.header.timestamp,
        version: block.header.version,
        bits: block.header.bits.to_string(),
        nonce: block.header.nonce.to_string(),
        transaction_count: block.transactions.len() as u64,
        transactions,
    })?;
    if !with_txs {
        v["transactions"] = json!(block
            .transactions
            .iter()
            .map(|t| t.txid().to_string())
            .collect::<Vec<_>>());
    }
    Ok(v)
}

fn get_tx(chain: &Chain, params: &[Value]) -> Outcome {
    let txid = parse_hash(string_param(params, 0, "txid")?)?;
    let (tx, height) = chain
        .find_tx(&txid)
        .ok_or((codes::TX_NOT_FOUND, format!("transaction {txid} not found")))?;
    if !flag(params, "json", true) {
        return Ok(json!(tx.encode_hex()));
    }
    to_value(tx_info(tx, txid, height, chain.network()))
}

fn rule_failure(e: &RuleError) -> Failure {
    let code = match e {
        RuleError::AssetExists(_) => codes::SYMBOL_EXISTS,
        RuleError::BadSymbol { .. } => codes::BAD_SYMBOL,
        RuleError::BadAvatarName { .. } => codes::BAD_AVATAR_NAME,
        RuleError::AvatarNotFound(_) => codes::AVATAR_NOT_FOUND,
        RuleError::AvatarExists(_) | RuleError::AddressHasAvatar(_) => codes::AVATAR_EXISTS,
        _ => codes::TX_VALIDATE_FAILED,
    };
    (code, format!("validate transaction failure: {e}"))
}

fn send_raw_tx(node: &Devnet, params: &[Value]) -> Outcome {
    let raw = string_param(params, 0, "raw transaction hex")?;
    let tx = Transaction::decode_hex(raw)
        .map_err(|e| (codes::BAD_PARAMS, format!("invalid transaction: {e}")))?;
    let txid = node.submit(tx).map_err(|e| rule_failure(&e))?;
    Ok(json!(txid.to_string()))
}

fn decode_raw_tx(network: Network, params: &[Value]) -> Outcome {
    let raw = string_param(params, 0, "raw transaction hex")?;
    let tx = Transaction::decode_hex(raw)
        .map_err(|e| (codes::BAD_PARAMS, format!("invalid transaction: {e}")))?;
    to_value(tx_info(&tx, tx.txid(), 0, network))
}

fn validate_address(network: Network, params: &[Value]) -> Outcome {
    let s = string_param(params, 0, "address")?;
    let v = match Address::parse_for(s, network) {
        Ok(a) => AddressValidation {
            address_type: match a.kind() {
                AddressKind::P2pkh => "p2pkh".into(),
                AddressKind::P2sh => "p2sh".into(),
            },
            is_valid: true,
            testnet: network == Network::Testnet,
            message: "valid address".into(),
        },
        Err(e) => AddressValidation {
            address_type: "unknown".into(),
            is_valid: false,
            testnet: network == Network::Testnet,
            message: e.to_string(),
        },
    };
    to_value(v)
}

/// Unspent outputs of `address` as pending transactions leave them: confirmed outputs not
/// spent by the pool, then outputs created by the pool (height 0).
fn spendable_coins<'a>(chain: &'a Chain, address: &Address) -> Vec<(OutPoint, &'a Coin)> {
    let view = chain.pending_view();
    let overlay = chain.mempool().overlay();
    let mut coins: Vec<(OutPoint, &Coin)> = chain
        .ledger()
        .outpoints_of(address)
        .filter(|op| !overlay.spent.contains(op))
        .filter_map(|op| view.ledger.coin(op).map(|c| (*op, c)))
        .collect();
    let script = address.script_pubkey();
    coins.extend(
        overlay
            .created
            .iter()
            .filter(|(_, c)| c.output.script_pubkey == script)
            .map(|(op, c)| (*op, c)),
    );
    coins.sort_by_key(|(op, c)| (c.height == 0, c.height, *op));
    coins
}

fn confirmed_coins<'a>(chain: &'a Chain, address: &Address) -> impl Iterator<Item = &'a Coin> {
    chain
        .ledger()
        .outpoints_of(address)
        .filter_map(|op| chain.ledger().coin(op))
}

fn utxo_json(op: &OutPoint, coin: &Coin, address: &Address) -> Utxo {
    Utxo {
        txid: op.txid.to_string(),
        index: op.index,
        value: coin.output.value,
        height: coin.height,
        address: address.to_string(),
        attachment: attachment_json(&coin.output),
    }
}

fn get_address_etp(chain: &Chain, params: &[Value]) -> Outcome {
    let address = parse_address(string_param(params, 0, "address")?, chain.network())?;
    let is_etp = |c: &Coin| c.output.attachment.body == AttachmentBody::Etp;
    if flag(params, "utxo", false) {
        let utxo = spendable_coins(chain, &address)
            .into_iter()
            .filter(|(_, c)| is_etp(c))
            .map(|(op, c)| utxo_json(&op, c, &address))
            .collect();
        return to_value(UtxoList { utxo });
    }
    // Balances count the ETP value of every output (asset outputs normally carry 0).
    let confirmed = confirmed_coins(chain, &address)
        .map(|c| c.output.value)
        .sum();
    let unspent = spendable_coins(chain, &address)
        .iter()
        .map(|(_, c)| c.output.value)
        .sum();
    to_value(EtpBalance {
        address: address.to_string(),
        confirmed,
        unspent,
        frozen: 0,
    })
}

fn get_address_asset(chain: &Chain, params: &[Value]) -> Outcome {
    let address = parse_address(string_param(params, 0, "address")?, chain.network())?;
    let symbol = options(params)
        .get("symbol")
        .and_then(Value::as_str)
        .map(str::to_string);
    let wanted = |c: &Coin| {
        c.output
            .attachment
            .asset_symbol()
            .is_some_and(|s| symbol.as_deref().is_none_or(|w| w == s))
    };
    let spendable = spendable_coins(chain, &address);
    if flag(params, "utxo", false) {
        let utxo = spendable
            .into_iter()
            .filter(|(_, c)| wanted(c))
            .map(|(op, c)| utxo_json(&op, c, &address))
            .collect();
        return to_value(UtxoList { utxo });
    }
    let mut balances: std::collections::BTreeMap<String, AssetBalance> = Default::default();
    let view = chain.pending_view();
    let entry = |s: &str| -> AssetBalance {
        AssetBalance {
            symbol: s.to_string(),
            address: address.to_string(),
            confirmed: 0,
            quantity: 0,
            decimal_number: view.asset(s).map(|a| a.detail.decimal_number).unwrap_or(0),
        }
    };
    for c in confirmed_coins(chain, &address).filter(|c| wanted(c)) {
        let s = c.output.attachment.asset_symbol().expect("filtered");
        let b = balances.entry(s.to_string()).or_insert_with(|| entry(s));
        b.confirmed += c.output.attachment.asset_quantity();
    }
    for (_, c) in spendable.iter().filter(|(_, c)| wanted(c)) {
        let s = c.output.attachment.asset_symbol().expect("filtered");
        let b = balances.entry(s.to_string()).or_insert_with(|| entry(s));
        b.quantity += c.output.attachment.asset_quantity();
    }
    to_value(balances.into_values().collect::<Vec<_>>())
}

fn get_asset(chain: &Chain, params: &[Value]) -> Outcome {
    let symbol = string_param(params, 0, "symbol")?;
    let record = chain.pending_view().asset(symbol).cloned().ok_or((
        codes::ASSET_NOT_FOUND,
        format!("asset {symbol} does not exist"),
    ))?;
    let d = record.detail;
    to_value(AssetInfo {
        symbol: d.symbol,
        maximum_supply: d.max_supply,
        decimal_number: d.decimal_number,
        secondaryissue_threshold: d.secondaryissue_threshold,
        issuer: d.issuer,
        address: d.address,
        description: d.description,
        hash: record.txid.to_string(),
        height: record.height,
    })
}

fn get_did(chain: &Chain, params: &[Value]) -> Outcome {
    let key = string_param(params, 0, "avatar or address")?;
    let view = chain.pending_view();
    let lower = key.to_ascii_lowercase();
    let name = match view.avatar_of_address(key) {
        Some(name) => name.to_string(),
        None => lower,
    };
    let record = view.avatar(&name).ok_or((
        codes::AVATAR_NOT_FOUND,
        format!("avatar {key} does not exist"),
    ))?;
    to_value(DidInfo {
        symbol: record.symbol.clone(),
        address: record.address.clone(),
        hash: record.outpoint.txid.to_string(),
        height: record.height,
    })
}
