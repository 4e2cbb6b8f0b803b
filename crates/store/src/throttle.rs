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

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// Requests per key (an account, an address) at a sustained rate, with a
/// burst allowance: the generic cell rate algorithm, one instant per key,
/// so memory does not grow with the rate. In memory like [`Throttle`].
pub struct RateLimit {
    /// Nanoseconds one request "costs" at the sustained rate.
    interval: i128,
    /// How far ahead of now a key's schedule may run: the burst.
    tolerance: i128,
    /// Per key, the instant (nanoseconds) its next request is due at the
    /// sustained rate.
    due: Mutex<HashMap<String, i128>>,
}

impl RateLimit {
    pub fn new(rate: Rate) -> Self {
        let interval = 60_000_000_000 / i128::from(rate.per_minute.max(1));
        Self {
            interval,
            tolerance: interval * i128::from(rate.burst.max(1) - 1),
            due: Mutex::default(),
        }
    }

    /// Counts one request of `key` at `now`, or says how many seconds to
    /// wait when it is over its rate (a refused request is not counted).
    pub fn take(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let now = i128::from(now.unix_millis()) * 1_000_000;
        let mut due = self.due.lock().expect("rate limit lock");
        if due.len() > MAX_KEYS {
            // A key whose schedule has caught up with now is as if new.
            due.retain(|_, at| *at > now);
        }
        let at = due.get(key).copied().unwrap_or(now).max(now);
        if at - now > self.tolerance {
            let wait = at - self.tolerance - now;
            return Err((wait / 1_000_000_000).max(1) as u64);
        }
        due.insert(key.to_owned(), at + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limit = RateLimit::new(Rate {
            per_minute: 60,
            burst: 5,
        });
        let t0 = Timestamp::parse("2026-03-02T08:00:00Z").unwrap();
        for _ in 0..5 {
            assert_eq!(limit.take("a", t0), Ok(()));
        }
        assert_eq!(limit.take("a", t0), Err(1));
        assert_eq!(limit.take("b", t0), Ok(()), "keys are apart");
        // One a second comes back.
        let later = |ms: i64| t0.plus(Duration::milliseconds(ms));
        assert_eq!(limit.take("a", later(999)), Err(1));
        assert_eq!(limit.take("a", later(1000)), Ok(()));
        assert!(limit.take("a", later(1000)).is_err());
        // Idle for a minute: the whole burst again.
        for _ in 0..5 {
            assert_eq!(limit.take("a", later(61_000)), Ok(()));
        }
        assert!(limit.take("a", later(61_000)).is_err());
    }
}
