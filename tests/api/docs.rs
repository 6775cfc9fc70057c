//! The documents a newcomer reads hold together: every relative link of the README and of
//! `docs/` names a file of the repository, and an anchor it links to is a heading (or an
//! `<a id>`) of that file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The repository's root (the parent of `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_owned()
}

/// The anchors of a Markdown file: GitHub's slug of each heading, and each `<a id="…">`.
fn anchors(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix('#') {
            let title = heading.trim_start_matches('#').trim();
            let slug: String = title
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            found.insert(slug);
        }
        for part in line.split("<a id=\"").skip(1) {
            if let Some(id) = part.split('"').next() {
                found.insert(id.to_owned());
            }
        }
    }
    found
}

/// The targets of a Markdown file's inline links `[text](target)`, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        for part in line.split("](").skip(1) {
            if let Some(target) = part.split(')').next() {
                targets.push(target.to_owned());
            }
        }
    }
    targets
}

#[test]
fn every_link_of_the_readme_and_the_docs_leads_somewhere() {
    let root = root();
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    assert!(files.len() >= 6, "the README and docs/: {files:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a document");
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a folder").join(path)
            };
            if !linked.exists() {
                broken.push(format!("{}: {target} (no such file)", file.display()));
                continue;
            }
            if !anchor.is_empty() {
                let there = std::fs::read_to_string(&linked).unwrap_or_default();
                if !anchors(&there).contains(anchor) {
                    broken.push(format!("{}: {target} (no such anchor)", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 6, "only {checked} links checked");
}

#[test]
fn a_heading_and_an_anchor_are_found_as_github_names_them() {
    let found = anchors("## Security, and its tests\n- <a id=\"runbook-x\"></a>**X**\n");
    assert!(found.contains("security-and-its-tests"), "{found:?}");
    assert!(found.contains("runbook-x"), "{found:?}");
    assert_eq!(
        links("see [a](docs/a.md#b) and [c](https://x)\n```\n[d](e)\n```"),
        ["docs/a.md#b", "https://x"]
    );
}
