//! Group commit of ledger submissions: the submissions waiting at one moment (up to
//! [`MAX_BATCH`]) are written in ONE write transaction, each checked on its own.
//!
//! Why: an award's cost is dominated by its write transaction (the SQLite write lock, or on
//! PostgreSQL the treasury's balance row, held until a `COMMIT` that flushes the log), not
//! by its statements. Sharing one `BEGIN ... COMMIT` between the submissions that arrived
//! at the same moment pays that cost once per batch. A lone request is written alone at
//! once; batches form while a transaction is running, and (see [`Gathering`]) a leader
//! whose writes cost a log flush waits a moment for the callers the last write answered,
//! when they keep coming back: without it, four steady callers settle into two pairs that
//! take turns, each pair paying a flush of its own.
//!
//! Who writes: the caller that finds the writer free (the leader) writes what is waiting,
//! its own submission with it; callers that arrive meanwhile wait for their answer or for
//! their turn to lead. Nothing is handed to a task and back: at one client an award is
//! written by the request's own task. On a SQLite file the common case runs on the
//! writer's own connection, with no thread hop ([`direct_sqlite`]); what has to await
//! (PostgreSQL, the item-by-item path) is finished by a task of its own should its caller
//! go away half way ([`FinishOnDrop`]), so a write is never stopped between statements.
//! A caller that goes away before a leader took its submission takes it back: nothing is
//! written for it.
//!
//! Every caller gets its answer only after the shared `COMMIT` succeeded, refusals
//! included (a refusal may depend on an earlier item of the batch); if the transaction
//! fails, every item of the batch gets an error and nothing was written.
//!
//! [`direct_sqlite`]: super::direct_sqlite

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, Weak},
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};

use tokio::sync::{oneshot, OwnedMutexGuard};

use super::{
    bulk,
    direct_sqlite::DirectSqlite,
    presumed::Presumed,
    submit::{self, NewOperation, Submitted},
    writer_connection::WriterConnection,
    LedgerError,
};
use crate::domain::db::{Database, Dialect};

/// The most submissions one transaction takes.
pub const MAX_BATCH: usize = 64;

/// Batches up to this size run SQLite on the leader's thread as it is; larger ones first
/// tell tokio the thread will block (`block_in_place`), so its other tasks move on. A
/// small batch takes less time than that hand-over.
const INLINE_BATCH: usize = 8;

/// A leader waits for callers only when the last write took at least this long: a write
/// cheaper than a caller's round trip (SQLite's, without a flush) costs less than the
/// wait would.
const GATHER_WHEN_A_WRITE_TAKES: Duration = Duration::from_micros(300);

/// The longest a leader waits for callers; tokio's timers round it up to the next
/// millisecond, so it matters only when expected callers do not come.
const GATHER_AT_MOST: Duration = Duration::from_millis(2);

/// How long an idle writer keeps its pooled connection ([`WriterConnection`]) before it
/// gives it back to the pool.
const KEEP_IDLE_CONNECTION: Duration = Duration::from_secs(1);

type Answer = Result<Submitted, LedgerError>;

struct Job {
    /// Which caller's: a caller that goes away takes its job back by this.
    id: u64,
    request: NewOperation,
    presumed: Presumed,
    reply: oneshot::Sender<Answer>,
}

/// The handle of a database's ledger writer. Cheap to clone.
#[derive(Clone)]
pub struct LedgerWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter").finish_non_exhaustive()
    }
}

struct Shared {
    db: Database,
    /// Submissions no leader has taken yet, in arrival order. Its length is bounded by the
    /// callers waiting (each waits for its answer), so it needs no bound of its own.
    queue: Mutex<Queue>,
    /// What a leader writes with; holding it makes one the leader.
    desk: Arc<tokio::sync::Mutex<Desk>>,
    /// Woken on every submission, for a leader that is gathering.
    arrived: tokio::sync::Notify,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    next_id: u64,
}

struct Desk {
    pooled: WriterConnection,
    direct: Direct,
    last_write: Instant,
    gathering: Gathering,
}

