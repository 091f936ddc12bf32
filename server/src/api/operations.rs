//! Ledger operations: `POST /awards`, `POST /redemptions`, `POST /transfers`,
//! `GET /operations/{id}`, `GET /operations`.

use app::domain::{
    api_keys::Scope,
    idempotency::IdempotencyKey,
    ledger::{
        customers::{self, StoreCustomer},
        operation::COLUMNS,
        presumed::Presumed,
        submit::{Destination, NewOperation},
        Amount, Operation, OperationKind,
    },
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::{ApiKey, Bearer},
    body::{Fields, RawJson},
    error::{ApiError, Problem},
    idempotent::{self, Written},
    lookups::Lookup,
    point_system_refs::PointSystemRef,
    views::{OperationPage, OperationView},
    ApiState,
};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_award))
        .routes(routes!(create_redemption))
        .routes(routes!(create_transfer))
        .routes(routes!(get_operation))
        .routes(routes!(list_operations))
}

/// Award points from the store's treasury to a customer (e.g. when an order is paid).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the body; `RawJson::fields` reads it.
pub struct AwardRequest {
    /// The store's id of the customer (create it first with `PUT /customers/{external_id}`).
    #[schema(example = "cust-1001")]
    customer: String,
    /// Base units: a JSON integer, 1 ..= 2^53-1.
    #[schema(example = 150)]
    amount: u64,
    #[schema(example = "order 1001 paid")]
    reason: Option<String>,
}

/// Redeem a customer's points back to the store's treasury (e.g. at checkout).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RedemptionRequest {
    #[schema(example = "cust-1001")]
    customer: String,
    #[schema(example = 100)]
    amount: u64,
    #[schema(example = "order 1002 discount")]
    reason: Option<String>,
}

/// Move a customer's points to another customer of the store or to an MVS address.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TransferRequest {
    #[schema(example = "cust-1001")]
    from_customer: String,
    /// Another customer of the store; give this or `to_address`.
    #[schema(example = "cust-1002")]
    to_customer: Option<String>,
    /// Any MVS address; give this or `to_customer`.
    to_address: Option<String>,
    #[schema(example = 25)]
    amount: u64,
    reason: Option<String>,
}

async fn point_system(state: &ApiState, store_id: i64) -> Result<PointSystemRef, ApiError> {
    state
        .point_systems
        .of_store(&state.db, store_id)
        .await?
        .ok_or(ApiError::Conflict {
            code: "point_system_not_ready",
            detail: "this store has no point system yet".into(),
        })
}

/// Looks a customer up for a body field; an unknown one is a field error.
async fn customer(
    state: &ApiState,
    store_id: i64,
    field: &str,
    external_id: &str,
) -> Result<StoreCustomer, ApiError> {
    customers::fetch(&state.db, store_id, external_id)
        .await?
        .ok_or_else(|| unknown_customer(field))
}

/// The checks every write endpoint starts with, in the order clients see them: the key
/// (401), its scope (403), then the body (422). The key and the customer the body names
/// come from the process when it knows them (`lookup`), else from ONE query
/// (`Bearer::key_and_customer`); the customer is `None` when the store has none by that id
/// (the caller refuses it after the point-system check). The [`Presumed`] goes with the
/// write, which checks it again.
async fn authorize_write<T>(
    state: &ApiState,
    bearer: &Bearer,
    body: Result<RawJson, ApiError>,
    lookup: Lookup,
    parse: impl FnOnce(&RawJson) -> Result<T, ApiError>,
    customer_of: impl FnOnce(&T) -> &str,
) -> Result<Authorized<T>, ApiError> {
    let (body, fields) = match body.and_then(|body| parse(&body).map(|fields| (body, fields))) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            bearer.key(state).await?.require_scope(Scope::PointsWrite)?;
            return Err(refusal);
        }
    };
    let (key, customer) = bearer
        .key_and_customer(state, customer_of(&fields), lookup)
        .await?;
    key.require_scope(Scope::PointsWrite)?;
    tracing::Span::current().record("store", key.store_id);
    let presumed = Bearer::presumed(&key, customer.as_ref());
    Ok(Authorized {
        key,
        body,
        fields,
        customer,
        presumed,
    })
}

