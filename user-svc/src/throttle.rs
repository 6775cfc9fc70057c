//! Failed-login throttling: after too many failures for one key within a window, further
//! attempts are refused until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per key (a username, a client address) over a sliding window.
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// At most `limit` failures per key within `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when `key` is locked out now.
    pub fn locked_for(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(key)?;
        while entry
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            entry.pop_front();
        }
        if entry.len() < self.limit {
            return None;
        }
        let oldest = *entry.front()?;
        Some(
            (self.window.saturating_sub(now.duration_since(oldest)))
                .as_secs()
                .max(1),
        )
    }

    /// Records a failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bound the memory an attacker can make us hold: forget keys with no recent failure.
            let window = self.window;
            map.retain(|_, v| v.back().is_some_and(|t| t.elapsed() < window));
        }
        let entry = map.entry(key.to_owned()).or_default();
        entry.push_back(Instant::now());
        while entry.len() > self.limit {
            entry.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_per_key() {
        let t = Throttle::new(3, Duration::from_secs(900));
        for _ in 0..2 {
            t.fail("ann");
        }
        assert_eq!(t.locked_for("ann"), None);
        t.fail("ann");
        assert!(t.locked_for("ann").is_some_and(|s| s > 0 && s <= 900));
        assert_eq!(t.locked_for("bob"), None);
    }

    #[test]
    fn failures_leave_the_window() {
        let t = Throttle::new(1, Duration::from_millis(20));
        t.fail("ann");
        assert!(t.locked_for("ann").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(t.locked_for("ann"), None);
    }
}