/// How many callers a leader waits for before it writes, learnt from the last write.
///
/// Why: a write on PostgreSQL holds the treasury's balance row through its log flush, so
/// the callers that arrive meanwhile wait for the next write. With a few steady callers
/// (each sends its next request when answered) this settles into groups that take turns:
/// at four, two pairs, and every flush carries two awards. The callers a write answered
/// come back within a round trip, so the leader that follows waits for them, up to as
/// long as a write takes (a wait never costs more than the write it saves), and the four
/// share one flush. This is the group-commit delay of databases (PostgreSQL's
/// `commit_delay` with `commit_siblings`, MySQL's `binlog_group_commit_sync_delay` with
/// `..._no_delay_count`), with the count learnt instead of configured.
#[derive(Clone, Copy, Debug, Default)]
struct Gathering {
    /// Callers of the last write plus those that arrived while it ran: the callers
    /// active at once. One caller (or none) never waits.
    callers: usize,
    /// How long the last write took.
    last_write_took: Duration,
}

impl Gathering {
    /// The callers to wait for and for how long at most; `None`: write at once.
    fn wait_for(&self, queued: usize) -> Option<(usize, Duration)> {
        let callers = self.callers.min(MAX_BATCH);
        (queued < callers && self.last_write_took >= GATHER_WHEN_A_WRITE_TAKES)
            .then(|| (callers, self.last_write_took.min(GATHER_AT_MOST)))
    }

    /// Learns from a write of `written` callers that took `took`, after which `waiting`
    /// callers were queued.
    fn learn(&mut self, written: usize, waiting: usize, took: Duration) {
        self.callers = written + waiting;
        self.last_write_took = took;
    }
}

/// How [`Desk::write_direct`] ended.
enum DirectWrite {
    /// Every caller of the batch is answered (an error too, when the outcome is unknown).
    Written,
    /// Rolled back: an item would be refused. Item by item explains which.
    Refused(Vec<Job>),
    /// No direct connection, or a batch that bulk does not take.
    NotTried(Vec<Job>),
}

/// The writer's own SQLite connection, opened on first use.
enum Direct {
    Untried,
    Open(DirectSqlite),
    /// PostgreSQL, SQLite in memory, or the file could not be opened.
    Unavailable,
}

impl LedgerWriter {
    /// The writer of `db`, and its task that gives an idle connection back to the pool
    /// (needs a tokio runtime; the task ends with the last handle).
    pub fn spawn(db: Database) -> Self {
        let shared = Arc::new(Shared {
            db,
            queue: Mutex::new(Queue::default()),
            desk: Arc::new(tokio::sync::Mutex::new(Desk {
                pooled: WriterConnection::default(),
                direct: Direct::Untried,
                last_write: Instant::now(),
                gathering: Gathering::default(),
            })),
            arrived: tokio::sync::Notify::new(),
        });
        tokio::spawn(release_when_idle(Arc::downgrade(&shared)));
        Self { shared }
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
        let (reply, mut answer) = oneshot::channel();
        let ticket = self.shared.enqueue(request, presumed, reply);
        loop {
            tokio::select! {
                biased;
                answered = &mut answer => {
                    ticket.answered();
                    return answered.map_err(|_| sqlx::Error::WorkerCrashed)?;
                }
                desk = self.shared.desk.clone().lock_owned() => self.shared.lead(desk).await,
            }
        }
    }
}

/// A queued submission of a caller still waiting; dropped unanswered (the caller went
/// away), it takes the submission out of the queue if no leader took it.
struct Ticket<'a> {
    shared: &'a Shared,
    id: u64,
    answered: bool,
}

impl Ticket<'_> {
    /// The caller has its answer: a leader took the submission out of the queue before
    /// answering it, so there is nothing to take back (and no queue to search, on the
    /// path every award takes).
    fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let mut queue = self.shared.queue.lock().expect("not poisoned");
        queue.jobs.retain(|job| job.id != self.id);
    }
}

