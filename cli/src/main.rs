//! `groves`: the command line. Generates sample data, processes raw files, runs any stage
//! from a JSON event — against a local folder (the default) or an S3 bucket.

mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use groves_core::features::Target;
use groves_core::spec::{LagScope, Method, RunSpec, SearchMethod, SplitMethod, DEFAULT_SEED};

/// Per-stock random-forest hyperparameter search on minute stock data.
#[derive(Debug, Parser)]
#[command(name = "groves", version, about, long_about = None)]
struct Cli {
    /// Where the data lives: a local folder (the bucket) or s3://bucket (endpoint, region and
    /// credentials from the standard AWS environment).
    #[arg(
        long,
        global = true,
        env = "GROVES_STORE",
        default_value = "groves-data"
    )]
    store: String,

    /// More log output (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write sample raw files (Kaggle NIFTY-100 layout, with indicators) under raw/.
    Gen(GenArgs),
    /// Process raw files into the feature table and its train / validation / test splits.
    Process(ProcessArgs),
    /// Run one stage locally from a JSON event (as its Lambda function would).
    Invoke(InvokeArgs),
    /// The main job: the whole search (processing, grove search, final groves, test scores,
    /// timing and cost tables) on every raw file, generating sample data if there is none.
    /// Resumes an interrupted run when given the same arguments.
    Run(RunArgs),
    /// A run's results, timings and estimated cost, from the store (during the run too).
    Report(ReportArgs),
    /// Point stocks' serving models at a finished run's final groves (a run does this itself
    /// when it finishes, unless --no-promote).
    Promote(PromoteArgs),
    /// Forecasts for rows of a CSV or Parquet file (or CSV on stdin) with each stock's serving
    /// model.
    Predict(PredictArgs),
    /// The prediction API over HTTP: GET/POST /predict, GET /models, GET /health.
    Serve(ServeArgs),
    /// Replays a raw file's rows into the store as live minutes, optionally scoring each.
    Replay(ReplayArgs),
    /// Live figures per stock; with --watch, scores live minutes as they land.
    Live(LiveArgs),
    /// Benchmarks (figures for the README and notes; not tests).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Process one raw file (not from the store) and print MB/s, rows/s and peak memory.
    Processing(BenchArgs),
    /// Load a running `groves serve` from this machine: requests/s, p50/p99 latency, single-row
    /// and batch latency (scripts/bench_serve.sh starts the server and reads its memory).
    Serve(BenchServeArgs),
}

#[derive(Debug, Args)]
struct BenchServeArgs {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// A stock with a promoted model.
    #[arg(long)]
    stock: String,
    /// Prices sent are around this level.
    #[arg(long, default_value_t = 1000.0)]
    price: f64,
    /// Single-row requests of the load.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Connections sending them at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Rows of a batch request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// A raw file, e.g. made by `groves gen --symbols BENCH --days 1870`.
    file: String,
    /// Runs; the best is reported.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    #[command(flatten)]
    processing: ProcessingArgs,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// Symbols to generate, comma-separated (e.g. TCS,INFY).
    #[arg(long, value_delimiter = ',', conflicts_with = "count")]
    symbols: Vec<String>,
    /// Or: the first N symbols of the NIFTY-100 list.
    #[arg(long)]
    count: Option<usize>,
    /// Trading days per symbol (375 one-minute bars each; 1870 ≈ a full-size 650 MB file).
    #[arg(long, default_value_t = 20)]
    days: usize,
    /// Same seed, same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The older dataset layout (date,open,high,low,close,volume,… without MFI).
    #[arg(long)]
    legacy: bool,
}

/// The defaults of every run option: the original method, as the event has them.
fn defaults() -> RunSpec {
    RunSpec::default()
}

#[derive(Debug, Args, Clone)]
struct ProcessingArgs {
    /// Run id: results of different runs are kept apart.
    #[arg(long, default_value = "default")]
    run: String,
    /// chronological (honest: no future in training) or random (the original's method).
    #[arg(long, value_enum, default_value_t = SplitMethod::default())]
    split: SplitMethod,
    /// Seed of the random split (2019, as the original).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Whether lags and the target may reach across the overnight gap.
    #[arg(long, value_enum, default_value_t = LagScope::default())]
    lags: LagScope,
    /// Minutes between a row and its target.
    #[arg(long, default_value_t = 1)]
    horizon: u32,
    /// Extra raw columns kept as features, by name (e.g. RSI14,ATR).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Only the bars up to this minute (`YYYY-MM-DD HH:MM`, India time), the stock's live
    /// minutes (`live/minutes/`) after the raw file's last bar included.
    #[arg(long)]
    until: Option<String>,
}

