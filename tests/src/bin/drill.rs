//! The drill: N generated stocks through the whole original grid (3 × 3 settings × 3 groves, 30
//! final groves; trees reduced) on a real S3-compatible server (s3s-fs) on 127.0.0.1, through the
//! in-process pool (`groves run`) or the real function binaries under `cargo lambda watch`, with
//! faults injected; then every result table is compared with a clean run's, byte for byte, and
//! the figures are printed. A bench, not a test: `scripts/drill.sh` builds and runs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use groves_core::ids::RunId;
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_store::{LocalStore, S3Store, Store};
use groves_tests::proxy::{Counts, FaultProxy, Faults};
use groves_tests::{free_port, Function, LambdaEmulator};
use rand::{Rng, SeedableRng};

type Error = Box<dyn std::error::Error>;

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Executor {
    /// `groves run`: the parent and an in-process pool in one process.
    Local,
    /// The parent and function binaries under `cargo lambda watch`.
    Lambda,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Server {
    /// scripts/s3-memory-server: objects in memory, a LIST costs its page (as on S3).
    Memory,
    /// s3s-fs: objects in a folder; every LIST walks the whole bucket.
    S3sFs,
}

#[derive(Debug, Parser)]
#[command(about = "The drill at the original's scale (a bench, not a test)")]
struct Args {
    /// Generated stocks (the first N of the NIFTY-100 list).
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Trading days per stock.
    #[arg(long, default_value_t = 3)]
    days: usize,
    #[arg(long, default_value_t = 10)]
    trees: u32,
    #[arg(long, default_value_t = 5)]
    final_trees: u32,
    #[arg(long, value_enum, default_value = "local")]
    executor: Executor,
    /// The S3-compatible server.
    #[arg(long, value_enum, default_value = "memory")]
    server: Server,
    /// Local: units run at once (`groves run --jobs`; default: one per core). Units on S3 wait
    /// on the network more than they compute.
    #[arg(long)]
    jobs: Option<usize>,
    /// Lambda: instances of each grove stage (param-preds, train-full); 2 of the others.
    #[arg(long, default_value_t = 4)]
    instances: usize,
    /// Faults between groves and S3 (the fault proxy's syntax, e.g.
    /// `500=0.01,503=0.02,hang=0.001,hang-s=20`).
    #[arg(long, default_value = "")]
    s3_faults: String,
    /// Faults between the parent and the Lambda API (e.g. `429-after-s=5,429-for-s=20,dup=0.05,dup-copies=3`).
    #[arg(long, default_value = "")]
    lambda_faults: String,
    /// Local: `kill -9` the `groves run` process this many times, at random moments, restarting it each time.
    #[arg(long, default_value_t = 0)]
    kill_parent: usize,
    /// Lambda: `kill -9` a function process (a unit mid-run) this many times, at random moments;
    /// each is replaced by a fresh process.
    #[arg(long, default_value_t = 0)]
    kill_units: usize,
    /// Lambda: each parent invocation drives at most this many seconds, then re-invokes itself.
    #[arg(long)]
    parent_slice_s: Option<f64>,
    /// Lambda: the parent's shortest listing interval (`GROVES_POLL_MIN_MS`; default 500).
    #[arg(long)]
    poll_min_ms: Option<u64>,
    /// Seconds an S3 request waits for its answer before it is retried (`GROVES_S3_READ_TIMEOUT_S`).
    #[arg(long, default_value_t = 10)]
    s3_read_timeout_s: u64,
    /// Seed of the kill moments.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Groves talks to the S3 server directly, not through the proxy (no faults, no counts):
    /// to see what the proxy itself costs.
    #[arg(long)]
    direct: bool,
    /// Where the data, the clean reference run and the S3 server's folder go.
    #[arg(long, default_value = "target/drill")]
    work: PathBuf,
}

const BUCKET: &str = "drill";
const RUN: &str = "drill";
/// What a run's results are: compared byte for byte with the clean run's.
const RESULTS: [&str; 10] = [
    "features/",
    "processing_stats/",
    "val_preds/",
    "pred_mses/",
    "min_mse/",
    "test_preds/",
    "models/",
    "test_mse/",
    "test_forecast/",
    "status/",
];

/// CPU seconds and peak resident memory of processes the drill waited for.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    cpu_s: f64,
    peak_kb: u64,
}