impl Shared {
    fn enqueue(
        &self,
        request: NewOperation,
        presumed: Presumed,
        reply: oneshot::Sender<Answer>,
    ) -> Ticket<'_> {
        let mut queue = self.queue.lock().expect("not poisoned");
        let id = queue.next_id;
        queue.next_id += 1;
        queue.jobs.push_back(Job {
            id,
            request,
            presumed,
            reply,
        });
        drop(queue);
        self.arrived.notify_one();
        Ticket {
            shared: self,
            id,
            answered: false,
        }
    }

    fn queued(&self) -> usize {
        self.queue.lock().expect("not poisoned").jobs.len()
    }

    /// Waits until `callers` submissions are queued, at most `at_most`.
    async fn gather(&self, callers: usize, at_most: Duration) {
        let deadline = tokio::time::Instant::now() + at_most;
        loop {
            // An arrival between the count and the wait leaves `notify_one`'s permit, which
            // ends the wait at once: no arrival is missed.
            let arrived = self.arrived.notified();
            if self.queued() >= callers {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return;
            }
        }
    }

    fn take_batch(&self) -> Vec<Job> {
        let mut queue = self.queue.lock().expect("not poisoned");
        let n = queue.jobs.len().min(MAX_BATCH);
        queue.jobs.drain(..n).collect()
    }

    /// Writes one batch of what is queued (nothing when a leader before took it all).
    async fn lead(self: &Arc<Self>, mut desk: OwnedMutexGuard<Desk>) {
        // The gathering and the write turn before the batch: waiting for them takes nothing
        // from the queue, so a caller that goes away meanwhile leaves everything as it was.
        // The gathering comes first so that it never holds SQLite's write turn, which the
        // worker's writes wait for too.
        if let Some((callers, at_most)) = desk.gathering.wait_for(self.queued()) {
            self.gather(callers, at_most).await;
        }
        let turn = self.db.write_turn().await;
        let batch = self.take_batch();
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        desk.last_write = started;
        let written = batch.len();
        let (batch, bulk_tried) = match desk.write_direct(&self.db, batch) {
            DirectWrite::Written => {
                desk.after_write(self, written, started);
                return;
            }
            DirectWrite::Refused(batch) => (batch, true),
            DirectWrite::NotTried(batch) => (batch, false),
        };
        // The pooled path takes its own write turns.
        drop(turn);
        let shared = Arc::clone(self);
        FinishOnDrop::new(async move {
            write_batch(&shared.db, &mut desk.pooled, batch, !bulk_tried).await;
            desk.after_write(&shared, written, started);
        })
        .await;
    }
}

impl Desk {
    /// After a batch of `written` submissions, started at `started`, was written (either
    /// path): the pooled connection's upkeep, and what the next leader learns for its
    /// gathering (the callers that queued meanwhile are still in the queue).
    fn after_write(&mut self, shared: &Shared, written: usize, started: Instant) {
        self.pooled.after_batch(&shared.db);
        self.gathering
            .learn(written, shared.queued(), started.elapsed());
    }

    /// Writes `batch` on the direct SQLite connection, or gives it back for the pooled
    /// path.
    fn write_direct(&mut self, db: &Database, batch: Vec<Job>) -> DirectWrite {
        let Some(direct) = self.direct_connection(db) else {
            return DirectWrite::NotTried(batch);
        };
        let outcome = {
            let Some((checked, presumed)) = bulk_input(&batch) else {
                return DirectWrite::NotTried(batch);
            };
            run_sqlite(batch.len(), || direct.write(&checked, &presumed))
        };
        let outcome = outcome.map_err(|error| {
            // Its transaction's state is unknown: a new connection next time.
            self.direct = Direct::Untried;
            sqlx::Error::Io(std::io::Error::other(error))
        });
        match answer_bulk(batch, outcome) {
            Ok(()) => DirectWrite::Written,
            Err(batch) => DirectWrite::Refused(batch),
        }
    }

    fn direct_connection(&mut self, db: &Database) -> Option<&mut DirectSqlite> {
        if matches!(self.direct, Direct::Untried) {
            // Only a SQLite database has a file (`Database::sqlite_file`).
            self.direct = match db.sqlite_file().map(DirectSqlite::open) {
                Some(Ok(conn)) => Direct::Open(conn),
                Some(Err(error)) => {
                    tracing::warn!(%error, "cannot open the ledger writer's own SQLite connection; writing through the pool");
                    Direct::Unavailable
                }
                None => Direct::Unavailable,
            };
        }
        match &mut self.direct {
            Direct::Open(conn) => Some(conn),
            Direct::Untried | Direct::Unavailable => None,
        }
    }
}

/// A write run by the leader's own task that, should the leader go away half way (its
/// client disconnected), is finished by a task of its own: a batch's statements are never
/// stopped between them, and the other callers of the batch still get their answers. In
/// the common case this costs no hand-over to another task and back.
struct FinishOnDrop(Option<Pin<Box<dyn Future<Output = ()> + Send>>>);

impl FinishOnDrop {
    fn new(write: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(Some(Box::pin(write)))
    }
}

impl Future for FinishOnDrop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(write) = self.0.as_mut() else {
            return Poll::Ready(());
        };
        ready!(write.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(())
    }
}

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(write) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(write);
                }
                // The runtime is shutting down: the process ends, and with it the
                // connection; an unfinished transaction is rolled back by the database.
                Err(_) => tracing::warn!("a ledger write was cut off by the runtime's shutdown"),
            }
        }
    }
}

