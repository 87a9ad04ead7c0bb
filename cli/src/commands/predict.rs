//! `groves predict`: forecasts for rows in a CSV or Parquet file (or CSV on stdin) with each
//! stock's serving model.
//!
//! A row gives its inputs by name (`TYPPRICE`, `TYPPRICE_LAG_1` … `TYPPRICE_LAG_10`, and the
//! model's extra features), or the file is a series: a `TYPPRICE` column in time order (per
//! stock), from which each row's lags are the rows before it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use groves_core::features::{lag_name, N_FEATURES, N_LAGS, TYPPRICE};
use groves_core::ids::Symbol;
use groves_serving::request::RowInput;
use groves_serving::{CacheOptions, ModelCache};
use polars_core::prelude::{DataFrame, DataType};
use polars_io::prelude::{CsvReadOptions, ParquetReader, SerReader};

use super::StoreRef;
use crate::{PredictArgs, PredictFormat};

/// One input row's forecast, or why there is none.
struct Out {
    stock: String,
    date: Option<String>,
    typprice: Option<f64>,
    forecast: Option<f64>,
    naive: Option<f64>,
    horizon: Option<u32>,
}

pub async fn predict(store: &StoreRef, args: &PredictArgs) -> Result<()> {
    let (label, df) = read_input(args.input.as_deref())?;
    if df.height() == 0 {
        bail!("{label}: no rows");
    }
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let stocks: Vec<Symbol> = match (df.column("stock").ok(), &args.stock) {
        (Some(c), _) => {
            let c = c.cast(&DataType::String)?;
            c.str()?
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let s = s.ok_or_else(|| anyhow!("{label}: row {}: `stock` is empty", i + 1))?;
                    Symbol::new(s).map_err(|e| anyhow!("{label}: row {}: `stock`: {e}", i + 1))
                })
                .collect::<Result<_>>()?
        }
        (None, Some(s)) => vec![Symbol::new(s.as_str())?; df.height()],
        (None, None) => bail!("{label}: no `stock` column; name the stock with --stock"),
    };
    let dates: Option<Vec<Option<String>>> = match df.column("date") {
        Ok(c) => Some(
            c.cast(&DataType::String)?
                .str()?
                .iter()
                .map(|s| s.map(str::to_string))
                .collect(),
        ),
        Err(_) => None,
    };
    let numeric: BTreeMap<String, Vec<Option<f64>>> = names
        .iter()
        .filter(|n| !matches!(n.as_str(), "stock" | "date"))
        .map(|n| -> Result<_> {
            let c = df
                .column(n)?
                .cast(&DataType::Float64)
                .with_context(|| format!("{label}: column `{n}` is not numeric"))?;
            Ok((n.clone(), c.f64()?.iter().collect()))
        })
        .collect::<Result<_>>()?;
    let price = numeric.get(TYPPRICE).ok_or_else(|| {
        anyhow!(
            "{label}: no `{TYPPRICE}` column (header: {})",
            names.join(",")
        )
    })?;
    let series = !numeric.contains_key(&lag_name(1));

    let cache = ModelCache::new(
        store.clone(),
        CacheOptions {
            limit_bytes: usize::MAX,
            ..CacheOptions::default()
        },
    );
    // Every stock named needs a serving model, whether or not it has a row to forecast.
    let named_stocks: std::collections::BTreeSet<&Symbol> = stocks.iter().collect();
    for stock in named_stocks {
        cache
            .get(stock)
            .await
            .map_err(|e| anyhow!("{label}: {e}"))?;
    }

    // The inputs of each row (None: a series row without 10 earlier rows of its stock).
    let mut history: BTreeMap<&Symbol, Vec<f64>> = BTreeMap::new();
    let mut inputs: Vec<Option<RowInput>> = Vec::with_capacity(df.height());
    for (i, stock) in stocks.iter().enumerate() {
        let row_no = i + 1;
        let cell = |name: &str| -> Result<f64> {
            numeric[name][i].ok_or_else(|| anyhow!("{label}: row {row_no}: `{name}` is empty"))
        };
        let mut named = BTreeMap::new();
        for name in numeric.keys() {
            if !series || name != TYPPRICE {
                named.insert(name.clone(), cell(name)?);
            }
        }
        let prices = if series {
            let h = history.entry(stock).or_default();
            h.push(cell(TYPPRICE)?);
            if h.len() < N_FEATURES {
                inputs.push(None);
                continue;
            }
            Some(h[h.len() - N_FEATURES..].to_vec())
        } else {
            None
        };
        inputs.push(Some(RowInput {
            stock: stock.clone(),
            prices,
            named,
            prefix: format!("row {row_no}: "),
        }));
    }

    let mut out: Vec<Out> = (0..df.height())
        .map(|i| Out {
            stock: stocks[i].to_string(),
            date: dates.as_ref().and_then(|d| d[i].clone()),
            typprice: price[i],
            forecast: None,
            naive: None,
            horizon: None,
        })
        .collect();
    let mut by_stock: BTreeMap<&Symbol, Vec<(usize, &RowInput)>> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(input) = input {
            by_stock.entry(&input.stock).or_default().push((i, input));
        }
    }
    for (stock, given) in by_stock {
        let model = cache
            .get(stock)
            .await
            .map_err(|e| anyhow!("{label}: {e}"))?;
        let rows = given
            .iter()
            .map(|(_, r)| r.to_row(&model.pointer))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{label}: {e}"))?;
        let forecasts = model.forecast(&rows).map_err(|e| anyhow!("{label}: {e}"))?;
        for ((&(i, _), f), row) in given.iter().zip(forecasts).zip(&rows) {
            out[i].forecast = Some(f);
            out[i].naive = Some(row.now());
            out[i].horizon = Some(model.pointer.horizon);
        }
    }
    let skipped = out.iter().filter(|o| o.forecast.is_none()).count();
    if skipped > 0 {
        eprintln!(
            "{skipped} rows have no forecast: the first {N_LAGS} rows of each stock's series give the later rows their lags"
        );
    }
    write_output(&out, args.format)
}

