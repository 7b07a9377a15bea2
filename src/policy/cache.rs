//! A cache over integer key ids: LRU, O(1) LFU, or TTL only, with an optional expiry.
//!
//! Keys are `0..n` (key 0 the most popular of a Zipf model). Entries live in a slab of
//! `capacity` slots linked into lists by index, and a `Vec` indexed by key finds a key's
//! slot, so a lookup or an insert is O(1), deterministic, and allocates nothing once the
//! cache is built (memory is 4 bytes per key plus one slot per entry; [`MAX_KEYS`]
//! bounds it).
//!
//! - **LRU** keeps one list, most recently used first, and evicts its tail: what
//!   memcached's and Redis's `allkeys-lru` approximate.
//! - **LFU** is the O(1) algorithm of Shah, Mitra & Matani ("An O(1) algorithm for
//!   implementing the LFU cache eviction scheme", 2010): a list of frequency nodes in
//!   increasing count, each holding the entries with that count, most recent first. A hit
//!   moves its entry to the node of count + 1 (created after its own when missing); an
//!   eviction takes the least recently used entry of the lowest count (ties broken by
//!   recency).
//! - **TTL** only: no bound on the count (every key may be held), entries leave when
//!   they expire, as a CDN or a DNS resolver's cache.
//!
//! With `ttl`, an entry expires `ttl` after it was written (Caffeine's
//! `expireAfterWrite`; memcached's and Redis's `EXPIRE` set at write): a hit does not
//! extend it, and an expired entry is a miss, removed when it is looked up.

use crate::engine::SimTime;

/// No slot, no key, no node.
pub const NONE: u32 = u32::MAX;

/// Most keys a popularity model may have: the key-to-slot map is a `Vec` of this many
/// `u32`s (40 MB), allocated per replication.
pub const MAX_KEYS: u32 = 10_000_000;

/// Which entry leaves when a full cache takes a new key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Eviction {
    /// The least recently used.
    #[default]
    Lru,
    /// The least frequently used; the least recently used among those.
    Lfu,
    /// None: bounded by expiry only.
    Ttl,
}

/// One cached key in the slab.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u32,
    prev: u32,
    next: u32,
    /// The frequency node (LFU) or 0 (the one list of LRU and TTL).
    node: u32,
    expires: SimTime,
}

/// A list of entries: all of them (LRU, TTL), or those used `count` times (LFU).
#[derive(Clone, Copy, Debug)]
struct Node {
    count: u64,
    /// Most recently used entry.
    head: u32,
    /// Least recently used entry.
    tail: u32,
    /// Neighbouring nodes in increasing count (LFU).
    prev: u32,
    next: u32,
}

const EMPTY_NODE: Node = Node { count: 0, head: NONE, tail: NONE, prev: NONE, next: NONE };

/// A cache of at most `capacity` keys out of `0..n`.
#[derive(Clone, Debug)]
pub struct Cache {
    eviction: Eviction,
    capacity: u32,
    ttl: Option<SimTime>,
    slot_of: Vec<u32>,
    entries: Vec<Entry>,
    free_slots: Vec<u32>,
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    /// The node of the lowest count (LFU); node 0 otherwise.
    first: u32,
}

impl Cache {
    /// An empty cache over keys `0..n` holding at most `capacity` of them (every key with
    /// [`Eviction::Ttl`]). Panics above [`MAX_KEYS`] keys: validation refuses those.
    pub fn new(n: u32, capacity: u32, eviction: Eviction, ttl: Option<SimTime>) -> Self {
        assert!(n <= MAX_KEYS, "{n} keys; at most {MAX_KEYS}");
        let capacity = if eviction == Eviction::Ttl { n } else { capacity.min(n) };
        let entry = Entry { key: NONE, prev: NONE, next: NONE, node: 0, expires: SimTime::MAX };
        let nodes = if eviction == Eviction::Lfu { capacity as usize + 1 } else { 1 };
        let mut cache = Cache {
            eviction,
            capacity,
            ttl,
            slot_of: vec![NONE; n as usize],
            entries: vec![entry; capacity as usize],
            free_slots: Vec::with_capacity(capacity as usize),
            nodes: vec![EMPTY_NODE; nodes],
            free_nodes: Vec::with_capacity(nodes),
            first: 0,
        };
        cache.clear();
        cache
    }

    /// Empties the cache (a flush): O(entries held).
    pub fn clear(&mut self) {
        for e in &self.entries {
            if e.key != NONE {
                self.slot_of[e.key as usize] = NONE;
            }
        }
        self.entries.iter_mut().for_each(|e| e.key = NONE);
        self.free_slots.clear();
        self.free_slots.extend((0..self.capacity).rev());
        self.nodes.iter_mut().for_each(|n| *n = EMPTY_NODE);
        self.free_nodes.clear();
        self.free_nodes.extend((1..self.nodes.len() as u32).rev());
        self.first = 0;
        if self.eviction == Eviction::Lfu {
            // Node 0 is the count-1 node while it has entries; it is freed like the others.
            self.free_nodes.push(0);
            self.first = NONE;
        }
    }