/// Runs SQLite work of `items` submissions on this thread, telling a multi-threaded tokio
/// first when it is long enough to matter (see [`INLINE_BATCH`]).
fn run_sqlite<T>(items: usize, work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
        runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    });
    if items > INLINE_BATCH && multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Gives the pooled connection back when no batch was written for
/// [`KEEP_IDLE_CONNECTION`]; ends with the writer.
async fn release_when_idle(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(KEEP_IDLE_CONNECTION).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Ok(mut desk) = shared.desk.clone().try_lock_owned() else {
            continue;
        };
        if desk.pooled.is_kept() && desk.last_write.elapsed() >= KEEP_IDLE_CONNECTION {
            desk.pooled.release(&shared.db).await;
        }
    }
}

type BulkInput<'a> = (Vec<(&'a NewOperation, String)>, Vec<&'a Presumed>);

/// What a bulk write takes of the batch: its requests with their fingerprints, and its
/// callers' presumptions. `None` when bulk cannot write them all: a request with a reason
/// it refuses, or points to an address that is not custodial.
fn bulk_input(batch: &[Job]) -> Option<BulkInput<'_>> {
    let checked: Vec<_> = batch
        .iter()
        .map(|job| {
            submit::check_reason(&job.request)
                .ok()
                .map(|()| (&job.request, job.request.fingerprint()))
        })
        .collect::<Option<_>>()?;
    let requests: Vec<&NewOperation> = checked.iter().map(|(request, _)| *request).collect();
    if !bulk::eligible(&requests) {
        return None;
    }
    Some((checked, batch.iter().map(|job| &job.presumed).collect()))
}

/// Answers the callers of a bulk write (on either connection): `Ok` when every caller
/// has its answer (its operation, or an error when the outcome is unknown), or the batch
/// back when nothing was written, for item by item.
fn answer_bulk(batch: Vec<Job>, outcome: Result<bulk::Bulk, sqlx::Error>) -> Result<(), Vec<Job>> {
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

/// Writes `batch` through the pool: in bulk first when `try_bulk` (the direct connection
/// did not already find an item it refuses), else item by item.
#[tracing::instrument(skip_all, fields(items = batch.len()))]
async fn write_batch(db: &Database, conn: &mut WriterConnection, batch: Vec<Job>, try_bulk: bool) {
    let batch = if try_bulk {
        match write_in_bulk(db, conn, batch).await {
            Ok(()) => return,
            Err(batch) => batch,
        }
    } else {
        batch
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
    let outcome = {
        let Some((checked, presumed)) = bulk_input(&batch) else {
            return Err(batch);
        };
        bulk::write(db, conn, &checked, &presumed).await
    };
    answer_bulk(batch, outcome)
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

#[cfg(test)]
mod tests {
    use super::*;

    const FLUSHING_WRITE: Duration = Duration::from_micros(800);

    fn after(written: usize, waiting: usize, took: Duration) -> Gathering {
        let mut gathering = Gathering::default();
        gathering.learn(written, waiting, took);
        gathering
    }

    #[test]
    fn a_lone_caller_is_written_at_once() {
        assert_eq!(Gathering::default().wait_for(1), None, "nothing learnt yet");
        assert_eq!(after(1, 0, FLUSHING_WRITE).wait_for(1), None);
    }

    #[test]
    fn after_a_pair_written_while_a_pair_waited_the_leader_waits_for_all_four() {
        let gathering = after(2, 2, FLUSHING_WRITE);
        assert_eq!(gathering.wait_for(2), Some((4, FLUSHING_WRITE)));
        assert_eq!(gathering.wait_for(4), None, "all four are there");
    }

    #[test]
    fn a_write_cheaper_than_a_round_trip_is_not_waited_for() {
        let cheap = GATHER_WHEN_A_WRITE_TAKES - Duration::from_micros(1);
        assert_eq!(after(2, 2, cheap).wait_for(2), None);
    }

    #[test]
    fn the_wait_is_bounded_and_the_count_by_a_batch() {
        let slow = after(MAX_BATCH, 3 * MAX_BATCH, Duration::from_secs(1));
        assert_eq!(slow.wait_for(1), Some((MAX_BATCH, GATHER_AT_MOST)));
    }

    #[test]
    fn callers_that_did_not_come_are_not_waited_for_again() {
        let mut gathering = after(2, 2, FLUSHING_WRITE);
        // Two of the four stopped: the wait ran out with two, and the write learnt it.
        gathering.learn(2, 0, FLUSHING_WRITE);
        assert_eq!(gathering.wait_for(2), None);
    }
}
