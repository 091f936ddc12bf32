//! The API keys and store customers the write endpoints looked up, kept in the process so
//! an award costs one database round trip (its write), not two.
//!
//! Nothing here is trusted on its own: every write that used an entry re-checks it in its
//! transaction ([`app::domain::ledger::presumed`]), so a key revoked or a customer id
//! pointed elsewhere, by any process, stops the next write. The endpoint then drops the
//! entries and looks again ([`super::operations`]). Entries also expire, and the maps are
//! bounded, so a process with millions of customers holds the busy ones only.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

use app::domain::{
    api_keys::{self, ApiKeyInfo},
    clock,
    ledger::customers::StoreCustomer,
};

/// How long an entry is used before it is read again.
const TIME_TO_LIVE: Duration = Duration::from_secs(60);
/// Entries per map; a full map starts again empty (cheaper than tracking recency, and
/// the busy entries are back after one look-up each).
const CAPACITY: usize = 100_000;

/// Whether an endpoint may use what the process knows or must read the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Cached,
    Fresh,
}

#[derive(Debug, Default)]
pub struct WriteLookups {
    /// By the key's SHA-256 (`api_keys::key_hash`), never the key.
    keys: Expiring<String, ApiKeyInfo>,
    /// By store and the store's id of the customer.
    customers: Expiring<(i64, String), StoreCustomer>,
}

impl WriteLookups {
    /// The key known by `hash`. When its use is due to be noted (once a minute), the
    /// entry is marked noted and returned in `due_use` for the caller to record.
    pub fn key(&self, hash: &str) -> Option<KeyHit> {
        let mut map = self.keys.0.lock().expect("not poisoned");
        let (info, at) = map.get_mut(hash)?;
        if at.elapsed() > TIME_TO_LIVE {
            return None;
        }
        let now = clock::now();
        let due = api_keys::use_due(info.last_used_at, now);
        let due_use = due.then(|| info.clone());
        if due {
            info.last_used_at = Some(now);
        }
        Some(KeyHit {
            info: info.clone(),
            due_use,
        })
    }

    pub fn remember_key(&self, hash: String, info: &ApiKeyInfo) {
        self.keys.insert(hash, info.clone());
    }

    pub fn customer(&self, store_id: i64, external_id: &str) -> Option<StoreCustomer> {
        self.customers.get(&(store_id, external_id.to_owned()))
    }

    pub fn remember_customer(&self, customer: &StoreCustomer) {
        self.customers.insert(
            (customer.store_id, customer.external_id.clone()),
            customer.clone(),
        );
    }

    /// Drops entries the database no longer confirms, or this process just changed.
    pub fn forget(&self, key_hash: Option<&str>, customer: Option<(i64, &str)>) {
        if let Some(hash) = key_hash {
            self.keys.remove(hash);
        }
        if let Some((store_id, external_id)) = customer {
            self.customers.remove(&(store_id, external_id.to_owned()));
        }
    }
}

/// A key found in the process.
pub struct KeyHit {
    pub info: ApiKeyInfo,
    /// Set when the key's use is due to be noted in the database.
    pub due_use: Option<ApiKeyInfo>,
}

/// A bounded map whose entries expire.
#[derive(Debug)]
struct Expiring<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Expiring<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let map = self.0.lock().expect("not poisoned");
        map.get(key)
            .filter(|(_, at)| at.elapsed() <= TIME_TO_LIVE)
            .map(|(value, _)| value.clone())
    }

    fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.0.lock().expect("not poisoned").remove(key);
    }

    fn insert(&self, key: K, value: V) {
        let mut map = self.0.lock().expect("not poisoned");
        if map.len() >= CAPACITY && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (value, Instant::now()));
    }
}
