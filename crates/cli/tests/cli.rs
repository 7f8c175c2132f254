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
    let out = uqforge(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("uqforge {}", env!("CARGO_PKG_VERSION"))
    );
    let out = uqforge(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("datasets"));
}

#[test]
fn datasets_lists_every_shipped_data_set() {
    let v = json(&uqforge(&["datasets"]));
    let names: Vec<&str> = v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = uqforge_datasets::catalog().iter().map(|d| d.name).collect();
    assert_eq!(names, expected);
    assert_eq!(names.len(), 10);
    let v = json(&uqforge(&["datasets", "meuse"]));
    assert_eq!(v["rows"], 155);
    assert_eq!(v["columns"][12]["name"], "landuse");
    assert_eq!(v["columns"][12]["type"], "text");
}

#[test]
fn describe_reads_shipped_data_files_and_stdin() {
    let v = json(&uqforge(&[
        "describe",
        "--data",
        "meuse",
        "--columns",
        "zinc,om,landuse",
    ]));
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
