//! A verification job's history across a stream's releases, and a stream's jobs ranked by
//! what holds it back: the questions "is this job flaky?" and "what blocks acceptance?".
//!
//! A *run* is the job's gate on one release. It *passed* or *failed* once finished; it
//! *flaked* when it passed only on a retry (earlier attempts of the same release failed).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{GateKind, JobState, Phase};

/// The windows a job page reports on, in days.
pub const WINDOWS: [u32; 3] = [7, 14, 30];
/// The window the ranking covers, in days.
pub const RANKING_DAYS: u32 = 14;
/// Most runs a job page lists (the newest of the longest window).
pub const MOST_RUNS: usize = 300;

/// Longest stream or job name accepted.
const MOST_CHARS: usize = 256;

/// Whether `value` of parameter `field` is a usable stream or job name, or why not.
pub fn check_name(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    if value.chars().count() > MOST_CHARS || value.chars().any(char::is_control) {
        return Err(format!(
            "{field} must be at most {MOST_CHARS} characters without control characters"
        ));
    }
    Ok(())
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    /// The release it ran on.
    pub release: String,
    /// When that release was created.
    pub created_at: DateTime<Utc>,
    /// The release's phase.
    pub phase: Phase,
    /// Blocking or informing on that release.
    pub kind: GateKind,
    /// Its state.
    pub state: JobState,
    /// Prow URL of the deciding run.
    pub url: String,
    /// Retries used.
    pub retries: u32,
    /// Earlier attempts' URLs.
    pub previous_attempt_urls: Vec<String>,
}

impl JobRun {
    /// Finished and succeeded.
    pub fn passed(&self) -> bool {
        self.state == JobState::Succeeded
    }

    /// Finished and failed.
    pub fn failed(&self) -> bool {
        self.state == JobState::Failed
    }

    /// Succeeded only on a retry.
    pub fn flaked(&self) -> bool {
        self.passed() && self.retries > 0
    }
}

/// How a job fared over one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStats {
    /// The window, in days.
    pub days: u32,
    /// Runs on releases created in the window.
    pub runs: u32,
    /// Of those, passed.
    pub passed: u32,
    /// Failed.
    pub failed: u32,
    /// Passed only on a retry.
    pub flaked: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn percent(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| {
        let p = (u64::from(part) * 100 + u64::from(whole) / 2) / u64::from(whole);
        u32::try_from(p).unwrap_or(100)
    })
}

impl JobStats {
    /// The stats of `runs` (any order) on releases created within `days` before `now`.
    pub fn over(runs: &[JobRun], now: DateTime<Utc>, days: u32) -> JobStats {
        let since = now - Duration::days(i64::from(days));
        let window: Vec<&JobRun> = runs.iter().filter(|r| r.created_at >= since).collect();
        JobStats {
            days,
            runs: count(window.len()),
            passed: count(window.iter().filter(|r| r.passed()).count()),
            failed: count(window.iter().filter(|r| r.failed()).count()),
            flaked: count(window.iter().filter(|r| r.flaked()).count()),
        }
    }

    /// Finished runs.
    pub fn finished(&self) -> u32 {
        self.passed + self.failed
    }

    /// Passed, in percent of the finished runs (`None` when none finished).
    pub fn pass_rate(&self) -> Option<u32> {
        percent(self.passed, self.finished())
    }

    /// Passed only on a retry, in percent of the finished runs.
    pub fn flake_rate(&self) -> Option<u32> {
        percent(self.flaked, self.finished())
    }
}

/// The newest finished runs' common result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Streak {
    /// The newest N finished runs passed.
    Passing(u32),
    /// The newest N finished runs failed.
    Failing(u32),
    /// No run finished.
    None,
}

impl Streak {
    /// The streak of `runs`, newest first; unfinished runs are skipped.
    pub fn of(runs: &[JobRun]) -> Streak {
        let mut finished = runs.iter().filter(|r| r.passed() || r.failed());
        let Some(first) = finished.next() else {
            return Streak::None;
        };
        let n = 1 + count(
            finished
                .take_while(|r| r.passed() == first.passed())
                .count(),
        );
        if first.passed() {
            Streak::Passing(n)
        } else {
            Streak::Failing(n)
        }
    }

    /// As the page says it.
    pub fn sentence(&self) -> String {
        match self {
            Streak::Passing(1) => "passed its newest run".to_string(),
            Streak::Passing(n) => format!("passed its newest {n} runs in a row"),
            Streak::Failing(1) => "failed its newest run".to_string(),
            Streak::Failing(n) => format!("failed its newest {n} runs in a row"),
            Streak::None => "no finished run yet".to_string(),
        }
    }
}