/// A write request that passed [`authorize_write`].
struct Authorized<T> {
    key: ApiKey,
    body: RawJson,
    fields: T,
    customer: Option<StoreCustomer>,
    presumed: Presumed,
}

/// Runs a write endpoint with the look-ups the process knows, and once more with fresh
/// ones when its write found one of them stale (`ApiError::Stale`: a key revoked or a
/// customer id pointed elsewhere since it was remembered). A second stale answer is the
/// client's (409): the change raced the request.
async fn with_fresh_retry<Fut>(
    body: Result<RawJson, ApiError>,
    write: impl Fn(Result<RawJson, ApiError>, Lookup) -> Fut,
) -> Result<Response, ApiError>
where
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    let again = body.as_ref().ok().cloned();
    match (write(body, Lookup::Cached).await, again) {
        (Err(ApiError::Stale), Some(body)) => write(Ok(body), Lookup::Fresh).await,
        (answer, _) => answer,
    }
}

/// A customer the body named but the store does not know.
fn unknown_customer(field: &str) -> ApiError {
    ApiError::field(
        field,
        "no customer with this id in the store; create it with PUT /customers/{external_id}",
    )
}

/// Reads `customer`, `amount` and `reason`.
fn customer_amount_reason(body: &RawJson) -> Result<(String, Amount, Option<String>), ApiError> {
    let mut fields: Fields = body.fields()?;
    let customer = fields.string("customer", 1, 128);
    let amount = fields.amount("amount");
    let reason = fields.opt_string("reason", 1, 500);
    fields.finish(&["customer", "amount", "reason"])?;
    match (customer, amount) {
        (Some(customer), Some(amount)) => Ok((customer, amount, reason)),
        _ => Err(ApiError::Internal),
    }
}

/// The ledger keeps the API's key too, so concurrent first attempts make one operation.
fn ledger_key(idem: Option<IdempotencyKey>) -> Option<String> {
    idem.map(|k| format!("api:{}", k.as_str()))
}

/// What a write endpoint asks of the ledger; the key adds who asked and the idempotency key.
struct Draft {
    point_system_id: i64,
    kind: OperationKind,
    amount: Amount,
    from_key_id: i64,
    to: Destination,
    reason: Option<String>,
}

/// Queues `draft` under the request's Idempotency-Key and answers 202 with the operation.
async fn queue(
    state: &ApiState,
    key: &ApiKey,
    presumed: Presumed,
    headers: &HeaderMap,
    route: &str,
    body: &RawJson,
    draft: Draft,
) -> Result<Response, ApiError> {
    idempotent::run(state, key, headers, route, &body.0, |idem| async move {
        let request = NewOperation {
            point_system_id: draft.point_system_id,
            kind: draft.kind,
            amount: draft.amount,
            from_key_id: draft.from_key_id,
            to: draft.to,
            actor: key.actor(),
            reason: draft.reason,
            idempotency_key: ledger_key(idem),
        };
        let submitted = state.ledger.submit_presuming(request, presumed).await?;
        Written::new(
            StatusCode::ACCEPTED,
            &OperationView::from(submitted.operation().clone()),
        )
    })
    .await
}

