//! Records the commit the library is built from (`GROVES_GIT_COMMIT`), so a run can say what
//! code produced it. `GROVES_GIT_COMMIT` set in the build environment wins (builds outside a
//! clone, e.g. from a source archive); without git or a clone the commit is `unknown`.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=GROVES_GIT_COMMIT");
    let commit = match std::env::var("GROVES_GIT_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ => {
            // Rebuild when HEAD moves: the HEAD file (branch switch) and the ref it points to
            // (a commit on the branch), wherever this clone or worktree keeps them.
            for (arg, name) in [("--git-path", "HEAD"), ("--git-path", "packed-refs")] {
                if let Some(p) = git(&["rev-parse", arg, name]) {
                    println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
                }
            }
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                if let Some(p) = git(&["rev-parse", "--git-path", &r]) {
                    println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=GROVES_GIT_COMMIT={commit}");
}
