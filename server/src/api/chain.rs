//! Chain services: read transactions and addresses, broadcast a signed transaction.

use app::domain::api_keys::Scope;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use mvs::rpc::RpcError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::ApiKey,
    body::RawJson,
    error::{ApiError, Problem},
    ApiState,
};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_tx))
        .routes(routes!(get_address))
        .routes(routes!(broadcast))
}

fn chain_error(error: RpcError, not_found: &'static str) -> ApiError {
    match error {
        RpcError::Rejected { .. } => ApiError::NotFound(not_found),
        other => {
            tracing::warn!(error = %other, "chain node call failed");
            ApiError::ChainUnavailable
        }
    }
}

/// A transaction as the node reports it.
#[derive(Serialize, ToSchema)]
pub struct ChainTxView {
    pub txid: String,
    /// Block height, 0 while unconfirmed.
    pub height: u64,
    /// Confirmations (0 while unconfirmed).
    pub confirmations: u64,
    #[schema(value_type = Vec<Object>)]
    pub inputs: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub outputs: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AssetBalanceView {
    pub symbol: String,
    pub confirmed: u64,
    pub quantity: u64,
    pub decimals: u8,
}

#[derive(Serialize, ToSchema)]
pub struct AddressView {
    pub address: String,
    /// ETP (in its base units) confirmed at the address.
    pub etp_confirmed: u64,
    pub assets: Vec<AssetBalanceView>,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; `RawJson::fields` reads it.
pub struct BroadcastRequest {
    /// The signed transaction, hex.
    raw_tx: String,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastView {
    pub txid: String,
}

/// A transaction on the MVS chain.
#[utoipa::path(get, path = "/chain/tx/{txid}", tag = "chain", security(("api_key" = ["points:read"])),
    params(("txid" = String, Path, description = "64 hex characters")),
    responses(
        (status = 200, description = "The transaction", body = ChainTxView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown transaction", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The chain node is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn get_tx(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(txid): Path<String>,
) -> Result<Json<ChainTxView>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    let txid: mvs::tx::Txid = txid
        .parse()
        .map_err(|_| ApiError::NotFound("transaction"))?;
    let tx = state
        .chain
        .get_tx(&txid)
        .await
        .map_err(|e| chain_error(e, "transaction"))?;
    let confirmations = if tx.height == 0 {
        0
    } else {
        let tip = state
            .chain
            .get_height()
            .await
            .map_err(|e| chain_error(e, "transaction"))?;
        tip.saturating_sub(tx.height) + 1
    };
    Ok(Json(ChainTxView {
        txid: tx.hash,
        height: tx.height,
        confirmations,
        inputs: tx.inputs,
        outputs: tx.outputs,
    }))
}

/// ETP and MST balances of any address.
#[utoipa::path(get, path = "/chain/addresses/{address}", tag = "chain", security(("api_key" = ["points:read"])),
    params(("address" = String, Path, description = "An MVS address")),
    responses(
        (status = 200, description = "Balances", body = AddressView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an address", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The chain node is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn get_address(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<AddressView>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    mvs::Address::parse_for(&address, state.vault.network())
        .map_err(|_| ApiError::NotFound("address"))?;
    let etp = state
        .chain
        .get_address_etp(&address)
        .await
        .map_err(|e| chain_error(e, "address"))?;
    let assets = state
        .chain
        .get_address_asset(&address, None)
        .await
        .map_err(|e| chain_error(e, "address"))?;
    Ok(Json(AddressView {
        address,
        etp_confirmed: etp.confirmed,
        assets: assets
            .into_iter()
            .map(|a| AssetBalanceView {
                symbol: a.symbol,
                confirmed: a.confirmed,
                quantity: a.quantity,
                decimals: a.decimal_number,
            })
            .collect(),
    }))
}

/// Broadcasts a signed transaction to the MVS network.
#[utoipa::path(post, path = "/chain/broadcast", tag = "chain", security(("api_key" = ["points:write"])),
    request_body = BroadcastRequest,
    responses(
        (status = 202, description = "Accepted by the node", body = BroadcastView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:write", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the node refused the transaction", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The chain node is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn broadcast(
    key: ApiKey,
    State(state): State<ApiState>,
    body: RawJson,
) -> Result<(StatusCode, Json<BroadcastView>), ApiError> {
    key.require_scope(Scope::PointsWrite)?;
    let mut fields = body.fields()?;
    let raw = fields.string("raw_tx", 2, 200_000);
    if let Some(raw) = &raw {
        if hex::decode(raw).is_err() {
            fields.reject("raw_tx", "must be hexadecimal");
        }
    }
    fields.finish(&["raw_tx"])?;
    let Some(raw) = raw else {
        return Err(ApiError::Internal);
    };
    match state.chain.send_raw_tx(&raw).await {
        Ok(txid) => Ok((
            StatusCode::ACCEPTED,
            Json(BroadcastView {
                txid: txid.to_string(),
            }),
        )),
        Err(RpcError::Rejected { message, .. }) => Err(ApiError::ChainRejected(message)),
        Err(other) => {
            tracing::warn!(error = %other, "broadcast failed");
            Err(ApiError::ChainUnavailable)
        }
    }
}