/// Waits for a child with `wait4`, returning its exit code and resource usage.
fn wait_usage(child: &Child) -> Result<(Option<i32>, Usage), Error> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child's pid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `status` and `ru` are valid for writes; `pid` is a child of this process not yet reaped.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r != pid {
        return Err(format!("wait4({pid}): {}", std::io::Error::last_os_error()).into());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok((
        code,
        Usage {
            cpu_s: secs(ru.ru_utime) + secs(ru.ru_stime),
            peak_kb: ru.ru_maxrss as u64,
        },
    ))
}

/// CPU seconds and peak memory of a running process, from /proc.
fn proc_usage(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Usage {
        cpu_s: (ticks(11) + ticks(12)) / hz,
        peak_kb,
    }
}

fn wait_for_port(port: u16, what: &str) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not start on port {port}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn groves(bins: &Path) -> Command {
    Command::new(bins.join("groves"))
}

fn run_args(args: &Args) -> Vec<String> {
    vec![
        "run".into(),
        "--run".into(),
        RUN.into(),
        "--trees".into(),
        args.trees.to_string(),
        "--final-trees".into(),
        args.final_trees.to_string(),
        "--no-promote".into(),
    ]
}

fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "drill"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The clean run: the same arguments on a local folder, made once and reused.
fn reference(args: &Args, bins: &Path) -> Result<(PathBuf, f64), Error> {
    let dir = args.work.join(format!(
        "reference-{}x{}-t{}-{}",
        args.count, args.days, args.trees, args.final_trees
    ));
    let store = dir.to_string_lossy().to_string();
    if !dir.join("raw").is_dir() {
        let ok = groves(bins)
            .args(["--store", &store, "gen", "--count"])
            .arg(args.count.to_string())
            .arg("--days")
            .arg(args.days.to_string())
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()?
            .success();
        if !ok {
            return Err("groves gen failed".into());
        }
    }
    let report = dir.join(layout::report_key(&RunId::new(RUN)?));
    let mut wall = f64::NAN;
    if !report.is_file() {
        eprintln!("== the clean run, on a local folder ({})", dir.display());
        let t = Instant::now();
        let child = groves(bins)
            .args(["--store", &store])
            .args(run_args(args))
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let (code, usage) = wait_usage(&child)?;
        if code != Some(0) {
            return Err(format!("the clean run failed ({code:?})").into());
        }
        wall = t.elapsed().as_secs_f64();
        eprintln!(
            "   local folder: {wall:.1} s wall, {:.1} CPU-s, {} MB peak",
            usage.cpu_s,
            usage.peak_kb / 1024
        );
    }
    Ok((dir, wall))
}

