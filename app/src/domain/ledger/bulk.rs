//! A whole batch of submissions written with three statements, whatever its size: one
//! debit of every sender, one upsert of every recipient's incoming points, one insert of
//! every operation. On SQLite the three travel as ONE multi-statement query; on PostgreSQL
//! they are ONE statement, committed on its own.
//!
//! Why: the profile of the award path showed that a write costs its number of
//! statements, not their work. sqlx hands every SQLite statement to the connection's own
//! thread and waits for the answer (two thread switches), and every PostgreSQL statement
//! is a network round trip; all of them while the transaction holds the write lock
//! (SQLite) or the treasury's balance row (PostgreSQL). The group commit of
//! [`super::writer`] tries this first and falls back to one savepoint per submission
//! (which explains each refusal) when any submission of the batch would be refused.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Either};

use super::{
    operation::COLUMNS,
    presumed::Presumed,
    submit::{Destination, NewOperation},
    writer_connection::WriterConnection,
    Operation, OperationState,
};
use crate::domain::{
    clock,
    db::{bound_sql::BoundSql, Database, Dialect},
};

/// Whether the batch may be written in bulk: points go to custodial addresses only (an
/// outside address needs a network check per item). Everything else that could refuse
/// an item (balance, point system status, a seen idempotency key) is found by the
/// statements themselves, and then nothing of the batch is kept.
pub(super) fn eligible(batch: &[&NewOperation]) -> bool {
    !batch.is_empty()
        && batch
            .iter()
            .all(|r| matches!(r.to, Destination::Custodial { .. }))
}

/// How a bulk write ended.
pub(super) enum Bulk {
    /// Committed: the batch's operations, in batch order.
    Written(Vec<Operation>),
    /// Nothing was written (rolled back before `COMMIT`): an item would be refused (not
    /// enough points, point system not confirmed) or a statement failed (such as an
    /// idempotency key seen before). Item by item explains or answers each.
    NotWritten,
}

/// Writes `batch` in one write transaction of its own. `Err` only when the write may have
/// committed (a failed `COMMIT`, a connection lost during the single statement): its
/// outcome is unknown, so the batch must not be tried again.
///
/// `presumed` are the items' presumptions ([`Presumed`]); when one no longer holds,
/// nothing is written and item by item finds out which.
pub(super) async fn write(
    db: &Database,
    conn: &mut WriterConnection,
    batch: &[(&NewOperation, String)],
    presumed: &[&Presumed],
) -> Result<Bulk, sqlx::Error> {
    let (debits, credits) = totals(batch);
    let write = Write {
        batch,
        debits: &debits,
        credits: &credits,
        presumed,
    };
    match db.dialect() {
        Dialect::Sqlite => write_sqlite(db, conn, &write).await,
        Dialect::Postgres => write_postgres(db, conn, &write).await,
    }
}

/// A batch and what its statements need of it.
struct Write<'a> {
    batch: &'a [(&'a NewOperation, String)],
    debits: &'a Totals,
    credits: &'a Totals,
    presumed: &'a [&'a Presumed],
}

impl Write<'_> {
    /// The condition the batch's write must meet besides the debit: every presumption
    /// holds (`TRUE` when there are none).
    fn presumptions(&self, sql: &mut BoundSql) -> String {
        Presumed::condition(sql, self.presumed.iter().copied()).unwrap_or_else(|| "1 = 1".into())
    }
}

type Totals = BTreeMap<(i64, i64), i64>;

/// Sums per sender and per recipient (key, point system): PostgreSQL refuses to change
/// one row twice in a statement, and a sorted order takes row locks in the same order as
/// other writers.
pub(super) fn totals(batch: &[(&NewOperation, String)]) -> (Totals, Totals) {
    let mut debits = Totals::new();
    let mut credits = Totals::new();
    for (request, _) in batch {
        let amount = request.amount.as_i64();
        *debits
            .entry((request.from_key_id, request.point_system_id))
            .or_default() += amount;
        if let Destination::Custodial { key_id, .. } = &request.to {
            *credits
                .entry((*key_id, request.point_system_id))
                .or_default() += amount;
        }
    }
    (debits, credits)
}

