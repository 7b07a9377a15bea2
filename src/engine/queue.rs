//! The future-event list: a binary min-heap keyed by `(time, sequence)`.
//!
//! The sequence number is a counter stamped at insertion, so events scheduled for the
//! same nanosecond leave in the order they were scheduled (FIFO). That makes tie
//! resolution a property of the model's logic, never of the heap's internals: every
//! key is unique, so any correct heap pops the same order.
//!
//! Why not `std::collections::BinaryHeap`: its `pop` swaps the last entry into the root
//! and reads it back at once, a wide load over fresh narrow stores that the CPU cannot
//! forward; profiling showed that stall as a third of the event loop. Here the moving
//! entry stays in registers and is written once, where it lands ("hole" sifting), and
//! the key is one `u128` compare. (A 4-ary heap was no faster on the models and 15%
//! slower on a 1000-event queue.) A popped root stays in place until the next push,
//! which takes its place with one sift down: most events schedule another, so most
//! events cost one pass through the heap, not two.
//!
//! Beside the heap one event may wait in a *lane* ([`EventQueue::push_lane`]): a source
//! that always has exactly one event pending (an open workload's next arrival) skips the
//! heap, and a pop compares the lane's key with the root's. The key carries the same
//! sequence number either way, so the order is the heap's alone would be; in an M/M/c
//! station half of all events are arrivals, and they no longer pass through the heap.

use super::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    /// `time << 64 | seq`: the order is one integer compare.
    key: u128,
    event: E,
}

/// Up to this many pending events a vacant root is filled from the top, beyond it
/// bottom-up (measured: the models' queues hold a few dozen events at most and prefer the
/// former; a queue of a thousand random times, the latter, by a fifth).
const SMALL: usize = 64;

