//! Method-comparison benchmark suites: the shape of their results.
//!
//! Each method crate exposes its suites as [`Suite`] values: a name, a description, and a plain
//! function that runs the comparison and returns a serialisable [`SuiteReport`] made of tables
//! and plots. `cargo xtask bench` holds the registry of all suites, runs them, and renders every
//! report the same way (Markdown, JSON with host, git revision and date, SVG plots). Suites time
//! themselves with [`std::time::Instant`]; `quick` asks for sizes that finish in seconds.
//!
//! This module also holds the suite of `uqforge-core` itself, [`rng_suite`]: throughput of the
//! ChaCha8 streams, and the Monte Carlo error of $\hat\mu_N = N^{-1}\sum_i U_i^2$ against $N$,
//! which must follow $\sigma/\sqrt{N}$ with $\sigma^2 = \mathrm{Var}(U^2) = 1/5 - 1/9 = 4/45$
//! when the replicate streams are independent.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::{Result, observe::Progress, rng};

/// How a suite should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteConfig {
    /// Small sizes, for a run of every suite in a few minutes.
    pub quick: bool,
    /// Seed of every random choice the suite makes.
    pub seed: u64,
}

/// A registered benchmark suite.
#[derive(Clone, Copy)]
pub struct Suite {
    /// Short name, used by `cargo xtask bench --suite NAME`.
    pub name: &'static str,
    /// One line saying what the suite compares.
    pub description: &'static str,
    /// Runs the suite.
    pub run: fn(&SuiteConfig, &mut dyn Progress) -> Result<SuiteReport>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// What a suite found: prose, tables and plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// The suite's name.
    pub suite: String,
    /// A few sentences: what was compared and what the figures say.
    pub summary: String,
    /// The configuration it ran with (the seed is stated in every result).
    pub config: SuiteConfig,
    /// Tables of figures.
    pub tables: Vec<Table>,
    /// Line plots.
    pub plots: Vec<Plot>,
}

/// A table cell: a number (kept as a number in JSON) or text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A figure.
    Number(f64),
    /// A label.
    Text(String),
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Self::Number(v as f64)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

/// A table with a title, column headers and rows of cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Column headers, with units.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// A plot of one or more series: lines, or grouped bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plot {
    /// File stem of the rendered plot (`<suite>-<name>.svg`).
    pub name: String,
    /// Title.
    pub title: String,
    /// Label of the x axis, with units.
    pub x_label: String,
    /// Label of the y axis, with units.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Draw each series as bars at its x values, the series side by side (categories at
    /// small integer x, e.g. one per output), instead of lines.
    #[serde(default)]
    pub bars: bool,
    /// The series.
    pub series: Vec<Series>,
}

/// One curve of a [`Plot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates, as many as `x`.
    pub y: Vec<f64>,
}

/// Resident memory of this process now (Linux `VmRSS`), in MiB; `None` elsewhere.
pub fn rss_mib() -> Option<f64> {
    proc_status_mib("VmRSS:")
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB, since the start or the last
/// [`reset_peak_rss`]; `None` elsewhere.
pub fn peak_rss_mib() -> Option<f64> {
    proc_status_mib("VmHWM:")
}

/// Resets the peak resident memory to the current one (Linux >= 4.0, by writing `5` to
/// `/proc/self/clear_refs`), so that [`peak_rss_mib`] measures the next step alone. Returns
/// whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// User plus system CPU time of this process, all threads, in seconds (Linux
/// `/proc/self/stat`, in clock ticks of 10 ms); `None` elsewhere. The figure Python's
/// `time.process_time()` reports, for like-for-like comparisons with multithreaded peers.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: fields 14 and 15
    // (utime, stime) are the 12th and 13th after the closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux ABI in use.
    Some((utime + stime) / 100.0)
}

fn proc_status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The suites of `uqforge-core`.
pub fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "rng",
        description: "ChaCha8 stream throughput and the Monte Carlo N^-1/2 error law over independent streams",
        run: rng_suite,
    }]
}

