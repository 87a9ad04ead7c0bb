//! `FOREST_KERNELS` and `FOREST_NO_SIMD`, end to end. They are read once per process and the
//! tests of a process share one environment, so each case runs this test binary again as a
//! child with the variables set (through `FOREST_TEST_RUNNER`, e.g. qemu, if that is set).

mod common;

use forest::{kernels_in_use, Forest};
use std::process::Command;

/// Set in the child processes.
const CHILD: &str = "FOREST_KERNELS_TEST_CHILD";

/// FNV-1a, to compare models across processes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// In a child process only: prints what `kernels_in_use` and a fit give.
#[test]
fn child_reports_its_kernels() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (x, y) = common::prices(800, 4, 1);
    let kernels = match kernels_in_use() {
        Ok(k) => k.to_string(),
        Err(e) => format!("error: {e}"),
    };
    let fit = match Forest::fit(&x, &y, &common::params(4, 3, 5)) {
        Ok(f) => format!("model {:016x}", fnv(&f.to_bytes().unwrap())),
        Err(e) => format!("error: {e}"),
    };
    println!("KERNELS={kernels}");
    println!("FIT={fit}");
}

/// What a child says with `FOREST_KERNELS=kernels` (if given) and `FOREST_NO_SIMD` (if set).
fn child(kernels: Option<&str>, no_simd: bool) -> (String, String) {
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("FOREST_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(&exe);
            cmd
        }
        None => Command::new(&exe),
    };
    cmd.args(["child_reports_its_kernels", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .env_remove("FOREST_KERNELS")
        .env_remove("FOREST_NO_SIMD");
    if let Some(k) = kernels {
        cmd.env("FOREST_KERNELS", k);
    }
    if no_simd {
        cmd.env("FOREST_NO_SIMD", "1");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {kernels:?} {no_simd}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_string()
    };
    (field("KERNELS="), field("FIT="))
}

/// The versions this CPU runs, best first.
#[cfg(target_arch = "x86_64")]
fn runnable() -> Vec<&'static str> {
    use std::arch::is_x86_feature_detected as has;
    let mut runs = Vec::new();
    if has!("avx512f") && has!("avx512dq") && has!("popcnt") {
        runs.push("avx512");
    }
    if has!("avx2") && has!("bmi1") && has!("bmi2") && has!("popcnt") {
        runs.push("avx2");
    }
    runs.push("portable");
    runs
}

/// The versions this CPU runs, best first.
#[cfg(target_arch = "aarch64")]
fn runnable() -> Vec<&'static str> {
    vec!["neon", "portable"]
}

/// The versions this CPU runs, best first.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn runnable() -> Vec<&'static str> {
    vec!["portable"]
}

#[test]
fn forest_kernels_forces_a_version_or_fails_clearly() {
    let runs = runnable();
    let (auto, model) = child(None, false);
    assert_eq!(
        auto, runs[0],
        "the default is the best version the CPU runs"
    );
    assert!(model.starts_with("model "), "{model}");
    for name in ["avx512", "avx2", "neon", "portable"] {
        let (kernels, fit) = child(Some(name), false);
        if runs.contains(&name) {
            assert_eq!(kernels, name);
            assert_eq!(fit, model, "{name} grows the same forest");
        } else {
            // An error, from kernels_in_use and from fit alike, not a quiet fallback.
            let expected = format!("error: kernel choice: FOREST_KERNELS={name} needs");
            assert!(kernels.starts_with(&expected), "{kernels}");
            assert_eq!(fit, kernels);
        }
    }
    assert_eq!(child(Some("auto"), false), (auto.clone(), model.clone()));
    assert_eq!(child(None, true), ("portable".to_string(), model.clone()));
    assert_eq!(
        child(Some("portable"), true),
        ("portable".to_string(), model)
    );
    let (kernels, fit) = child(Some("fastest"), false);
    assert!(
        kernels.contains("FOREST_KERNELS=fastest is not a kernel version"),
        "{kernels}"
    );
    assert_eq!(fit, kernels);
    let (kernels, _) = child(Some(runs[0]), true);
    if runs[0] != "portable" {
        assert!(kernels.contains("contradicts FOREST_NO_SIMD"), "{kernels}");
    }
}
