//! The generated CSV against the properties of the real Kaggle files.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use datagen::indicators::lookback;
use datagen::layout::{raw_file_name, CURRENT_COLUMNS, LEGACY_COLUMNS};
use datagen::{
    bars, symbols_for_count, write_symbol, write_symbol_file, GenError, GenOptions, Layout,
    BARS_PER_DAY, HOLIDAYS, NIFTY100, PROGRESS_EVERY,
};

fn opts(days: usize) -> GenOptions {
    GenOptions {
        days,
        ..GenOptions::default()
    }
}

fn generate(symbol: &str, opts: &GenOptions) -> String {
    let mut out = Vec::new();
    let stats = write_symbol(&mut out, symbol, opts, &mut |_| {}).unwrap();
    assert_eq!(stats.bytes, out.len() as u64);
    assert_eq!(stats.rows, opts.rows());
    String::from_utf8(out).unwrap()
}

/// The file as columns of raw cells, keyed by header name.
struct Csv {
    header: Vec<String>,
    columns: HashMap<String, Vec<String>>,
    rows: usize,
}

fn parse(text: &str) -> Csv {
    assert!(text.ends_with('\n') && !text.contains('\r') && !text.contains('"'));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "row {rows}: {line}");
        for (col, cell) in cols.iter_mut().zip(cells) {
            col.push(cell.to_string());
        }
        rows += 1;
    }
    let columns = header.iter().cloned().zip(cols).collect();
    Csv {
        header,
        columns,
        rows,
    }
}

impl Csv {
    fn col(&self, name: &str) -> &[String] {
        &self.columns[name]
    }

