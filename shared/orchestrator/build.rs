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
            // Rebuild when HEAD moves: the HEAD file (checkout) and the branch's loose ref (a
            // commit rewrites it) or, if the ref is packed, its folder (a commit creates it
            // there), wherever this clone or worktree keeps them. Only existing paths: cargo
            // reruns the script on every build for a path that does not exist.
            let mut watch: Vec<PathBuf> = Vec::new();
            for name in ["HEAD", "packed-refs"] {
                watch.extend(git(&["rev-parse", "--git-path", name]).map(PathBuf::from));
            }
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                if let Some(p) = git(&["rev-parse", "--git-path", &r]).map(PathBuf::from) {
                    if p.exists() {
                        watch.push(p);
                    } else {
                        watch.extend(p.parent().map(PathBuf::from));
                    }
                }
            }
            for p in watch.iter().filter(|p| p.exists()) {
                println!("cargo:rerun-if-changed={}", p.display());
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=GROVES_GIT_COMMIT={commit}");
}