/// Statements of the SQLite script before its `COMMIT`: `BEGIN IMMEDIATE`, the debit, its
/// check, the credit, the insert (the last, whose rows are the operations).
const SQLITE_STATEMENTS_BEFORE_COMMIT: usize = 5;
const SQLITE_INSERT: usize = SQLITE_STATEMENTS_BEFORE_COMMIT - 1;

/// SQLite: the whole transaction, `BEGIN IMMEDIATE` to `COMMIT`, as ONE script, so one
/// hop to the connection's thread. A sender that cannot pay (or a point system not
/// confirmed) changes fewer rows than the batch has senders; the check after the debit
/// then fails, which stops the script before its `COMMIT`, and the transaction is rolled
/// back. A failure after every statement before `COMMIT` succeeded is the `COMMIT`'s own:
/// its outcome is unknown.
async fn write_sqlite(
    db: &Database,
    writer: &mut WriterConnection,
    write: &Write<'_>,
) -> Result<Bulk, sqlx::Error> {
    let Write {
        batch,
        debits,
        credits,
        ..
    } = *write;
    // Held until the transaction ended (dropped last).
    let _turn = db.write_turn().await;
    let Ok(conn) = writer.get(db).await else {
        return Ok(Bulk::NotWritten);
    };
    let mut sql = BoundSql::new(Dialect::Sqlite);
    sql.push("BEGIN IMMEDIATE;\n");
    debit_sql(&mut sql, debits);
    sql.push(";\n");
    // changes(): the rows the debit changed; it must be read before the next write.
    let presumptions = write.presumptions(&mut sql);
    sqlite_check(
        &mut sql,
        &format!("changes() = {} AND {presumptions}", debits.len()),
        "a sender cannot pay, or a presumed look-up changed",
    );
    sql.push(";\n");
    credit_sql(&mut sql, credits);
    sql.push(";\n");
    insert_sql(&mut sql, batch);
    sql.push(";\nCOMMIT");
    let (finished, outcome) = run_script(conn, sql, SQLITE_INSERT).await;
    match outcome {
        Ok(rows) if finished == SQLITE_STATEMENTS_BEFORE_COMMIT + 1 => {
            // Committed: a row that does not match its request is an error for every
            // caller from here on, never a retry.
            operations_in_batch_order(&rows, batch).map(Bulk::Written)
        }
        Ok(_) => Err(sqlx::Error::Protocol(
            "a bulk write script ended early without an error".into(),
        )),
        Err(error) if finished == SQLITE_STATEMENTS_BEFORE_COMMIT => {
            writer.discard().await;
            Err(error)
        }
        Err(error) => {
            tracing::debug!(%error, "bulk write refused; writing item by item");
            if !roll_back(conn).await {
                writer.discard().await;
            }
            Ok(Bulk::NotWritten)
        }
    }
}

/// A statement that fails unless `condition` holds, so the rest of a script (its
/// `COMMIT`) does not run. SQLite has no `RAISE` outside triggers; `json()` of text that
/// is not JSON fails the statement, and `CASE` evaluates it only when the condition is
/// false. `why` names the check in the failing text.
fn sqlite_check(sql: &mut BoundSql, condition: &str, why: &str) {
    let why = sql.bind(format!("check failed: {why}"));
    sql.push(&format!(
        "SELECT json(CASE WHEN {condition} THEN 'true' ELSE {why} END)"
    ));
}

