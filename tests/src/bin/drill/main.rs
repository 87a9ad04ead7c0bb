//! The drill: N generated stocks through the whole original grid (3 × 3 settings × 3 groves, 30
//! final groves; trees reduced) on an S3-compatible server on 127.0.0.1, through the in-process
//! pool (`groves run`) or the real function binaries under `cargo lambda watch`, with faults
//! injected; then every result table is compared with a clean run's, byte for byte, and the
//! figures are printed. A bench, not a test: `scripts/drill.sh` builds and runs it.

mod figures;
mod usage;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_store::{LocalStore, S3Store, Store};
use groves_tests::proxy::{Counts, FaultProxy, Faults};
use groves_tests::{
    free_port, invoke_at, only, s3_client, s3_env, snapshot, stage_logs, wait_for_port, Function,
    LambdaEmulator, RESULT_PREFIXES,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use usage::{proc_usage, wait_usage, Usage};

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

/// The clean run: the same arguments on a local folder, made once and reused. Its folder.
fn reference(args: &Args, bins: &Path) -> Result<PathBuf, Error> {
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
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()?
            .success();
        if !ok {
            return Err("groves gen failed".into());
        }
    }
    if !dir.join(layout::report_key(&RunId::new(RUN)?)).is_file() {
        eprintln!("== the clean run, on a local folder ({})", dir.display());
        let t = Instant::now();
        let child = groves(bins)
            .args(["--store", &store])
            .args(run_args(args))
            .stdout(Stdio::null())
            .spawn()?;
        let (code, usage) = wait_usage(&child)?;
        if code != Some(0) {
            return Err(format!("the clean run failed ({code:?})").into());
        }
        eprintln!(
            "   local folder: {:.1} s wall, {:.1} CPU-s, {} MB peak",
            t.elapsed().as_secs_f64(),
            usage.cpu_s,
            usage.peak_kb / 1024
        );
    }
    Ok(dir)
}

/// Starts the S3 server on `port`, with the bucket ready.
fn start_server(args: &Args, port: u16) -> Result<Child, Error> {
    let mut cmd = match args.server {
        Server::Memory => {
            let mut c = Command::new("s3-memory-server");
            c.args(["--port", &port.to_string(), "--bucket", BUCKET]);
            c
        }
        Server::S3sFs => {
            // A fresh folder (each bucket a sub-folder).
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let root = args
                .work
                .join(format!("s3s-fs-{:?}-{stamp}", args.executor));
            std::fs::create_dir_all(root.join(BUCKET))?;
            let mut c = Command::new("s3s-fs");
            c.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg(&root);
            c
        }
    };
    let child = cmd
        .args(["--access-key", "test", "--secret-key", "test"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(args.work.join("s3-server.err"))?)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start the {:?} S3 server (scripts/drill.sh installs it): {e}",
                args.server
            )
        })?;
    wait_for_port(port, "the S3 server");
    Ok(child)
}

/// What one drive of the run measured.
struct Outcome {
    wall_s: f64,
    parent: Usage,
    parent_starts: usize,
    /// The function processes' CPU, on Lambda.
    functions_cpu_s: Option<f64>,
    lambda_counts: Option<Counts>,
    kills: usize,
}

