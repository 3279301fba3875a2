//! Sign-in limits. Every attempt takes a cell from two `governor` buckets: one for the
//! client — an IPv4 address, or the /64 network of an IPv6 address, since one host is
//! given a whole /64 and can pick any address in it — and one for the client together
//! with the user name. A wrong password sent from one client therefore never locks the
//! right one out from another, while guessing one account's password (the pair's bucket)
//! and trying a few passwords on many accounts (the client's bucket) both stay slow. An
//! attempt refused here is refused before any password is checked, with the time until
//! its bucket refills.
//!
//! Checking a password is argon2 work, so [`Verifications`] lets only a few checks run at
//! once, on threads of their own at the lowest CPU priority: pages are served first and a
//! sign-in flood takes only the time they leave. An attempt that cannot start within a
//! short wait is turned away (503 with `Retry-After`) instead of queueing up behind a
//! flood.

use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::edge::peer::client_key;

/// Keys kept before idle ones are forgotten.
const FORGET_ABOVE: usize = 10_000;

/// The longest user name kept in a key: no account has a longer one (see
/// [`super::names::valid_name`]), so longer names need no bucket of their own.
const NAME_KEY_LEN: usize = 64;

/// How long a refused check should wait before trying again.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The user-name part of a pair's key: case-folded and cut to [`NAME_KEY_LEN`] bytes.
fn name_key(name: &str) -> String {
    let mut end = name.len().min(NAME_KEY_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_lowercase()
}

/// The sign-in buckets, per client and per (client, user name), and the password checks
/// under way.
#[derive(Debug)]
pub struct SignInLimits {
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    by_pair: DefaultKeyedRateLimiter<(IpAddr, String)>,
    clock: DefaultClock,
    /// The password checks: how many may run at once, and how many do.
    pub verifications: Verifications,
}

impl SignInLimits {
    /// Limits of `per_client` and `per_pair` attempts a minute (that many at once), and
    /// `concurrency` password checks at a time, each waiting at most `wait` for its turn.
    pub fn new(
        per_client: NonZeroU32,
        per_pair: NonZeroU32,
        concurrency: NonZeroUsize,
        wait: Duration,
    ) -> SignInLimits {
        SignInLimits {
            by_client: RateLimiter::keyed(Quota::per_minute(per_client)),
            by_pair: RateLimiter::keyed(Quota::per_minute(per_pair)),
            clock: DefaultClock::default(),
            verifications: Verifications::new(concurrency, wait),
        }
    }

    /// Takes one attempt for the client at `address` (unknown: counted together) and for
    /// `name` from that client; `Err` with how long to wait when either has none left.
    /// The client's bucket goes first, so a flood of made-up names from one client stops
    /// there and adds no keys for them.
    pub fn attempt(&self, address: Option<IpAddr>, name: &str) -> Result<(), Duration> {
        if self.by_client.len() > FORGET_ABOVE {
            self.by_client.retain_recent();
        }
        if self.by_pair.len() > FORGET_ABOVE {
            self.by_pair.retain_recent();
        }
        let client = client_key(address);
        let now = self.clock.now();
        self.by_client
            .check_key(&client)
            .map_err(|n| n.wait_time_from(now))?;
        self.by_pair
            .check_key(&(client, name_key(name)))
            .map_err(|n| n.wait_time_from(now))
    }
}

/// Why a password check did not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Every turn was taken for longer than the wait; try again after `retry_after`.
    #[error("too many sign-ins are being checked right now; try again in {} s", retry_after.as_secs().max(1))]
    Busy {
        /// When to try again.
        retry_after: Duration,
    },
    /// The check panicked, or its thread could not be started.
    #[error("password check failed: {0}")]
    Lost(&'static str),
}

/// The password checks (argon2): at most a few at once, each on one of as many threads
/// of the lowest CPU priority.
#[derive(Debug)]
pub struct Verifications {
    turns: Arc<Semaphore>,
    wait: Duration,
    gauge: Arc<Gauge>,
    workers: Workers,
}

/// A check handed to a worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that run the checks. They start on the first check and end when the
/// `Verifications` owning them is dropped (their job queue closes).
#[derive(Debug)]
struct Workers {
    count: usize,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Workers {
    fn new(count: usize) -> Workers {
        Workers {
            count,
            queue: Mutex::new(None),
        }
    }

    /// Queues `job` for a worker, starting the workers the first time.
    fn submit(&self, job: Job) -> Result<(), CheckError> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if queue.is_none() {
            *queue = Some(Self::start(self.count)?);
        }
        queue
            .as_ref()
            .ok_or(CheckError::Lost("no worker"))?
            .send(job)
            .map_err(|_| CheckError::Lost("the workers are gone"))
    }

    fn start(count: usize) -> Result<mpsc::Sender<Job>, CheckError> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..count {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = {
                            let queue = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            queue.recv()
                        };
                        match job {
                            // a panicking check loses its answer, not the thread
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(mpsc::RecvError) => break,
                        }
                    }
                })
                .map_err(|_| CheckError::Lost("could not start a password-check thread"))?;
        }
        Ok(sender)
    }
}

