//! The generator's randomness: a splitmix64 generator seeded by names, and the Prow build
//! ids and URLs drawn from it.

use chrono::{DateTime, Utc};

/// splitmix64: small, fast, and good enough for plausible fake data.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
        }
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len + 16);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(len);
        out
    }
}

/// FNV-1a over the parts, as a seed.
pub(crate) fn seed(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Twitter-style snowflake epoch used by Prow build ids.
pub(crate) const PROW_EPOCH_MS: i64 = 1_288_834_974_657;

pub(crate) fn build_id(rng: &mut Rng, at: DateTime<Utc>) -> String {
    let ms = (at.timestamp_millis() - PROW_EPOCH_MS).max(0) as u64;
    ((ms << 22) | (rng.next_u64() & 0x3F_FFFF)).to_string()
}

pub(crate) fn prow_url(job: &str, id: &str) -> String {
    format!("https://prow.ci.openshift.org/view/gs/test-platform-results/logs/{job}/{id}")
}
