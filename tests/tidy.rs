//! Tidy checks of the workspace's shape (run by `cargo test`): every crate documents itself and
//! has a README, inherits the workspace's package fields, lints and dependency versions, and
//! depends only on the siblings the crate graph of `docs/architecture.md` allows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Member crates: directory -> parsed manifest.
fn members() -> BTreeMap<PathBuf, Value> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.push(root().join("xtask"));
    dirs.into_iter()
        .map(|d| {
            let text = std::fs::read_to_string(d.join("Cargo.toml")).unwrap();
            let manifest: Value = toml::from_str(&text).unwrap();
            (d, manifest)
        })
        .collect()
}

fn name(manifest: &Value) -> &str {
    manifest["package"]["name"].as_str().unwrap()
}

fn deps<'a>(manifest: &'a Value, table: &str) -> Vec<(&'a str, &'a Value)> {
    manifest
        .get(table)
        .and_then(Value::as_table)
        .map(|t| t.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// The intended crate graph: which uqforge crates a crate may depend on, as a normal dependency
/// and as a dev-dependency. `None`: a crate the graph does not know yet (add it here and in
/// docs/architecture.md).
fn allowed(krate: &str) -> Option<(Vec<&'static str>, Vec<&'static str>)> {
    const METHODS: [&str; 8] = [
        "uqforge-gmrf",
        "uqforge-sensitivity",
        "uqforge-transport",
        "uqforge-depth",
        "uqforge-latent",
        "uqforge-causal",
        "uqforge-pinn",
        "uqforge-datasets",
    ];
    let every: Vec<&str> = ["uqforge-core"].into_iter().chain(METHODS).collect();
    let core = vec!["uqforge-core"];
    let data = vec!["uqforge-datasets"];
    Some(match krate {
        "uqforge-core" => (vec![], vec![]),
        "uqforge-datasets" => (core, vec![]),
        "uqforge-depth" => (vec!["uqforge-core", "uqforge-transport"], data),
        // The charge-transport study feeds pinn's model to sensitivity in examples only.
        "uqforge-pinn" => (core, vec!["uqforge-datasets", "uqforge-sensitivity"]),
        k if METHODS.contains(&k) => (core, data),
        "uqforge-cli" | "xtask" | "uqforge" => (every.clone(), every),
        _ => return None,
    })
}

#[test]
fn every_crate_has_a_readme_and_crate_docs() {
    for (dir, manifest) in members() {
        let krate = name(&manifest);
        let lib = dir.join("src/lib.rs");
        let main = dir.join("src/main.rs");
        let entry = if lib.is_file() { lib } else { main };
        let text = std::fs::read_to_string(&entry).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            first.starts_with("//!") || first.starts_with("#![doc = include_str!"),
            "{krate}: {} must open with crate-level docs",
            entry.display()
        );
        if krate != "xtask" {
            assert!(
                dir.join("README.md").is_file(),
                "{krate}: README.md missing"
            );
            assert_eq!(
                manifest["package"].get("readme").and_then(Value::as_str),
                Some("README.md"),
                "{krate}: package.readme must be README.md"
            );
        }
    }
    assert!(root().join("README.md").is_file());
}

#[test]
fn every_crate_inherits_the_workspace_tables() {
    for (_, manifest) in members() {
        let krate = name(&manifest);
        let package = &manifest["package"];
        for field in ["version", "edition", "rust-version", "license"] {
            assert_eq!(
                package.get(field).and_then(|v| v.get("workspace")),
                Some(&Value::Boolean(true)),
                "{krate}: package.{field} must be `.workspace = true`"
            );
        }
        assert_eq!(
            manifest.get("lints").and_then(|l| l.get("workspace")),
            Some(&Value::Boolean(true)),
            "{krate}: [lints] workspace = true is missing"
        );
        for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for (dep, spec) in deps(&manifest, table) {
                assert_eq!(
                    spec.get("workspace"),
                    Some(&Value::Boolean(true)),
                    "{krate}: {table}.{dep} must take its version from [workspace.dependencies]"
                );
            }
        }
    }
}

#[test]
fn no_crate_depends_on_a_sibling_outside_the_graph() {
    let root_manifest: Value =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let mut all: Vec<(String, Value)> = members()
        .into_values()
        .map(|m| (name(&m).to_owned(), m))
        .collect();
    all.push(("uqforge".into(), root_manifest));
    for (krate, manifest) in &all {
        let Some((normal, dev)) = allowed(krate) else {
            panic!(
                "crate `{krate}` is not in the intended graph: add it to tests/tidy.rs and docs/architecture.md"
            )
        };
        for (table, ok) in [("dependencies", &normal), ("dev-dependencies", &dev)] {
            for (dep, _) in deps(manifest, table) {
                let internal = dep.starts_with("uqforge");
                assert!(
                    !internal
                        || ok.contains(&dep)
                        || (table == "dev-dependencies" && normal.contains(&dep)),
                    "{krate} must not depend on {dep} ({table}): see docs/architecture.md"
                );
            }
        }
    }
}

#[test]
fn the_graph_check_rejects_what_it_should() {
    // The rule itself: a method crate may not reach another method crate or the CLI.
    let (normal, dev) = allowed("uqforge-causal").unwrap();
    assert!(!normal.contains(&"uqforge-sensitivity") && !normal.contains(&"uqforge-datasets"));
    assert!(dev.contains(&"uqforge-datasets"));
    assert!(allowed("uqforge-core").unwrap().0.is_empty());
    assert!(allowed("uqforge-unknown").is_none());
    assert!(!allowed("uqforge-depth").unwrap().0.contains(&"uqforge-cli"));
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    for command in ["cargo test --workspace", "cargo xtask bench --quick"] {
        assert!(readme.contains(command), "README.md must show `{command}`");
    }
    assert!(
        ci.contains("cargo test --workspace"),
        ".ci/run must run the README's test command"
    );
    assert!(Path::new(&root().join(".github/workflows/ci.yml")).is_file());
}

/// rustdoc's Markdown knows nothing of KaTeX: it turns `\,` `\{` `\}` `\;` `\!` `\\` into the bare
/// character, and an underscore right after `)`, `}` or `]` can open emphasis that swallows the
/// maths up to the next underscore. Use `\thinspace`, `\lbrace`/`\rbrace`, and `V^c_{jk}`-style
/// subscripts (or reword) instead.
#[test]
fn doc_maths_avoids_markdown_escapes_and_emphasis() {
    let mut files: Vec<PathBuf> = vec![root().join("README.md")];
    let mut stack = vec![root().join("crates"), root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") || path.ends_with("README.md") {
                files.push(path);
            }
        }
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let is_md = file.extension().is_some_and(|e| e == "md");
        let mut in_code = false;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let doc = if is_md {
                Some(line)
            } else {
                trimmed
                    .strip_prefix("//!")
                    .or_else(|| trimmed.strip_prefix("///"))
            };
            let Some(doc) = doc else { continue };
            if doc.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if in_code || !doc.contains('$') {
                continue;
            }
            let escapes = ["\\,", "\\{", "\\}", "\\;", "\\!", "\\\\"];
            let emphasis = [")_", "}_", "]_"];
            for bad in escapes.iter().chain(&emphasis) {
                if doc.contains(bad) {
                    problems.push(format!(
                        "{}:{}: `{bad}` in maths: {}",
                        file.display(),
                        n + 1,
                        doc.trim()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "doc maths that Markdown will mangle:\n{}",
        problems.join("\n")
    );
}
