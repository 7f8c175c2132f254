//! `cargo xtask bench`: run suites, then write the report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use uqforge_core::bench::{SuiteConfig, SuiteReport};
use uqforge_core::observe::Progress;

use crate::{meta, registry, report, svg};

/// The seed of every suite unless `--seed` says otherwise.
pub(crate) const DEFAULT_SEED: u64 = 20_261_122;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) suites: Vec<String>,
    pub(crate) seed: u64,
    pub(crate) out: Option<PathBuf>,
    pub(crate) list: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self {
            quick: false,
            suites: Vec::new(),
            seed: DEFAULT_SEED,
            out: None,
            list: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |flag: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match a.as_str() {
                "--quick" => o.quick = true,
                "--list" => o.list = true,
                "--suite" => o.suites.push(value("--suite")?),
                "--seed" => {
                    let v = value("--seed")?;
                    o.seed = v
                        .parse()
                        .map_err(|_| format!("--seed takes an unsigned integer, got `{v}`"))?;
                }
                "--out" => o.out = Some(PathBuf::from(value("--out")?)),
                other => return Err(format!("unknown option `{other}` for `bench`")),
            }
        }
        Ok(o)
    }
}

/// Everything `results.json` holds.
#[derive(Debug, Serialize)]
pub(crate) struct Results {
    pub(crate) meta: meta::Meta,
    pub(crate) quick: bool,
    pub(crate) seed: u64,
    pub(crate) suites: Vec<SuiteRun>,
}

/// One suite's report with its wall time.
#[derive(Debug, Serialize)]
pub(crate) struct SuiteRun {
    pub(crate) seconds: f64,
    pub(crate) report: SuiteReport,
}

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let all = registry();
    if o.list {
        for s in &all {
            println!("{:<16} {}", s.name, s.description);
        }
        return Ok(());
    }
    for name in &o.suites {
        if !all.iter().any(|s| s.name == name) {
            let names: Vec<&str> = all.iter().map(|s| s.name).collect();
            return Err(format!(
                "no suite `{name}`; registered: {}",
                names.join(", ")
            ));
        }
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|s| o.suites.is_empty() || o.suites.iter().any(|n| n == s.name))
        .collect();
    let config = SuiteConfig {
        quick: o.quick,
        seed: o.seed,
    };
    let meta = meta::collect();
    let out = o.out.clone().unwrap_or_else(|| {
        crate::workspace_root()
            .join("docs")
            .join("benchmarks")
            .join(&meta.date)
    });

    let names: Vec<&str> = chosen.iter().map(|s| s.name).collect();
    refuse_to_overwrite_others(&out, &names)?;

    let mut runs = Vec::new();
    for (i, suite) in chosen.iter().enumerate() {
        eprintln!(
            "[{}/{}] {}: {}",
            i + 1,
            chosen.len(),
            suite.name,
            suite.description
        );
        let start = Instant::now();
        let mut bar = Bar::new(suite.name);
        let report =
            (suite.run)(&config, &mut bar).map_err(|e| format!("suite `{}`: {e}", suite.name))?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("      done in {seconds:.2} s");
        runs.push(SuiteRun { seconds, report });
    }
    let results = Results {
        meta,
        quick: o.quick,
        seed: o.seed,
        suites: runs,
    };
    write(&results, &out)?;
    eprintln!("report written to {}", out.join("report.md").display());
    Ok(())
}

/// A report directory holds one run: running other suites into it would replace their
/// report (two runs on the same date share the default directory). Refuses, before running
/// anything, when `out` holds results of suites not in `names`.
fn refuse_to_overwrite_others(out: &Path, names: &[&str]) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(out.join("results.json")) else {
        return Ok(());
    };
    let previous: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let others: Vec<String> = previous["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|run| run["report"]["suite"].as_str())
        .filter(|name| !names.contains(name))
        .map(String::from)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} holds the report of suite(s) {} that this run would overwrite: pass --out DIR",
        out.display(),
        others.join(", ")
    ))
}