/// One job's history in one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    /// When the page was made.
    pub now: DateTime<Utc>,
    /// The stream.
    pub stream: String,
    /// The job.
    pub name: String,
    /// Its runs over the longest window, newest first (at most [`MOST_RUNS`]).
    pub runs: Vec<JobRun>,
    /// Its stats over each of [`WINDOWS`].
    pub stats: Vec<JobStats>,
    /// The newest finished runs' common result.
    pub streak: Streak,
    /// Whether it was blocking on its newest run.
    pub blocking: bool,
}

impl JobPage {
    /// The page of job `name` in `stream` from its runs (newest first).
    pub fn new(now: DateTime<Utc>, stream: &str, name: &str, runs: Vec<JobRun>) -> JobPage {
        JobPage {
            stats: WINDOWS
                .iter()
                .map(|d| JobStats::over(&runs, now, *d))
                .collect(),
            streak: Streak::of(&runs),
            blocking: runs.first().is_some_and(|r| r.kind == GateKind::Blocking),
            now,
            stream: stream.to_string(),
            name: name.to_string(),
            runs,
        }
    }
}

/// How one job of a stream fared over [`RANKING_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job.
    pub name: String,
    /// Blocking when it was blocking on any release of the window.
    pub kind: GateKind,
    /// Its stats.
    pub stats: JobStats,
    /// Rejected releases on which it was a failed blocking job.
    pub blocked: u32,
}

/// A stream's jobs, those that blocked acceptance most first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRanking {
    /// When the page was made.
    pub now: DateTime<Utc>,
    /// The stream.
    pub stream: String,
    /// The window, in days.
    pub days: u32,
    /// The jobs.
    pub jobs: Vec<JobSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn run(days_ago: i64, state: &str, retries: u32) -> JobRun {
        JobRun {
            release: format!("r-{days_ago}"),
            created_at: now() - Duration::days(days_ago),
            phase: Phase::Accepted,
            kind: GateKind::Blocking,
            state: JobState::parse(state),
            url: String::new(),
            retries,
            previous_attempt_urls: Vec::new(),
        }
    }

    #[test]
    fn stats_count_each_window_and_round_rates() {
        let runs = vec![
            run(0, "Pending", 0),
            run(1, "Succeeded", 1),
            run(3, "Failed", 2),
            run(10, "Succeeded", 0),
            run(20, "Succeeded", 0),
            run(40, "Failed", 0),
        ];
        let week = JobStats::over(&runs, now(), 7);
        assert_eq!(
            (week.runs, week.passed, week.failed, week.flaked),
            (3, 1, 1, 1)
        );
        assert_eq!((week.pass_rate(), week.flake_rate()), (Some(50), Some(50)));
        let month = JobStats::over(&runs, now(), 30);
        assert_eq!((month.runs, month.finished()), (5, 4));
        assert_eq!(
            (month.pass_rate(), month.flake_rate()),
            (Some(75), Some(25))
        );
        let none = JobStats::over(&[run(0, "Pending", 0)], now(), 7);
        assert_eq!((none.pass_rate(), none.flake_rate()), (None, None));
        assert_eq!(percent(2, 3), Some(67));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(
            check_name("stream", " "),
            Err("stream is required".to_string())
        );
        assert!(check_name("job", "<script>alert(1)</script>").is_ok());
        assert!(check_name("job", "a\nb").is_err());
        assert!(check_name("job", &"x".repeat(257)).is_err());
        assert!(check_name("job", &"x".repeat(256)).is_ok());
    }

    #[test]
    fn the_streak_skips_unfinished_runs() {
        let runs = vec![
            run(0, "Pending", 0),
            run(1, "Failed", 0),
            run(2, "Failed", 1),
            run(3, "Succeeded", 0),
        ];
        assert_eq!(Streak::of(&runs), Streak::Failing(2));
        assert_eq!(
            Streak::of(&runs).sentence(),
            "failed its newest 2 runs in a row"
        );
        assert_eq!(Streak::of(&runs[3..]), Streak::Passing(1));
        assert_eq!(Streak::of(&runs[..1]), Streak::None);
        let page = JobPage::new(now(), "s", "aws", runs);
        assert!(page.blocking);
        assert_eq!(page.stats.len(), 3);
        assert_eq!(page.stats[0].days, 7);
    }
}
