//! Counting attempts in a sliding window, per key (an account, an address,
//! a receipt code), to slow down guessing. In memory: a restart forgets the
//! counts, which gives an attacker no more than waiting would.

use jiefen_domain::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use time::Duration;

/// Keys counted at most; past it the keys with a single attempt are
/// forgotten, so a spray of distinct keys cannot exhaust memory.
const MAX_KEYS: usize = 100_000;

pub struct Throttle {
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Timestamp>>>,
}

impl Throttle {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            attempts: Mutex::default(),
        }
    }

    /// Seconds to wait if `key` has had `limit` attempts in the window.
    pub fn blocked(&self, key: &str, limit: usize, now: Timestamp) -> Option<u64> {
        let mut attempts = self.attempts.lock().expect("throttle lock");
        let q = attempts.get_mut(key)?;
        while q.front().is_some_and(|t| now.minus(t) >= self.window) {
            q.pop_front();
        }
        if q.len() < limit {
            return None;
        }
        let oldest = *q.front()?;
        let wait = self.window - now.minus(&oldest);
        Some(wait.whole_seconds().max(1) as u64)
    }

    pub fn record(&self, key: &str, now: Timestamp) {
        let mut attempts = self.attempts.lock().expect("throttle lock");
        if attempts.len() > MAX_KEYS {
            attempts.retain(|_, q| q.len() > 1);
        }
        attempts.entry(key.to_owned()).or_default().push_back(now);
    }

    pub fn forget(&self, key: &str) {
        self.attempts.lock().expect("throttle lock").remove(key);
    }
}