fn read_input(path: Option<&Path>) -> Result<(String, DataFrame)> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let label = p.display().to_string();
            let parquet = p.extension().is_some_and(|e| e == "parquet");
            let file = std::fs::File::open(p).with_context(|| format!("opening {label}"))?;
            let df = if parquet {
                ParquetReader::new(file).finish()
            } else {
                CsvReadOptions::default()
                    .with_has_header(true)
                    .into_reader_with_file_handle(file)
                    .finish()
            }
            .with_context(|| format!("reading {label}"))?;
            Ok((label, df))
        }
        _ => {
            let mut text = Vec::new();
            std::io::stdin().read_to_end(&mut text)?;
            let df = CsvReadOptions::default()
                .with_has_header(true)
                .into_reader_with_file_handle(std::io::Cursor::new(text))
                .finish()
                .context("reading CSV from standard input")?;
            Ok(("stdin".to_string(), df))
        }
    }
}

fn write_output(out: &[Out], format: PredictFormat) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    match format {
        PredictFormat::Csv => {
            writeln!(w, "stock,date,TYPPRICE,forecast,naive,horizon")?;
            for o in out {
                writeln!(
                    w,
                    "{},{},{},{},{},{}",
                    o.stock,
                    o.date.as_deref().unwrap_or(""),
                    num(o.typprice),
                    num(o.forecast),
                    num(o.naive),
                    o.horizon.map(|h| h.to_string()).unwrap_or_default()
                )?;
            }
        }
        PredictFormat::Json => {
            let rows: Vec<serde_json::Value> = out
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "stock": o.stock,
                        "date": o.date,
                        "TYPPRICE": o.typprice,
                        "forecast": o.forecast,
                        "naive": o.naive,
                        "horizon": o.horizon,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut w, &rows)?;
            writeln!(w)?;
        }
    }
    w.flush()?;
    Ok(())
}
