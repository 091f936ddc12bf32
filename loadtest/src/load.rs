//! Closed-loop load: `concurrency` clients, each sending its next request as soon as the
//! previous one is answered, until `total` requests are done.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use app::domain::db::{Database, Dialect};

/// What one load level measured.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    pub done: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted ascending.
    pub latencies: Vec<Duration>,
    pub first_error: Option<String>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1].as_secs_f64() * 1000.0
    }
}

/// Runs `request(i)` for i in 0..total from `concurrency` tasks. `Err` answers count as errors.
pub async fn closed_loop<F, Fut>(total: usize, concurrency: usize, request: F) -> LoadResult
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let request = request.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = LoadResult::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match request(i).await {
                    Ok(()) => {
                        mine.done += 1;
                        mine.latencies.push(t.elapsed());
                    }
                    Err(e) => {
                        mine.errors += 1;
                        mine.first_error.get_or_insert(e);
                    }
                }
            }
            mine
        }));
    }
    let mut all = LoadResult::default();
    for task in tasks {
        let mine = task.await.expect("load task");
        all.done += mine.done;
        all.errors += mine.errors;
        all.latencies.extend(mine.latencies);
        if all.first_error.is_none() {
            all.first_error = mine.first_error;
        }
    }
    all.elapsed = start.elapsed();
    all.latencies.sort_unstable();
    all
}

/// `POST /api/v1/awards` of 1 point to customers in turn.
pub async fn awards(
    client: reqwest::Client,
    base: String,
    key: String,
    customers: Arc<Vec<String>>,
    total: usize,
    concurrency: usize,
) -> LoadResult {
    let url = Arc::new(format!("{base}/api/v1/awards"));
    let auth = Arc::new(format!("Bearer {key}"));
    closed_loop(total, concurrency, move |i| {
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        let body = serde_json::json!({
            "customer": customers[i % customers.len()],
            "amount": 1,
            "reason": "bench",
        });
        async move {
            let response = client
                .post(url.as_str())
                .header("authorization", auth.as_str())
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let text = response.text().await.map_err(|e| e.to_string())?;
            if status == 202 {
                Ok(())
            } else {
                Err(format!("{status}: {text}"))
            }
        }
    })
    .await
}

/// `GET /healthz` (a constant JSON answer, no database) through every middleware the
/// award passes: what an HTTP exchange with this server costs at this concurrency, the
/// floor under any API call's latency.
pub async fn http_floor(
    client: reqwest::Client,
    base: String,
    total: usize,
    concurrency: usize,
) -> LoadResult {
    let url = Arc::new(format!("{base}/healthz"));
    closed_loop(total, concurrency, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client
                .get(url.as_str())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            response.bytes().await.map_err(|e| e.to_string())?;
            if status == 200 {
                Ok(())
            } else {
                Err(status.to_string())
            }
        }
    })
    .await
}

/// The same number of minimal write transactions straight through sqlx: one single-row
/// INSERT per transaction, from a pool of `pool` connections set up as the server's
/// (`Database::connect`: the same pragmas and pool options).
pub async fn baseline(
    url: &str,
    pool: u32,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<LoadResult> {
    let db = Database::connect(url, pool).await?;
    let ddl = match db.dialect() {
        Dialect::Sqlite => "CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)",
        Dialect::Postgres => "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGSERIAL PRIMARY KEY, v BIGINT NOT NULL)",
    };
    sqlx::query(ddl).execute(db.pool()).await?;
    let result = closed_loop(total, concurrency, {
        let db = db.clone();
        move |i| {
            let db = db.clone();
            async move {
                // sqlx's own transaction, as the issue asks ("straight through sqlx"):
                // `BEGIN IMMEDIATE` on SQLite as any SQLite writer should, but not
                // pointmint's in-process write queue (`Database::write_turn`), which is
                // part of what is measured on the other side.
                let begin = match db.dialect() {
                    Dialect::Sqlite => "BEGIN IMMEDIATE",
                    Dialect::Postgres => "BEGIN",
                };
                let mut tx = db
                    .pool()
                    .begin_with(begin)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query("INSERT INTO bench_baseline (v) VALUES ($1)")
                    .bind(i as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())
            }
        }
    })
    .await;
    sqlx::query("DROP TABLE bench_baseline")
        .execute(db.pool())
        .await?;
    db.close().await;
    Ok(result)
}

/// A page request as a browser sends it; `cookie` empty for a visitor without a session.
fn page_request(client: &reqwest::Client, url: &str, cookie: &str) -> reqwest::RequestBuilder {
    let request = client.get(url).header("accept", "text/html");
    if cookie.is_empty() {
        request
    } else {
        request.header("cookie", cookie)
    }
}

/// Sequential GETs of a page with the session cookie; `Err(status)` when the page does not
/// answer 200 (absent from this build, or a redirect).
pub async fn render(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    total: usize,
) -> anyhow::Result<Result<LoadResult, u16>> {
    let probe = page_request(client, url, cookie).send().await?;
    if probe.status() != 200 {
        return Ok(Err(probe.status().as_u16()));
    }
    let (client, url, cookie) = (client.clone(), url.to_owned(), cookie.to_owned());
    Ok(Ok(closed_loop(total, 1, move |_| {
        let request = page_request(&client, &url, &cookie);
        async move {
            let r = request.send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            r.bytes().await.map_err(|e| e.to_string())?;
            if status == 200 {
                Ok(())
            } else {
                Err(status.to_string())
            }
        }
    })
    .await))
}