/// Ends the connection's transaction, if one is open (a failed `BEGIN` opened none);
/// `false` when it cannot, and the connection must not be used again.
async fn roll_back(conn: &mut AnyConnection) -> bool {
    match sqlx::query("ROLLBACK").execute(&mut *conn).await {
        Ok(_) => true,
        Err(error)
            if error
                .as_database_error()
                .is_some_and(|e| e.message().contains("no transaction is active")) =>
        {
            true
        }
        Err(error) => {
            tracing::warn!(%error, "could not roll a bulk write back; closing its connection");
            false
        }
    }
}

/// PostgreSQL: the three statements as ONE statement run on its own, or as three in a
/// transaction when a row is both debited and credited (an award and a redemption of one
/// treasury in one batch): PostgreSQL does not define which change wins when one
/// statement changes a row twice.
async fn write_postgres(
    db: &Database,
    writer: &mut WriterConnection,
    write: &Write<'_>,
) -> Result<Bulk, sqlx::Error> {
    let Write {
        batch,
        debits,
        credits,
        ..
    } = *write;
    let Ok(conn) = writer.get(db).await else {
        return Ok(Bulk::NotWritten);
    };
    if debits.keys().all(|key| !credits.contains_key(key)) {
        let outcome = one_statement(conn, write).await;
        if outcome.is_err() {
            writer.discard().await;
        }
        return outcome;
    }
    let Ok(mut tx) = sqlx::Connection::begin(conn).await else {
        writer.discard().await;
        return Ok(Bulk::NotWritten);
    };
    let written: Result<Option<Vec<Operation>>, sqlx::Error> = async {
        let mut sql = BoundSql::new(Dialect::Postgres);
        let presumptions = write.presumptions(&mut sql);
        sql.push(&format!("SELECT {presumptions} AS held"));
        if !sqlx::Row::try_get::<bool, _>(&sql.query().fetch_one(&mut *tx).await?, "held")? {
            return Ok(None);
        }
        let debited = execute(&mut tx, |sql| debit_sql(sql, debits)).await?;
        if debited != debits.len() as u64 {
            return Ok(None);
        }
        let credited = execute(&mut tx, |sql| credit_sql(sql, credits)).await?;
        if credited != credits.len() as u64 {
            return Ok(None);
        }
        let mut sql = BoundSql::new(Dialect::Postgres);
        insert_sql(&mut sql, batch);
        let rows = sql.query().fetch_all(&mut *tx).await?;
        if rows.len() != batch.len() {
            return Ok(None);
        }
        operations_in_batch_order(&rows, batch).map(Some)
    }
    .await;
    let ops = match written {
        Ok(Some(ops)) => ops,
        outcome => {
            if let Err(error) = outcome {
                tracing::debug!(%error, "bulk write failed; writing item by item");
            }
            if tx.rollback().await.is_err() {
                writer.discard().await;
            }
            return Ok(Bulk::NotWritten);
        }
    };
    if let Err(error) = tx.commit().await {
        writer.discard().await;
        return Err(error);
    }
    Ok(Bulk::Written(ops))
}

/// Debit, credit and insert as ONE statement (data-modifying `WITH`), committed on its
/// own: PostgreSQL keeps all of a statement or none of it, so it needs no `BEGIN` and
/// `COMMIT` around it. One round trip instead of three, and the treasury's balance row is
/// locked only while the server runs it, not across the round trips to `COMMIT`.
///
/// A sender that cannot pay (or a point system not confirmed) leaves its row unchanged;
/// the statement's guard then divides by zero, which fails the whole statement, so the
/// other parts are not kept either. So does a presumption that no longer holds.
async fn one_statement(conn: &mut AnyConnection, write: &Write<'_>) -> Result<Bulk, sqlx::Error> {
    let Write {
        batch,
        debits,
        credits,
        ..
    } = *write;
    let mut sql = BoundSql::new(Dialect::Postgres);
    sql.push("WITH debited AS (");
    debit_sql(&mut sql, debits);
    sql.push(" RETURNING 1), credited AS (");
    credit_sql(&mut sql, credits);
    sql.push("), inserted AS (");
    insert_sql(&mut sql, batch);
    let senders = sql.bind(debits.len() as i64);
    let presumptions = write.presumptions(&mut sql);
    sql.push(&format!(
        ") SELECT inserted.*, 1 / ((SELECT COUNT(*) FROM debited) = {senders} AND {presumptions})::int AS checked \
         FROM inserted"
    ));
    match sql.query().fetch_all(&mut *conn).await {
        // Committed: from here on the batch must never be written again, so a row that
        // does not match its request is an error for every caller, not a retry.
        // (`in_batch_order` checks the number of rows too.)
        Ok(rows) => operations_in_batch_order(&rows, batch).map(Bulk::Written),
        // The server refused the statement (the guard, an idempotency key seen before, a
        // lock timeout): nothing of it was kept.
        Err(sqlx::Error::Database(error)) => {
            tracing::debug!(%error, "bulk write refused; writing item by item");
            Ok(Bulk::NotWritten)
        }
        // The connection failed: the statement may or may not have committed.
        Err(error) => Err(error),
    }
}