/// Writes `report.md`, `results.json` and the SVG plots into `out`.
pub(crate) fn write(results: &Results, out: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write under {}: {e}", out.display());
    std::fs::create_dir_all(out).map_err(io)?;
    for run in &results.suites {
        for plot in &run.report.plots {
            let file = out.join(report::plot_file(&run.report.suite, plot));
            std::fs::write(&file, svg::render(plot)).map_err(io)?;
        }
    }
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    std::fs::write(out.join("results.json"), json + "\n").map_err(io)?;
    std::fs::write(out.join("report.md"), report::markdown(results)).map_err(io)?;
    Ok(())
}

/// A one-line progress bar on standard error; on a pipe or file, one line per stage instead.
struct Bar {
    suite: &'static str,
    label: String,
    total: u64,
    done: u64,
    terminal: bool,
}

impl Bar {
    fn new(suite: &'static str) -> Self {
        Self {
            suite,
            label: String::new(),
            total: 0,
            done: 0,
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }
    fn draw(&self) {
        if !self.terminal {
            return;
        }
        const WIDTH: u64 = 30;
        let filled = (self.done.min(self.total) * WIDTH)
            .checked_div(self.total)
            .unwrap_or(0) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r      {} [{}{}] {}/{} {}",
            self.suite,
            "#".repeat(filled),
            " ".repeat(WIDTH as usize - filled),
            self.done,
            self.total,
            self.label
        );
        let _ = err.flush();
    }
}

impl Progress for Bar {
    fn start(&mut self, label: &str, total: u64) {
        self.label = label.to_owned();
        self.total = total;
        self.done = 0;
        self.draw();
    }
    fn advance(&mut self, steps: u64) {
        self.done += steps;
        self.draw();
    }
    fn message(&mut self, text: &str) {
        eprintln!("\r      {text}");
    }
    fn finish(&mut self) {
        if self.terminal {
            self.draw();
            eprintln!();
        } else {
            eprintln!(
                "      {}: {} {}/{}",
                self.suite, self.label, self.done, self.total
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_options_and_rejects_unknown_ones() {
        let o = Options::parse(&args("--quick --suite rng --seed 7 --out /tmp/x")).unwrap();
        assert!(o.quick && !o.list);
        assert_eq!(o.suites, ["rng"]);
        assert_eq!(o.seed, 7);
        assert_eq!(o.out, Some(PathBuf::from("/tmp/x")));
        assert!(Options::parse(&args("--seed")).is_err());
        assert!(Options::parse(&args("--seed -1")).is_err());
        assert!(Options::parse(&args("--fast")).is_err());
    }

    #[test]
    fn unknown_suite_is_an_error_naming_the_registered_ones() {
        let o = Options::parse(&args("--suite nope")).unwrap();
        let e = run(&o).unwrap_err();
        assert!(
            e.contains("no suite `nope`; registered: rng, sensitivity"),
            "{e}"
        );
    }

    #[test]
    fn quick_run_writes_report_json_and_plots() {
        let dir = std::env::temp_dir().join(format!("uqforge-xtask-test-{}", std::process::id()));
        let o = Options {
            quick: true,
            suites: vec!["rng".into()],
            seed: 1,
            out: Some(dir.clone()),
            list: false,
        };
        run(&o).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        for key in ["host", "git_revision", "date", "cpu", "cores"] {
            assert!(!json["meta"][key].is_null(), "meta.{key} missing");
        }
        assert_eq!(json["suites"][0]["report"]["suite"], "rng");
        assert_eq!(json["suites"][0]["report"]["config"]["seed"], 1);
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            md.contains("## rng") && md.contains("rng-mc-error.svg"),
            "{md}"
        );
        let svg = std::fs::read_to_string(dir.join("rng-mc-error.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
        // The same suite may run into its own directory again; another may not.
        assert!(refuse_to_overwrite_others(&dir, &["rng"]).is_ok());
        let e = refuse_to_overwrite_others(&dir, &["pinn"]).unwrap_err();
        assert!(e.contains("suite(s) rng") && e.contains("--out"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
