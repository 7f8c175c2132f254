//! What a benchmark figure is worth without: host, CPU, git revision, date, toolchain.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Recorded next to every figure (the habit of rust-analyzer's `metrics.rs`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Meta {
    pub(crate) host: String,
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) os: String,
    pub(crate) git_revision: String,
    pub(crate) git_dirty: bool,
    pub(crate) date: String,
    pub(crate) unix_time: u64,
    pub(crate) rustc: String,
    pub(crate) profile: &'static str,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn collect() -> Meta {
    let root = crate::workspace_root();
    let root = root.to_string_lossy();
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| command_output("hostname", &[]))
        .unwrap_or_else(|| "unknown".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    Meta {
        host,
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        git_revision: command_output("git", &["-C", &root, "rev-parse", "HEAD"])
            .unwrap_or_else(|| "unknown".into()),
        git_dirty: command_output("git", &["-C", &root, "status", "--porcelain"])
            .is_some_and(|s| !s.is_empty()),
        date: civil_date(unix_time),
        unix_time,
        rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        },
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, by Hinnant's `civil_from_days` algorithm
/// (<https://howardhinnant.github.io/date_algorithms.html>).
pub(crate) fn civil_date(unix_time: u64) -> String {
    let z = (unix_time / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29"); // a leap day of a century year
        assert_eq!(civil_date(1_700_000_000), "2023-11-14");
        assert_eq!(civil_date(1_798_761_599), "2026-12-31");
    }
}
