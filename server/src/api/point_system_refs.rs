//! Each store's point system as the write endpoints need it (its id and treasury),
//! remembered in the process once the store has one.
//!
//! Safe to keep without expiry: a store registers one point system, nothing deletes or
//! replaces it, and its id and treasury key never change. Its status does change, and is
//! not kept here: the ledger checks it in the same statement that takes the points.
//! Why: every award, redemption and transfer asked the database for it, one more round
//! trip per request for an answer that never changes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::domain::{
    db::Database,
    ledger::{point_systems::PointSystem, LedgerError},
};

/// What a write needs of a store's point system.
#[derive(Clone, Debug)]
pub struct PointSystemRef {
    pub id: i64,
    pub treasury_key_id: i64,
    pub treasury_address: String,
}

/// One entry per store that has a point system (stores are few: no eviction).
#[derive(Clone, Debug, Default)]
pub struct PointSystemRefs(Arc<Mutex<HashMap<i64, PointSystemRef>>>);

impl PointSystemRefs {
    /// The store's point system, or `None` while it has none (not remembered: it may
    /// register one at any moment).
    pub async fn of_store(
        &self,
        db: &Database,
        store_id: i64,
    ) -> Result<Option<PointSystemRef>, LedgerError> {
        if let Some(known) = self.0.lock().expect("not poisoned").get(&store_id) {
            return Ok(Some(known.clone()));
        }
        let Some(ps) = PointSystem::of_store(db, store_id).await? else {
            return Ok(None);
        };
        let known = PointSystemRef {
            id: ps.id,
            treasury_key_id: ps.treasury_key_id,
            treasury_address: ps.treasury_address,
        };
        self.0
            .lock()
            .expect("not poisoned")
            .insert(store_id, known.clone());
        Ok(Some(known))
    }
}
