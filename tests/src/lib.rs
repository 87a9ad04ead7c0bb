//! Harness for the integration tests: a real S3-compatible server (moto) on 127.0.0.1, S3
//! clients pointed at it, and sample raw files from the generator.

pub mod proxy;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// A `moto_server` process on a free loopback port, killed on drop. `scripts/test.sh`
/// installs it (`pip install 'moto[server]'`).
pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start moto_server: install it with pip install 'moto[server]' (scripts/test.sh does)");
        let server = MotoServer { child, port };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK (and so the groves CLI) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        s3_env(self.endpoint())
    }

    /// A client for this server, built explicitly (not from the process environment, which
    /// tests running in parallel threads share).
    pub fn client(&self) -> aws_sdk_s3::Client {
        s3_client(&self.endpoint())
    }

    pub async fn create_bucket(&self, name: &str) -> groves_store::S3Store {
        let client = self.client();
        client
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
        groves_store::S3Store::new(client, name)
    }
}

/// The environment that points the AWS SDK (and so the groves CLI and functions) at a local
/// S3-compatible server at `endpoint`, with test credentials and no metadata service.
pub fn s3_env(endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_S3", endpoint),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// An S3 client for a local S3-compatible server at `endpoint` (credentials test / test, path
/// style), built explicitly rather than from the process environment.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// What a run leaves as results (and completion records): what a faulty or remote run must
/// leave byte-equal to a clean local one.
pub const RESULT_PREFIXES: [&str; 10] = [
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

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tansu` Kafka-protocol broker on a free loopback port, topics in memory, killed on drop.
/// `scripts/test.sh` installs it (`cargo install tansu --features dynostore`).
pub struct TansuBroker {
    child: Child,
    pub port: u16,
}

impl TansuBroker {
    pub fn start() -> TansuBroker {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new("tansu")
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start tansu: install it with cargo install tansu --locked --features dynostore (scripts/test.sh does)");
        let broker = TansuBroker { child, port };
        wait_for_port(port, "tansu");
        broker
    }

    /// `HOST:PORT`
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates `topic` with `partitions` partitions; its `kafka://` address.
    pub fn create_topic(&self, topic: &str, partitions: u32) -> String {
        let out = Command::new("tansu")
            .args([
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://{}", self.bootstrap())])
            .output()
            .expect("cannot run tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("kafka://{}/{topic}", self.bootstrap())
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a generated raw file for `symbol` into `dir` and returns its path.
pub fn gen_raw(dir: &Path, symbol: &str, days: usize, seed: u64, legacy: bool) -> PathBuf {
    let opts = datagen::GenOptions {
        days,
        seed,
        layout: if legacy {
            datagen::Layout::Legacy
        } else {
            datagen::Layout::Current
        },
        ..datagen::GenOptions::default()
    };
    datagen::write_symbol_file(dir, symbol, &opts, &mut |_| {})
        .expect("generate raw file")
        .0
}

/// `TYPPRICE` and `date` of a raw file read independently of the processing code (plain CSV
/// parsing by column name), in file order.
pub fn read_typprice(path: &Path) -> Vec<(String, Option<f64>)> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("open raw file");
    let header = r.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (d, t) = (col("date"), col("TYPPRICE"));
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            let p = rec
                .get(t)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().expect("price"));
            (rec.get(d).unwrap_or_default().to_string(), p)
        })
        .collect()
}

/// Column `name` of `df`, cast to `dtype`.
fn column_as(
    df: &polars_core::prelude::DataFrame,
    name: &str,
    dtype: &polars_core::prelude::DataType,
) -> polars_core::prelude::Series {
    df.column(name)
        .and_then(|c| c.cast(dtype))
        .unwrap_or_else(|e| panic!("column {name}: {e}"))
        .as_materialized_series()
        .clone()
}

/// A timestamp column's values in milliseconds (no empty cell allowed).
pub fn ms_column(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<i64> {
    df.column(name)
        .and_then(|c| c.datetime())
        .unwrap_or_else(|e| panic!("column {name}: {e}"))
        .physical()
        .into_no_null_iter()
        .collect()
}

/// A numeric column's values as `f64` (no empty cell allowed).
pub fn f64_column(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<f64> {
    let s = column_as(df, name, &polars_core::prelude::DataType::Float64);
    let values = s.f64().unwrap_or_else(|e| panic!("column {name}: {e}"));
    values
        .iter()
        .map(|v| v.unwrap_or_else(|| panic!("column {name}: an empty cell")))
        .collect()
}

/// A string column's values (an empty cell reads as "").
pub fn str_column(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .and_then(|c| c.str())
        .unwrap_or_else(|e| panic!("column {name}: {e}"))
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

/// An integer column's values as `u32` (no empty cell allowed).
pub fn u32_column(df: &polars_core::prelude::DataFrame, name: &str) -> Vec<u32> {
    let s = column_as(df, name, &polars_core::prelude::DataType::UInt32);
    let values = s.u32().unwrap_or_else(|e| panic!("column {name}: {e}"));
    values
        .iter()
        .map(|v| v.unwrap_or_else(|| panic!("column {name}: an empty cell")))
        .collect()
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The features `scripts/test.sh` tests with (its `FULL`); keep the two the same.
pub const FULL_TIER_FEATURES: &str =
    "groves-tests/external-tools,groves/external-tools,groves/kafka";

/// Builds the workspace's binaries (a no-op when fresh) with the cargo that runs the tests, in
/// the tests' profile and target directory, and returns the folder holding them. The whole
/// workspace, not only `names`: built alone, the functions would resolve the shared crates'
/// features differently from the test build and rebuild them all.
pub fn function_binaries(names: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // <target>/<profile>/deps/<test>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable sits in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--quiet", "--workspace", "--bins"]);
    if cfg!(feature = "external-tools") {
        // The full tier's features (scripts/test.sh): built otherwise, the binaries would be
        // rebuilt without them (and `groves` without Kafka) under the other tests' feet.
        cmd.args(["--features", FULL_TIER_FEATURES]);
    }
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cannot run cargo build");
    assert!(
        status.success(),
        "building the function binaries {names:?} failed"
    );
    for n in names {
        assert!(
            profile_dir.join(n).is_file(),
            "no binary {n} in {}",
            profile_dir.display()
        );
    }
    profile_dir
}

/// Free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Waits up to a minute for a server to accept connections on a loopback port.
pub fn wait_for_port(port: u16, what: &str) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One function served by the emulator: its binary (= function name), how many instances run
/// side by side, and the memory size it reports.
pub struct Function {
    pub name: &'static str,
    pub instances: usize,
    pub memory_mb: u32,
}

/// `cargo lambda watch --only-lambda-apis` on a free loopback port, with the workspace's real
/// function binaries attached to its runtime API (as Lambda runs a `provided.al2023` bootstrap).
/// Everything is killed on drop; each process logs to a file in `log_dir`.
pub struct LambdaEmulator {
    children: Vec<Child>,
    /// Each function process: its name, instance number, memory size, index in `children`.
    instances: Vec<(&'static str, usize, u32, usize)>,
    bin_dir: PathBuf,
    env: Vec<(String, String)>,
    pub port: u16,
    pub log_dir: tempfile::TempDir,
}

impl LambdaEmulator {
    /// `env` reaches every function (region, credentials, endpoints: the emulator passes nothing
    /// of its own, see ../shared/LOCAL-AWS.md). The functions invoke each other through the
    /// emulator, unless `env` sets `AWS_ENDPOINT_URL_LAMBDA` (e.g. to a fault proxy in front of
    /// it, whose upstream is a port given to [`LambdaEmulator::start_on`]).
    pub fn start(bin_dir: &Path, functions: &[Function], env: &[(&str, String)]) -> LambdaEmulator {
        LambdaEmulator::start_on(free_port(), bin_dir, functions, env)
    }

    pub fn start_on(
        port: u16,
        bin_dir: &Path,
        functions: &[Function],
        env: &[(&str, String)],
    ) -> LambdaEmulator {
        let log_dir = tempfile::tempdir().expect("log dir");
        let log = |name: &str| std::fs::File::create(log_dir.path().join(name)).expect("log file");
        let watch = Command::new("cargo-lambda")
            .current_dir(workspace_root())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .stdout(log("watch.log"))
            .stderr(log("watch.err"))
            .spawn()
            .expect("cannot start cargo lambda watch: install it with pip install cargo-lambda (scripts/test.sh does)");
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if !env.iter().any(|(k, _)| k == "AWS_ENDPOINT_URL_LAMBDA") {
            env.push((
                "AWS_ENDPOINT_URL_LAMBDA".into(),
                format!("http://127.0.0.1:{port}"),
            ));
        }
        let mut emulator = LambdaEmulator {
            children: vec![watch],
            instances: Vec::new(),
            bin_dir: bin_dir.to_path_buf(),
            env,
            port,
            log_dir,
        };
        wait_for_port(port, "cargo lambda watch");
        for f in functions {
            for i in 0..f.instances {
                let child = emulator.spawn_function(f.name, i, f.memory_mb);
                let index = emulator.children.len();
                emulator.instances.push((f.name, i, f.memory_mb, index));
                emulator.children.push(child);
            }
        }
        emulator
    }

    fn spawn_function(&self, name: &str, instance: usize, memory_mb: u32) -> Child {
        // Appended to: a replaced instance's log follows the one it replaced.
        let log = |file: String| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_dir.path().join(file))
                .expect("log file")
        };
        Command::new(self.bin_dir.join(name))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("{}/.rt/{name}", self.endpoint()),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .stdout(log(format!("{name}.{instance}.log")))
            .stderr(log(format!("{name}.{instance}.err")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
    }

    /// The process ids of a function's instances, by instance number.
    pub fn pids(&self, function: &str) -> Vec<u32> {
        self.instances
            .iter()
            .filter(|(n, ..)| *n == function)
            .map(|&(.., c)| self.children[c].id())
            .collect()
    }

    /// `kill -9` of one instance of `function`, and a fresh process in its place (as Lambda
    /// replaces an execution environment that died).
    pub fn kill_and_replace(&mut self, function: &str, instance: usize) {
        let &(name, i, memory_mb, c) = self
            .instances
            .iter()
            .find(|(n, i, ..)| *n == function && *i == instance)
            .unwrap_or_else(|| panic!("no instance {instance} of {function}"));
        let _ = self.children[c].kill();
        let _ = self.children[c].wait();
        self.children[c] = self.spawn_function(name, i, memory_mb);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `cargo lambda invoke <function> --data-file <file>`: the function's JSON answer, or the
    /// error it printed.
    pub fn invoke(&self, function: &str, data_file: &Path) -> Result<serde_json::Value, String> {
        invoke_at(self.port, function, data_file)
    }

    /// How often `needle` occurs in the logs of the processes whose log files start with
    /// `prefix` (`param-preds.` for every instance of param-preds).
    pub fn count_in_logs(&self, prefix: &str, needle: &str) -> usize {
        std::fs::read_dir(self.log_dir.path())
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

    /// Everything the functions logged, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut names: Vec<_> = std::fs::read_dir(self.log_dir.path())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if !text.trim().is_empty() {
                let tail: String = text
                    .chars()
                    .rev()
                    .take(3000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                out.push_str(&format!("--- {}\n{tail}\n", p.display()));
            }
        }
        out
    }
}

/// `cargo lambda invoke <function> --data-file <file>` against the emulator on `port`: the
/// function's JSON answer, or the error it printed. (A free function, so that a thread can
/// invoke while the emulator is borrowed elsewhere.)
pub fn invoke_at(port: u16, function: &str, data_file: &Path) -> Result<serde_json::Value, String> {
    let out = Command::new("cargo-lambda")
        .current_dir(workspace_root())
        .args([
            "lambda",
            "invoke",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .args(["--output-format", "json", function, "--data-file"])
        .arg(data_file)
        .output()
        .map_err(|e| format!("cannot run cargo lambda invoke: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every object of a store, by key, except those under `skip` prefixes and the raw files.
pub async fn snapshot(
    store: &dyn groves_store::Store,
    skip: &[&str],
) -> std::collections::BTreeMap<String, bytes::Bytes> {
    use futures::StreamExt;
    let keys: Vec<String> = store
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .filter(|k| !k.starts_with("raw/") && !skip.iter().any(|p| k.starts_with(p)))
        .collect();
    // Read a few at a time: a drill's bucket holds tens of thousands of objects.
    futures::stream::iter(keys)
        .map(|k| async move {
            let b = store
                .get(&k)
                .await
                .unwrap_or_else(|e| panic!("get {k}: {e}"));
            (k, b)
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Every stage log of a run (each round of a halving search its own).
pub async fn stage_logs(
    store: &dyn groves_store::Store,
    run: &groves_core::ids::RunId,
) -> Vec<groves_orchestrator::parent::log::StageLog> {
    let mut out = Vec::new();
    for m in store
        .list(&groves_core::layout::stage_logs_prefix(run))
        .await
        .expect("list the stage logs")
    {
        let bytes = store.get(&m.key).await.expect("a stage log");
        out.push(
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("stage log {}: {e}", m.key)),
        );
    }
    out
}

/// The objects whose keys start with one of `prefixes`.
pub fn only(
    m: std::collections::BTreeMap<String, bytes::Bytes>,
    prefixes: &[&str],
) -> std::collections::BTreeMap<String, bytes::Bytes> {
    m.into_iter()
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
        .collect()
}

/// Asserts two snapshots are equal, naming the keys that differ (not dumping bytes).
pub fn assert_same(
    a: &std::collections::BTreeMap<String, bytes::Bytes>,
    b: &std::collections::BTreeMap<String, bytes::Bytes>,
    what: &str,
) {
    let differ: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: these objects differ: {differ:?}"
    );
}

/// The in-process pool the tests drive runs with: 2 slots, 1 forest thread per unit, failures
/// injected as `GROVES_FAULT` would (`faults`).
pub fn local_pool(
    store: std::sync::Arc<dyn groves_store::Store>,
    faults: Option<&str>,
) -> groves_orchestrator::invoke::LocalPool {
    use groves_orchestrator::invoke::{FaultPlan, LocalPool};
    use groves_stages::{OneStore, UnitContext};
    LocalPool::new(
        UnitContext {
            buckets: std::sync::Arc::new(OneStore(store)),
            threads: 1,
        },
        2,
    )
    .with_faults(faults.map(|f| FaultPlan::parse(f).expect("fault plan")))
}

/// Polling fast enough for small test runs.
pub fn fast_polling() -> groves_orchestrator::parent::DriveOptions {
    groves_orchestrator::parent::DriveOptions {
        poll_min: Duration::from_millis(5),
        poll_max: Duration::from_millis(50),
        ..Default::default()
    }
}

/// A whole run through the parent on `invoker`, to its end, with its report written as
/// `groves run` writes it.
pub async fn drive_with(
    store: &dyn groves_store::Store,
    invoker: &dyn groves_orchestrator::invoke::Invoker,
    spec: &groves_core::spec::RunSpec,
) -> groves_orchestrator::parent::RunOutcome {
    use groves_orchestrator::parent::{drive_run, DriveOutcome, Quiet};
    match drive_run(store, invoker, spec, "groves-data", &fast_polling(), &Quiet)
        .await
        .expect("drive the run")
    {
        DriveOutcome::Finished(o) => {
            groves_report::write_html(store, &o.run)
                .await
                .expect("write the report");
            o
        }
        DriveOutcome::Paused { stage, .. } => panic!("paused in {stage}"),
    }
}

/// A whole run on the [`local_pool`], with its report.
pub async fn drive_locally(
    store: std::sync::Arc<dyn groves_store::Store>,
    spec: &groves_core::spec::RunSpec,
    faults: Option<&str>,
) -> groves_orchestrator::parent::RunOutcome {
    drive_with(store.as_ref(), &local_pool(store.clone(), faults), spec).await
}

/// Replays the newest `minutes` minutes of the raw file at `raw` into `store` as live minutes,
/// each scored as it lands with `opts` (set `flush` to settle every minute by the end).
pub async fn replay_tail_scored(
    store: std::sync::Arc<dyn groves_store::Store>,
    raw: &Path,
    stock: &groves_core::ids::Symbol,
    minutes: usize,
    opts: groves_live::LiveOptions,
) {
    use groves_live::replay::{replay, ReplayOptions, ReplaySource, StoreSink};
    let all = ReplaySource::read(raw, "raw", None, None).expect("the raw file");
    let start = all.rows[all.rows.len() - minutes].0;
    let src = ReplaySource::read(raw, "raw", Some(start), None).expect("the raw file");
    let cache = std::sync::Arc::new(groves_serving::ModelCache::new(
        store.clone(),
        groves_serving::CacheOptions::default(),
    ));
    let scorer = groves_live::Scorer::new(store.clone(), cache, opts);
    let s = &scorer;
    replay(
        &StoreSink(store.as_ref()),
        stock,
        &src,
        &ReplayOptions::default(),
        |key| async move { s.score_object(&key).await.map(|_| ()) },
        &mut |_| {},
    )
    .await
    .expect("replayed and scored");
}
