//! argon2id password hashing on a few threads of its own, with a bounded queue.
//!
//! Every hash takes 19 MiB for its duration. Hashing on the blocking pool, with nothing bounding
//! how many ran at once, took a burst of 150 registrations to gigabytes. Here at most `workers`
//! hashes run at once, on `workers` long-lived threads, and at most `queue` wait; a burst beyond
//! that is answered 503 with `Retry-After` at once instead of queueing without bound. (The
//! binaries also run on mimalloc: glibc's malloc kept every 19 MiB block a hash freed.)

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;
use crate::error::Error;

/// How many hashes run at once, and how many may wait.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Threads hashing (default: the number of CPUs).
    pub workers: usize,
    /// Hashes waiting for a thread beyond those running (default: 128 per worker, about a
    /// second and a half of waiting at 12 ms a hash).
    pub queue: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            workers,
            queue: 128 * workers,
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they stop when the last handle is dropped.
struct Pool {
    jobs: SyncSender<Job>,
}

impl Pool {
    fn start(limits: HashLimits) -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(limits.queue);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..limits.workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` on a hashing thread; `Busy` when every thread is busy and the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Error::Busy,
            TrySendError::Disconnected(_) => Error::Crypto("the hashing threads stopped".into()),
        })?;
        rx.await
            .map_err(|_| Error::Crypto("a hashing thread stopped".into()))
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone: the service stopped
        }
    }
}

/// Hashes and verifies passwords with OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    /// The hash an unknown user's login is checked against, so that it takes as long.
    dummy: Arc<str>,
    pool: Arc<Pool>,
}

impl Passwords {
    /// Sets up the hasher and its threads; fails at start-up rather than hash with other
    /// parameters.
    pub fn new(limits: HashLimits) -> anyhow::Result<Self> {
        let params = Params::new(19 * 1024, 2, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon
            .hash_password(b"no user has this password")
            .map_err(|e| anyhow::anyhow!("argon2 does not hash: {e}"))?
            .to_string();
        Ok(Self {
            argon,
            dummy: dummy.into(),
            pool: Arc::new(Pool::start(limits)?),
        })
    }

    /// Hashes a password into a PHC string; `Busy` when too many hashes are under way.
    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        let password = String::from(password);
        let argon = self.argon.clone();
        self.pool
            .run(move || {
                argon
                    .hash_password(password.as_bytes())
                    .map(|h| h.to_string())
                    .map_err(|e| Error::Crypto(format!("password hashing failed: {e}")))
            })
            .await?
    }

    /// Checks a password against a PHC string. With `None` (unknown user) it checks against a
    /// dummy hash, so that the answer takes as long as for a real user, and is `false`.
    /// `Busy` when too many hashes are under way.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, Error> {
        let known = phc.is_some();
        let argon = self.argon.clone();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let matches = self
            .pool
            .run(move || {
                argon
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> anyhow::Result<()> {
        let passwords = Passwords::new(HashLimits::default())?;
        let phc = passwords
            .hash(Password::parse("correct horse").map_err(anyhow::Error::msg)?)
            .await?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse".into(), Some(phc.clone()))
                .await?
        );
        assert!(!passwords.verify("wrong horse".into(), Some(phc)).await?);
        assert!(!passwords.verify("correct horse".into(), None).await?);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_beyond_the_threads_and_the_queue_is_refused_not_queued() -> anyhow::Result<()>
    {
        let passwords = Passwords::new(HashLimits {
            workers: 1,
            queue: 2,
        })?;
        let burst: Vec<_> = (0..12)
            .map(|_| {
                let passwords = passwords.clone();
                tokio::spawn(async move { passwords.verify("guess".into(), None).await })
            })
            .collect();
        let (mut answered, mut busy) = (0, 0);
        for task in burst {
            match task.await? {
                Ok(matches) => {
                    assert!(!matches);
                    answered += 1;
                }
                Err(Error::Busy) => busy += 1,
                Err(e) => anyhow::bail!("unexpected: {e}"),
            }
        }
        assert_eq!(answered + busy, 12);
        assert!(
            busy >= 1,
            "a burst of 12 over 1 thread and 2 places is shed"
        );
        assert!(answered >= 1, "the first ones are served");
        // Once the burst is over, the next one is served.
        assert!(!passwords.verify("guess".into(), None).await?);
        Ok(())
    }
}