/// Runs a multi-statement SQLite script in one hop: how many statements finished, and
/// the rows statement number `rows_of` (from 0) returned, or the error of the statement
/// that failed (the script stops there).
///
/// sqlx 0.8 runs every statement of a SQLite query (taking the bind values in order) but
/// deprecates it, as no other driver can (launchbadge/sqlx#3108). Should a later sqlx drop
/// it, the PostgreSQL branch (one statement at a time) works on SQLite too.
#[allow(deprecated)]
async fn run_script(
    conn: &mut AnyConnection,
    mut sql: BoundSql,
    rows_of: usize,
) -> (usize, Result<Vec<sqlx::any::AnyRow>, sqlx::Error>) {
    let mut finished = 0;
    let mut rows = Vec::new();
    let mut results = sql.query().fetch_many(conn);
    loop {
        match results.try_next().await {
            Ok(Some(Either::Left(_done))) => finished += 1,
            Ok(Some(Either::Right(row))) if finished == rows_of => rows.push(row),
            Ok(Some(Either::Right(_other))) => {}
            Ok(None) => return (finished, Ok(rows)),
            Err(error) => return (finished, Err(error)),
        }
    }
}

async fn execute(
    tx: &mut AnyConnection,
    build: impl FnOnce(&mut BoundSql),
) -> Result<u64, sqlx::Error> {
    let mut sql = BoundSql::new(Dialect::Postgres);
    build(&mut sql);
    Ok(sql.query().execute(tx).await?.rows_affected())
}

/// Takes each sender's total when it has it and the point system is confirmed (the same
/// conditions as a single submission's debit); a sender that cannot pay is not changed,
/// so the count of changed rows tells.
fn debit_sql(sql: &mut BoundSql, debits: &BTreeMap<(i64, i64), i64>) {
    let mut values = Vec::with_capacity(debits.len());
    for (&(key_id, point_system_id), &amount) in debits {
        values.push(format!(
            "({}, {}, {})",
            sql.bind(key_id),
            sql.bind(point_system_id),
            sql.bind(amount)
        ));
    }
    // VALUES names its columns column1.. on SQLite and PostgreSQL alike.
    sql.push(&format!(
        "UPDATE balances SET available = available - d.amount \
         FROM (SELECT column1 AS key_id, column2 AS point_system_id, column3 AS amount \
               FROM (VALUES {}) AS v) AS d \
         WHERE balances.key_id = d.key_id AND balances.point_system_id = d.point_system_id \
           AND balances.available >= d.amount \
           AND EXISTS (SELECT 1 FROM point_systems p WHERE p.id = d.point_system_id AND p.status = 'confirmed')",
        values.join(", ")
    ));
}

