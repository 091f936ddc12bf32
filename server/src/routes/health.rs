//! Liveness and readiness probes.

use std::time::Duration;

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;

use crate::startup::AppState;

/// How long a readiness check waits for each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is up and answering.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    status: &'static str,
    checks: Checks,
}

#[derive(Debug, Serialize)]
struct Checks {
    database: Check,
    chain: Check,
}

#[derive(Debug, Serialize)]
struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl Check {
    fn passed(detail: Option<String>) -> Self {
        Self { ok: true, detail }
    }
    fn failed(detail: &str) -> Self {
        Self {
            ok: false,
            detail: Some(detail.to_owned()),
        }
    }
}

/// `GET /readyz`: the database and the chain node both answer (200), or not (503).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (database, chain) = tokio::join!(check_database(&state), check_chain(&state));
    let ready = database.ok && chain.ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks: Checks { database, chain },
    };
    (status, Json(body))
}

async fn check_database(state: &AppState) -> Check {
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Check::passed(Some(state.db.dialect().name().to_owned())),
        Ok(Err(error)) => {
            // The reason goes to the log; the probe answer stays free of connection details.
            tracing::warn!(%error, "readiness: database unreachable");
            Check::failed("database unreachable")
        }
        Err(_) => Check::failed("database timed out"),
    }
}

async fn check_chain(state: &AppState) -> Check {
    match tokio::time::timeout(CHECK_TIMEOUT, state.chain.get_height()).await {
        Ok(Ok(height)) => {
            state.metrics.chain_height.set(height as i64);
            Check::passed(Some(format!("height {height}")))
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: chain node unreachable");
            Check::failed("chain node unreachable")
        }
        Err(_) => Check::failed("chain node timed out"),
    }
}
