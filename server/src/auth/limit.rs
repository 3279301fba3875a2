//! Sign-in rate limits with `governor`: every attempt takes a cell from the client
//! address's bucket and from the user name's bucket; when either is empty the attempt is
//! refused with the time until it refills, before any password is checked.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys kept before idle ones are forgotten.
const FORGET_ABOVE: usize = 10_000;

/// The sign-in buckets, per client address and per user name.
#[derive(Debug)]
pub struct SignInLimits {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_name: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl SignInLimits {
    /// Limits of `per_address` and `per_name` attempts a minute (that many at once).
    pub fn new(per_address: NonZeroU32, per_name: NonZeroU32) -> SignInLimits {
        SignInLimits {
            by_address: RateLimiter::keyed(Quota::per_minute(per_address)),
            by_name: RateLimiter::keyed(Quota::per_minute(per_name)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one attempt for `address` (unknown: counted together) and `name`; `Err` with
    /// how long to wait when either has none left.
    pub fn attempt(&self, address: Option<IpAddr>, name: &str) -> Result<(), Duration> {
        if self.by_address.len() > FORGET_ABOVE {
            self.by_address.retain_recent();
        }
        if self.by_name.len() > FORGET_ABOVE {
            self.by_name.retain_recent();
        }
        let address = address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let now = self.clock.now();
        self.by_address
            .check_key(&address)
            .map_err(|n| n.wait_time_from(now))?;
        self.by_name
            .check_key(&name.to_lowercase())
            .map_err(|n| n.wait_time_from(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_and_address_has_its_own_bucket() {
        let three = NonZeroU32::new(3).expect("nonzero");
        let two = NonZeroU32::new(2).expect("nonzero");
        let limits = SignInLimits::new(three, two);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(limits.attempt(Some(a), "ada").is_ok());
        assert!(limits.attempt(Some(a), "ADA").is_ok());
        let wait = limits.attempt(Some(b), "ada").expect_err("name exhausted");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(limits.attempt(Some(a), "bob").is_ok());
        assert!(
            limits.attempt(Some(a), "carol").is_err(),
            "address exhausted"
        );
        assert!(limits.attempt(Some(b), "carol").is_ok());
    }
}