/// `groves run` on the bucket, killed `--kill-parent` times at random moments and started again.
fn drive_local(
    args: &Args,
    bins: &Path,
    env: &[(&str, String)],
    rng: &mut ChaCha8Rng,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let mut usage = Usage::default();
    let (mut starts, mut kills) = (0, 0);
    loop {
        starts += 1;
        let log = args.work.join(format!("groves-run.{starts}.err"));
        let child = groves(bins)
            .args(["--store", &format!("s3://{BUCKET}")])
            .args(run_args(args))
            .args(args.jobs.map(|j| format!("--jobs={j}")))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let killer = (kills < args.kill_parent).then(|| {
            let after = Duration::from_secs_f64(rng.random_range(1.0..8.0));
            let pid = child.id() as libc::pid_t;
            let (done, wait) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                // Not once the run has ended (its pid may be reaped).
                if wait.recv_timeout(after).is_err() {
                    // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            });
            (after, done, thread)
        });
        let (code, u) = wait_usage(&child)?;
        usage = usage.and(u);
        if let Some((after, done, thread)) = killer {
            let _ = done.send(());
            let _ = thread.join();
            if code.is_none() {
                kills += 1;
                eprintln!("   killed groves run after {:.1} s", after.as_secs_f64());
                continue;
            }
        }
        if code != Some(0) {
            return Err(format!("groves run exited with {code:?} (log: {})", log.display()).into());
        }
        return Ok(Outcome {
            wall_s: started.elapsed().as_secs_f64(),
            parent: usage,
            parent_starts: starts,
            functions_cpu_s: None,
            lambda_counts: None,
            kills,
        });
    }
}

/// The run through the parent binary under `cargo lambda watch`, a fault proxy in front of the
/// Lambda API, `--kill-units` function processes killed and replaced at random moments; done
/// when the report is in the bucket.
async fn drive_lambda(
    args: &Args,
    bins: &Path,
    env: &[(&str, String)],
    stocks: &[Symbol],
    bucket: &S3Store,
    s3_proxy: &FaultProxy,
    rng: &mut ChaCha8Rng,
) -> Result<Outcome, Error> {
    let run = RunId::new(RUN)?;
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
    let mut env = env.to_vec();
    env.push(("AWS_ENDPOINT_URL_LAMBDA", lambda_proxy.endpoint()));
    env.push(("RUST_LOG", "warn,groves_lambda=info".into()));
    // The emulator runs each invoke to its end: in flight, one per instance and a few queued,
    // as many Lambda environments would hold.
    env.push(("GROVES_MAX_IN_FLIGHT", (2 * n + 4).to_string()));
    if let Some(ms) = args.poll_min_ms {
        env.push(("GROVES_POLL_MIN_MS", ms.to_string()));
    }
    if let Some(s) = args.parent_slice_s {
        env.push(("GROVES_PARENT_SLICE_S", s.to_string()));
    }
    let mut emulator = LambdaEmulator::start_on(lambda_port, bins, &functions, &env);
    let spec = RunSpec {
        run: Some(run.clone()),
        stocks: stocks.to_vec(),
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
        std::thread::spawn(move || invoke_at(port, "parent", &event))
    };
    let killable: Vec<(&str, usize)> = functions
        .iter()
        .filter(|f| f.name != "parent" && f.name != "timing-metrics")
        .flat_map(|f| (0..f.instances).map(move |i| (f.name, i)))
        .collect();
    let mut kills = 0;
    let mut next_kill = started + Duration::from_secs_f64(rng.random_range(2.0..6.0));
    let (mut last_requests, mut last_change) = (0, Instant::now());
    let report_key = layout::report_key(&run);
    while bucket.head(&report_key).await?.is_none() {
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
            next_kill = Instant::now() + Duration::from_secs_f64(rng.random_range(1.0..5.0));
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
    let usage_of = |name: &str| {
        emulator
            .pids(name)
            .into_iter()
            .map(proc_usage)
            .fold(Usage::default(), Usage::and)
    };
    let functions_cpu_s = functions
        .iter()
        .filter(|f| f.name != "parent")
        .map(|f| usage_of(f.name).cpu_s)
        .sum();
    Ok(Outcome {
        wall_s,
        parent: usage_of("parent"),
        parent_starts: emulator.count_in_logs("parent.", r#""message":"event""#),
        functions_cpu_s: Some(functions_cpu_s),
        lambda_counts: Some(lambda_proxy.counts()),
        kills,
    })
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
    let reference_dir = reference(&args, &bins)?;
    let run = RunId::new(RUN)?;

    let s3_port = free_port();
    let mut server = start_server(&args, s3_port)?;
    let server_endpoint = format!("http://127.0.0.1:{s3_port}");
    let direct = S3Store::new(s3_client(&server_endpoint), BUCKET);
    let s3_proxy = FaultProxy::start(
        ([127, 0, 0, 1], s3_port).into(),
        Faults::parse(&args.s3_faults)?,
    )
    .await?;

    // The raw files, uploaded around the proxy: the run's requests are what it counts.
    let mut stocks = Vec::new();
    for entry in std::fs::read_dir(reference_dir.join("raw"))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        let Some((key, sym)) = name.and_then(|n| layout::raw_key_and_symbol(&n).ok()) else {
            continue;
        };
        direct.put_file(&key, &path).await?;
        stocks.push(sym);
    }
    stocks.sort();
    eprintln!(
        "== {} stocks x {} days on {:?} (127.0.0.1:{s3_port}), executor {:?}",
        stocks.len(),
        args.days,
        args.server,
        args.executor
    );

    let mut env = s3_env(if args.direct {
        server_endpoint
    } else {
        s3_proxy.endpoint()
    });
    env.push((
        "GROVES_S3_READ_TIMEOUT_S",
        args.s3_read_timeout_s.to_string(),
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let outcome = match args.executor {
        Executor::Local => drive_local(&args, &bins, &env, &mut rng)?,
        Executor::Lambda => {
            drive_lambda(&args, &bins, &env, &stocks, &direct, &s3_proxy, &mut rng).await?
        }
    };
    let server_usage = proc_usage(server.id());
    let counts = s3_proxy.counts();

    // What the run's records say.
    let timings = groves_stages::timing_metrics::read_gathered_timings(&direct, &run)
        .await?
        .ok_or("no gathered timing table: the run did not finish")?;
    let units = timings.len();
    let unit_s: f64 = timings
        .iter()
        .map(|t| (t.finished_ms - t.started_ms) as f64 / 1e3)
        .sum();

    // Every result table against the clean run's.
    let clean = only(
        snapshot(&LocalStore::create(&reference_dir)?, &[]).await,
        &RESULT_PREFIXES,
    );
    let got = only(snapshot(&direct, &[]).await, &RESULT_PREFIXES);
    let differ: Vec<&String> = clean
        .keys()
        .chain(got.keys())
        .filter(|k| clean.get(*k) != got.get(*k))
        .collect();

    println!(
        "## drill: {} stocks x {} days, {:?}",
        stocks.len(),
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
        match outcome.functions_cpu_s {
            None => " (units run inside it)".to_string(),
            Some(cpu) => format!("; function processes {cpu:.1} CPU-s"),
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
    figures::print_counts("S3", &counts, units);
    if let Some(c) = &outcome.lambda_counts {
        figures::print_counts("Lambda API", c, units);
    }
    println!(
        "hand-over (a unit invoked after the newest completion before it): {}",
        figures::hand_overs(&timings)
    );
    println!(
        "stage logs: {}",
        figures::stage_log_summary(&stage_logs(&direct, &run).await)
    );
    println!(
        "stages, first invocation to last end: {}",
        figures::stage_spans(&timings)
    );
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
