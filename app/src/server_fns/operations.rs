//! A store's operations: the filtered list on the dashboard and the same rows as CSV.
//! Any member of the store may read them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    errors::AppError,
    models::{OperatorView, StoreSummary},
};

#[cfg(feature = "ssr")]
use crate::{
    domain::{
        context::ServerContext,
        db::Database,
        membership::require_member,
        store_settings::{self, PlatformPolicy},
    },
    models::Role,
    server_fns::{auth, respond::answer},
};

/// Most rows the page shows (the CSV export has a higher limit).
pub const PAGE_LIMIT: i64 = 200;
/// Most rows one CSV export holds.
pub const CSV_LIMIT: i64 = 100_000;
/// Kinds and states a filter may name.
pub const KINDS: [&str; 7] = [
    "award",
    "redeem",
    "transfer",
    "adjust",
    "withdraw",
    "deposit",
    "secondary_issue",
];
pub const STATES: [&str; 5] = ["queued", "signed", "broadcast", "confirmed", "failed"];

/// One operation in the store's list, with customers named by their id in the shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRow {
    pub id: i64,
    pub created_at: i64,
    pub kind: String,
    pub amount: u64,
    /// The customer's id in the shop, `treasury`, or an address.
    pub from: String,
    pub to: String,
    pub state: String,
    pub txid: Option<String>,
    pub height: Option<i64>,
    pub reason: Option<String>,
    pub error: Option<String>,
    /// For a broadcast operation already in a block: its depth so far (the page fills it in).
    pub confirmations: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationsPageView {
    pub me: OperatorView,
    pub store: StoreSummary,
    pub rows: Vec<OperationRow>,
    /// The store's confirmation depth (its own, else the platform's): the N of n/N.
    pub required_confirmations: u64,
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (what `<input type="date">` sends); `None`
/// for anything else, which the list treats like no date filter.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Keeps a date filter only if it is a valid `YYYY-MM-DD`.
pub fn known_date(text: &str) -> String {
    match parse_date(text) {
        Some(_) => text.trim().to_owned(),
        None => String::new(),
    }
}

/// Keeps a filter only if it names a known kind or state.
pub fn known(filter: &str, allowed: &[&str]) -> String {
    let filter = filter.trim();
    if allowed.contains(&filter) {
        filter.to_owned()
    } else {
        String::new()
    }
}

/// The store's operations, newest first, filtered by kind, state and creation date (UTC
/// days `from` to `to`, both included; empty or invalid: any).
#[cfg(feature = "ssr")]
pub async fn query_operations(
    db: &Database,
    store_id: i64,
    kind: &str,
    state: &str,
    from: &str,
    to: &str,
    limit: i64,
) -> Result<Vec<OperationRow>, AppError> {
    use crate::domain::db::bound_sql::BoundSql;
    use sqlx::Row;
    let kind = known(kind, &KINDS);
    let state = known(state, &STATES);
    // Only the filters that are set go into the statement: a condition that holds for
    // every row (`$2 = '' OR kind = $2`, a date range from i64::MIN to i64::MAX) still
    // lowers PostgreSQL's row estimate, and on a table that grew since its statistics
    // were taken it then sorted every operation of the store (58 ms at 66,000) instead of
    // walking the index (point_system_id, id) backwards (0.2 ms).
    // Bound in the order the placeholders appear (SQLite's are anonymous).
    let mut sql = BoundSql::new(db.dialect());
    let store = sql.bind(store_id);
    let mut filters = String::new();
    if !kind.is_empty() {
        filters.push_str(&format!(" AND kind = {}", sql.bind(kind)));
    }
    if !state.is_empty() {
        filters.push_str(&format!(" AND state = {}", sql.bind(state)));
    }
    if let Some(day) = parse_date(from) {
        filters.push_str(&format!(" AND created_at >= {}", sql.bind(day * 86_400)));
    }
    if let Some(day) = parse_date(to) {
        filters.push_str(&format!(
            " AND created_at < {}",
            sql.bind((day + 1) * 86_400)
        ));
    }
    let limit = sql.bind(limit);
    // The page first (newest operations of the store's point system), then the customers'
    // names of just those rows: PostgreSQL joined every operation of the store before
    // sorting and cutting.
    sql.push(&format!(
        "SELECT o.id, o.created_at, o.kind, o.amount, o.from_key_id, fsc.external_id, o.to_key_id, tsc.external_id, \
           o.to_address, o.state, o.txid, o.height, o.reason, o.error, p.treasury_key_id \
         FROM (SELECT * FROM operations \
               WHERE point_system_id = (SELECT id FROM point_systems WHERE store_id = {store}){filters} \
               ORDER BY id DESC LIMIT {limit}) o \
         JOIN point_systems p ON p.id = o.point_system_id \
         LEFT JOIN customers fc ON fc.key_id = o.from_key_id \
         LEFT JOIN store_customers fsc ON fsc.customer_id = fc.id AND fsc.store_id = p.store_id \
         LEFT JOIN customers tc ON tc.key_id = o.to_key_id \
         LEFT JOIN store_customers tsc ON tsc.customer_id = tc.id AND tsc.store_id = p.store_id \
         ORDER BY o.id DESC"
    ));
    let rows = sql.query().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let treasury: i64 = r.try_get(14)?;
            let name = |key: Option<i64>, external: Option<String>, fallback: String| match (
                key, external,
            ) {
                (Some(k), _) if k == treasury => "treasury".to_owned(),
                (_, Some(external)) => external,
                _ => fallback,
            };
            let to_address: String = r.try_get(8)?;
            Ok(OperationRow {
                id: r.try_get(0)?,
                created_at: r.try_get(1)?,
                kind: r.try_get(2)?,
                amount: r.try_get::<i64, _>(3)? as u64,
                from: name(r.try_get(4)?, r.try_get(5)?, "outside".to_owned()),
                to: name(r.try_get(6)?, r.try_get(7)?, to_address),
                state: r.try_get(9)?,
                txid: r.try_get(10)?,
                height: r.try_get(11)?,
                reason: r.try_get(12)?,
                error: r.try_get(13)?,
                confirmations: None,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Fills in the depth of the newest broadcast operations that are in a block.
#[cfg(feature = "ssr")]
async fn add_depths(rows: &mut [OperationRow]) {
    crate::server_fns::chain_depth::fill(
        rows,
        20,
        |row| row.txid.as_deref().filter(|_| row.state == "broadcast"),
        |row, depth| row.confirmations = Some(depth),
    )
    .await;
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-` or `@` is defused for spreadsheets.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The rows as CSV (RFC 4180, header line first).
pub fn to_csv(rows: &[OperationRow]) -> String {
    let mut out =
        String::from("id,created_at,kind,amount,from,to,state,txid,height,reason,error\r\n");
    for r in rows {
        let fields = [
            r.id.to_string(),
            r.created_at.to_string(),
            r.kind.clone(),
            r.amount.to_string(),
            r.from.clone(),
            r.to.clone(),
            r.state.clone(),
            r.txid.clone().unwrap_or_default(),
            r.height.map(|h| h.to_string()).unwrap_or_default(),
            r.reason.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// The store's operations for the dashboard.
#[server(prefix = "/fn", endpoint = "store_operations")]
pub async fn store_operations(
    store_id: i64,
    kind: String,
    state: String,
    from: Option<String>,
    to: Option<String>,
) -> Result<OperationsPageView, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            let store = require_member(&ctx.db, operator.id, store_id, Role::Staff).await?;
            let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
            let mut rows =
                query_operations(&ctx.db, store.id, &kind, &state, &from, &to, PAGE_LIMIT).await?;
            let settings = store_settings::load(&ctx.db, store.id).await?;
            let required_confirmations = settings.confirmations_needed(PlatformPolicy::current()?);
            add_depths(&mut rows).await;
            Ok(OperationsPageView {
                me: OperatorView {
                    id: operator.id,
                    email: operator.email.to_string(),
                },
                store,
                rows,
                required_confirmations,
            })
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn dates_are_days_since_the_epoch() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2025-11-23"), Some(20_415));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "",
            "yesterday",
            "2025-11-23x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
