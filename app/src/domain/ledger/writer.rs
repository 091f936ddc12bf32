//! Group commit of ledger submissions: one task per database takes every submission
//! waiting in its queue (up to [`MAX_BATCH`]) and writes them in ONE write transaction,
//! each in its own savepoint.
//!
//! Why: an award's cost is dominated by its write transaction (the SQLite write lock, or on
//! PostgreSQL the treasury's balance row, held until a `COMMIT` that flushes the log), not
//! by its statements. Sharing one `BEGIN ... COMMIT` between the submissions that arrived
//! at the same moment pays that cost once per batch. There is no artificial delay: a lone
//! request is written alone at once; batches form only while a transaction is running.
//!
//! Every caller gets its answer only after the shared `COMMIT` succeeded, refusals
//! included (a refusal may depend on an earlier item of the batch); if the transaction
//! fails, every item of the batch gets an error and nothing was written.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{
    bulk,
    presumed::Presumed,
    submit::{self, NewOperation, Submitted},
    writer_connection::WriterConnection,
    LedgerError,
};
use crate::domain::db::{Database, Dialect};

/// The most submissions one transaction takes.
pub const MAX_BATCH: usize = 64;

/// How many submissions may wait; callers beyond that wait to enqueue (back pressure).
const QUEUE: usize = 1024;

type Answer = Result<Submitted, LedgerError>;

struct Job {
    request: NewOperation,
    presumed: Presumed,
    reply: oneshot::Sender<Answer>,
}

/// The handle of a database's writer task. Cheap to clone; the task ends when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct LedgerWriter {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl LedgerWriter {
    /// Starts the writer task of `db` (needs a tokio runtime).
    pub fn spawn(db: Database) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, jobs));
        Self { queue }
    }

    /// Records an operation like [`submit::submit`], sharing the write transaction with
    /// the submissions queued at the same moment.
    pub async fn submit(&self, request: NewOperation) -> Answer {
        self.submit_presuming(request, Presumed::default()).await
    }

    /// [`Self::submit`] for a caller that took look-ups from a cache: the write checks
    /// `presumed` in its transaction and answers [`LedgerError::Stale`] when it no longer
    /// holds (nothing is written then).
    pub async fn submit_presuming(&self, request: NewOperation, presumed: Presumed) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                request,
                presumed,
                reply,
            })
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        answer.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

/// How long an idle writer keeps its connection ([`WriterConnection`]) before it
/// gives it back to the pool.
const KEEP_IDLE_CONNECTION: Duration = Duration::from_secs(1);

async fn run(db: Database, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut conn = WriterConnection::default();
    loop {
        let received = if conn.is_kept() {
            match tokio::time::timeout(KEEP_IDLE_CONNECTION, jobs.recv_many(&mut batch, MAX_BATCH))
                .await
            {
                Ok(received) => received,
                Err(_idle) => {
                    conn.release(&db).await;
                    continue;
                }
            }
        } else {
            jobs.recv_many(&mut batch, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        write_batch(&db, &mut conn, std::mem::take(&mut batch)).await;
        conn.after_batch(&db);
    }
}

#[tracing::instrument(skip_all, fields(items = batch.len()))]
async fn write_batch(db: &Database, conn: &mut WriterConnection, batch: Vec<Job>) {
    let batch = match write_in_bulk(db, conn, batch).await {
        Ok(()) => return,
        Err(batch) => batch,
    };
    let mut tx = match db.begin_write().await {
        Ok(tx) => tx,
        Err(error) => return fail_all(batch.into_iter().map(|job| job.reply), &error),
    };
    match write_items(&mut tx, db.dialect(), &batch).await {
        Ok(answers) => match tx.commit().await {
            Ok(()) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    // A caller that went away (client disconnected) needs no answer.
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => fail_all(batch.into_iter().map(|job| job.reply), &error),
        },
        Err(error) => {
            // Dropping the transaction rolls it back.
            drop(tx);
            fail_all(batch.into_iter().map(|job| job.reply), &error);
        }
    }
}

/// The common case first: the whole batch with a fixed number of statements
/// ([`bulk`]). The batch comes back to be written item by item when bulk does not apply,
/// or did not write it (an item would be refused, a statement failed: rolled back before
/// `COMMIT`, or a single statement the server refused). A write whose outcome is unknown
/// (a failed `COMMIT`, a lost connection) is not retried: every caller gets an error.
async fn write_in_bulk(
    db: &Database,
    conn: &mut WriterConnection,
    batch: Vec<Job>,
) -> Result<(), Vec<Job>> {
    let checked: Option<Vec<_>> = batch
        .iter()
        .map(|job| {
            submit::check_reason(&job.request)
                .ok()
                .map(|()| (&job.request, job.request.fingerprint()))
        })
        .collect();
    let Some(checked) = checked else {
        return Err(batch);
    };
    let requests: Vec<&NewOperation> = checked.iter().map(|(request, _)| *request).collect();
    if !bulk::eligible(&requests) {
        return Err(batch);
    }
    let presumed: Vec<&Presumed> = batch.iter().map(|job| &job.presumed).collect();
    let outcome = bulk::write(db, conn, &checked, &presumed).await;
    drop((checked, requests, presumed));
    match outcome {
        Ok(bulk::Bulk::Written(ops)) => {
            for (job, op) in batch.into_iter().zip(ops) {
                // A caller that went away (client disconnected) needs no answer.
                let _ = job.reply.send(Ok(Submitted::Created(op)));
            }
            Ok(())
        }
        Ok(bulk::Bulk::NotWritten) => Err(batch),
        Err(error) => {
            fail_all(batch.into_iter().map(|job| job.reply), &error);
            Ok(())
        }
    }
}

async fn write_items(
    tx: &mut sqlx::AnyConnection,
    dialect: Dialect,
    batch: &[Job],
) -> Result<Vec<Answer>, sqlx::Error> {
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if !job.presumed.hold(tx, dialect).await? {
            answers.push(Err(LedgerError::Stale));
            continue;
        }
        answers.push(submit::submit_in_savepoint(tx, &job.request).await?);
    }
    Ok(answers)
}

/// The transaction failed: every caller of the batch gets an error (sqlx errors cannot be
/// cloned, so each gets one that says what happened; the cause is logged once here).
fn fail_all(replies: impl Iterator<Item = oneshot::Sender<Answer>>, error: &sqlx::Error) {
    tracing::error!(%error, "a group-committed write transaction failed; no item was written");
    for reply in replies {
        let _ = reply.send(Err(LedgerError::Database(sqlx::Error::Io(
            std::io::Error::other(format!("the write transaction failed: {error}")),
        ))));
    }
}
