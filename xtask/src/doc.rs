//! `cargo xtask doc`: the API docs with KaTeX math.
//!
//! Module docs write maths between `$…$` (inline) and `$$…$$` (display). rustdoc leaves them
//! as text; the header `docs/katex-header.html`, passed with `--html-in-header`, loads KaTeX
//! and its auto-render extension, which typeset them in the browser.
//!
//! Markdown runs before KaTeX and mangles some TeX: backslash before punctuation (`\,`, `\{`)
//! loses the backslash, and an underscore after `)`, `}` or `]` can start emphasis. The tidy
//! test `doc_maths_avoids_markdown_escapes_and_emphasis` (root `tests/tidy.rs`) rejects both.
//!
//! Offline fallback: the default header loads KaTeX from a CDN. Without network, fetch KaTeX
//! from the npm registry (`npm pack katex@0.16 && tar xf katex-0.16.*.tgz`) and run
//! `cargo xtask doc --katex-dir package/dist`: the assets are copied to `target/doc/katex/`
//! and a header pointing at them is used instead.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
pub(crate) struct Options {
    katex_dir: Option<PathBuf>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self { katex_dir: None };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--katex-dir" => {
                    o.katex_dir = Some(PathBuf::from(
                        it.next().ok_or("--katex-dir needs a directory")?,
                    ));
                }
                other => return Err(format!("unknown option `{other}` for `doc`")),
            }
        }
        Ok(o)
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let root = crate::workspace_root();
    let header = match &o.katex_dir {
        None => root.join("docs").join("katex-header.html"),
        Some(dir) => {
            if !dir.join("katex.min.js").is_file() {
                return Err(format!(
                    "{} has no katex.min.js (expected KaTeX's dist folder)",
                    dir.display()
                ));
            }
            let local = root.join("target").join("doc").join("katex");
            copy_dir(dir, &local).map_err(|e| format!("copying KaTeX: {e}"))?;
            let url = format!("file://{}", local.display());
            let cdn = std::fs::read_to_string(root.join("docs").join("katex-header.html"))
                .map_err(|e| format!("reading docs/katex-header.html: {e}"))?;
            let text = cdn.replace("https://cdn.jsdelivr.net/npm/katex@0.16.22/dist", &url);
            let path = root.join("target").join("katex-header-local.html");
            std::fs::write(&path, text).map_err(|e| format!("writing header: {e}"))?;
            path
        }
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["doc", "--workspace", "--no-deps"])
        .env(
            "RUSTDOCFLAGS",
            format!("--html-in-header {}", header.display()),
        )
        .status()
        .map_err(|e| format!("cannot run cargo doc: {e}"))?;
    if !status.success() {
        return Err(format!("cargo doc failed ({status})"));
    }
    eprintln!(
        "docs with KaTeX: {}",
        root.join("target/doc/uqforge/index.html").display()
    );
    Ok(())
}