#[derive(Debug, Args)]
struct ProcessArgs {
    /// Stocks to process: symbols (TCS), Kaggle file names, keys under raw/, or paths of local
    /// CSV files (copied into raw/ first). None: every raw file in the store.
    files: Vec<String>,
    #[command(flatten)]
    processing: ProcessingArgs,
}

#[derive(Debug, Args)]
struct InvokeArgs {
    /// The stage: parent, processing, param-preds, pred-mses, min-mse, train-full, test-full,
    /// timing-metrics.
    stage: String,
    /// The JSON event (a file, or - for standard input).
    #[arg(long)]
    event: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Stocks to run (default: every raw file; when generating, the first 2 NIFTY-100 symbols).
    #[arg(long, value_delimiter = ',')]
    stocks: Vec<String>,
    /// Trading days per generated symbol, when sample data has to be generated.
    #[arg(long, default_value_t = 20)]
    days: usize,
    /// The grid: max_features values x min_samples_split values.
    #[arg(long, default_value_t = defaults().grid_arg())]
    grid: String,
    /// Groves per setting in the search (with --search halving: what the last round's
    /// settings have).
    #[arg(long, default_value_t = defaults().groves)]
    groves: u32,
    /// grid (every setting gets every grove, as the original) or halving (every setting one
    /// grove, then the better half twice as many, … until the survivors have --groves).
    #[arg(long, value_enum, default_value_t = defaults().search)]
    search: SearchMethod,
    /// Trees per search grove.
    #[arg(long, default_value_t = defaults().trees)]
    trees: u32,
    /// Final groves (best setting, trained on train + validation).
    #[arg(long, default_value_t = defaults().final_groves)]
    final_groves: u32,
    /// Trees per final grove.
    #[arg(long, default_value_t = defaults().final_trees)]
    final_trees: u32,
    /// chronological (honest: no future in training) or random (the original's method).
    #[arg(long, value_enum, default_value_t = defaults().split)]
    split: SplitMethod,
    /// Seed of the split and of every grove.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    /// Whether lags and the target may reach across the overnight gap.
    #[arg(long, value_enum, default_value_t = defaults().lags)]
    lags: LagScope,
    /// What the forest learns: `change` (the next change, from the lag differences) or
    /// `level` (the original: the next price from the price and its lags) [default: change,
    /// or level with --method original].
    #[arg(long, value_enum)]
    target: Option<Target>,
    /// `original`: the original pipeline's learning problem (level, 1 minute ahead, TYPPRICE
    /// and its lags only).
    #[arg(long, value_enum)]
    method: Option<Method>,
    /// Minutes ahead to forecast.
    #[arg(long, default_value_t = defaults().horizon)]
    horizon: u32,
    /// Extra raw columns as features, by name (e.g. RSI14,macd1226,ATR,volume).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Train on the bars up to this minute only (`YYYY-MM-DD HH:MM`, India time), the live
    /// minutes after the raw file's last bar included.
    #[arg(long)]
    until: Option<String>,
    /// Promote a stock only if the new groves beat its serving model on this run's test rows.
    #[arg(long)]
    promote_if_better: bool,
    /// Do not point the stocks' serving models at this run when it finishes.
    #[arg(long)]
    no_promote: bool,
    /// Run id (default: derived from the parameters and the raw files, so the same command
    /// resumes the same run).
    #[arg(long)]
    run: Option<String>,
    /// Accept MSEs averaged over fewer groves than planned when some keep failing.
    #[arg(long)]
    allow_missing: bool,
    /// Attempts per unit of work before it counts as failed.
    #[arg(long, default_value_t = defaults().max_attempts)]
    max_attempts: u32,
    /// Seconds a unit may take before it is invoked again.
    #[arg(long, default_value_t = defaults().unit_timeout_s)]
    unit_timeout: u64,
    /// Units run at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Threads per unit (1: each unit uses one core, as a one-vCPU Lambda does).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Lambda memory size (MB) assumed for the GB-second and cost estimate.
    #[arg(long, default_value_t = defaults().memory_mb)]
    memory_mb: u32,
}

