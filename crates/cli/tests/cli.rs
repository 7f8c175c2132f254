//! The CLI contract, end to end on the built binary: JSON on stdout; one `error: …` line on
//! stderr and status 2 for any failure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn uqforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uqforge"))
        .args(args)
        .output()
        .unwrap()
}

/// `uqforge` with the arguments of a command line (no quoting: arguments without spaces).
fn run(line: &str) -> Output {
    uqforge(&line.split_whitespace().collect::<Vec<_>>())
}

fn uqforge_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_uqforge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A failure: status 2, nothing on stdout, exactly one line `error: …` on stderr.
fn failure(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn version_and_help() {
    let out = run("--version");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("uqforge {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run("--help");
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("datasets"));
}

#[test]
fn datasets_lists_every_shipped_data_set() {
    let v = json(&run("datasets"));
    let names: Vec<&str> = v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = uqforge_datasets::catalog().iter().map(|d| d.name).collect();
    assert_eq!(names, expected);
    assert_eq!(names.len(), 10);
    let v = json(&run("datasets meuse"));
    assert_eq!(v["rows"], 155);
    assert_eq!(v["columns"][12]["name"], "landuse");
    assert_eq!(v["columns"][12]["type"], "text");
}

#[test]
fn describe_reads_shipped_data_files_and_stdin() {
    let v = json(&run("describe --data meuse --columns zinc,om,landuse"));
    assert_eq!(v["rows"], 155);
    let zinc = &v["columns"][0];
    assert!((zinc["mean"].as_f64().unwrap() - 469.716129).abs() < 1e-5); // R: summary(meuse$zinc)
    assert_eq!(zinc["min"], 113.0);
    assert_eq!(zinc["max"], 1839.0);
    assert_eq!(v["columns"][1]["missing"], 2);
    assert_eq!(v["columns"][2]["missing"], 1);
    assert_eq!(v["columns"][2]["distinct"], 15);

    let dir = std::env::temp_dir().join(format!("uqforge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("no_header.csv");
    std::fs::write(&file, "1,10\n2,20\n3,60\n").unwrap();
    let v = json(&uqforge(&["describe", "--data", file.to_str().unwrap()]));
    assert_eq!(v["header"], false);
    assert_eq!(v["columns"][1]["name"], "c2");
    assert_eq!(v["columns"][1]["mean"], 30.0);
    assert_eq!(v["columns"][1]["std"], 26.457513110645905); // sqrt(700)
    std::fs::remove_dir_all(&dir).unwrap();

    let v = json(&uqforge_stdin(
        &["describe", "--data", "-"],
        "a,b\n1,x\n3,y\n",
    ));
    assert_eq!(v["header"], true);
    assert_eq!(v["columns"][0]["mean"], 2.0);
}

#[test]
fn every_failure_is_one_line_and_status_2() {
    let dir = std::env::temp_dir().join(format!("uqforge-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let binary = dir.join("binary.csv");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41, b'\n', 0x80]).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "a subcommand is required"),
        (vec!["frobnicate"], "unrecognized subcommand"),
        (
            vec!["describe"],
            "required arguments were not provided: --data <DATA>",
        ),
        (
            vec!["describe", "--data", "nope"],
            "neither a readable file nor a shipped data set",
        ),
        (
            vec!["describe", "--data", empty.to_str().unwrap()],
            "empty input",
        ),
        (
            vec!["describe", "--data", ragged.to_str().unwrap()],
            "line 3: expected 2 fields, found 1",
        ),
        (
            vec!["describe", "--data", binary.to_str().unwrap()],
            "parse error",
        ),
        (
            vec!["describe", "--data", "meuse", "--columns", "gold"],
            "no column `gold`",
        ),
        (vec!["datasets", "iris"], "unknown data set `iris`"),
        (vec!["datasets", "--bogus"], "unexpected argument"),
    ];
    for (args, needle) in cases {
        let err = failure(&uqforge(&args));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let err = failure(&uqforge_stdin(&["describe", "--data", "-"], ""));
    assert!(err.contains("standard input"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sobol_on_test_functions_follows_the_json_contract() {
    let v = json(&run(
        "sobol --function ishigami --n 4096 --estimator saltelli --seed 3",
    ));
    assert_eq!(v["estimator"], "saltelli");
    assert_eq!(v["evaluations"], 4096 * 5 * 10); // N (d + 2) R with the default R = 10 for qmc
    assert_eq!(v["names"], serde_json::json!(["x1", "x2", "x3"]));
    assert_eq!(v["seed"], 3);
    // Published Ishigami indices (Saltelli et al. 2008): S = (0.3139, 0.4424, 0), ST1 = 0.5576.
    let s = v["first_order"].as_array().unwrap();
    let st = v["total"].as_array().unwrap();
    for (got, want) in s.iter().zip([0.3139, 0.4424, 0.0]) {
        assert!(
            (got.as_f64().unwrap() - want).abs() < 5e-3,
            "{got} vs {want}"
        );
    }
    assert!((st[0].as_f64().unwrap() - 0.5576).abs() < 5e-3);
    let ci = v["first_order_ci"][1].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() < ci[1].as_f64().unwrap());
    assert_eq!(v["total_ci"].as_array().unwrap().len(), 3);

    // Monte Carlo with one replicate still has (delta-method) intervals.
    let v = json(&run(
        "sobol --function gfunction --a 0,1,9 --n 2000 --estimator martinez --design mc",
    ));
    assert_eq!(v["evaluations"], 2000 * 5);
    assert!(v["first_order_ci"].is_array());
    // One qmc replicate: no interval, so the keys are absent.
    let v = json(&run(
        "sobol --function bratley --dim 3 --n 1024 --estimator janon --replicates 1",
    ));
    assert!(v.get("first_order_ci").is_none() && v.get("total_ci").is_none());
    // Second order: N (2d + 2) R evaluations and a list of {i, j, value, ci}.
    let v = json(&run(
        "sobol --function ishigami --n 2048 --estimator saltelli --second-order --replicates 4",
    ));
    assert_eq!(v["evaluations"], 2048 * 8 * 4);
    let s2 = v["second_order"].as_array().unwrap();
    assert_eq!(s2.len(), 3);
    assert_eq!(
        (s2[1]["i"].as_u64(), s2[1]["j"].as_u64()),
        (Some(1), Some(3))
    );
    assert!((s2[1]["value"].as_f64().unwrap() - 0.2437).abs() < 0.02); // S13 = ST3 of Ishigami
    assert!(s2[1]["ci"].is_array());
    // Groups: indices per group, named by the group.
    let v = json(&run(
        "sobol --function ishigami --n 2048 --estimator janon --groups a:x1+x3,b:x2",
    ));
    assert_eq!(v["names"], serde_json::json!(["a", "b"]));
    assert_eq!(v["evaluations"], 2048 * 4 * 10);
    assert!((v["first_order"][0].as_f64().unwrap() - 0.5576).abs() < 0.01);
    // Mirror descent: every subset, 2 evaluations per pair and chain.
    let v = json(&run(
        "sobol --function ishigami --n 20000 --estimator smd --seed 2",
    ));
    assert_eq!(v["evaluations"], 2 * 20000 * 4);
    assert_eq!(v["subsets"].as_array().unwrap().len(), 7);
    assert_eq!(v["subsets"][4]["subset"], serde_json::json!([1, 3]));
    assert!((v["first_order"][1].as_f64().unwrap() - 0.4424).abs() < 0.05);
    assert!(v["total_ci"].is_array());
    // The rank estimator on a function: N evaluations, first order only.
    let v = json(&run(
        "sobol --function linear --a 1,2 --n 4096 --estimator rank",
    ));
    assert_eq!(v["evaluations"], 4096);
    assert!(v.get("total").is_none());
    assert!((v["first_order"][1].as_f64().unwrap() - 0.8).abs() < 0.05); // 4/5
}

#[test]
fn sobol_on_given_data_uses_the_rank_estimator() {
    // y = 3 x1 + x2 on a 40 x 40 grid written to CSV, rows in scrambled order: S1 = 9/10.
    let dir = std::env::temp_dir().join(format!("uqforge-cli-sobol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("grid.csv");
    let mut text = String::from("a,b,y\n");
    for j in 0..1600usize {
        let k = (j * 1031) % 1600;
        let (x1, x2) = ((k / 40) as f64 / 40.0, (k % 40) as f64 / 40.0);
        text.push_str(&format!("{x1},{x2},{}\n", 3.0 * x1 + x2));
    }
    std::fs::write(&file, text).unwrap();
    let v = json(&uqforge(&[
        "sobol",
        "--data",
        file.to_str().unwrap(),
        "--inputs",
        "a,b",
        "--output",
        "y",
        "--estimator",
        "rank",
    ]));
    assert_eq!(v["estimator"], "rank");
    assert_eq!(v["evaluations"], 1600);
    let s = v["first_order"].as_array().unwrap();
    assert!((s[0].as_f64().unwrap() - 0.9).abs() < 0.05, "{s:?}");
    assert!((s[1].as_f64().unwrap() - 0.1).abs() < 0.05, "{s:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sobol_bad_input_is_one_line() {
    let cases: Vec<(&str, &str)> = vec![
        (
            "sobol --function ishigami --n 1000 --estimator saltelli",
            "power of two",
        ),
        (
            "sobol --function ishigami --n 4 --estimator saltelli --design mc",
            "at least 8",
        ),
        (
            "sobol --function ishigami --n 64 --estimator sobol",
            "unknown estimator `sobol`",
        ),
        (
            "sobol --function rosenbrock --n 64 --estimator janon",
            "unknown function",
        ),
        (
            "sobol --function gfunction --a 0,-1 --n 64 --estimator janon",
            "must be >= 0",
        ),
        (
            "sobol --function linear --a 0,0 --n 64 --estimator janon",
            "all linear coefficients are zero",
        ),
        ("sobol --function ishigami --estimator janon", "--n"),
        (
            "sobol --function ishigami --n 64 --estimator janon --design lhs",
            "unknown design",
        ),
        (
            "sobol --data meuse --inputs x,gold --output zinc --estimator rank",
            "no column `gold`",
        ),
        (
            "sobol --data meuse --inputs x,om --output zinc --estimator rank",
            "column `om` (a missing value?), data row 42",
        ),
        (
            "sobol --data meuse --inputs x --output landuse --estimator rank",
            "holds text",
        ),
        (
            "sobol --data meuse --inputs x --output zinc --estimator janon",
            "only the rank estimator",
        ),
        (
            "sobol --data meuse --estimator rank",
            "required arguments were not provided",
        ),
        ("sobol --n 64 --estimator rank", "give a test function"),
        (
            "sobol --function ishigami --n 5000 --estimator smd --design qmc",
            "one Monte Carlo pair at a time",
        ),
        (
            "sobol --function ishigami --n 50 --estimator smd",
            "burn-in",
        ),
        (
            "sobol --function ishigami --n 5000 --estimator smd --second-order",
            "every subset",
        ),
    ];
    for (line, needle) in cases {
        let err = failure(&run(line));
        assert!(err.contains(needle), "{line}: {err}");
    }
    // A constant output column: zero variance.
    let dir = std::env::temp_dir().join(format!("uqforge-cli-const-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.csv");
    std::fs::write(
        &file,
        (0..20).map(|j| format!("{j},1\n")).collect::<String>(),
    )
    .unwrap();
    let err = failure(&uqforge(&[
        "sobol",
        "--data",
        file.to_str().unwrap(),
        "--inputs",
        "c1",
        "--output",
        "c2",
        "--estimator",
        "rank",
    ]));
    assert!(err.contains("constant"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

const NSW: &str = "ate --data lalonde --treatment treat --outcome re78";

/// `uqforge ate --data - --treatment t --outcome y` plus `rest`, on the CSV `csv`.
fn ate_stdin(rest: &str, csv: &str) -> Output {
    let mut args = vec!["ate", "--data", "-", "--treatment", "t", "--outcome", "y"];
    args.extend(rest.split_whitespace());
    uqforge_stdin(&args, csv)
}
const NSW_X: &str = "--covariates age,educ,black,hisp,married,nodegr,re74,re75";

#[test]
fn ate_follows_the_json_contract() {
    // Independent value: docs/causal/nsw_reference.py (statsmodels), lin/hc2.
    let v = json(&run(&format!("{NSW} {NSW_X} --estimator lin")));
    assert_eq!(v["estimator"], "lin");
    assert!((v["ate"].as_f64().unwrap() - 1621.583101444217).abs() < 1e-6);
    assert!((v["std_error"].as_f64().unwrap() - 694.721573786794).abs() < 1e-3);
    let ci = v["ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() < 1621.58 && 1621.58 < ci[1].as_f64().unwrap());
    assert_eq!(
        (v["n"].as_u64(), v["n_treated"].as_u64()),
        (Some(445), Some(185))
    );
    assert_eq!(v["clipped"], 0);
    // Known propensity: IPW is the difference in means.
    let ipw = json(&run(&format!(
        "{NSW} --estimator ipw --propensity 0.41573033707865165"
    )));
    assert!((ipw["ate"].as_f64().unwrap() - 1794.342404270271).abs() < 1e-6);
    assert_eq!(ipw["propensity"], "known");
    // Clipping is reported with its bounds and counts.
    let clipped = json(&run(&format!(
        "{NSW} {NSW_X} --estimator ipw --clip 0.4,0.6"
    )));
    let n = clipped["clipped"].as_u64().unwrap();
    assert!(n > 0);
    assert_eq!(
        n,
        clipped["clipped_lower"].as_u64().unwrap() + clipped["clipped_upper"].as_u64().unwrap()
    );
    assert_eq!(clipped["clip_bounds"][0], 0.4);
    // Cross-fitting: deterministic from the seed, repeats reported.
    let line = format!("{NSW} {NSW_X} --estimator aipw --folds 5 --repeats 3 --seed 9");
    let a = json(&run(&line));
    assert_eq!(a, json(&run(&line)));
    assert_eq!(a["cross_fit_estimates"].as_array().unwrap().len(), 3);
    assert_eq!(a["seed"], 9);
    // Diagnostics: overlap weights balance the propensity model's covariates exactly.
    let d = json(&run(&format!(
        "{NSW} {NSW_X} --estimator overlap --diagnostics"
    )));
    let balance = d["diagnostics"]["balance"].as_array().unwrap();
    assert_eq!(balance.len(), 8);
    for b in balance {
        assert!(b["smd_weighted"].as_f64().unwrap().abs() < 1e-6, "{b}");
    }
    assert!(d["diagnostics"]["ess_treated"].as_f64().unwrap() > 100.0);
    // Strata: the blocked difference in means, checked by hand on a tiny table:
    // stratum 1 effect 2 (4 units), stratum 2 effect 10 (6 units) -> 0.4 * 2 + 0.6 * 10.
    let csv =
        "t,y,s\n1,3,1\n1,3.5,1\n0,1,1\n0,1.5,1\n1,11,2\n1,12,2\n1,13,2\n0,1,2\n0,2,2\n0,3,2\n";
    let s = json(&ate_stdin("--strata s --estimator dim", csv));
    assert!((s["ate"].as_f64().unwrap() - 6.8).abs() < 1e-12);
    // IHDP by its short name.
    let ihdp = json(&run(
        "ate --data ihdp:2 --treatment treatment --outcome y_factual --estimator dim",
    ));
    assert_eq!(ihdp["n"], 747);
}

#[test]
fn ate_bad_input_is_one_line() {
    for (line, needle) in [
        (
            "ate --data lalonde --treatment educ --outcome re78 --estimator ipw".to_string(),
            "binary",
        ),
        (format!("{NSW} --estimator nope"), "unknown `nope`"),
        (format!("{NSW} --estimator ipw --propensity 1"), "(0, 1)"),
        (
            format!("{NSW} --estimator dim --clip 0.1,0.9"),
            "nothing to clip",
        ),
        (
            format!("{NSW} --estimator ipw --clip 0.9,0.1"),
            "0 < lower < upper < 1",
        ),
        (format!("{NSW} --estimator aipw --se hc1"), "ancova and lin"),
        (format!("{NSW} --estimator lin --folds 5"), "cross-fitting"),
        (
            format!("{NSW} --estimator lin --covariates age,nope"),
            "nope",
        ),
        (format!("{NSW} --estimator aipw --folds 1"), "2 <= K"),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
    // A constant covariate and a separating one.
    let csv = "t,y,c,s\n1,3,1,5\n1,4,1,6\n1,5,1,7\n0,1,1,1\n0,2,1,2\n0,0,1,3\n";
    let err = failure(&ate_stdin("--covariates c --estimator lin", csv));
    assert!(err.contains("constant"), "{err}");
    let err = failure(&ate_stdin("--covariates s --estimator ipw", csv));
    assert!(err.contains("separation"), "{err}");
    // A missing outcome.
    let err = failure(&ate_stdin(
        "--estimator dim",
        "t,y\n1,3\n1,NA\n0,1\n0,2\n1,4\n0,5\n",
    ));
    assert!(err.contains("`y`"), "{err}");
}

/// Writes `text` to a fresh file in the temporary directory and returns its path.
fn temp_csv(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("uqforge-cli-ot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn ot_follows_the_json_contract() {
    let x = temp_csv("x1.csv", "x\n0\n1\n");
    let y = temp_csv("y1.csv", "x\n2\n3\n");
    // Every point moves by 2: W2^2 = 4, W1 = 2.
    for (cost, expected) in [("sqeuclidean", 4.0), ("euclidean", 2.0)] {
        for method in ["emd", "1d"] {
            let v = json(&run(&format!(
                "ot --source {x} --target {y} --method {method} --cost {cost}"
            )));
            assert_eq!(v["method"], method);
            assert!(
                (v["cost"].as_f64().unwrap() - expected).abs() < 1e-12,
                "{v}"
            );
            assert!(v["marginal_error"].as_f64().unwrap() < 1e-15);
            assert!(v.get("iterations").is_some());
        }
    }
    let v = json(&run(&format!(
        "ot --source {x} --target {y} --method sinkhorn --reg 1"
    )));
    assert!(v["iterations"].as_u64().unwrap() > 0);
    assert!(v["marginal_error"].as_f64().unwrap() < 1e-9);
    // The entropic plan is feasible, so its cost is at least the exact cost 4, and at most
    // 4 + eps log n.
    let c = v["cost"].as_f64().unwrap();
    assert!(c >= 4.0 - 1e-9 && c <= 4.0 + 2f64.ln(), "{v}");
}

#[test]
fn ot_weights_and_sliced() {
    let x = temp_csv("x2.csv", "a,b\n0,0\n1,0\n0,1\n");
    let y = temp_csv("y2.csv", "a,b\n3,4\n4,4\n3,5\n");
    let w = temp_csv("w2.csv", "w\n0.5\n0.25\n0.25\n");
    let v = json(&run(&format!(
        "ot --source {x} --target {y} --source-weights {w} --target-weights {w} --method emd"
    )));
    // A translation by (3, 4) is optimal for the squared cost: cost 25.
    assert!((v["cost"].as_f64().unwrap() - 25.0).abs() < 1e-12, "{v}");
    let v = json(&run(&format!(
        "ot --source {x} --target {y} --method sliced --projections 50 --seed 3"
    )));
    assert_eq!(v["seed"], 3);
    assert_eq!(v["projections"], 50);
    assert!(
        (v["max_sliced"].as_f64().unwrap() - 5.0).abs() < 1e-6,
        "{v}"
    );
}

#[test]
fn ot_refuses_bad_input_in_one_line() {
    let x = temp_csv("x3.csv", "a,b\n0,0\n1,0\n");
    let y1 = temp_csv("y3.csv", "a\n0\n1\n");
    let w_neg = temp_csv("wn.csv", "w\n1.5\n-0.5\n");
    let w_heavy = temp_csv("wh.csv", "w\n0.5\n0.7\n");
    for (line, needle) in [
        (
            format!("ot --source {x} --target {y1} --method emd"),
            "dimension",
        ),
        (
            format!("ot --source {x} --target {x} --source-weights {w_neg} --method emd"),
            "non-negative",
        ),
        (
            format!("ot --source {x} --target {x} --target-weights {w_heavy} --method emd"),
            "mass",
        ),
        (
            format!("ot --source {x} --target {x} --method sinkhorn"),
            "--reg",
        ),
        (
            format!("ot --source {x} --target {x} --method simplex"),
            "--method",
        ),
        (
            format!("ot --source {x} --target {x} --method 1d"),
            "one column",
        ),
        (
            format!("ot --source {x} --target {x} --method sinkhorn --reg -1"),
            "epsilon",
        ),
        (
            format!("ot --source {x} --target {x} --method unbalanced --reg 0.1"),
            "--reg-m",
        ),
        (
            format!("ot --source {x} --target {x} --method emd --reg-m 1"),
            "--reg-m",
        ),
        (
            format!("ot --source {x} --target {x} --method unbalanced --reg 0.1 --reg-m 0"),
            "source_penalty",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

#[test]
fn ot_divergence_and_unbalanced() {
    let x = temp_csv("x4.csv", "x\n0\n1\n");
    let y = temp_csv("y4.csv", "x\n2\n3\n");
    // S(a, a) = 0; S(x, y) lies between the squared mean distance 4 and W2^2 = 4 (here both
    // are 4: a translation), so it is 4 up to the entropic error.
    let v = json(&run(&format!(
        "ot --source {x} --target {x} --method sinkhorn-divergence --reg 0.1"
    )));
    assert_eq!(v["method"], "sinkhorn-divergence");
    assert!(v["cost"].as_f64().unwrap().abs() < 1e-9, "{v}");
    let v = json(&run(&format!(
        "ot --source {x} --target {y} --method sinkhorn-divergence --reg 0.1"
    )));
    assert!((v["cost"].as_f64().unwrap() - 4.0).abs() < 1e-3, "{v}");
    // Unbalanced with a small penalty moves less than the unit mass over a distance of 2;
    // with a large one almost all of it.
    let small = json(&run(&format!(
        "ot --source {x} --target {y} --method unbalanced --reg 0.1 --reg-m 0.5"
    )));
    let large = json(&run(&format!(
        "ot --source {x} --target {y} --method unbalanced --reg 0.1 --reg-m 100"
    )));
    let mass = |v: &serde_json::Value| v["transported_mass"].as_f64().unwrap();
    assert!(mass(&small) < 0.5 && mass(&large) > 0.9, "{small} {large}");
    assert!(large["marginal_error"].as_f64().unwrap() < 1e-8);
    let gap = large["objective"].as_f64().unwrap() - large["dual_objective"].as_f64().unwrap();
    assert!(gap.abs() < 1e-6, "{large}");
}

#[test]
fn center_outward_follows_the_json_contract() {
    // Twelve points on three rings around (5, 5): ranks follow the rings, signs the angles.
    let mut text = String::from("x,y\n");
    for i in 0..12 {
        let (r, angle) = (
            (i / 4 + 1) as f64,
            (i % 4) as f64 * std::f64::consts::FRAC_PI_2,
        );
        text += &format!("{},{}\n", 5.0 + r * angle.cos(), 5.0 + r * angle.sin());
    }
    let x = temp_csv("co.csv", &text);
    let v = json(&run(&format!("center-outward --data {x} --n-r 3 --n-s 4")));
    let ranks: Vec<u64> = v["ranks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    let signs = v["signs"].as_array().unwrap();
    assert_eq!(signs.len(), 12);
    for (i, s) in signs.iter().enumerate() {
        let angle = (i % 4) as f64 * std::f64::consts::FRAC_PI_2;
        assert!((s[0].as_f64().unwrap() - angle.cos()).abs() < 1e-12, "{v}");
        assert!((s[1].as_f64().unwrap() - angle.sin()).abs() < 1e-12, "{v}");
    }
    // Each ring of radius r maps to the grid ring r/4, translated by (5, 5):
    // cost = mean of (r - r/4)^2 + 50 (the centre) over r = 1, 2, 3.
    let expected = (0.75f64.powi(2) + 1.5f64.powi(2) + 2.25f64.powi(2)) / 3.0 + 50.0;
    assert!(
        (v["assignment_cost"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{v}"
    );
    assert_eq!(v["n_0"], 0);
    // Defaults: n_R = floor(sqrt 12) = 3, n_S = 4.
    let v = json(&run(&format!("center-outward --data {x}")));
    assert_eq!((v["n_r"].as_u64(), v["n_s"].as_u64()), (Some(3), Some(4)));
}

#[test]
fn center_outward_refuses_bad_input_in_one_line() {
    let x = temp_csv("co_bad.csv", "a,b\n0,0\n1,0\n0,1\n1,1\n2,2\n");
    for (line, needle) in [
        (
            format!("center-outward --data {x} --n-r 2 --n-s 3"),
            "exceeds",
        ),
        (
            format!("center-outward --data {x} --n-r 2 --n-s 2 --n-0 2"),
            "n_0",
        ),
        (format!("center-outward --data {x} --n-r 2"), "both"),
        (
            format!("center-outward --data {x} --n-r 2 --n-s 2 --n-0 0"),
            "dimension mismatch",
        ),
    ] {
        let out = run(&line);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{line}: {err}");
    }
}

#[test]
fn depth_follows_the_json_contract() {
    // The five vertices of a regular pentagon around (1, 2): the centre has halfspace depth
    // 2/5, a vertex 1/5, a far point 0; Mahalanobis depth 1 at the mean.
    let mut text = String::from("x,y\n");
    for i in 0..5 {
        let t = 2.0 * std::f64::consts::PI * f64::from(i) / 5.0;
        text += &format!("{},{}\n", 1.0 + t.cos(), 2.0 + t.sin());
    }
    let sample = temp_csv("depth_sample.csv", &text);
    let query = temp_csv("depth_query.csv", "1,2\n2,2\n9,9\n");
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method halfspace"
    )));
    assert_eq!(v["method"], "halfspace");
    assert_eq!(v["exact"], true);
    let depth: Vec<f64> = v["depth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    assert_eq!(depth, [0.4, 0.2, 0.0]);
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method halfspace --directions 500 --seed 3"
    )));
    assert_eq!(
        (v["exact"].as_bool(), v["seed"].as_u64()),
        (Some(false), Some(3))
    );
    assert!(v["depth"][0].as_f64().unwrap() >= 0.4);
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method mahalanobis"
    )));
    assert!((v["depth"][0].as_f64().unwrap() - 1.0).abs() < 1e-12, "{v}");
    assert_eq!(v["robust"], false);
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method mahalanobis --robust --seed 4"
    )));
    assert_eq!(
        (v["robust"].as_bool(), v["seed"].as_u64()),
        (Some(true), Some(4))
    );
    assert_eq!(v["depth"][2].as_f64().map(|d| d < 0.1), Some(true), "{v}");
    // Spatial: the unit vectors balance at the centre. Lens: the centre is at distance 1
    // (the circumradius) from every vertex, and every pair is at least a side (1.18) apart,
    // so it lies in all ten lenses; the far point in none.
    for flag in ["", " --affine-invariant"] {
        let v = json(&run(&format!(
            "depth --sample {sample} --query {query} --method spatial{flag}"
        )));
        assert!((v["depth"][0].as_f64().unwrap() - 1.0).abs() < 1e-12, "{v}");
        assert_eq!(v["affine_invariant"], !flag.is_empty());
    }
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method lens"
    )));
    assert_eq!(
        (v["depth"][0].as_f64(), v["depth"][2].as_f64()),
        (Some(1.0), Some(0.0))
    );
    // Fermat lens with alpha = 1 is lens depth.
    let v1 = json(&run(&format!(
        "depth --sample {sample} --query {query} --method fermat-lens --alpha 1"
    )));
    assert_eq!(v1["depth"], v["depth"]);
    assert_eq!(v1["alpha"], 1.0);
    // The k-NN graph of the pentagon with k = 4 is complete; five inner points of five
    // points are the points themselves.
    let v2 = json(&run(&format!(
        "depth --sample {sample} --query {query} --method fermat-lens --alpha 1 --neighbours 4 --inner-points 5 --seed 2"
    )));
    assert_eq!(v2["depth"], v["depth"]);
    assert_eq!(
        (
            v2["graph"].as_str(),
            v2["neighbours"].as_u64(),
            v2["inner_points"].as_u64()
        ),
        (Some("knn"), Some(4), Some(5))
    );
    let depths = |method: &str| -> Vec<f64> {
        let v = json(&run(&format!(
            "depth --sample {sample} --query {query} --method {method}"
        )));
        assert_eq!(v["method"], method.split(' ').next().unwrap());
        v["depth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_f64().unwrap())
            .collect()
    };
    // Simplicial: the centre lies in the 5 triangles of non-consecutive vertices (of 10), a
    // vertex only in the 6 triangles that have it as a corner.
    assert_eq!(depths("simplicial"), [0.5, 0.6, 0.0]);
    // Zonoid: one at the mean (the centre), zero outside the hull.
    let z = depths("zonoid");
    assert!(
        (z[0] - 1.0).abs() < 1e-9 && z[1] > 0.0 && z[2] == 0.0,
        "{z:?}"
    );
    let p = depths("projection --directions 200 --seed 1");
    assert!(p[0] > p[1] && p[1] > p[2] && p[2] > 0.0, "{p:?}");
    // Center-outward: 5 = 2 x 2 + 1 grid points; far out, the outer sphere: 1/3.
    let c = depths("center-outward");
    assert!((c[2] - 1.0 / 3.0).abs() < 1e-15 && c[0] >= c[2], "{c:?}");
}

#[test]
fn depth_scores_each_class_with_labels() {
    // Two squares of four points around (0, 0) and (10, 0), labelled a and b.
    let sample = temp_csv(
        "depth_classes.csv",
        "x,y\n-1,-1\n1,-1\n1,1\n-1,1\n9,-1\n11,-1\n11,1\n9,1\n",
    );
    let labels = temp_csv("depth_labels.csv", "class\na\na\na\na\nb\nb\nb\nb\n");
    let query = temp_csv("depth_classes_q.csv", "0,0\n10,0\n5,0\n");
    let v = json(&run(&format!(
        "depth --sample {sample} --query {query} --method halfspace --labels {labels}"
    )));
    assert_eq!(v["classes"], serde_json::json!(["a", "b"]));
    assert_eq!(v["predicted"][0], "a");
    assert_eq!(v["predicted"][1], "b");
    assert_eq!(v["class_depth"][0], serde_json::json!([0.5, 0.0]));
    // Between the squares: in neither hull, although central to the pooled sample.
    assert_eq!(v["depth"], serde_json::json!([0.5, 0.5, 0.0]));
    let pooled = json(&run(&format!(
        "depth --sample {sample} --query {query} --method halfspace"
    )));
    assert_eq!(pooled["depth"][2], 0.5);
    let dd = json(&run(&format!(
        "depth --sample {sample} --query {query} --method halfspace --labels {labels} --classifier dd"
    )));
    assert_eq!(dd["classifier"], "dd");
    assert_eq!(dd["predicted"][0], "a");
    assert_eq!(dd["predicted"][1], "b");
    assert_eq!(dd["depth"], v["depth"]);
}

#[test]
fn depth_refuses_bad_input_in_one_line() {
    let sample = temp_csv("depth_bad.csv", "a,b\n0,0\n1,1\n2,2\n3,3\n");
    let query = temp_csv("depth_bad_q.csv", "0,0,0\n");
    let query2 = temp_csv("depth_bad_q2.csv", "0,0\n");
    let labels = temp_csv("depth_bad_labels.csv", "c\n1\n2\n1\n");
    let tied = temp_csv("depth_bad_tied.csv", "v\n1\n1\n1\n2\n");
    for (line, needle) in [
        (
            format!("depth --sample {sample} --query {query2} --method mahalanobis"),
            "positive definite",
        ),
        (
            format!("depth --sample {sample} --query {query} --method halfspace"),
            "dimension mismatch",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method weighted-lens"),
            "not implemented yet",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method lens --simplices 9"),
            "--simplices",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method lens --neighbours 3"),
            "--neighbours",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method spatial --robust"),
            "--robust",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method spatial --classifier dd"),
            "--labels",
        ),
        (
            format!(
                "depth --sample {sample} --query {query2} --method fermat-lens --inner-points 9"
            ),
            "inner points",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method lens --labels {labels}"),
            "--labels rows",
        ),
        (
            // Three of four values equal: their MAD is zero.
            format!("depth --sample {tied} --query {tied} --method projection"),
            "MAD",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method fermat-lens --alpha 0.5"),
            "alpha",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method lens --alpha 2"),
            "--alpha",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method tukey"),
            "unknown depth",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method mahalanobis --directions 5"),
            "--directions",
        ),
        (
            format!("depth --sample {sample} --query {query2} --method lens --affine-invariant"),
            "--affine-invariant",
        ),
    ] {
        let out = run(&line);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(needle) && err.lines().count() == 1,
            "{line}: {err}"
        );
    }
}

#[test]
fn gmrf_follows_the_json_contract() {
    // SPDEtoy (R-INLA's tutorial: intercept 10, noise variance 0.3, field variance 5, kappa 7):
    // the estimates lie within two standard errors of the truth.
    let v = json(&run("gmrf fit --data spde-toy --coords s1,s2 --response y"));
    for key in [
        "range",
        "sigma",
        "noise_sd",
        "beta",
        "loglik",
        "mesh_nodes",
        "std_errors",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    let se = &v["std_errors"];
    let z_intercept = (v["beta"][0].as_f64().unwrap() - 10.0) / se["beta"][0].as_f64().unwrap();
    let kappa = 8f64.sqrt() / v["range"].as_f64().unwrap();
    let z_kappa = (kappa / 7.0).ln() / se["log_range"].as_f64().unwrap();
    assert!(z_intercept.abs() < 2.0 && z_kappa.abs() < 2.0, "{v}");
    assert!(v["mesh_nodes"].as_u64().unwrap() > 200);
    assert!(v["log_prior"].is_null());
    // With a PC prior the fit is the posterior mode, and says so.
    let p = json(&run(
        "gmrf fit --data spde-toy --coords s1,s2 --response y --prior-range 0.1,0.5 --prior-sigma 1,0.5",
    ));
    assert!(p["log_prior"].as_f64().unwrap().is_finite(), "{p}");
    assert!(p["loglik"].as_f64().unwrap() <= v["loglik"].as_f64().unwrap() + 1e-6);

    // Kriging at a datum and far from the data: close to the datum, larger sd far away.
    let grid = temp_csv(
        "gmrf-predict.csv",
        "s1,s2\n0.08265625,0.05640625\n0.95,0.95\n",
    );
    let k = json(&run(&format!(
        "gmrf krige --data spde-toy --coords s1,s2 --response y --predict {grid}"
    )));
    let (mean, sd) = (&k["mean"], &k["sd"]);
    assert!((mean[0].as_f64().unwrap() - 11.52).abs() < 1.0, "{k}");
    assert!(sd[0].as_f64().unwrap() < sd[1].as_f64().unwrap(), "{k}");

    let s = json(&run(
        "gmrf simulate --grid 4,3 --range 0.3 --sigma 2 --seed 5",
    ));
    assert_eq!((s["nx"].as_u64(), s["ny"].as_u64()), (Some(4), Some(3)));
    assert_eq!(s["field"].as_array().unwrap().len(), 12);
    let again = json(&run(
        "gmrf simulate --grid 4,3 --range 0.3 --sigma 2 --seed 5",
    ));
    assert_eq!(s["field"], again["field"]);
}

#[test]
fn gmrf_simulate_st_follows_the_json_contract() {
    let line = "gmrf simulate-st --grid 4,3 --steps 3 --dt 0.01 --advection 5,-2 --range 0.5 \
                --sigma 2 --seed 9";
    let s = json(&run(line));
    assert_eq!(
        (s["nx"].as_u64(), s["ny"].as_u64(), s["steps"].as_u64()),
        (Some(4), Some(3), Some(3))
    );
    let field = s["field"].as_array().unwrap();
    assert_eq!(field.len(), 3);
    assert!(field.iter().all(|f| f.as_array().unwrap().len() == 12));
    assert_eq!(s["method"], "sequential");
    assert!(s["burn_in"].as_u64().unwrap() >= 1);
    assert_eq!(json(&run(line))["field"], s["field"]);
    let c = json(&run(&format!("{line} --method cholesky")));
    assert_eq!(c["field"].as_array().unwrap().len(), 3);
    assert_ne!(c["field"], s["field"]);
    let p = json(&run(&format!("{line} --method chebyshev --tolerance 1e-8")));
    assert_eq!(p["field"].as_array().unwrap().len(), 3);
    assert_eq!(p["tolerance"], 1e-8);
    assert_eq!(s["streamline_diffusion"], false);
    let sd = json(&run(&format!("{line} --streamline-diffusion")));
    assert_eq!(sd["streamline_diffusion"], true);
    assert_ne!(sd["field"], s["field"]);
}

#[test]
fn gmrf_refuses_bad_input_in_one_line() {
    let outside = temp_csv("gmrf-outside.csv", "s1,s2\n0.5,0.5\n9,9\n");
    let nan = temp_csv("gmrf-nan.csv", "a,b,y\n0,0,1\n1,0,2\n0,1,\n1,1,3\n");
    let negative = temp_csv("gmrf-neg.csv", "a,b,y\n0,0,1\n1,0,-2\n0,1,1\n1,1,3\n");
    for (line, needle) in [
        (
            format!("gmrf krige --data spde-toy --coords s1,s2 --response y --predict {outside}"),
            "outside the mesh",
        ),
        (
            format!("gmrf fit --data {nan} --coords a,b --response y"),
            "column `y`",
        ),
        (
            format!("gmrf fit --data {negative} --coords a,b --response y --transform log"),
            "positive",
        ),
        (
            "gmrf fit --data spde-toy --coords s1 --response y".to_owned(),
            "two column names",
        ),
        (
            "gmrf fit --data spde-toy --coords s1,s2 --response y --covariates s1,s1".to_owned(),
            "singular",
        ),
        (
            "gmrf fit --data spde-toy --coords s1,s2 --response y --max-edge -1".to_owned(),
            "max_edge",
        ),
        (
            "gmrf simulate --grid 3,3 --range -1 --sigma 1".to_owned(),
            "range",
        ),
        (
            "gmrf simulate --grid 3 --range 1 --sigma 1".to_owned(),
            "NX,NY",
        ),
        (
            "gmrf simulate --grid 3,3 --range 1 --sigma 1 --alpha 1".to_owned(),
            "alpha",
        ),
        (
            "gmrf simulate-st --grid 3,3 --steps 2 --dt 0.01 --advection 1 --range 0.5 --sigma 1"
                .to_owned(),
            "VX,VY",
        ),
        (
            "gmrf simulate-st --grid 3,3 --steps 2 --dt 0 --advection 1,0 --range 0.5 --sigma 1"
                .to_owned(),
            "dt",
        ),
        (
            "gmrf simulate-st --grid 3,3 --steps 0 --dt 0.01 --advection 1,0 --range 0.5 --sigma 1"
                .to_owned(),
            "steps",
        ),
        (
            "gmrf simulate-st --grid 3,3 --steps 2 --dt 0.01 --advection 1,0 --range 0.5 --sigma 1 \
             --c -1"
                .to_owned(),
            "`c`",
        ),
        (
            "gmrf simulate-st --grid 3,3 --steps 2 --dt 0.01 --advection 1,0 --range 0.5 --sigma 1 \
             --method chebyshev --tolerance 0"
                .to_owned(),
            "tolerance",
        ),
    ] {
        let out = run(&line);
        let msg = failure(&out);
        assert!(msg.contains(needle), "`{line}`: {msg}");
    }
}

#[test]
fn pinn_burgers_follows_the_json_contract() {
    // A small, fast version of Raissi et al.'s inverse problem: the contract keys, not accuracy
    // (crates/pinn tests and `cargo xtask bench --suite pinn` check that).
    let small = "--points 100 --layers 8,8 --adam-steps 50 --lbfgs-steps 50 --seed 3";
    let v = json(&run(&format!("pinn burgers --mode inverse {small}")));
    for key in [
        "lambda1",
        "lambda2",
        "relative_l2",
        "loss",
        "seconds",
        "seed",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert!(v["lambda2"].as_f64().unwrap() > 0.0 && v["seconds"].as_f64().unwrap() > 0.0);
    // Reproducible: the same seed gives the same estimates.
    let again = json(&run(&format!("pinn burgers --mode inverse {small}")));
    assert_eq!(v["lambda1"], again["lambda1"]);
    let f = json(&run(&format!("pinn burgers --mode forward {small}")));
    assert!(
        f.get("lambda1").is_none() && f["relative_l2"].as_f64().unwrap() < 1.0,
        "{f}"
    );
}

#[test]
fn pinn_refuses_bad_input_in_one_line() {
    for (line, needle) in [
        ("pinn burgers --mode sideways", "`mode`"),
        (
            "pinn burgers --mode forward --points 0",
            "at least one point",
        ),
        ("pinn burgers --mode inverse --layers 10,x", "--layers"),
        ("pinn burgers --mode inverse --noise -1", "noise"),
        (
            "pinn burgers --mode forward --noise 0.1",
            "inverse mode only",
        ),
        ("pinn burgers --mode inverse --layers 0", "zero"),
    ] {
        let err = failure(&run(line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

/// A PEA reference (a band-limited pulse) and the signal of two charge layers, as CSV text.
fn pea_files() -> (String, String) {
    let h: Vec<f64> = (0..128)
        .map(|i| {
            let x = f64::from(i);
            (-0.5 * ((x - 4.0) / 2.0).powi(2)).exp()
        })
        .collect();
    // rho = 1 at sample 30 and -0.5 at sample 70: y = h(. - 30) - 0.5 h(. - 70).
    let y: Vec<f64> = (0..128)
        .map(|i| {
            let at = |j: usize| if i >= j { h[i - j] } else { 0.0 };
            at(30) - 0.5 * at(70)
        })
        .collect();
    let csv = |v: &[f64], header: &str| {
        let mut s = format!("{header}\n");
        for x in v {
            s.push_str(&format!("{x}\n"));
        }
        s
    };
    (
        temp_csv("pea_reference.csv", &csv(&h, "reference")),
        temp_csv("pea_signal.csv", &csv(&y, "signal")),
    )
}

#[test]
fn pea_deconvolve_follows_the_json_contract() {
    let (reference, signal) = pea_files();
    let v = json(&run(&format!(
        "pea deconvolve --signal {signal} --reference {reference}"
    )));
    let profile = v["profile"].as_array().unwrap();
    assert_eq!(profile.len(), 128);
    assert!(v["lambda"].as_f64().unwrap() > 0.0);
    // Noise-free data: a small lambda, and the two layers' charges come back (summed over
    // the few samples the smooth penalty spreads them on).
    let p: Vec<f64> = profile.iter().map(|x| x.as_f64().unwrap()).collect();
    let near = |c: usize| p[c - 6..=c + 6].iter().sum::<f64>();
    assert!(
        (near(30) - 1.0).abs() < 0.02 && (near(70) + 0.5).abs() < 0.02,
        "{p:?}"
    );
    // The SVD solver, a fixed lambda and the exact convolution: the layers to 1e-3.
    let s = json(&run(&format!(
        "pea deconvolve --signal {signal} --reference {reference} --solver svd --penalty identity --lambda 1e-10"
    )));
    assert!(
        (s["profile"][30].as_f64().unwrap() - 1.0).abs() < 1e-3,
        "{s}"
    );
    assert_eq!(s["choose"], "fixed");
    // A doubled reference charge halves the profile.
    let half = json(&run(&format!(
        "pea deconvolve --signal {signal} --reference {reference} --solver svd --penalty identity --lambda 1e-10 --surface-charge 2"
    )));
    assert!(
        (half["profile"][30].as_f64().unwrap() - 2.0).abs() < 2e-3,
        "{half}"
    );
    let w = json(&run(&format!(
        "pea deconvolve --signal {signal} --reference {reference} --method wiener --noise-sd 1e-4"
    )));
    assert_eq!(w["lambda"], 1.0);
}

#[test]
fn pea_refuses_bad_input_in_one_line() {
    let (reference, signal) = pea_files();
    let two = temp_csv("pea_two.csv", "a,b\n1,2\n3,4\n");
    let nan = temp_csv("pea_nan.csv", "s\n1\nNA\n3\n");
    for (line, needle) in [
        (
            format!("pea deconvolve --signal {two} --reference {reference}"),
            "one column",
        ),
        (
            format!("pea deconvolve --signal {nan} --reference {reference}"),
            "non-finite",
        ),
        (
            format!("pea deconvolve --signal {signal} --reference {reference} --method fft"),
            "`method`",
        ),
        (
            format!("pea deconvolve --signal {signal} --reference {reference} --choose aic"),
            "`choose`",
        ),
        (
            format!(
                "pea deconvolve --signal {signal} --reference {reference} --choose discrepancy"
            ),
            "noise standard deviation",
        ),
        (
            format!("pea deconvolve --signal {signal} --reference {reference} --noise-sd -1"),
            "noise_sd",
        ),
        (
            format!("pea deconvolve --signal {signal} --reference {reference} --surface-charge 0"),
            "surface_charge",
        ),
        (
            format!(
                "pea deconvolve --signal {signal} --reference {reference} --method wiener --penalty identity"
            ),
            "tikhonov",
        ),
        (
            format!("pea deconvolve --signal nope.csv --reference {reference}"),
            "nope.csv",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

/// Profiles of model (a) (v = 1, D = 0.05, k = 0.5, n0 = 1) from its closed form, noise-free,
/// 6 times by 21 positions, as a `t,x,n` CSV.
fn charge_profiles() -> String {
    let mut s = String::from("t,x,n\n");
    for i in 1..=6 {
        let t = 0.1 * f64::from(i);
        for j in 0..=20 {
            let x = 0.05 * f64::from(j);
            let n = uqforge_pinn::diffusion::adr_exact(t, x, 1.0, 0.05, 0.5, 1.0);
            s.push_str(&format!("{t},{x},{n}\n"));
        }
    }
    temp_csv("charge_profiles.csv", &s)
}

#[test]
fn charge_identify_follows_the_json_contract() {
    let data = charge_profiles();
    // A short training: the contract, not the accuracy (tested in the pinn crate).
    let v = json(&run(&format!(
        "charge identify --model adr --data {data} --seed 5 --members 2 --adam-steps 300 \
         --lbfgs-steps 300 --collocation 300"
    )));
    assert_eq!(v["model"], "adr");
    assert_eq!(v["seeds"], serde_json::json!([5, 6]));
    assert_eq!(v["observations"], 126);
    assert_eq!(v["length"], 1.0);
    for name in ["v", "D", "k"] {
        let p = &v["parameters"][name];
        let value = p["value"].as_f64().unwrap();
        let members: Vec<f64> = p["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap())
            .collect();
        assert_eq!(members.len(), 2);
        assert!(members.iter().all(|&m| m > 0.0), "{name}: {p}");
        assert!(
            (value - 0.5 * (members[0] + members[1])).abs() < 1e-12,
            "{p}"
        );
        let (lo, hi) = (
            p["ci"]["lower"].as_f64().unwrap(),
            p["ci"]["upper"].as_f64().unwrap(),
        );
        assert!(
            lo < value && value < hi && p["std_error"].as_f64().unwrap() > 0.0,
            "{p}"
        );
        assert!(p["cramer_rao_sd"].as_f64().unwrap() > 0.0, "{p}");
    }
    assert!(v["unidentifiable"].is_array());
    assert!(v["rng"].as_str().unwrap().contains("ChaCha8"));
    assert!(v["voltage"].is_null());
    // Model (b) reads the same file as net densities; four parameters.
    let u = json(&run(&format!(
        "charge identify --model unipolar --data {data} --voltage 2 --members 1 --adam-steps 50 \
         --lbfgs-steps 50 --collocation 100"
    )));
    assert_eq!(u["voltage"], 2.0);
    for name in ["mu", "D", "k_tr", "k_dt"] {
        let p = &u["parameters"][name];
        assert!(p["value"].as_f64().unwrap() > 0.0, "{name}: {p}");
        assert!(
            p["ensemble_sd"].is_null() && p["identifiable"].is_boolean(),
            "{p}"
        );
    }
}

/// A known bipolar model with density injection, as JSON.
fn bipolar_known() -> String {
    temp_csv(
        "charge_bipolar_known.json",
        r#"{"mobility": [0.8, 0.4], "diffusivity": [0.01, 0.01], "trapping": [1, 1],
            "trap_density": [5, 5], "detrapping": [0.05, 0.05], "recombination": [1, 1, 1, 1],
            "injection": {"density": [1, 0.5]}, "voltage": 1.5, "length": 1}"#,
    )
}

#[test]
fn charge_identify_bipolar_follows_the_json_contract() {
    // The contract on a short training (the accuracy is tested in the pinn crate): any
    // net-density profiles will do.
    let data = charge_profiles();
    let known = bipolar_known();
    let v = json(&run(&format!(
        "charge identify --model bipolar --data {data} --known {known} --unknown mu_e,B_h \
         --members 1 --adam-steps 20 --lbfgs-steps 20 --collocation 100"
    )));
    assert_eq!(v["model"], "bipolar");
    assert_eq!(v["unknown"], serde_json::json!(["mu_e", "B_h"]));
    assert_eq!(v["voltage"], 1.5);
    assert_eq!(
        v["known"]["injection"]["density"],
        serde_json::json!([1.0, 0.5])
    );
    for name in ["mu_e", "B_h"] {
        let p = &v["parameters"][name];
        assert!(p["value"].as_f64().unwrap() > 0.0, "{name}: {p}");
        assert!(p["identifiable"].is_boolean(), "{p}");
    }
    assert!(v["parameters"]["mu_h"].is_null());
    // Without --known: the reference model (Schottky injection) at the given voltage.
    let r = json(&run(&format!(
        "charge identify --model bipolar --data {data} --voltage 2 --unknown mu_h \
         --members 1 --adam-steps 5 --lbfgs-steps 5 --collocation 50"
    )));
    assert_eq!(r["voltage"], 2.0);
    assert_eq!(r["known"]["injection"]["schottky"]["beta"], 0.5);
    assert!(r["parameters"]["mu_h"]["value"].as_f64().unwrap() > 0.0);
}

#[test]
fn charge_identify_refuses_bad_input_in_one_line() {
    let data = charge_profiles();
    let two = temp_csv("charge_two.csv", "t,x\n0.1,0\n0.2,0.5\n");
    let one_time = temp_csv("charge_one_time.csv", "t,x,n\n0.1,0,1\n0.1,0.5,0.2\n");
    let nan = temp_csv("charge_nan.csv", "t,x,n\n0.1,0,1\n0.2,0.5,NA\n");
    let bad_json = temp_csv("charge_bad_known.json", "{\"mobility\": [1, 0.5]}");
    let density = bipolar_known();
    for (line, needle) in [
        (
            format!("charge identify --model ohmic --data {data}"),
            "`model`",
        ),
        (
            format!("charge identify --model bipolar --data {data} --unknown mu"),
            "mu_e",
        ),
        (
            format!("charge identify --model bipolar --data {data} --known {bad_json}"),
            "known model",
        ),
        (
            format!(
                "charge identify --model bipolar --data {data} --known {density} --unknown beta"
            ),
            "beta",
        ),
        (
            format!("charge identify --model bipolar --data {data} --known {density} --voltage 2"),
            "--voltage",
        ),
        (format!("charge identify --model adr --data {two}"), "`n`"),
        (
            format!("charge identify --model adr --data {one_time}"),
            "two times",
        ),
        (
            format!("charge identify --model adr --data {nan}"),
            "non-finite",
        ),
        (
            format!("charge identify --model adr --data {data} --length 0.5"),
            "[0, L]",
        ),
        (
            format!("charge identify --model adr --data {data} --injection 0"),
            "injection",
        ),
        (
            format!("charge identify --model adr --data {data} --members 0"),
            "members",
        ),
        (
            format!("charge identify --model unipolar --data {data} --voltage 0"),
            "voltage",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

#[test]
fn geodesic_follows_the_json_contract() {
    let v = json(&run(
        "geodesic --metric hyperbolic --from -3,1 --to 3,1 --levels 5",
    ));
    // arccosh(1 + 36 / 2) = 3.6369 (against 6 along the straight line).
    let exact = 19f64.acosh();
    let length = v["length"].as_f64().unwrap();
    assert!((length / exact - 1.0).abs() < 3e-4, "{length}");
    assert!(v["energy"].as_f64().unwrap() >= length * length * (1.0 - 1e-9));
    assert!(v["iterations"].as_u64().unwrap() > 0);
    assert_eq!(v["curve"].as_array().unwrap().len(), 33);
    assert_eq!(v["tunnelling"]["suspected"], false);
    let v = json(&run(
        "geodesic --metric ridge --ridge-height 2 --ridge-width 0.1 --from -0.5,0 --to 0.5,0",
    ));
    // Up the ridge and down: the unrolled width of the profile, by quadrature.
    let ridge = uqforge_latent::Ridge::new(2.0, 0.1).unwrap();
    let exact = ridge.distance(&[-0.5, 0.0], &[0.5, 0.0]).unwrap();
    let length = v["length"].as_f64().unwrap();
    assert!((length / exact - 1.0).abs() < 1e-3, "{length} vs {exact}");
    let v = json(&run("geodesic --metric sphere --from 0,0 --to 1,0"));
    assert!((v["length"].as_f64().unwrap() - std::f64::consts::FRAC_PI_2).abs() < 1e-3);
    let decoder = temp_csv(
        "decoder.json",
        r#"{"layers": [{"weights": [[1.0, 0.5], [0.0, 2.0], [1.0, -1.0]], "bias": [0.1, 0.0, 0.2],
            "activation": "tanh"}, {"weights": [[1.0, 1.0, 1.0], [0.5, -1.0, 0.0]], "bias": [0.0, 0.0],
            "activation": "identity"}]}"#,
    );
    let v = json(&run(&format!(
        "geodesic --metric mlp:{decoder} --from 0.1,-0.4 --to 1.2,0.8"
    )));
    assert!(v["length"].as_f64().unwrap() > 0.0);
}

#[test]
fn geodesic_refuses_bad_input_in_one_line() {
    let decoder = temp_csv("decoder-bad.json", r#"{"layers": []}"#);
    for (line, needle) in [
        (
            "geodesic --metric hyperbolic --from 1,1 --to 1,1".to_owned(),
            "coincide",
        ),
        (
            "geodesic --metric hyperbolic --from 1,1 --to 1,-1".to_owned(),
            "half-plane",
        ),
        (
            "geodesic --metric sphere --from 1,1 --to 1,x".to_owned(),
            "`x` is not a number",
        ),
        (
            "geodesic --metric sphere --from 1,1 --to 1".to_owned(),
            "geodesic end",
        ),
        (
            "geodesic --metric torus --from 1,1 --to 1,2".to_owned(),
            "torus",
        ),
        (
            "geodesic --metric ridge --ridge-width 0 --from 1,1 --to 1,2".to_owned(),
            "ridge width",
        ),
        (
            "geodesic --metric mlp:/nonexistent.json --from 1,1 --to 1,2".to_owned(),
            "nonexistent",
        ),
        (
            format!("geodesic --metric mlp:{decoder} --from 1,1 --to 1,2"),
            "MLP layers",
        ),
        (
            "geodesic --metric sphere --from 0,0 --to 1,2 --levels 30".to_owned(),
            "levels",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

/// Two columns of 20 points either side of x = 0, each spread along y.
fn two_columns_csv() -> String {
    let mut csv = String::from("z1,z2\n");
    for side in [-0.5, 0.5] {
        for i in 0..20 {
            let t = f64::from(i);
            csv.push_str(&format!(
                "{},{}\n",
                side + 0.05 * (1.7 * t).sin(),
                1.5 * (1.3 * t).cos()
            ));
        }
    }
    temp_csv("two-columns.csv", &csv)
}

#[test]
fn kmeans_follows_the_json_contract() {
    let data = two_columns_csv();
    let v = json(&run(&format!(
        "kmeans --data {data} --k 2 --metric ridge --levels 3 --restarts 2 --seed 3"
    )));
    let labels: Vec<u64> = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    assert_eq!(labels.len(), 40);
    // The ridge separates the columns: one label per side.
    assert!(labels[..20].iter().all(|&l| l == labels[0]));
    assert!(labels[20..].iter().all(|&l| l == labels[20]) && labels[0] != labels[20]);
    assert_eq!(v["centroids"].as_array().unwrap().len(), 2);
    assert!(v["inertia"].as_f64().unwrap() > 0.0);
    assert_eq!(v["seed"], 3);
    // Given centroids, k-medoids, a d-dimensional Euclidean metric.
    let centroids = temp_csv("centroids.csv", "a,b\n-0.5,0\n0.5,0\n");
    let v = json(&run(&format!(
        "kmeans --data {data} --k 2 --metric euclidean --update medoid --centroids {centroids}"
    )));
    assert_eq!(v["restarts"], 1);
    assert_eq!(v["medoids"].as_array().unwrap().len(), 2);
}

#[test]
fn kmeans_refuses_bad_input_in_one_line() {
    let data = two_columns_csv();
    let wide = temp_csv("three-columns.csv", "a,b,c\n0,0,1\n1,1,1\n");
    for (line, needle) in [
        (
            format!("kmeans --data {data} --k 41 --metric ridge"),
            "must not exceed",
        ),
        (format!("kmeans --data {data} --k 0 --metric ridge"), "k"),
        (
            format!("kmeans --data {wide} --k 1 --metric ridge"),
            "dimension",
        ),
        (
            format!("kmeans --data {data} --k 2 --metric ridge --update mean"),
            "--update",
        ),
        (
            format!("kmeans --data {data} --k 2 --metric ridge --restarts 0"),
            "restarts",
        ),
        (
            format!("kmeans --data {data} --k 3 --metric hyperbolic"),
            "half-plane",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

#[test]
fn curvature_follows_the_json_contract_and_refuses_bad_input() {
    let z = temp_csv("curvature.csv", "z1,z2\n0,0\n1,0.5\n-0.5,2\n");
    let v = json(&run(&format!("curvature --data {z} --metric sphere")));
    // The unit sphere: R = 2 everywhere, sqrt(det G) = 4 / (1 + |z|^2)^2.
    for r in v["scalar_curvature"].as_array().unwrap() {
        assert!((r.as_f64().unwrap() - 2.0).abs() < 1e-12);
    }
    let exact = [0.0f64, 1.25, 4.25]
        .iter()
        .map(|r2| 16.0 / (1.0 + r2).powi(2))
        .sum::<f64>()
        / 3.0;
    assert!((v["penalty"].as_f64().unwrap() - exact).abs() < 1e-12);
    let v = json(&run(&format!("curvature --data {z} --metric ridge")));
    assert!(v["penalty"].as_f64().unwrap() < 1e-10); // developable
    let wide = temp_csv("curvature-3d.csv", "a,b,c\n0,0,0\n");
    for (line, needle) in [
        (
            format!("curvature --data {wide} --metric euclidean"),
            "two-dimensional",
        ),
        (
            format!("curvature --data {z} --metric hyperbolic"),
            "half-plane",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}

/// A wave moving right by 0.1 per unit time, observed at 12 points at times 0, 0.5, ..., 2.5.
fn moving_wave_csv() -> String {
    wave_csv("moving-wave.csv", 0.0)
}

/// The wave of [`moving_wave_csv`] plus a deterministic pseudo-noise of amplitude `noise`
/// (sd about 0.7 `noise`), written to `name`.
fn wave_csv(name: &str, noise: f64) -> String {
    let mut csv = String::from("x,y,t,z\n");
    for k in 0..6 {
        let t = 0.5 * f64::from(k);
        for i in 0..12 {
            let (x, y) = (
                0.1 + 0.07 * f64::from(i),
                0.2 + 0.6 * (0.37 * f64::from(i * 7 + k)).sin().abs(),
            );
            let e = noise * (22.08 * f64::from(i + 12 * k)).sin();
            let z = (6.0 * (x - 0.1 * t)).sin() + 0.3 * (5.0 * y).cos() + e;
            csv.push_str(&format!("{x},{y},{t},{z}\n"));
        }
    }
    temp_csv(name, &csv)
}

#[test]
fn gmrf_fit_st_follows_the_json_contract() {
    let data = moving_wave_csv();
    // One observed (place, time), then the same place 1, 2 and 4 steps after the last time.
    let at = temp_csv(
        "st-predict.csv",
        "x,y,t\n0.1,0.2,0\n0.45,0.5,3\n0.45,0.5,3.5\n0.45,0.5,4.5\n",
    );
    let v = json(&run(&format!(
        "gmrf fit-st --data {data} --coords x,y --time t --response z --cells 6 --predict {at}"
    )));
    let p = &v["prediction"];
    assert_eq!(p["horizon"], 4);
    let sd: Vec<f64> = p["sd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(p["mean"].as_array().unwrap().len(), 4);
    // Forecast uncertainty grows with the horizon.
    assert!(sd[1] < sd[2] && sd[2] < sd[3], "{sd:?}");
    for key in ["range", "sigma", "c", "noise_sd", "loglik", "dt"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}: {}", v[key]);
    }
    assert_eq!(v["advection"].as_array().unwrap().len(), 2);
    assert_eq!(v["steps"], 6);
    assert_eq!(v["dt"], 0.5);
    assert_eq!(v["mesh_nodes"], 49);
    assert_eq!(v["beta"].as_array().unwrap().len(), 1);
    assert!(v["route"] == "joint" || v["route"] == "sweep");
}

#[test]
fn gmrf_fit_st_routes_give_the_same_fit() {
    // The noise-free wave drives the fitted noise to zero, where the optimiser's path
    // decides; with noise both routes reach one maximum.
    let data = wave_csv("noisy-wave.csv", 0.2);
    let at = temp_csv("st-predict-routes.csv", "x,y,t\n0.45,0.5,3\n0.2,0.7,4.5\n");
    let fits: Vec<serde_json::Value> = ["joint", "sweep"]
        .iter()
        .map(|route| {
            json(&run(&format!(
                "gmrf fit-st --data {data} --coords x,y --time t --response z --cells 6 \
                 --predict {at} --route {route}"
            )))
        })
        .collect();
    assert_eq!(fits[0]["route"], "joint");
    assert_eq!(fits[1]["route"], "sweep");
    let value = |f: &serde_json::Value, key: &str| f[key].as_f64().unwrap();
    // The same likelihood, maximised along slightly different paths: the maxima agree to
    // 1e-7, the estimates (c and the advection are weakly identified here) to 1e-3.
    let (a, b) = (value(&fits[0], "loglik"), value(&fits[1], "loglik"));
    assert!((a - b).abs() < 1e-7 * a.abs().max(1.0), "{a} vs {b}");
    for key in ["range", "sigma", "c", "noise_sd"] {
        let (a, b) = (value(&fits[0], key), value(&fits[1], key));
        assert!((a - b).abs() < 1e-3 * a.abs(), "{key}: {a} vs {b}");
    }
    for q in 0..2 {
        let mean = |f: &serde_json::Value| f["prediction"]["mean"][q].as_f64().unwrap();
        let (a, b) = (mean(&fits[0]), mean(&fits[1]));
        assert!(
            (a - b).abs() < 1e-3 * a.abs().max(1.0),
            "prediction {q}: {a} vs {b}"
        );
    }
}

#[test]
fn gmrf_fit_st_estimates_the_anisotropy_when_asked() {
    // The wave varies along x (sin 6x) much faster than along y (0.3 cos 5y): its
    // correlation is longer along y, and the fit, nested in the isotropic one, reaches a
    // log-likelihood at least as high. (On these 72 observations the likelihood keeps
    // rising as the ratio grows, measured 1.9e4 when L-BFGS stops: the CLI reports
    // "converged": false and no standard errors rather than a spurious estimate.)
    let data = wave_csv("noisy-wave-anisotropy.csv", 0.2);
    let line = format!("gmrf fit-st --data {data} --coords x,y --time t --response z --cells 6");
    let iso = json(&run(&line));
    let v = json(&run(&format!("{line} --anisotropy")));
    assert!(iso.get("anisotropy").is_none());
    let value = |f: &serde_json::Value, key: &str| f[key].as_f64().unwrap();
    let an = &v["anisotropy"];
    let (a, b) = (value(an, "a"), value(an, "b"));
    let (ratio, angle) = (value(an, "ratio"), value(an, "angle_degrees"));
    assert!((ratio - a.hypot(b).exp()).abs() < 1e-9 * ratio, "{an}");
    assert!(ratio > 1.5 && angle.abs() > 60.0, "{an}");
    assert!(
        value(&v, "loglik") >= value(&iso, "loglik") - 1e-6,
        "{v} vs {iso}"
    );
    assert!(iso["std_errors"].get("anisotropy").is_none(), "{iso}");
    assert!(v["converged"].is_boolean());
    if let Some(se) = v["std_errors"].get("anisotropy") {
        assert_eq!(se.as_array().unwrap().len(), 2);
    }
}

#[test]
fn gmrf_fit_grid_fits_a_simulated_field() {
    // A field of `gmrf simulate` (range 0.2, sigma 1.5 on a 60 x 60 grid) fitted back: the
    // CLI's estimate is the library's on the same values, and the range is within three
    // standard errors of the truth. (Sigma comes out low, 1.28 +- 0.11: the grid's mesh
    // has a Neumann boundary, which inflates the model's variance near the edges.)
    let field = run("gmrf simulate --grid 60,60 --range 0.2 --sigma 1.5 --seed 1");
    let text = String::from_utf8(field.stdout).unwrap();
    let file = temp_csv("grid-field.json", &text);
    let v = json(&run(&format!(
        "gmrf fit-grid --data {file} --probes 50 --seed 4"
    )));
    let value = |key: &str| v[key].as_f64().unwrap();
    let values: Vec<f64> = serde_json::from_str::<serde_json::Value>(&text).unwrap()["field"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let mesh = uqforge_gmrf::Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 59, 59).unwrap();
    let fem = uqforge_gmrf::fem::Fem::assemble(&mesh).unwrap();
    let fields = nalgebra::DMatrix::from_column_slice(3600, 1, &values);
    let library = uqforge_gmrf::stochastic_likelihood::FieldMoments::new(
        &fem, &fields, 2.0, 1.0, 1e-6, 50, 4,
    )
    .unwrap()
    .maximum_likelihood(0.1)
    .unwrap();
    assert!(
        (value("range") - library.range).abs() < 1e-9 * library.range,
        "{v}"
    );
    assert!(
        (value("sigma") - library.sigma).abs() < 1e-9 * library.sigma,
        "{v}"
    );
    let se = v["std_errors"]["range"].as_f64().unwrap();
    assert!((value("range") - 0.2).abs() < 3.0 * se, "{v}");
    assert_eq!(v["nodes"], 3600);
    assert_eq!(v["probes"], 50);
    assert_eq!(v["seed"], 4);
    assert!(v["degree"].as_u64().unwrap() > 10);
    for (data, needle) in [
        (r#"{"nx": 3, "ny": 2, "field": [1, 2, 3]}"#, "3 x 2"),
        (r#"{"nx": 2, "field": [1, 2, 3, 4]}"#, "ny"),
        (
            r#"{"nx": 2, "ny": 2, "field": [1, 2, "a", 4]}"#,
            "not a number",
        ),
        (r#"{"nx": 2, "ny": 2, "field": [0, 0, 0, 0]}"#, "zero"),
    ] {
        let file = temp_csv("grid-bad.json", data);
        let err = failure(&run(&format!("gmrf fit-grid --data {file}")));
        assert!(err.contains(needle), "{data}: {err}");
    }
    let err = failure(&run(&format!("gmrf fit-grid --data {file} --alpha 1")));
    assert!(err.contains("alpha"), "{err}");
}

#[test]
fn gmrf_fit_st_refuses_bad_input_in_one_line() {
    let unsorted = temp_csv(
        "st-unsorted.csv",
        "x,y,t,z\n0,0,1,1\n1,0,0,2\n0,1,2,3\n1,1,2,1\n",
    );
    let off_grid = temp_csv(
        "st-offgrid.csv",
        "x,y,t,z\n0,0,0,1\n1,0,1,2\n0,1,1.5,3\n1,1,2,1\n",
    );
    let one_time = temp_csv("st-onetime.csv", "x,y,t,z\n0,0,1,1\n1,0,1,2\n0,1,1,3\n");
    let early = temp_csv("st-early.csv", "x,y,t\n0.5,0.5,-1\n");
    for (line, needle) in [
        (
            format!("gmrf fit-st --data {unsorted} --coords x,y --time t --response z"),
            "time order",
        ),
        (
            format!("gmrf fit-st --data {off_grid} --coords x,y --time t --response z --dt 1"),
            "not on the grid",
        ),
        (
            format!("gmrf fit-st --data {one_time} --coords x,y --time t --response z"),
            "one time",
        ),
        (
            format!("gmrf fit-st --data {one_time} --coords x --time t --response z"),
            "two column",
        ),
        (
            format!("gmrf fit-st --data {one_time} --coords x,y --time w --response z"),
            "w",
        ),
        (
            format!(
                "gmrf fit-st --data {off_grid} --coords x,y --time t --response z --dt 0.5 \
                 --predict {early}"
            ),
            "before the first observation",
        ),
        (
            format!(
                "gmrf fit-st --data {unsorted} --coords x,y --time t --response z --route fast"
            ),
            "--route",
        ),
    ] {
        let err = failure(&run(&line));
        assert!(err.contains(needle), "{line}: {err}");
    }
}
