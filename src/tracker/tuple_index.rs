//! The connections by 4-tuple, as ids only: each entry is hashed and compared through the
//! connection's own ends, so the index costs about 9 bytes a connection instead of a copy of
//! the 72-byte key (at a million tracked TIME_WAITs, that is most of the tracker's memory).
//!
//! The rule that keeps it right: a connection's ends change only through the index (`file`),
//! and a connection leaves the map of connections only after its entry left the index.

use super::connection::TupleKey;
use super::store::Conns;
use super::transition::ConnId;
use std::hash::BuildHasher;

#[derive(Default)]
pub(super) struct TupleIndex {
    table: hashbrown::HashTable<ConnId>,
    hasher: rustc_hash::FxBuildHasher,
}

impl TupleIndex {
    fn hash(&self, key: &TupleKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The connection filed under `key`.
    pub fn get(&self, key: &TupleKey, conns: &Conns) -> Option<ConnId> {
        self.table
            .find(self.hash(key), |id| {
                conns.get(id).is_some_and(|c| c.key() == *key)
            })
            .copied()
    }

    /// Files `id`, whose ends are now `key`, in place of whoever was filed there (returned).
    pub fn insert(&mut self, key: &TupleKey, id: ConnId, conns: &Conns) -> Option<ConnId> {
        let hash = self.hash(key);
        let same = |other: &ConnId| conns.get(other).is_some_and(|c| c.key() == *key);
        if let Some(slot) = self.table.find_mut(hash, same) {
            return Some(std::mem::replace(slot, id)).filter(|&old| old != id);
        }
        let hasher = self.hasher;
        self.table.insert_unique(hash, id, move |other| {
            // Every entry's connection is in `conns` (see the module's rule); a missing one
            // would only be misplaced, never a panic.
            conns.get(other).map_or(0, |c| hasher.hash_one(c.key()))
        });
        None
    }

    /// Gives back the memory of a table much larger than it needs to be now.
    pub fn shrink(&mut self, conns: &Conns) {
        let hasher = self.hasher;
        self.table
            .shrink_to_fit(|id| conns.get(id).map_or(0, |c| hasher.hash_one(c.key())));
    }

    /// Removes the entry under `key` if it is `id`'s.
    pub fn remove(&mut self, key: &TupleKey, id: ConnId) -> bool {
        match self.table.find_entry(self.hash(key), |other| *other == id) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }
}