/// Awards points to a customer. The operation is queued for the chain (202).
#[utoipa::path(post, path = "/awards", tag = "operations", security(("api_key" = ["points:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key + same body = same answer for 24 h")),
    request_body = AwardRequest,
    responses(
        (status = 202, description = "Queued", body = OperationView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough points in the treasury, or no confirmed point system", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a reused Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = tracing::field::Empty))]
async fn create_award(
    bearer: Bearer,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<RawJson, ApiError>,
) -> Result<Response, ApiError> {
    with_fresh_retry(body, |body, lookup| {
        with_treasury(
            &state,
            &bearer,
            &headers,
            body,
            lookup,
            OperationKind::Award,
        )
    })
    .await
}

/// An award (treasury to customer) or a redemption (customer to treasury): the same
/// body and checks, opposite directions.
async fn with_treasury(
    state: &ApiState,
    bearer: &Bearer,
    headers: &HeaderMap,
    body: Result<RawJson, ApiError>,
    lookup: Lookup,
    kind: OperationKind,
) -> Result<Response, ApiError> {
    let Authorized {
        key,
        body,
        fields: (_, amount, reason),
        customer,
        presumed,
    } = authorize_write(state, bearer, body, lookup, customer_amount_reason, |f| {
        &f.0
    })
    .await?;
    let ps = point_system(state, key.store_id).await?;
    let customer = customer.ok_or_else(|| unknown_customer("customer"))?;
    let customer_key = customer.key_id;
    let customer = Destination::Custodial {
        key_id: customer.key_id,
        address: customer.address,
    };
    let treasury = Destination::Custodial {
        key_id: ps.treasury_key_id,
        address: ps.treasury_address,
    };
    let (from_key_id, to, route) = if kind == OperationKind::Award {
        (ps.treasury_key_id, customer, "POST /awards")
    } else {
        (customer_key, treasury, "POST /redemptions")
    };
    let draft = Draft {
        point_system_id: ps.id,
        kind,
        amount,
        from_key_id,
        to,
        reason,
    };
    queue(state, &key, presumed, headers, route, &body, draft).await
}

/// Redeems a customer's points to the store's treasury (202).
#[utoipa::path(post, path = "/redemptions", tag = "operations", security(("api_key" = ["points:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key + same body = same answer for 24 h")),
    request_body = RedemptionRequest,
    responses(
        (status = 202, description = "Queued", body = OperationView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough points available", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a reused Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = tracing::field::Empty))]
async fn create_redemption(
    bearer: Bearer,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<RawJson, ApiError>,
) -> Result<Response, ApiError> {
    with_fresh_retry(body, |body, lookup| {
        with_treasury(
            &state,
            &bearer,
            &headers,
            body,
            lookup,
            OperationKind::Redeem,
        )
    })
    .await
}

/// What a transfer body says: from, to (a customer or an address), amount, reason.
struct TransferFields {
    from: String,
    to_customer: Option<String>,
    to_address: Option<String>,
    amount: Amount,
    reason: Option<String>,
}

fn transfer_fields(body: &RawJson, network: mvs::Network) -> Result<TransferFields, ApiError> {
    let mut fields = body.fields()?;
    let from = fields.string("from_customer", 1, 128);
    let to_customer = fields.opt_string("to_customer", 1, 128);
    let to_address = fields.opt_string("to_address", 1, 64);
    let amount = fields.amount("amount");
    let reason = fields.opt_string("reason", 1, 500);
    if to_customer.is_some() == to_address.is_some() {
        fields.reject(
            "to_customer",
            "give exactly one of to_customer and to_address",
        );
    }
    if let Some(address) = &to_address {
        if mvs::Address::parse_for(address, network).is_err() {
            fields.reject("to_address", "is not an MVS address of this network");
        }
    }
    fields.finish(&[
        "from_customer",
        "to_customer",
        "to_address",
        "amount",
        "reason",
    ])?;
    let (Some(from), Some(amount)) = (from, amount) else {
        return Err(ApiError::Internal);
    };
    Ok(TransferFields {
        from,
        to_customer,
        to_address,
        amount,
        reason,
    })
}

/// Transfers a customer's points to another customer or an MVS address (202).
#[utoipa::path(post, path = "/transfers", tag = "operations", security(("api_key" = ["points:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key + same body = same answer for 24 h")),
    request_body = TransferRequest,
    responses(
        (status = 202, description = "Queued", body = OperationView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:write", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough points available", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a reused Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = tracing::field::Empty))]
async fn create_transfer(
    bearer: Bearer,
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<RawJson, ApiError>,
) -> Result<Response, ApiError> {
    with_fresh_retry(body, |body, lookup| {
        transfer(&state, &bearer, &headers, body, lookup)
    })
    .await
}

async fn transfer(
    state: &ApiState,
    bearer: &Bearer,
    headers: &HeaderMap,
    body: Result<RawJson, ApiError>,
    lookup: Lookup,
) -> Result<Response, ApiError> {
    let network = state.vault.network();
    let Authorized {
        key,
        body,
        fields,
        customer: from,
        presumed,
    } = authorize_write(
        state,
        bearer,
        body,
        lookup,
        |body| transfer_fields(body, network),
        |f| &f.from,
    )
    .await?;
    let TransferFields {
        to_customer,
        to_address,
        amount,
        reason,
        ..
    } = fields;
    let ps = point_system(state, key.store_id).await?;
    let from = from.ok_or_else(|| unknown_customer("from_customer"))?;
    let to = match (to_customer, to_address) {
        (Some(id), _) => {
            let to = customer(state, key.store_id, "to_customer", &id).await?;
            Destination::Custodial {
                key_id: to.key_id,
                address: to.address,
            }
        }
        (None, Some(address)) => Destination::External {
            address,
            avatar: None,
        },
        (None, None) => return Err(ApiError::Internal),
    };
    let draft = Draft {
        point_system_id: ps.id,
        kind: OperationKind::Transfer,
        amount,
        from_key_id: from.key_id,
        to,
        reason,
    };
    queue(
        state,
        &key,
        presumed,
        headers,
        "POST /transfers",
        &body,
        draft,
    )
    .await
}

/// An operation of this store: state, txid, block height.
#[utoipa::path(get, path = "/operations/{id}", tag = "operations", security(("api_key" = ["points:read"])),
    params(("id" = i64, Path, description = "Operation id")),
    responses(
        (status = 200, description = "The operation", body = OperationView),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operation in this store", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn get_operation(
    key: ApiKey,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<OperationView>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound("operation"))?;
    let ps = state
        .point_systems
        .of_store(&state.db, key.store_id)
        .await?
        .ok_or(ApiError::NotFound("operation"))?;
    Ok(Json(Operation::fetch(&state.db, ps.id, id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only operations from or to this customer (the store's id).
    customer: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<i64>,
}

/// The store's operations, newest first, a page at a time.
#[utoipa::path(get, path = "/operations", tag = "operations", security(("api_key" = ["points:read"])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of operations", body = OperationPage),
        (status = 401, description = "Missing or revoked key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks points:read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(store = key.store_id))]
async fn list_operations(
    key: ApiKey,
    State(state): State<ApiState>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<OperationPage>, ApiError> {
    key.require_scope(Scope::PointsRead)?;
    let query = ListQuery {
        customer: query.get("customer").cloned(),
        cursor: query.get("cursor").cloned(),
        limit: match query.get("limit") {
            None => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|_| ApiError::field("limit", "must be an integer from 1 to 100"))?,
            ),
        },
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be an integer from 1 to 100"));
    }
    let before = match &query.cursor {
        None => i64::MAX,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor from a previous page"))?,
    };
    let Some(ps) = state
        .point_systems
        .of_store(&state.db, key.store_id)
        .await?
    else {
        return Ok(Json(OperationPage {
            data: Vec::new(),
            next_cursor: None,
        }));
    };
    let customer_key = match &query.customer {
        None => None,
        Some(id) => Some(
            customers::fetch(&state.db, key.store_id, id)
                .await?
                .ok_or(ApiError::NotFound("customer"))?
                .key_id,
        ),
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM operations WHERE point_system_id = $1 AND id < $2 \
           AND ($3 IS NULL OR from_key_id = $3 OR to_key_id = $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(ps.id)
    .bind(before)
    .bind(customer_key)
    .bind(limit + 1)
    .fetch_all(state.db.pool())
    .await?;
    let mut data: Vec<OperationView> = rows
        .iter()
        .map(|r| Operation::from_row(r).map(Into::into))
        .collect::<Result<_, _>>()?;
    let next_cursor = if data.len() as i64 > limit {
        data.truncate(limit as usize);
        data.last().map(|op| op.id.to_string())
    } else {
        None
    };
    Ok(Json(OperationPage { data, next_cursor }))
}
