//! Sign-in limits. Every attempt takes a cell from two `governor` buckets: one for the
//! client — an IPv4 address, or the /64 network of an IPv6 address, since one host is
//! given a whole /64 and can pick any address in it — and one for the client together
//! with the user name. A wrong password sent from one client therefore never locks the
//! right one out from another, while guessing one account's password (the pair's bucket)
//! and trying a few passwords on many accounts (the client's bucket) both stay slow. An
//! attempt refused here is refused before any password is checked, with the time until
//! its bucket refills.
//!
//! Checking a password is argon2 work on the blocking pool, so [`Verifications`] lets only
//! a few checks run at once; an attempt that cannot start within a short wait is turned
//! away (503 with `Retry-After`) instead of queueing up behind a flood.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Keys kept before idle ones are forgotten.
const FORGET_ABOVE: usize = 10_000;

/// The longest user name kept in a key: no account has a longer one (see
/// [`super::api::valid_name`]), so longer names need no bucket of their own.
const NAME_KEY_LEN: usize = 64;

/// How long a refused check should wait before trying again.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The client an attempt counts against: an IPv4 address as it is, an IPv6 address as its
/// /64 network (an IPv4-mapped one as its IPv4 address), an unknown one as `0.0.0.0`.
pub fn client_key(address: Option<IpAddr>) -> IpAddr {
    match address {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(v4)) => IpAddr::V4(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !(u128::from(u64::MAX));
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

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
    /// The blocking task died.
    #[error("password check failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The password checks (argon2): at most a few at once, on the blocking pool.
#[derive(Debug)]
pub struct Verifications {
    turns: Arc<Semaphore>,
    wait: Duration,
    gauge: Arc<Gauge>,
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
        }
    }

    /// Runs the check `f` on the blocking pool once a turn is free. The turn is held by
    /// the blocking task itself, so a check whose request went away still counts until
    /// argon2 is done with it.
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
        let result = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let _running = Running::start(gauge);
            f()
        })
        .await?;
        Ok(result)
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
    fn ipv6_clients_count_per_64() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_key(ip("::ffff:192.0.2.1")),
            ip("192.0.2.1").expect("v4")
        );
        assert_ne!(client_key(ip("192.0.2.1")), client_key(ip("192.0.2.2")));
        assert_eq!(client_key(None), client_key(ip("0.0.0.0")));
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
}