async fn snapshot(store: &dyn Store) -> Result<BTreeMap<String, bytes::Bytes>, Error> {
    use futures::StreamExt;
    let mut keys = Vec::new();
    for p in RESULTS {
        keys.extend(store.list(p).await?.into_iter().map(|m| m.key));
    }
    let got: Vec<_> = futures::stream::iter(keys)
        .map(|k| async move { store.get(&k).await.map(|b| (k, b)) })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for r in got {
        let (k, b) = r?;
        out.insert(k, b);
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Outcome {
    wall_s: f64,
    parent: Usage,
    parent_starts: usize,
    functions_cpu_s: f64,
    kills: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let bins = std::env::current_exe()?
        .parent()
        .ok_or("the drill's folder")?
        .to_path_buf();
    if !bins.join("groves").is_file() {
        return Err(format!(
            "no groves binary beside the drill in {}: build with cargo build --release --workspace --bins",
            bins.display()
        )
        .into());
    }
    std::fs::create_dir_all(&args.work)?;
    let (reference_dir, _) = reference(&args, &bins)?;
    let run = RunId::new(RUN)?;

    // The S3 server, with the bucket ready.
    let s3_port = free_port();
    let mut server = match args.server {
        Server::Memory => Command::new("s3-memory-server")
            .args(["--port", &s3_port.to_string(), "--bucket", BUCKET])
            .args(["--access-key", "test", "--secret-key", "test"])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(args.work.join("s3-server.err"))?)
            .spawn()
            .map_err(|e| {
                format!("cannot start s3-memory-server (scripts/drill.sh builds it): {e}")
            })?,
        Server::S3sFs => {
            // A fresh folder (each bucket a sub-folder).
            let fs_root = args.work.join(format!(
                "s3s-fs-{:?}-{}",
                args.executor,
                chrono_free_stamp()
            ));
            std::fs::create_dir_all(fs_root.join(BUCKET))?;
            Command::new("s3s-fs")
                .args(["--host", "127.0.0.1", "--port", &s3_port.to_string()])
                .args(["--access-key", "test", "--secret-key", "test"])
                .arg(&fs_root)
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(args.work.join("s3-server.err"))?)
                .spawn()
                .map_err(|e| format!("cannot start s3s-fs (scripts/drill.sh installs it): {e}"))?
        }
    };
    wait_for_port(s3_port, "the S3 server")?;
    let direct = S3Store::new(s3_client(&format!("http://127.0.0.1:{s3_port}")), BUCKET);
    let s3_proxy = FaultProxy::start(
        ([127, 0, 0, 1], s3_port).into(),
        Faults::parse(&args.s3_faults)?,
    )
    .await?;

    // The raw files, uploaded around the proxy: the run's requests are what it counts.
    let mut symbols = Vec::new();
    for entry in std::fs::read_dir(reference_dir.join("raw"))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        let Some((key, sym)) = name.and_then(|n| layout::raw_key_and_symbol(&n).ok()) else {
            continue;
        };
        direct.put_file(&key, &path).await?;
        symbols.push(sym);
    }
    symbols.sort();
    eprintln!(
        "== {} stocks x {} days on {:?} (127.0.0.1:{s3_port}), executor {:?}",
        symbols.len(),
        args.days,
        args.server,
        args.executor
    );

    let s3_env: Vec<(&str, String)> = vec![
        (
            "AWS_ENDPOINT_URL_S3",
            if args.direct {
                format!("http://127.0.0.1:{s3_port}")
            } else {
                s3_proxy.endpoint()
            },
        ),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        (
            "GROVES_S3_READ_TIMEOUT_S",
            args.s3_read_timeout_s.to_string(),
        ),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let report_key = layout::report_key(&run);
    let mut lambda_counts = None;
    let outcome = match args.executor {
        Executor::Local => {
            let started = Instant::now();
            let mut usage = Usage::default();
            let mut starts = 0;
            let mut kills = 0;
            loop {
                starts += 1;
                let child = groves(&bins)
                    .args(["--store", &format!("s3://{BUCKET}")])
                    .args(run_args(&args))
                    .args(args.jobs.map(|j| format!("--jobs={j}")))
                    .envs(s3_env.iter().map(|(k, v)| (*k, v.as_str())))
                    .stdout(std::process::Stdio::null())
                    .stderr(std::fs::File::create(
                        args.work.join(format!("groves-run.{starts}.err")),
                    )?)
                    .spawn()?;
                if kills < args.kill_parent {
                    let after = Duration::from_secs_f64(rng.random_range(1.0..8.0));
                    let pid = child.id();
                    let killer = std::thread::spawn(move || {
                        std::thread::sleep(after);
                        // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    });
                    let (code, u) = wait_usage(&child)?;
                    let _ = killer.join();
                    usage.cpu_s += u.cpu_s;
                    usage.peak_kb = usage.peak_kb.max(u.peak_kb);
                    if code.is_none() {
                        kills += 1;
                        eprintln!("   killed groves run after {:.1} s", after.as_secs_f64());
                        continue;
                    }
                    if code != Some(0) {
                        return Err(format!("groves run exited with {code:?}").into());
                    }
                    break;
                }
                let (code, u) = wait_usage(&child)?;
                usage.cpu_s += u.cpu_s;
                usage.peak_kb = usage.peak_kb.max(u.peak_kb);
                if code != Some(0) {
                    return Err(format!(
                        "groves run exited with {code:?} (log: {})",
                        args.work.join(format!("groves-run.{starts}.err")).display()
                    )
                    .into());
                }
                break;
            }
            Outcome {
                wall_s: started.elapsed().as_secs_f64(),
                parent: usage,
                parent_starts: starts,
                functions_cpu_s: 0.0,
                kills,
            }
        }
        Executor::Lambda => {
            let lambda_port = free_port();
            let lambda_proxy = FaultProxy::start(
                ([127, 0, 0, 1], lambda_port).into(),
                Faults::parse(&args.lambda_faults)?,
            )
            .await?;
            let n = args.instances;
            let functions = [
                ("parent", 1, 512),
                ("processing", 2, 1769),
                ("param-preds", n, 1769),
                ("pred-mses", 2, 1024),
                ("min-mse", 1, 256),
                ("train-full", n, 1769),
                ("test-full", 2, 1024),
                ("timing-metrics", 1, 1024),
            ]
            .map(|(name, instances, memory_mb)| Function {
                name,
                instances,
                memory_mb,
            });
            let mut env = s3_env.clone();
            env.push(("AWS_ENDPOINT_URL_LAMBDA", lambda_proxy.endpoint()));
            env.push(("RUST_LOG", "warn,groves_lambda=info".into()));
            // The emulator runs each invoke to its end: in flight, one per instance and a few
            // queued, as many Lambda environments would hold.
            env.push(("GROVES_MAX_IN_FLIGHT", (2 * n + 4).to_string()));
            if let Some(ms) = args.poll_min_ms {
                env.push(("GROVES_POLL_MIN_MS", ms.to_string()));
            }
            if let Some(s) = args.parent_slice_s {
                env.push(("GROVES_PARENT_SLICE_S", s.to_string()));
            }
            let mut emulator = LambdaEmulator::start_on(lambda_port, &bins, &functions, &env);
            let spec = RunSpec {
                run: Some(run.clone()),
                stocks: symbols.clone(),
                trees: args.trees,
                final_trees: args.final_trees,
                bucket: Some(BUCKET.into()),
                // As `groves run --no-promote`: the serving pointers are not results.
                promote: false,
                ..RunSpec::default()
            };
            let event = args.work.join("parent-event.json");
            std::fs::write(&event, serde_json::to_vec(&spec)?)?;
            let started = Instant::now();
            let invoker = {
                let port = emulator.port;
                let event = event.clone();
                std::thread::spawn(move || invoke(port, "parent", &event))
            };
            let mut kills = 0;
            let (mut last_requests, mut last_change) = (0, Instant::now());
            let mut next_kill = started + Duration::from_secs_f64(rng.random_range(2.0..6.0));
            let killable: Vec<(&str, usize)> = functions
                .iter()
                .filter(|f| f.name != "parent" && f.name != "timing-metrics")
                .flat_map(|f| (0..f.instances).map(move |i| (f.name, i)))
                .collect();
            loop {
                if direct.head(&report_key).await?.is_some() {
                    break;
                }
                if invoker.is_finished() && args.parent_slice_s.is_none() {
                    // The parent answered without a report: it failed.
                    let answer = invoker.join().map_err(|_| "the invoke thread panicked")?;
                    return Err(format!("the parent ended without a report: {answer:?}").into());
                }
                if kills < args.kill_units && Instant::now() >= next_kill {
                    let (name, i) = killable[rng.random_range(0..killable.len())];
                    emulator.kill_and_replace(name, i);
                    kills += 1;
                    eprintln!(
                        "   killed {name}.{i} at {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                    next_kill =
                        Instant::now() + Duration::from_secs_f64(rng.random_range(1.0..5.0));
                }
                // A run that moves writes to S3: two minutes without a request is a stall.
                let requests = s3_proxy.counts().total();
                if requests != last_requests {
                    (last_requests, last_change) = (requests, Instant::now());
                } else if last_change.elapsed() > Duration::from_secs(120) {
                    // The emulator's logs go with it: keep a copy.
                    let kept = args.work.join("emulator-logs");
                    let _ = std::fs::remove_dir_all(&kept);
                    let _ = Command::new("cp")
                        .arg("-r")
                        .arg(emulator.log_dir.path())
                        .arg(&kept)
                        .status();
                    return Err(format!(
                        "the Lambda run stalled: no S3 request for two minutes (logs: {})",
                        kept.display()
                    )
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let wall_s = started.elapsed().as_secs_f64();
            let parent = emulator.pids("parent").into_iter().map(proc_usage).fold(
                Usage::default(),
                |a, u| Usage {
                    cpu_s: a.cpu_s + u.cpu_s,
                    peak_kb: a.peak_kb.max(u.peak_kb),
                },
            );
            let functions_cpu_s: f64 = functions
                .iter()
                .filter(|f| f.name != "parent")
                .flat_map(|f| emulator.pids(f.name))
                .map(|p| proc_usage(p).cpu_s)
                .sum();
            let parent_starts =
                count_in_logs(emulator.log_dir.path(), "parent.", r#""message":"event""#);
            lambda_counts = Some(lambda_proxy.counts());
            drop(emulator);
            Outcome {
                wall_s,
                parent,
                parent_starts,
                functions_cpu_s,
                kills,
            }
        }
    };
    let server_usage = proc_usage(server.id());
    let counts = s3_proxy.counts();

    // What the run's records say.
    let timings = groves_stages::timing_metrics::read_gathered_timings(&direct, &run)
        .await?
        .ok_or("no gathered timing table: the run did not finish")?;
    let units = timings.len();
    let mut finished: Vec<i64> = timings.iter().map(|t| t.finished_ms).collect();
    finished.sort_unstable();
    let mut gaps: Vec<f64> = timings
        .iter()
        .filter_map(|t| {
            let inv = t.invoked_ms?;
            let i = finished.partition_point(|&f| f <= inv);
            (i > 0).then(|| (inv - finished[i - 1]) as f64)
        })
        .collect();
    gaps.sort_by(f64::total_cmp);
    let unit_s: f64 = timings
        .iter()
        .map(|t| (t.finished_ms - t.started_ms) as f64 / 1e3)
        .sum();
    let stage_logs = stage_log_summary(&direct, &run).await?;
    // Each stage's span: its first invocation (or start) to its last unit's end.
    let mut spans: Vec<(String, i64, i64)> = Vec::new();
    for t in &timings {
        let from = t.invoked_ms.unwrap_or(t.started_ms);
        match spans.iter_mut().find(|(s, ..)| *s == t.stage) {
            Some(span) => {
                span.1 = span.1.min(from);
                span.2 = span.2.max(t.finished_ms);
            }
            None => spans.push((t.stage.clone(), from, t.finished_ms)),
        }
    }
    spans.sort_by_key(|s| s.1);
    let spans: Vec<String> = spans
        .iter()
        .map(|(s, a, b)| format!("{s} {:.1} s", (b - a) as f64 / 1e3))
        .collect();

    // Every result table against the clean run's.
    let clean = snapshot(&LocalStore::create(&reference_dir)?).await?;
    let got = snapshot(&direct).await?;
    let differ: Vec<&String> = clean
        .keys()
        .chain(got.keys())
        .filter(|k| clean.get(*k) != got.get(*k))
        .collect();

    println!(
        "## drill: {} stocks x {} days, {:?}",
        symbols.len(),
        args.days,
        args.executor
    );
    println!(
        "faults: s3 [{}] lambda [{}] kill-parent {} kill-units {} parent-slice {:?}; parent poll-min {:?} ms",
        args.s3_faults, args.lambda_faults, args.kill_parent, args.kill_units, args.parent_slice_s, args.poll_min_ms
    );
    println!(
        "units {units}, wall {:.1} s, {:.1} units/s; sum of unit time {:.1} s",
        outcome.wall_s,
        units as f64 / outcome.wall_s,
        unit_s
    );
    println!(
        "parent: {:.1} CPU-s, {} MB peak, {} start(s){}",
        outcome.parent.cpu_s,
        outcome.parent.peak_kb / 1024,
        outcome.parent_starts,
        if args.executor == Executor::Local {
            " (units run inside it)".to_string()
        } else {
            format!("; function processes {:.1} CPU-s", outcome.functions_cpu_s)
        }
    );
    println!(
        "S3 server ({:?}): {:.1} CPU-s over {:.1} s wall = {:.0} % of one core, {} MB peak",
        args.server,
        server_usage.cpu_s,
        outcome.wall_s,
        100.0 * server_usage.cpu_s / outcome.wall_s,
        server_usage.peak_kb / 1024
    );
    print_counts("S3", &counts, units);
    if let Some(c) = &lambda_counts {
        print_counts("Lambda API", c, units);
    }
    println!(
        "hand-over (a unit invoked after the newest completion before it): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} invocations",
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.9),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or(f64::NAN),
        gaps.len()
    );
    println!("stage logs: {stage_logs}");
    println!("stages, first invocation to last end: {}", spans.join(", "));
    println!("kills: {}", outcome.kills);
    let _ = server.kill();
    let _ = server.wait();
    if differ.is_empty() {
        println!(
            "results: {} objects, every one byte-equal to the clean run's",
            got.len()
        );
        Ok(())
    } else {
        println!(
            "results: {} of {} objects DIFFER from the clean run's, e.g. {:?}",
            differ.len(),
            clean.len().max(got.len()),
            &differ[..differ.len().min(10)]
        );
        Err("results differ".into())
    }
}

fn print_counts(what: &str, c: &Counts, units: usize) {
    let kinds: Vec<String> = c
        .kinds
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {} ({:.2}/unit)",
                v.requests,
                v.requests as f64 / units as f64
            )
        })
        .collect();
    println!(
        "{what} requests: {} ({:.2}/unit): {}",
        c.total(),
        c.total() as f64 / units as f64,
        kinds.join(", ")
    );
    println!(
        "{what} injected: 500 {}, 503 {}, hangs {}, 429 {}, duplicate deliveries {}",
        c.injected_500, c.injected_503, c.injected_hangs, c.injected_429, c.duplicates_sent
    );
    if what == "S3" {
        let top = |l: &[groves_tests::proxy::Moved]| {
            l.iter()
                .take(4)
                .map(|m| format!("{} {} B", m.path, m.bytes))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("largest written: {}", top(&c.largest_written));
        println!("largest read: {}", top(&c.largest_read));
        // Results must never change; the run's own records (stage logs, a re-run unit's
        // timing record) may.
        let (results, records): (Vec<&String>, Vec<&String>) = c
            .rewritten_differently
            .keys()
            .partition(|k| RESULTS.iter().any(|p| k.contains(&format!("/{p}"))));
        println!(
            "keys written again: {} with the same bytes; with other bytes: {} results{}, {} run records (stage logs, timing records of units run twice)",
            c.rewritten_same,
            results.len(),
            if results.is_empty() {
                String::new()
            } else {
                format!(" {:?}", &results[..results.len().min(8)])
            },
            records.len()
        );
    }
}

/// Sums of the stage logs: invocations, retried units, throttled hand-overs, failed units.
async fn stage_log_summary(store: &dyn Store, run: &RunId) -> Result<String, Error> {
    let prefix = layout::stage_log_key(run, "x", None);
    let prefix = prefix.trim_end_matches("x.json");
    let (mut inv, mut retried, mut throttled, mut failed, mut logs) =
        (0u64, 0usize, 0u64, 0usize, 0);
    for m in store.list(prefix).await? {
        let v: serde_json::Value = serde_json::from_slice(&store.get(&m.key).await?)?;
        logs += 1;
        inv += v["invocations"].as_u64().unwrap_or(0);
        retried += v["retried"].as_object().map_or(0, |o| o.len());
        throttled += v["throttled"].as_u64().unwrap_or(0);
        failed += v["failed"].as_array().map_or(0, |a| a.len());
    }
    Ok(format!(
        "{logs} stages, {inv} invocations, {retried} units retried, {throttled} hand-overs throttled, {failed} units failed"
    ))
}

fn count_in_logs(dir: &Path, prefix: &str, needle: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| {
                    std::fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .matches(needle)
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `cargo lambda invoke` of `function` with the event in `file`.
fn invoke(port: u16, function: &str, file: &Path) -> Result<String, String> {
    let out = Command::new("cargo-lambda")
        .args([
            "lambda",
            "invoke",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .args([function, "--data-file"])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Seconds since the epoch: a fresh folder name per drill.
fn chrono_free_stamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
