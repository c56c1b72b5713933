//! Fairness between caller threads: the window each thread counts its operations in, and
//! Jain's index over the counts.

use std::sync::atomic::{AtomicBool, Ordering};

/// Counts one thread's operations in a batch, and how many it had made when the first thread
/// of the batch made its last. That count is the fairness figure: with fixed work per thread
/// every total is equal, but how far each thread had got while all were still competing shows
/// whom the locks, queues and scheduler favoured.
pub struct Window<'a> {
    first_done: &'a AtomicBool,
    ops: u64,
    at_first_done: Option<u64>,
    done: bool,
}

impl<'a> Window<'a> {
    /// `first_done` is the batch's flag, cleared before the batch starts.
    pub fn new(first_done: &'a AtomicBool) -> Window<'a> {
        Window {
            first_done,
            ops: 0,
            at_first_done: None,
            done: false,
        }
    }

    /// Counts `n` operations just made.
    #[inline]
    pub fn ops(&mut self, n: u64) {
        // Relaxed: the flag is a statistic's boundary, not a guard; seeing it one operation
        // late shifts a count by one. The line is only read until its one store, so the load
        // costs an L1 hit.
        if self.at_first_done.is_none() && self.first_done.load(Ordering::Relaxed) {
            self.at_first_done = Some(self.ops);
        }
        self.ops += n;
    }

    /// Says this thread has made its last operation of the batch (what is left is reading
    /// its clients' events); the first thread to say so closes every thread's window.
    pub fn done(&mut self) {
        if !self.done {
            self.done = true;
            self.first_done.store(true, Ordering::Relaxed);
        }
    }

    /// Returns the thread's operations and its count when the first thread was done.
    pub fn finish(&mut self) -> (u64, u64) {
        self.done();
        (self.ops, self.at_first_done.unwrap_or(self.ops))
    }
}

/// Jain's fairness index of `counts`: 1 when all are equal, 1/n when one has everything.
pub fn jain(counts: &[u64]) -> f64 {
    let sum: f64 = counts.iter().map(|&c| c as f64).sum();
    let squares: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    if squares == 0.0 {
        0.0
    } else {
        sum * sum / (counts.len() as f64 * squares)
    }
}
