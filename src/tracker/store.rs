//! The connections, in one array of slots instead of a map of boxes: no allocator header and
//! no hash-table slack per connection (a busy host tracks a million TIME_WAITs, and those
//! bytes were a third of each). A connection's id names its slot and a sequence number, so an
//! id kept after its connection left (a selected row, a transition) never finds a newcomer.
//!
//! Free slots are reused lowest first, so after a burst the connections that stay sit at the
//! bottom and the emptied top is given back (`shrink`): the resident set comes back down.

use super::connection::Connection;
use super::transition::ConnId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Slots addressable by an id (2^24: 16.7 million connections).
const SLOT_BITS: u32 = 24;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

#[derive(Default)]
pub(super) struct Conns {
    slots: Vec<Option<Connection>>,
    free: BinaryHeap<Reverse<u32>>,
    len: usize,
    /// Sequence numbers of ids handed out, from 1 (an id is never 0).
    seq: u64,
}

fn slot_of(id: ConnId) -> usize {
    // The mask keeps it below 2^24: the cast cannot truncate.
    (id & SLOT_MASK) as usize
}

impl Conns {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Stores the connection `make` builds with the id it is given; returns the id, or
    /// `None` when every addressable slot is taken.
    pub fn insert_with(&mut self, make: impl FnOnce(ConnId) -> Connection) -> Option<ConnId> {
        let slot = match self.free.pop() {
            Some(Reverse(slot)) => slot as usize,
            None if (self.slots.len() as u64) <= SLOT_MASK => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        self.seq += 1;
        let id = (self.seq << SLOT_BITS) | slot as u64;
        self.slots[slot] = Some(make(id));
        self.len += 1;
        Some(id)
    }

    pub fn get(&self, id: &ConnId) -> Option<&Connection> {
        self.slots
            .get(slot_of(*id))?
            .as_ref()
            .filter(|c| c.id == *id)
    }

    pub fn get_mut(&mut self, id: &ConnId) -> Option<&mut Connection> {
        self.slots
            .get_mut(slot_of(*id))?
            .as_mut()
            .filter(|c| c.id == *id)
    }

    pub fn remove(&mut self, id: &ConnId) -> Option<Connection> {
        let slot = slot_of(*id);
        let entry = self.slots.get_mut(slot)?;
        if entry.as_ref().is_none_or(|c| c.id != *id) {
            return None;
        }
        let conn = entry.take();
        self.len -= 1;
        // The slot is below 2^24 (see slot_of).
        self.free.push(Reverse(slot as u32));
        conn
    }

    pub fn values(&self) -> impl Iterator<Item = &Connection> {
        self.slots.iter().flatten()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Connection> {
        self.slots.iter_mut().flatten()
    }

    /// Gives back the empty slots at the top, and the memory of whatever tables are much
    /// larger than they need to be now.
    pub fn shrink(&mut self) {
        let used = self
            .slots
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1);
        if used == self.slots.len() && self.slots.capacity() <= 2 * used.max(1024) {
            return;
        }
        self.slots.truncate(used);
        self.slots.shrink_to(used.max(1024));
        self.free.retain(|&Reverse(slot)| (slot as usize) < used);
        self.free.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, TcpState};

    fn conn(id: ConnId) -> Connection {
        let a = "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!());
        Connection::new(id, Family::Inet, a, a, TcpState::Established, 0)
    }

    #[test]
    fn an_old_id_never_finds_the_newcomer_in_its_slot() {
        let mut conns = Conns::default();
        let a = conns.insert_with(conn).unwrap_or_default();
        assert!(conns.remove(&a).is_some());
        let b = conns.insert_with(conn).unwrap_or_default();
        assert_ne!(a, b);
        assert_eq!(slot_of(a), slot_of(b), "the slot is reused");
        assert!(conns.get(&a).is_none());
        assert!(conns.get(&b).is_some());
        assert!(conns.remove(&a).is_none());
        assert_eq!(conns.len(), 1);
    }

    #[test]
    fn free_slots_are_reused_lowest_first_and_the_empty_top_is_given_back() {
        let mut conns = Conns::default();
        let ids: Vec<ConnId> = (0..5000)
            .map(|_| conns.insert_with(conn).unwrap_or_default())
            .collect();
        for id in &ids[1..] {
            conns.remove(id);
        }
        let again = conns.insert_with(conn).unwrap_or_default();
        assert_eq!(slot_of(again), 1, "the lowest free slot");
        conns.shrink();
        assert_eq!(conns.slots.len(), 2);
        assert!(conns.slots.capacity() <= 1024);
        assert_eq!(conns.values().count(), 2);
        let next = conns.insert_with(conn).unwrap_or_default();
        assert_eq!(
            slot_of(next),
            2,
            "no free slot above the top is left behind"
        );
    }
}
