//! The documentation does not drift from the tree: every relative link in
//! the book, the READMEs, CONTRIBUTING and the CHANGELOG reaches a file,
//! every `#anchor` a heading, and every repository path named in
//! backticks exists. Fast tier: it reads files only.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rotation_testing::workspace_root;

/// The documents checked: the book, and every Markdown file at the root
/// or at a crate's root that git tracks.
fn documents(root: &Path) -> Vec<PathBuf> {
    tracked(root, "*.md")
        .into_iter()
        .filter(|path| !path.starts_with("fuzz/corpus") && !path.contains("/target/"))
        .map(|path| root.join(path))
        .filter(|path| path.exists())
        .collect()
}

/// The files git tracks (or would: untracked and not ignored) matching
/// `pattern`, relative to `root`.
fn tracked(root: &Path, pattern: &str) -> Vec<String> {
    let listed = std::process::Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            pattern,
        ])
        .current_dir(root)
        .output()
        .expect("run git ls-files");
    assert!(listed.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The text outside fenced code blocks, line by line.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens, a repeated heading numbered.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in prose(text) {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 1;
        while seen.contains(&unique) {
            unique = format!("{slug}-{n}");
            n += 1;
        }
        seen.insert(unique);
    }
    seen
}

/// `[text](target)` links' targets.
fn links(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        found.push(after[..end].trim().to_owned());
        rest = &after[end..];
    }
    found
}

/// Backticked words that name a path in the repository: a known top-level
/// folder, then more. Placeholders (`<name>`, globs) are left out.
fn named_paths(line: &str) -> Vec<String> {
    const ROOTS: &[&str] = &[
        "rotation-core/",
        "rotation-database/",
        "rotation-testing/",
        "rotators/",
        "rotate/",
        "secret-cache/",
        "secrets-agent/",
        "examples/",
        "scripts/",
        "docs/",
        "fuzz/",
        ".ci/",
        ".github/",
        "certs/",
    ];
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| ROOTS.iter().any(|root| word.starts_with(root)))
        .filter(|word| !word.contains(|c: char| "<>*?{} $".contains(c)))
        .map(|word| word.trim_end_matches(['.', ',', ':']).to_owned())
        .collect()
}

#[test]
fn every_link_anchor_and_named_path_in_the_docs_resolves() {
    let root = workspace_root();
    let documents = documents(&root);
    assert!(
        documents
            .iter()
            .any(|d| d.ends_with("docs/security-model.md")),
        "the book was not found: {documents:?}"
    );
    let mut broken = Vec::new();
    for document in &documents {
        let text = std::fs::read_to_string(document).unwrap();
        let name = document.strip_prefix(&root).unwrap().display().to_string();
        let here = document.parent().unwrap();
        for (number, line) in text.lines().enumerate() {
            let at = format!("{name}:{}", number + 1);
            if prose(line).is_empty() {
                continue;
            }
            for target in links(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
                let file = if path.is_empty() {
                    document.clone()
                } else {
                    here.join(path)
                };
                if !file.exists() {
                    broken.push(format!("{at}: link to {target}: no such file"));
                    continue;
                }
                if !anchor.is_empty() {
                    let headings = anchors(&std::fs::read_to_string(&file).unwrap_or_default());
                    if !headings.contains(anchor) {
                        broken.push(format!("{at}: link to {target}: no such heading"));
                    }
                }
            }
            for path in named_paths(line) {
                if !root.join(&path).exists() {
                    broken.push(format!("{at}: names {path}, which does not exist"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The security model gives each line its test: every test it names is a
/// function somewhere in the workspace.
#[test]
fn every_test_the_security_model_names_exists() {
    let root = workspace_root();
    let model = std::fs::read_to_string(root.join("docs/security-model.md")).unwrap();
    let mut sources = String::new();
    for path in tracked(&root, "*.rs") {
        sources.push_str(&std::fs::read_to_string(root.join(path)).unwrap_or_default());
    }
    let named: Vec<&str> = model
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            word.matches('_').count() >= 3
                && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .collect();
    assert!(named.len() >= 30, "only {} tests named", named.len());
    let missing: Vec<&&str> = named
        .iter()
        .filter(|name| !sources.contains(&format!("fn {name}(")))
        .collect();
    assert!(missing.is_empty(), "named but not found: {missing:?}");
}

/// The check itself can fail: a made-up link, anchor and path are caught.
#[test]
fn the_check_sees_a_broken_link_anchor_and_path() {
    let line = "see [x](nowhere.md) and [y](#no-such-heading) and `rotators/none/src/lib.rs`";
    assert_eq!(links(line), ["nowhere.md", "#no-such-heading"]);
    assert_eq!(named_paths(line), ["rotators/none/src/lib.rs"]);
    let headings = anchors("# Migrating from AWS's Python templates\n## Size and start-up\n## Size and start-up\n```\n# not a heading\n```\n");
    assert!(headings.contains("migrating-from-awss-python-templates"));
    assert!(headings.contains("size-and-start-up-1"));
    assert!(!headings.contains("not-a-heading"));
    assert!(named_paths("`rotators/<name>/tests/` and `scripts/*.sh`").is_empty());
}