/// Points on their way to each recipient (an upsert: a first award creates the row).
fn credit_sql(sql: &mut BoundSql, credits: &BTreeMap<(i64, i64), i64>) {
    let mut values = Vec::with_capacity(credits.len());
    for (&(key_id, point_system_id), &amount) in credits {
        values.push(format!(
            "({}, {}, 0, {}, 0)",
            sql.bind(key_id),
            sql.bind(point_system_id),
            sql.bind(amount)
        ));
    }
    sql.push(&format!(
        "INSERT INTO balances (key_id, point_system_id, available, pending_in, confirmed) VALUES {} \
         ON CONFLICT (key_id, point_system_id) DO UPDATE SET pending_in = balances.pending_in + excluded.pending_in",
        values.join(", ")
    ));
}

/// The operations, queued, in batch order; `RETURNING` gives them back.
fn insert_sql(sql: &mut BoundSql, batch: &[(&NewOperation, String)]) {
    let now = clock::now();
    let mut values = Vec::with_capacity(batch.len());
    for (request, fingerprint) in batch {
        let (to_key_id, to_address, to_avatar) = request.to.columns();
        values.push(format!(
            "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            sql.bind(request.point_system_id),
            sql.bind(request.kind.as_str()),
            sql.bind(request.amount.as_i64()),
            sql.bind(request.from_key_id),
            sql.bind(to_key_id),
            sql.bind(to_address.to_owned()),
            sql.bind(to_avatar.map(str::to_owned)),
            sql.bind(request.actor.clone()),
            sql.bind(request.reason.clone()),
            sql.bind(request.idempotency_key.clone()),
            sql.bind(fingerprint.clone()),
            sql.bind(OperationState::Queued.as_str()),
            sql.bind(now),
            sql.bind(now),
        ));
    }
    sql.push(&format!(
        "INSERT INTO operations (point_system_id, kind, amount, from_key_id, to_key_id, to_address, to_avatar, \
           actor, reason, idempotency_key, request_fingerprint, state, created_at, updated_at) \
         VALUES {} RETURNING {COLUMNS}",
        values.join(", ")
    ));
}

/// `RETURNING` promises no order; ids grow in the order of the VALUES rows on both
/// databases, so the rows sorted by id are the batch in order.
fn operations_in_batch_order(
    rows: &[sqlx::any::AnyRow],
    batch: &[(&NewOperation, String)],
) -> Result<Vec<Operation>, sqlx::Error> {
    let ops = rows
        .iter()
        .map(Operation::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    in_batch_order(ops, batch)
}

/// The written operations sorted by id, which is batch order. Each is checked against
/// its request all the same: a mismatch is an error (the caller rolls back), never a
/// wrong answer.
pub(super) fn in_batch_order(
    mut ops: Vec<Operation>,
    batch: &[(&NewOperation, String)],
) -> Result<Vec<Operation>, sqlx::Error> {
    ops.sort_by_key(|op| op.id);
    if ops.len() != batch.len() {
        return Err(sqlx::Error::Protocol(format!(
            "a bulk insert of {} operations returned {} rows",
            batch.len(),
            ops.len()
        )));
    }
    for (op, (request, _)) in ops.iter().zip(batch) {
        if op.amount != request.amount.units()
            || op.from_key_id != Some(request.from_key_id)
            || op.to_key_id != request.to.columns().0
            || op.kind != request.kind
            || op.idempotency_key != request.idempotency_key
        {
            return Err(sqlx::Error::Protocol(
                "bulk insert returned operations out of batch order".into(),
            ));
        }
    }
    Ok(ops)
}

/// One operation, queued: a single submission's insert (the same statement, one row).
pub(super) async fn insert_one(
    conn: &mut AnyConnection,
    request: &NewOperation,
    fingerprint: &str,
) -> Result<Operation, sqlx::Error> {
    let mut sql = BoundSql::for_connection(conn);
    insert_sql(&mut sql, &[(request, fingerprint.to_owned())]);
    let row = sql.query().fetch_one(conn).await?;
    Operation::from_row(&row)
}