/// Runs the `rng` suite (see the module docs).
///
/// # Errors
/// None in practice; the signature is that of every suite.
pub fn rng_suite(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    let replicates: u64 = if config.quick { 50 } else { 200 };
    let max_log2 = if config.quick { 14 } else { 18 };
    let sizes: Vec<usize> = (6..=max_log2).step_by(2).map(|k| 1usize << k).collect();

    // Throughput of one stream.
    let draws: usize = if config.quick { 1 << 22 } else { 1 << 25 };
    let mut rng = rng::rng_from_seed(config.seed);
    let start = Instant::now();
    let mut acc = 0.0;
    for _ in 0..draws {
        acc += rng::uniform01(&mut rng);
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    let ns_per_draw = seconds * 1e9 / draws as f64;

    // Monte Carlo error against N, replicate r on stream r.
    progress.start("rng: Monte Carlo replicates", sizes.len() as u64);
    let sigma = (4.0f64 / 45.0).sqrt();
    let mut rmse = Vec::with_capacity(sizes.len());
    let mut rows = Vec::with_capacity(sizes.len());
    for &n in &sizes {
        let mut sq = 0.0;
        for r in 0..replicates {
            let mut s = rng::stream(config.seed, r);
            let mean = (0..n).map(|_| rng::uniform01(&mut s).powi(2)).sum::<f64>() / n as f64;
            sq += (mean - 1.0 / 3.0).powi(2);
        }
        let e = (sq / replicates as f64).sqrt();
        let theory = sigma / (n as f64).sqrt();
        rows.push(vec![
            Cell::from(n),
            Cell::from(e),
            Cell::from(theory),
            Cell::from(e / theory),
        ]);
        rmse.push(e);
        progress.advance(1);
    }
    progress.finish();

    let xs: Vec<f64> = sizes.iter().map(|&n| n as f64).collect();
    Ok(SuiteReport {
        suite: "rng".into(),
        summary: format!(
            "One ChaCha8 stream draws a uniform in {ns_per_draw:.2} ns ({:.0} M/s). The RMSE of the \
             Monte Carlo mean of U^2 over {replicates} independent streams follows sigma/sqrt(N) \
             (ratio column near 1; its sampling spread is about 1/sqrt(2R) = {:.2}).",
            1e3 / ns_per_draw,
            1.0 / (2.0 * replicates as f64).sqrt()
        ),
        config: *config,
        tables: vec![
            Table {
                title: "Throughput of one stream".into(),
                columns: vec!["draws".into(), "seconds".into(), "ns per draw".into()],
                rows: vec![vec![
                    Cell::from(draws),
                    Cell::from(seconds),
                    Cell::from(ns_per_draw),
                ]],
            },
            Table {
                title: format!("RMSE of the mean of U^2 over {replicates} streams"),
                columns: vec![
                    "N".into(),
                    "RMSE".into(),
                    "sigma/sqrt(N)".into(),
                    "ratio".into(),
                ],
                rows,
            },
        ],
        plots: vec![Plot {
            name: "mc-error".into(),
            title: "Monte Carlo error against sample size".into(),
            x_label: "N (draws)".into(),
            y_label: "RMSE".into(),
            log_x: true,
            log_y: true,
            bars: false,
            series: vec![
                Series {
                    label: "observed".into(),
                    x: xs.clone(),
                    y: rmse,
                },
                Series {
                    label: "sigma / sqrt(N)".into(),
                    x: xs.clone(),
                    y: xs.iter().map(|n| sigma / n.sqrt()).collect(),
                },
            ],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::NoProgress;

    /// CPU time grows by the work done; a touched 64 MiB buffer shows in the peak, and the
    /// reset brings the peak back once it is freed.
    #[cfg(target_os = "linux")]
    #[test]
    fn process_measurements() {
        let t0 = cpu_seconds().unwrap();
        let start = Instant::now();
        let mut x = 0.0_f64;
        while start.elapsed().as_secs_f64() < 0.3 {
            for i in 0..10_000 {
                x = std::hint::black_box(x + f64::from(i).sqrt());
            }
        }
        let used = cpu_seconds().unwrap() - t0;
        assert!(
            (0.2..2.0).contains(&used),
            "{used} s of CPU for 0.3 s of work"
        );

        assert!(reset_peak_rss());
        let before = rss_mib().unwrap();
        let buffer = std::hint::black_box(vec![1u8; 64 << 20]);
        let peak = peak_rss_mib().unwrap();
        assert!(peak - before > 60.0, "peak {peak} MiB from {before} MiB");
        drop(buffer);
        assert!(reset_peak_rss());
        let after = peak_rss_mib().unwrap();
        assert!(
            after < peak - 30.0,
            "peak {after} MiB after the reset, was {peak}"
        );
    }

    #[test]
    fn rng_suite_follows_the_monte_carlo_law() {
        let cfg = SuiteConfig {
            quick: true,
            seed: 3,
        };
        let report = rng_suite(&cfg, &mut NoProgress).unwrap();
        assert_eq!(report.config, cfg);
        let table = &report.tables[1];
        for row in &table.rows {
            let Cell::Number(ratio) = row[3] else {
                panic!("ratio is a number")
            };
            // RMSE^2 / sigma^2 * N ~ chi2_R / R with R = 50: ratio in [0.7, 1.3] with
            // probability > 0.999 (sd of the ratio ~ 0.1).
            assert!((0.7..1.3).contains(&ratio), "ratio {ratio}");
        }
        let json = serde_json::to_string(&report).unwrap();
        let back: SuiteReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