/// A priority queue of events ordered by time, then by insertion order.
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
    /// The root was handed out by `pop` but is still in `heap[0]`. Most events schedule
    /// another, so the next `push` takes the root's place with one sift down, instead
    /// of a removal and an insertion; a `pop` before any push removes it first.
    vacant_root: bool,
    /// The one event kept beside the heap, if any (see the module doc), and its key
    /// (`u128::MAX` when the lane is free: no event's key, as no sequence number reaches
    /// `u64::MAX`), kept apart so a pop compares two integers.
    lane: Option<E>,
    lane_key: u128,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue with room for `capacity` events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { heap: Vec::with_capacity(capacity), next_seq: 0, vacant_root: false, lane: None, lane_key: u128::MAX }
    }

    /// Schedules `event` at `time`.
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) {
        let entry = Entry { key: (u128::from(time.0) << 64) | u128::from(self.next_seq), event };
        self.next_seq += 1;
        if self.vacant_root {
            self.vacant_root = false;
            if self.heap.len() <= SMALL {
                self.sift_down(entry);
            } else {
                self.fill_root(entry);
            }
            return;
        }
        let i = self.heap.len();
        self.heap.push(entry);
        self.sift_up(i, entry);
    }

    /// Schedules `event` at `time` in the lane beside the heap if the lane is free, else
    /// in the heap: for a source with one event pending at a time (it pops in the same
    /// order either way).
    #[inline(always)]
    pub fn push_lane(&mut self, time: SimTime, event: E) {
        if self.lane.is_some() {
            return self.push(time, event);
        }
        self.lane = Some(event);
        self.lane_key = (u128::from(time.0) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
    }

    /// Moves the hole at `i` up past every parent later than `entry`, then fills it.
    #[inline(always)]
    fn sift_up(&mut self, mut i: usize, entry: Entry<E>) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].key < entry.key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    /// Puts `entry` in the vacant root and moves it down past every earlier child. In a
    /// small queue a new event is often among the earliest (an arrival especially), so it
    /// stops high: fewer compares than the bottom-up pass. In a large one it sinks far, two
    /// compares a level, and `fill_root` is the cheaper.
    #[inline(always)]
    fn sift_down(&mut self, entry: Entry<E>) {
        let mut i = 0;
        while let Some(c) = self.earlier_child(i) {
            if entry.key < self.heap[c].key {
                break;
            }
            self.heap[i] = self.heap[c];
            i = c;
        }
        self.heap[i] = entry;
    }

    /// Puts `entry` in place of the vacant root, bottom-up (Floyd): walk the hole from the
    /// root down to a leaf along the earlier children, one compare per level, then sift
    /// `entry` up from there.
    #[inline(always)]
    fn fill_root(&mut self, entry: Entry<E>) {
        let mut i = 0;
        while let Some(c) = self.earlier_child(i) {
            self.heap[i] = self.heap[c];
            i = c;
        }
        self.sift_up(i, entry);
    }

    /// The earlier of the children of `i`, if it has any.
    #[inline(always)]
    fn earlier_child(&self, i: usize) -> Option<usize> {
        let len = self.heap.len();
        let c = 2 * i + 1;
        if c >= len {
            return None;
        }
        // Which child is earlier is a coin toss; as arithmetic, not a branch, it costs no
        // misprediction. A lone child is compared with itself.
        let right = (c + 1).min(len - 1);
        Some(c + usize::from(self.heap[right].key < self.heap[c].key))
    }

    /// Removes the (vacant) root.
    #[inline]
    fn remove_root(&mut self) {
        let Some(last) = self.heap.pop() else { return };
        if !self.heap.is_empty() {
            // It came from the bottom, so it rarely climbs far.
            self.fill_root(last);
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.vacant_root {
            self.vacant_root = false;
            self.remove_root();
        }
        let top = self.heap.first();
        if self.lane_key < top.map_or(u128::MAX, |top| top.key)
            && let Some(event) = self.lane.take()
        {
            let time = SimTime((self.lane_key >> 64) as u64);
            self.lane_key = u128::MAX;
            return Some((time, event));
        }
        let top = *top?;
        self.vacant_root = true;
        Some((SimTime((top.key >> 64) as u64), top.event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        // With the root vacant, the earliest of the rest is one of its two children.
        let skip = usize::from(self.vacant_root);
        let first = self.heap.get(skip..(1 + 2 * skip).min(self.heap.len())).unwrap_or(&[]);
        let lane = self.lane.as_ref().map(|_| self.lane_key);
        first.iter().map(|e| e.key).chain(lane).min().map(|k| SimTime((k >> 64) as u64))
    }

    /// The pending events with their times, in no particular order (for diagnostics: a
    /// watchdog asking what could still happen).
    pub fn iter(&self) -> impl Iterator<Item = (SimTime, &E)> {
        let skip = usize::from(self.vacant_root);
        let heap = &self.heap[skip.min(self.heap.len())..];
        let lane = self.lane.as_ref().map(|e| (self.lane_key, e));
        heap.iter().map(|e| (e.key, &e.event)).chain(lane).map(|(key, e)| (SimTime((key >> 64) as u64), e))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.vacant_root) + usize::from(self.lane.is_some())
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        q.push(SimTime(3), 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
        assert!(q.is_empty());
    }

    #[test]
    fn ties_stay_fifo_under_interleaving() {
        let mut q = EventQueue::default();
        for i in 0..1000u32 {
            q.push(SimTime(u64::from(i % 3)), i);
        }
        let mut last = (SimTime::ZERO, 0u32);
        let mut first = true;
        while let Some((t, i)) = q.pop() {
            if !first {
                assert!(t > last.0 || (t == last.0 && i > last.1));
            }
            first = false;
            last = (t, i);
        }
    }

    #[test]
    fn matches_a_sorted_reference_under_random_pushes_and_pops() {
        // Interleaved pushes (never earlier than the last pop, as in a simulation) and
        // pops, checked against a reference that sorts by (time, insertion order).
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u32)> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut now = 0;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 5 < 3 || reference.is_empty() {
                let t = now + (x >> 40) % 64;
                // A third of them offered to the lane (the heap takes them when it is full).
                if x.is_multiple_of(3) {
                    q.push_lane(SimTime(t), i);
                } else {
                    q.push(SimTime(t), i);
                }
                reference.push((t, i));
            } else {
                let k = (0..reference.len()).min_by_key(|&k| reference[k]).expect("non-empty");
                let want = reference.remove(k);
                assert_eq!(q.peek_time(), Some(SimTime(want.0)));
                let (t, e) = q.pop().expect("non-empty");
                assert_eq!((t.0, e), want);
                now = t.0;
            }
            assert_eq!(q.len(), reference.len());
        }
    }
}