#[derive(Debug, Args)]
struct PromoteArgs {
    /// The finished run whose final groves are to serve.
    #[arg(long)]
    run: String,
    /// Stocks to promote (default: every stock of the run).
    #[arg(long, value_delimiter = ',')]
    stocks: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PredictFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
struct PredictArgs {
    /// Rows to forecast: a .csv or .parquet file, or - (CSV on standard input, the default).
    /// Columns by name: `stock` (or --stock), `date` (passed through), and either
    /// TYPPRICE, TYPPRICE_LAG_1..10 (one row, one forecast) or TYPPRICE alone (a series in
    /// time order: each row's lags are the rows before it), plus the model's extra features.
    input: Option<PathBuf>,
    /// The stock of every row, when the input has no `stock` column.
    #[arg(long)]
    stock: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    format: PredictFormat,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Stored megabytes of loaded groves kept in memory at most; the least recently used
    /// stocks' models are dropped beyond it.
    #[arg(long, default_value_t = 1024)]
    cache_mb: usize,
    /// Seconds a loaded model is used before its serving pointer is read again (a promotion
    /// reaches the server within this time).
    #[arg(long, default_value_t = 60)]
    refresh_s: u64,
}

/// How live minutes are scored (`groves replay --score`, `groves live`).
#[derive(Debug, Args, Clone)]
struct LiveScoringArgs {
    /// Minutes a missing minute is waited for before the minutes after it are settled without it.
    #[arg(long, default_value_t = 5)]
    lateness: u32,
    /// Realised forecasts in the rolling skill (375: one trading day).
    #[arg(long, default_value_t = 375)]
    window: usize,
    /// Drift begins when the rolling skill exceeds the promoted skill × (1 + this).
    #[arg(long, default_value_t = 0.25)]
    drift_tolerance: f64,
    /// Seconds a loaded model is used before its serving pointer is read again.
    #[arg(long, default_value_t = 60)]
    refresh_s: u64,
    /// When a drift episode begins, retrain the stock here (the original grid, on the data up
    /// to that minute, live minutes included) and promote the result only if it beats the
    /// serving model on the newest held-out minutes.
    #[arg(long)]
    retrain: bool,
}

/// Replays a raw file's rows into the store as live minutes (`live/minutes/`), paced like a
/// live feed; with --score, scores each minute as it lands.
#[derive(Debug, Args)]
struct ReplayArgs {
    /// The stock the minutes are for.
    #[arg(long)]
    stock: String,
    /// A local raw CSV (default: the stock's raw file in the store).
    #[arg(long)]
    file: Option<PathBuf>,
    /// First minute replayed, `YYYY-MM-DD HH:MM` India time (default: with --score or --to,
    /// the minute after the serving model's training data; else the file's first).
    #[arg(long)]
    start: Option<String>,
    /// Rows replayed at most (default: to the end).
    #[arg(long)]
    minutes: Option<usize>,
    /// Rows per object.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Times real time (60 = an hour a minute), or `max`.
    #[arg(long, default_value = "max")]
    speed: String,
    /// Score each minute as it lands (the score function's logic, in this process).
    #[arg(long)]
    score: bool,
    /// Where the minutes go: the store (default), or a Kafka topic `kafka://HOST:PORT/TOPIC`
    /// (a record per object keyed by the stock, resuming after the stock's newest minute in
    /// the topic; needs a build with `--features kafka`).
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    #[command(flatten)]
    scoring: LiveScoringArgs,
}

/// Per-stock live figures: rolling MSE of the forecast and of the naive forecast, their ratio,
/// the promoted model's; with --watch, scores new minutes as they land until Ctrl-C.
#[derive(Debug, Args)]
struct LiveArgs {
    /// Stocks (default: every stock with live state or a serving model).
    #[arg(long, value_delimiter = ',')]
    stocks: Vec<String>,
    /// Keep scoring new minutes, every --interval-ms, until Ctrl-C.
    #[arg(long)]
    watch: bool,
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Score every minute waiting now, however many minutes are missing before it.
    #[arg(long)]
    flush: bool,
    #[arg(long)]
    json: bool,
    /// Consume live minutes from a Kafka topic, `kafka://HOST:PORT/TOPIC`, with a consumer
    /// group: each batch is landed under live/minutes/ and scored, then its offsets committed
    /// (needs a build with `--features kafka`).
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// The consumer group (--from); a new group starts at the topic's beginning.
    #[arg(long, default_value = "groves-live")]
    group: String,
    /// Records scored together at most (--from).
    #[arg(long, default_value_t = 500)]
    max_batch: usize,
    /// Stop once nothing new has come for this many seconds (default: 5 with --from, never
    /// with --watch).
    #[arg(long)]
    idle_s: Option<f64>,
    /// Seconds the group waits for a silent consumer before handing its partitions on (--from):
    /// a consumer killed and restarted resumes after about this long. Brokers bound it
    /// (Kafka's default minimum is 6).
    #[arg(long, default_value_t = 10.0)]
    session_timeout_s: f64,
    #[command(flatten)]
    scoring: LiveScoringArgs,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The run (default: the most recently started one).
    #[arg(long)]
    run: Option<String>,
    /// Print the report as JSON.
    #[arg(long, conflicts_with = "html")]
    json: bool,
    /// Write the report as one self-contained HTML file (plots included, opens offline)
    /// instead of printing it.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