/// Gives the calling thread the lowest CPU priority (nice 19), so that under load the
/// scheduler runs every page and API request before it. Linux applies `setpriority` to
/// the calling thread alone; elsewhere the thread keeps its priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!("password checks run at normal priority: {e}");
    }
}

/// How many checks run, and the most that ever ran at once.
#[derive(Debug, Default)]
struct Gauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// One check running; counted until dropped.
struct Running(Arc<Gauge>);

impl Running {
    fn start(gauge: Arc<Gauge>) -> Running {
        let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.peak.fetch_max(now, Ordering::SeqCst);
        Running(gauge)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Verifications {
    /// `concurrency` checks at a time, each waiting at most `wait` for its turn.
    pub fn new(concurrency: NonZeroUsize, wait: Duration) -> Verifications {
        Verifications {
            turns: Arc::new(Semaphore::new(concurrency.get())),
            wait,
            gauge: Arc::default(),
            workers: Workers::new(concurrency.get()),
        }
    }

    /// Runs the check `f` on a worker once a turn is free. The turn is held by the job
    /// itself, so a check whose request went away still counts until argon2 is done with
    /// it; there are as many workers as turns, so a job never waits for a thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, CheckError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let turn: OwnedSemaphorePermit =
            tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or(CheckError::Busy {
                    retry_after: BUSY_RETRY,
                })?;
        let gauge = self.gauge.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        self.workers.submit(Box::new(move || {
            let answer = {
                let _turn = turn;
                let _running = Running::start(gauge);
                f()
            };
            // counted as done before the caller hears the answer
            let _ = done.send(answer);
        }))?;
        result
            .await
            .map_err(|_| CheckError::Lost("the check panicked"))
    }

    /// How many checks are running now.
    pub fn running(&self) -> usize {
        self.gauge.running.load(Ordering::SeqCst)
    }

    /// The most checks that ever ran at once.
    pub fn peak(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }
}

/// Half the processors this process may use, at least one: the default number of password
/// checks at once, leaving the other half to serve pages during a sign-in flood.
pub fn default_concurrency() -> NonZeroUsize {
    let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    NonZeroUsize::new(cpus / 2).unwrap_or(NonZeroUsize::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_client: u32, per_pair: u32) -> SignInLimits {
        SignInLimits::new(
            NonZeroU32::new(per_client).expect("nonzero"),
            NonZeroU32::new(per_pair).expect("nonzero"),
            NonZeroUsize::MIN,
            Duration::from_millis(10),
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn a_pair_runs_out_without_touching_other_clients() {
        let limits = limits(5, 2);
        let attacker = ip("192.0.2.1");
        let victim = ip("198.51.100.7");
        assert!(limits.attempt(attacker, "ada").is_ok());
        assert!(limits.attempt(attacker, "ADA").is_ok());
        let wait = limits.attempt(attacker, "ada").expect_err("pair exhausted");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(limits.attempt(victim, "ada").is_ok(), "another client");
        assert!(limits.attempt(attacker, "bob").is_ok(), "another name");
        assert!(limits.attempt(attacker, "carol").is_ok());
        assert!(
            limits.attempt(attacker, "dave").is_err(),
            "client exhausted"
        );
    }

    #[test]
    fn long_names_share_a_key() {
        let long = "é".repeat(100);
        assert_eq!(name_key(&long).len(), NAME_KEY_LEN);
        assert_eq!(name_key("Ada"), "ada");
    }

    #[tokio::test]
    async fn checks_beyond_the_turns_are_turned_away() {
        let checks = Arc::new(Verifications::new(
            NonZeroUsize::MIN,
            Duration::from_millis(20),
        ));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = {
            let checks = checks.clone();
            tokio::spawn(async move {
                checks
                    .run(move || {
                        let _ = hold.recv();
                    })
                    .await
            })
        };
        while checks.running() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let second = checks.run(|| ()).await;
        assert!(
            matches!(second, Err(CheckError::Busy { retry_after }) if retry_after >= Duration::from_secs(1)),
            "{second:?}"
        );
        release.send(()).expect("released");
        first.await.expect("joined").expect("ran");
        checks.run(|| ()).await.expect("a turn is free again");
        assert_eq!(checks.peak(), 1);
        assert_eq!(checks.running(), 0);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn checks_run_at_the_lowest_priority_and_pages_do_not() {
        let checks = Verifications::new(NonZeroUsize::new(2).expect("2"), Duration::from_secs(5));
        let nice = |_| rustix::process::getpriority_process(None).expect("priority");
        let before = nice(());
        let inside = checks.run(move || nice(())).await.expect("ran");
        assert_eq!(inside, 19, "a password check's thread");
        assert_eq!(nice(()), before, "the caller's thread is untouched");
        let panicked = checks.run(|| panic!("argon2 failed")).await;
        assert!(matches!(panicked, Err(CheckError::Lost(_))), "{panicked:?}");
        for _ in 0..3 {
            let after = checks.run(move || nice(())).await.expect("still serving");
            assert_eq!(after, 19);
        }
    }
}