    /// Keys held (expired ones not yet looked up included).
    pub fn len(&self) -> u32 {
        self.capacity - self.free_slots.len() as u32
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `key` is held and fresh at `now`, without counting a use.
    pub fn contains(&self, key: u32, now: SimTime) -> bool {
        let slot = self.slot_of[key as usize];
        slot != NONE && now < self.entries[slot as usize].expires
    }

    /// Looks `key` up at `now`: a hit counts as a use (recency, frequency); an expired
    /// entry is removed and is a miss.
    pub fn lookup(&mut self, key: u32, now: SimTime) -> bool {
        let slot = self.slot_of[key as usize];
        if slot == NONE {
            return false;
        }
        if now >= self.entries[slot as usize].expires {
            self.remove(slot);
            return false;
        }
        self.touch(slot);
        true
    }

    /// Writes `key` at `now` (after a miss was fetched): a new entry, evicting one when
    /// full, or a held one refreshed (its expiry restarts, and it counts as a use).
    pub fn insert(&mut self, key: u32, now: SimTime) {
        let expires = self.ttl.map_or(SimTime::MAX, |t| SimTime(now.0.saturating_add(t.0)));
        self.insert_until(key, expires);
    }

    /// [`Cache::insert`] of an entry that expires at `expires` (a warm start's entries,
    /// written before time 0).
    pub fn insert_until(&mut self, key: u32, expires: SimTime) {
        let slot = self.slot_of[key as usize];
        if slot != NONE {
            self.entries[slot as usize].expires = expires;
            self.touch(slot);
            return;
        }
        if self.free_slots.is_empty() {
            let victim = self.nodes[self.first as usize].tail;
            self.remove(victim);
        }
        let Some(slot) = self.free_slots.pop() else { return };
        self.slot_of[key as usize] = slot;
        self.entries[slot as usize] = Entry { key, prev: NONE, next: NONE, node: 0, expires };
        let node = match self.eviction {
            Eviction::Lfu if self.first != NONE && self.nodes[self.first as usize].count == 1 => self.first,
            Eviction::Lfu => {
                let n = self.new_node(1, NONE, self.first);
                self.first = n;
                n
            }
            Eviction::Lru | Eviction::Ttl => 0,
        };
        self.push_front(slot, node);
    }

    /// Counts a use of the entry in `slot`.
    fn touch(&mut self, slot: u32) {
        let node = self.entries[slot as usize].node;
        if self.eviction != Eviction::Lfu {
            self.unlink(slot);
            self.push_front(slot, node);
            return;
        }
        let Node { count, next, .. } = self.nodes[node as usize];
        let to = if next != NONE && self.nodes[next as usize].count == count + 1 {
            next
        } else {
            self.new_node(count + 1, node, next)
        };
        self.unlink(slot);
        self.push_front(slot, to);
        self.drop_if_empty(node);
    }

    /// Removes the entry in `slot`.
    fn remove(&mut self, slot: u32) {
        let Entry { key, node, .. } = self.entries[slot as usize];
        self.unlink(slot);
        if self.eviction == Eviction::Lfu {
            self.drop_if_empty(node);
        }
        self.slot_of[key as usize] = NONE;
        self.entries[slot as usize].key = NONE;
        self.free_slots.push(slot);
    }

    /// A frequency node of `count` between `prev` and `next` (LFU).
    fn new_node(&mut self, count: u64, prev: u32, next: u32) -> u32 {
        let n = self.free_nodes.pop().expect("at most one node per entry, plus one");
        self.nodes[n as usize] = Node { count, head: NONE, tail: NONE, prev, next };
        if prev != NONE {
            self.nodes[prev as usize].next = n;
        }
        if next != NONE {
            self.nodes[next as usize].prev = n;
        }
        n
    }

    /// Frees an LFU frequency node left without entries.
    fn drop_if_empty(&mut self, n: u32) {
        let Node { head, prev, next, .. } = self.nodes[n as usize];
        if head != NONE {
            return;
        }
        if prev != NONE {
            self.nodes[prev as usize].next = next;
        } else {
            self.first = next;
        }
        if next != NONE {
            self.nodes[next as usize].prev = prev;
        }
        self.free_nodes.push(n);
    }

    /// Takes the entry in `slot` out of its node's list.
    fn unlink(&mut self, slot: u32) {
        let Entry { prev, next, node, .. } = self.entries[slot as usize];
        if prev != NONE {
            self.entries[prev as usize].next = next;
        } else {
            self.nodes[node as usize].head = next;
        }
        if next != NONE {
            self.entries[next as usize].prev = prev;
        } else {
            self.nodes[node as usize].tail = prev;
        }
    }

    /// Puts the entry in `slot` first (most recent) in `node`'s list.
    fn push_front(&mut self, slot: u32, node: u32) {
        let head = self.nodes[node as usize].head;
        let e = &mut self.entries[slot as usize];
        (e.prev, e.next, e.node) = (NONE, head, node);
        if head != NONE {
            self.entries[head as usize].prev = slot;
        } else {
            self.nodes[node as usize].tail = slot;
        }
        self.nodes[node as usize].head = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn filled(eviction: Eviction, capacity: u32, keys: &[u32]) -> Cache {
        let mut c = Cache::new(100, capacity, eviction, None);
        keys.iter().for_each(|&k| c.insert(k, T0));
        c
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut c = filled(Eviction::Lru, 3, &[1, 2, 3]);
        assert!(c.lookup(1, T0)); // 2 is now the least recent
        c.insert(4, T0);
        assert!(!c.contains(2, T0));
        assert!(c.contains(1, T0) && c.contains(3, T0) && c.contains(4, T0));
        c.insert(5, T0); // then 3
        assert!(!c.contains(3, T0));
        assert_eq!(c.len(), 3);
    }

    /// Against a naive LRU (a Vec in recency order) over a pseudo-random reference string.
    #[test]
    fn lru_matches_a_naive_list() {
        let mut c = Cache::new(50, 7, Eviction::Lru, None);
        let mut naive: Vec<u32> = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let key = ((x >> 33) % 50) as u32;
            let hit = c.lookup(key, T0);
            let pos = naive.iter().position(|&k| k == key);
            assert_eq!(hit, pos.is_some());
            match pos {
                Some(p) => {
                    naive.remove(p);
                }
                None => {
                    c.insert(key, T0);
                    if naive.len() == 7 {
                        naive.pop();
                    }
                }
            }
            naive.insert(0, key);
        }
    }

    /// Shah, Mitra & Matani's scheme: the lowest count leaves, the least recent among equals.
    #[test]
    fn lfu_evicts_the_least_frequent_then_the_least_recent() {
        let mut c = filled(Eviction::Lfu, 3, &[1, 2, 3]);
        assert!(c.lookup(1, T0) && c.lookup(1, T0) && c.lookup(3, T0));
        // Counts: 1 -> 3, 2 -> 1, 3 -> 2.
        c.insert(4, T0);
        assert!(!c.contains(2, T0), "count 1 leaves");
        // Counts: 1 -> 3, 3 -> 2, 4 -> 1: 4 is the only count-1 entry.
        c.insert(5, T0);
        assert!(!c.contains(4, T0));
        assert!(c.lookup(5, T0)); // 5 -> 2, 3 -> 2; 3 is the less recent of the two
        c.insert(6, T0);
        assert!(!c.contains(3, T0) && c.contains(5, T0) && c.contains(1, T0) && c.contains(6, T0));
    }

    #[test]
    fn lfu_reuses_its_nodes() {
        let mut c = Cache::new(10, 2, Eviction::Lfu, None);
        for round in 0..1000u32 {
            let k = round % 10;
            if !c.lookup(k, T0) {
                c.insert(k, T0);
            }
            assert!(c.lookup(0, T0) || k != 0);
        }
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn ttl_expires_after_write_not_after_use() {
        let ttl = SimTime::from_secs(10);
        let mut c = Cache::new(100, 0, Eviction::Ttl, Some(ttl));
        for k in 0..100 {
            c.insert(k, T0);
        }
        assert_eq!(c.len(), 100, "TTL only: no bound by count");
        assert!(c.lookup(7, SimTime::from_secs(9)), "fresh");
        assert!(!c.lookup(7, SimTime::from_secs(10)), "expired at exactly ttl");
        assert!(!c.contains(7, SimTime::ZERO), "the expired entry was removed");
        c.insert(7, SimTime::from_secs(10));
        assert!(c.lookup(7, SimTime::from_secs(19)));
        assert_eq!(c.len(), 100);
    }

    #[test]
    fn lru_with_ttl_misses_an_old_entry() {
        let mut c = Cache::new(10, 5, Eviction::Lru, Some(SimTime::from_secs(1)));
        c.insert(3, T0);
        assert!(c.lookup(3, SimTime::from_millis(999)));
        assert!(!c.lookup(3, SimTime::from_secs(1)));
        assert!(c.is_empty());
    }

    #[test]
    fn clear_empties_every_policy() {
        for eviction in [Eviction::Lru, Eviction::Lfu, Eviction::Ttl] {
            let mut c = filled(eviction, 4, &[1, 2, 3, 4, 5]);
            assert!(c.lookup(5, T0));
            c.clear();
            assert!(c.is_empty());
            assert!(!c.lookup(5, T0));
            c.insert(9, T0);
            assert!(c.lookup(9, T0), "{eviction:?} works after a flush");
        }
    }
}
