//! One module per subcommand.

mod bench;
mod bench_serve;
mod gen;
mod invoke;
mod live;
mod predict;
mod process;
mod promote;
mod report;
mod run;
mod serve;
mod stream;

use anyhow::{Context, Result};
use groves_store::{Store, StoreSpec};
use std::sync::Arc;

use crate::{BenchCommand, Cli, Command};

pub async fn dispatch(cli: Cli) -> Result<()> {
    // Benchmarks read files directly and need no store.
    match &cli.command {
        Command::Bench(BenchCommand::Processing(args)) => {
            return bench::bench_processing(args).await
        }
        Command::Bench(BenchCommand::Serve(args)) => return bench_serve::bench_serve(args).await,
        _ => {}
    }
    let spec = StoreSpec::parse(&cli.store)?;
    let store = spec
        .open()
        .await
        .with_context(|| format!("opening store {}", cli.store))?;
    match cli.command {
        Command::Gen(args) => gen::gen(&spec, &store, &args).await.map(|_| ()),
        Command::Process(args) => process::process(&store, &args).await.map(|_| ()),
        Command::Invoke(args) => invoke::invoke(&store, &args).await,
        Command::Run(args) => run::run(&spec, &store, &args).await,
        Command::Report(args) => report::report(&store, &args).await,
        Command::Promote(args) => promote::promote(&store, &args).await,
        Command::Predict(args) => predict::predict(&store, &args).await,
        Command::Serve(args) => serve::serve(&store, &args).await,
        Command::Replay(args) => live::replay(&store, &args).await,
        Command::Live(args) => live::live(&store, &args).await,
        Command::Bench(BenchCommand::Processing(args)) => bench::bench_processing(&args).await,
        Command::Bench(BenchCommand::Serve(args)) => bench_serve::bench_serve(&args).await,
    }
}

pub type StoreRef = Arc<dyn Store>;
