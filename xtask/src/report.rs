//! The Markdown report: metadata, then per suite its summary, tables and plots.

use std::fmt::Write;

use uqforge_core::bench::{Cell, Plot};

use crate::bench::Results;

/// File name of a plot of a suite.
pub(crate) fn plot_file(suite: &str, plot: &Plot) -> String {
    format!("{suite}-{}.svg", plot.name)
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => t.replace('|', "\\|"),
        Cell::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v}"),
        Cell::Number(v) if (1e-3..1e5).contains(&v.abs()) => format!("{v:.4}"),
        Cell::Number(v) => format!("{v:.3e}"),
    }
}

pub(crate) fn markdown(r: &Results) -> String {
    let m = &r.meta;
    let mut s = String::new();
    let _ = writeln!(s, "# uqforge benchmark report\n");
    let _ = writeln!(
        s,
        "- date: {} (unix {})\n- host: {} ({}, {} cores, {})\n- git: {}{}\n- toolchain: {} ({} build)\n- mode: {}, seed {}\n",
        m.date,
        m.unix_time,
        m.host,
        m.cpu,
        m.cores,
        m.os,
        m.git_revision,
        if m.git_dirty {
            " (uncommitted changes)"
        } else {
            ""
        },
        m.rustc,
        m.profile,
        if r.quick { "quick" } else { "full" },
        r.seed
    );
    for run in &r.suites {
        let rep = &run.report;
        let _ = writeln!(s, "## {}\n\n{}\n", rep.suite, rep.summary);
        let _ = writeln!(s, "Wall time: {:.2} s.\n", run.seconds);
        for t in &rep.tables {
            let _ = writeln!(s, "**{}**\n", t.title);
            let _ = writeln!(s, "| {} |", t.columns.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(t.columns.len()));
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(cell).collect();
                let _ = writeln!(s, "| {} |", cells.join(" | "));
            }
            s.push('\n');
        }
        for p in &rep.plots {
            let _ = writeln!(s, "![{}]({})\n", p.title, plot_file(&rep.suite, p));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_by_magnitude() {
        assert_eq!(cell(&Cell::Number(16384.0)), "16384");
        assert_eq!(cell(&Cell::Number(0.5)), "0.5000");
        assert_eq!(cell(&Cell::Number(1.25e-5)), "1.250e-5");
        assert_eq!(cell(&Cell::Text("a|b".into())), "a\\|b");
    }
}