    fn f64s(&self, name: &str) -> Vec<f64> {
        self.col(name).iter().map(|s| s.parse().unwrap()).collect()
    }
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("datagen-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn header_is_exact_for_both_layouts() {
    let current = generate("TCS", &opts(1));
    let first = current.lines().next().unwrap();
    assert_eq!(first, CURRENT_COLUMNS.join(","));
    assert!(first.starts_with("date,close,high,low,open,volume,sma5,sma10,"));
    assert!(first.ends_with(",TYPPRICE,HT_DCPERIOD,BETA"));
    assert_eq!(first.split(',').count(), 60);

    let legacy = generate(
        "TCS",
        &GenOptions {
            layout: Layout::Legacy,
            ..opts(1)
        },
    );
    let first = legacy.lines().next().unwrap();
    assert_eq!(first, LEGACY_COLUMNS.join(","));
    assert!(first.starts_with("date,open,high,low,close,volume,sma5,"));
    assert!(!first.split(',').any(|c| c == "MFI"));
    assert_eq!(first.split(',').count(), 59);
}

#[test]
fn same_inputs_same_bytes_and_different_inputs_differ() {
    let a = generate("INFY", &opts(2));
    assert_eq!(a, generate("INFY", &opts(2)));
    let reseeded = GenOptions {
        seed: 43,
        ..opts(2)
    };
    assert_ne!(a, generate("INFY", &reseeded));
    assert_ne!(a, generate("TCS", &opts(2)));
    // A longer run starts with the same rows: the series does not depend on its length.
    let longer = generate("INFY", &opts(3));
    assert!(longer.starts_with(&a));
}

#[test]
fn legacy_has_the_same_bars_and_indicators_as_current() {
    let o = opts(3);
    let current = parse(&generate("M&M", &o));
    let legacy = parse(&generate(
        "M&M",
        &GenOptions {
            layout: Layout::Legacy,
            ..o
        },
    ));
    assert_eq!(current.rows, legacy.rows);
    for name in &legacy.header {
        assert_eq!(current.col(name), legacy.col(name), "column {name}");
    }
    for name in ["open", "high", "low", "close", "volume", "TYPPRICE"] {
        assert!(legacy.header.iter().any(|h| h == name));
    }
    assert_eq!(current.header.len(), legacy.header.len() + 1);
}

#[test]
fn calendar_times_and_row_counts() {
    // Starts on a Thursday two trading days before Republic Day 2015 (a Monday).
    let o = GenOptions {
        days: 8,
        start: NaiveDate::from_ymd_opt(2015, 1, 22).unwrap(),
        ..GenOptions::default()
    };
    let csv = parse(&generate("HDFCBANK", &o));
    assert_eq!(csv.rows, 8 * BARS_PER_DAY);
    let stamps: Vec<NaiveDateTime> = csv
        .col("date")
        .iter()
        .map(|s| {
            let local = s.strip_suffix("+05:30").unwrap();
            NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").unwrap()
        })
        .collect();
    let mut days = Vec::new();
    for (i, day) in stamps.chunks(BARS_PER_DAY).enumerate() {
        let date = day[0].date();
        assert!(day.iter().all(|t| t.date() == date), "day {i}");
        for (m, t) in day.iter().enumerate() {
            let minutes = t.hour() * 60 + t.minute();
            assert_eq!(minutes, 9 * 60 + 15 + m as u32, "{t}");
            assert_eq!(t.second(), 0);
        }
        assert!(
            !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
            "{date}"
        );
        assert!(!HOLIDAYS.contains(&(date.month(), date.day())), "{date}");
        days.push(date);
    }
    assert!(days.windows(2).all(|w| w[0] < w[1]));
    let d = |m, day| NaiveDate::from_ymd_opt(2015, m, day).unwrap();
    assert_eq!(&days[..3], &[d(1, 22), d(1, 23), d(1, 27)]);
    assert_eq!(csv.col("date")[0], "2015-01-22 09:15:00+05:30");
    assert_eq!(csv.col("date")[374], "2015-01-22 15:29:00+05:30");

    // The default start is the dataset's first day.
    let csv = parse(&generate("HDFCBANK", &opts(1)));
    assert_eq!(csv.col("date")[0], "2015-02-02 09:15:00+05:30");
}

#[test]
fn ohlc_consistent_on_the_tick_with_integer_volumes() {
    for symbol in ["RELIANCE", "BAJAJ-AUTO", "YESBANK"] {
        let csv = parse(&generate(symbol, &opts(5)));
        let [o, h, l, c] = ["open", "high", "low", "close"].map(|n| csv.f64s(n));
        for i in 0..csv.rows {
            assert!(l[i] <= o[i] && o[i] <= h[i], "{symbol} row {i}");
            assert!(l[i] <= c[i] && c[i] <= h[i], "{symbol} row {i}");
            assert!(l[i] > 0.0);
        }
        for name in ["open", "high", "low", "close"] {
            for cell in csv.col(name) {
                // Exact two-decimal prices, printed like pandas (`1062.0`, `1059.2`).
                let (int, frac) = cell.split_once('.').unwrap();
                assert!(!int.is_empty() && (1..=2).contains(&frac.len()), "{cell}");
                let paise = (cell.parse::<f64>().unwrap() * 100.0).round() as i64;
                assert_eq!(paise % 5, 0, "{symbol} {name} {cell} is off the 0.05 tick");
                assert_eq!(cell.parse::<f64>().unwrap(), paise as f64 / 100.0);
            }
        }
        let volumes = csv.col("volume");
        assert!(volumes.iter().all(|v| v.parse::<u64>().is_ok()), "{symbol}");
        let zero = volumes.iter().filter(|v| *v == "0").count();
        assert!(zero * 100 < volumes.len(), "{symbol}: {zero} zero volumes");
    }
}

#[test]
fn warm_up_cells_are_empty_exactly_for_the_lookback() {
    for layout in [Layout::Current, Layout::Legacy] {
        let o = GenOptions { layout, ..opts(1) };
        let csv = parse(&generate("ICICIBANK", &o));
        for name in layout.columns() {
            let lb = lookback(name).unwrap();
            let col = csv.col(name);
            assert!(col[..lb].iter().all(|c| c.is_empty()), "{name} before {lb}");
            assert!(col[lb..].iter().all(|c| !c.is_empty()), "{name} from {lb}");
            if *name == "date" {
                continue;
            }
            for cell in &col[lb..] {
                let v: f64 = cell.parse().unwrap_or_else(|_| panic!("{name}: {cell:?}"));
                assert!(v.is_finite(), "{name}: {cell}");
            }
        }
        // The spot checks the processing stage relies on.
        assert_eq!(lookback("HT_TRENDLINE"), Some(63));
        assert_eq!(lookback("macd1226"), Some(33));
        assert_eq!(lookback("fastdsr"), Some(20));
    }
}

#[test]
fn typprice_is_the_mean_of_high_low_close_and_bars_match_the_file() {
    let o = opts(2);
    let csv = parse(&generate("KOTAKBANK", &o));
    let [h, l, c, tp] = ["high", "low", "close", "TYPPRICE"].map(|n| csv.f64s(n));
    for i in 0..csv.rows {
        assert_eq!(tp[i], (h[i] + l[i] + c[i]) / 3.0, "row {i}");
    }
    let bars: Vec<_> = bars("KOTAKBANK", &o).unwrap().collect();
    assert_eq!(bars.len(), csv.rows);
    let open = csv.f64s("open");
    let volume = csv.col("volume");
    for (i, b) in bars.iter().enumerate() {
        assert_eq!(
            (b.open, b.high, b.low, b.close),
            (open[i], h[i], l[i], c[i])
        );
        assert_eq!(b.volume.to_string(), volume[i]);
        assert_eq!((b.high + b.low + b.close) / 3.0, tp[i]);
        assert_eq!(
            b.ts.format("%Y-%m-%d %H:%M:%S%:z").to_string(),
            csv.col("date")[i]
        );
    }
}

#[test]
fn progress_is_reported_every_ten_thousand_rows_and_at_the_end() {
    let o = opts(60); // 22,500 rows
    let mut calls = Vec::new();
    let mut sink = io::sink();
    let stats = write_symbol(&mut sink, "SBIN", &o, &mut |rows| calls.push(rows)).unwrap();
    assert_eq!(stats.rows, 22_500);
    assert_eq!(calls, [PROGRESS_EVERY, 2 * PROGRESS_EVERY, 22_500]);
}

#[test]
fn write_symbol_file_is_atomic_and_names_the_file() {
    let dir = temp_dir("file");
    let o = opts(2);
    let (path, stats) = write_symbol_file(&dir, "M&M", &o, &mut |_| {}).unwrap();
    assert_eq!(path, dir.join("M&M_minute_data_with_indicators.csv"));
    assert_eq!(path.file_name().unwrap(), raw_file_name("M&M").as_str());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, stats.bytes);
    assert_eq!(String::from_utf8(bytes).unwrap(), generate("M&M", &o));
    // Overwrites in place, and leaves no temporary file behind.
    write_symbol_file(&dir, "M&M", &o, &mut |_| {}).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [raw_file_name("M&M")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn errors_name_the_symbol_or_path() {
    let err = write_symbol(io::sink(), "tcs", &opts(1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, GenError::InvalidSymbol { .. }), "{err}");
    let err = write_symbol(io::sink(), "TCS", &opts(0), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("TCS"), "{err}");

    let err = write_symbol(FailingWriter, "TCS", &opts(1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, GenError::Write { .. }), "{err}");
    assert!(err.to_string().contains("TCS"), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(source, "disk full");

    // A regular file where the output directory should be.
    let dir = temp_dir("err");
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let err = write_symbol_file(&blocker, "TCS", &opts(1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, GenError::File { .. }), "{err}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    assert!(err.to_string().contains("TCS"), "{err}");
    // Invalid options fail before anything is created.
    let err = write_symbol_file(&dir.join("new"), "", &opts(1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, GenError::InvalidSymbol { .. }));
    assert!(!dir.join("new").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_symbol_starts_in_the_price_range_and_series_are_independent() {
    let o = opts(1);
    for symbol in NIFTY100 {
        let first = bars(symbol, &o).unwrap().next().unwrap();
        assert!(
            (100.0..=5000.0).contains(&first.open),
            "{symbol}: {}",
            first.open
        );
    }
    assert_eq!(symbols_for_count(2).unwrap(), ["RELIANCE", "TCS"]);

    let o = opts(20);
    let returns = |symbol: &str| -> Vec<f64> {
        let closes: Vec<f64> = bars(symbol, &o).unwrap().map(|b| b.close).collect();
        closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    };
    let (a, b) = (returns("RELIANCE"), returns("TCS"));
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    let corr = cov / (va * vb).sqrt();
    assert!(corr.abs() < 0.1, "correlation {corr}");
}

#[test]
fn intraday_volatility_and_volume_are_u_shaped() {
    let o = opts(40);
    let all: Vec<_> = bars("ITC", &o).unwrap().collect();
    let mut abs_ret = vec![0.0; BARS_PER_DAY];
    let mut vol = vec![0.0; BARS_PER_DAY];
    for day in all.chunks(BARS_PER_DAY) {
        for (m, b) in day.iter().enumerate() {
            abs_ret[m] += (b.high / b.low).ln();
            vol[m] += b.volume as f64;
        }
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for profile in [&abs_ret, &vol] {
        let (open, mid, close) = (
            avg(&profile[..15]),
            avg(&profile[150..225]),
            avg(&profile[360..]),
        );
        assert!(
            open > 1.3 * mid && close > 1.05 * mid,
            "{open} {mid} {close}"
        );
    }
}
