//! CSV writers: one symbol to any `Write`, or atomically to `<dir>/<SYMBOL>_minute_data_with_indicators.csv`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::format::push_f64;
use crate::indicators::{Engine, INDICATOR_COLUMNS};
use crate::layout::{raw_file_name, Layout};
use crate::sim::{paise_to_rupees, Sim, BARS_PER_DAY, OPEN_HOUR, OPEN_MINUTE};
use crate::{validate, GenError, GenOptions};

/// `progress` is called with the rows written so far after every this many rows, and once
/// more at the end if the total is not a multiple of it.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Rows are formatted into a buffer handed to the writer in chunks of about this size, so
/// an unbuffered `File` performs as well as a `BufWriter`.
const CHUNK: usize = 1 << 20;

/// What one file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenStats {
    /// Data rows (header excluded).
    pub rows: u64,
    /// Bytes written, header included.
    pub bytes: u64,
}

/// Where a column's cells come from.
#[derive(Debug, Clone, Copy)]
enum Field {
    Date,
    Open,
    High,
    Low,
    Close,
    Volume,
    Indicator(usize),
}

fn plan(layout: Layout) -> Vec<Field> {
    layout
        .columns()
        .iter()
        .map(|name| match *name {
            "date" => Field::Date,
            "open" => Field::Open,
            "high" => Field::High,
            "low" => Field::Low,
            "close" => Field::Close,
            "volume" => Field::Volume,
            other => Field::Indicator(
                INDICATOR_COLUMNS
                    .iter()
                    .position(|c| *c == other)
                    .expect("every layout column other than date/OHLCV is an indicator column"),
            ),
        })
        .collect()
}

/// `HH:MM:00+05:30` for each minute of the session.
fn session_times() -> Vec<[u8; 14]> {
    (0..BARS_PER_DAY as u32)
        .map(|m| {
            let minutes = OPEN_HOUR * 60 + OPEN_MINUTE + m;
            let (h, mi) = ((minutes / 60) as u8, (minutes % 60) as u8);
            let mut s = *b"00:00:00+05:30";
            s[0] = b'0' + h / 10;
            s[1] = b'0' + h % 10;
            s[3] = b'0' + mi / 10;
            s[4] = b'0' + mi % 10;
            s
        })
        .collect()
}

/// Writes the CSV of one symbol (header and `opts.days × 375` rows) to `out`.
///
/// Indicators are computed while streaming, so memory stays at a few MB whatever `days` is.
/// `out` is flushed at the end; it needs no extra buffering.
pub fn write_symbol<W: Write>(
    mut out: W,
    symbol: &str,
    opts: &GenOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<GenStats, GenError> {
    let sim = Sim::new(symbol, opts)?;
    let write_err = |source: io::Error| GenError::Write {
        symbol: symbol.to_string(),
        source,
    };
    let fields = plan(opts.layout);
    let times = session_times();
    let mut engine = Engine::new();
    let mut ryu = ryu::Buffer::new();
    let mut int = itoa::Buffer::new();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let mut stats = GenStats::default();

    buf.extend_from_slice(opts.layout.columns().join(",").as_bytes());
    buf.push(b'\n');

    let mut day_prefix: Vec<u8> = Vec::with_capacity(16);
    let mut current_day = None;
    for bar in sim {
        if current_day != Some(bar.date) {
            current_day = Some(bar.date);
            day_prefix.clear();
            // `write!` into a Vec cannot fail.
            let _ = write!(day_prefix, "{} ", bar.date.format("%Y-%m-%d"));
        }
        let open = paise_to_rupees(bar.open);
        let high = paise_to_rupees(bar.high);
        let low = paise_to_rupees(bar.low);
        let close = paise_to_rupees(bar.close);
        let ind = engine.update(high, low, close, bar.volume as f64);
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            match *field {
                Field::Date => {
                    buf.extend_from_slice(&day_prefix);
                    buf.extend_from_slice(&times[usize::from(bar.minute)]);
                }
                Field::Open => push_f64(&mut buf, &mut ryu, open),
                Field::High => push_f64(&mut buf, &mut ryu, high),
                Field::Low => push_f64(&mut buf, &mut ryu, low),
                Field::Close => push_f64(&mut buf, &mut ryu, close),
                Field::Volume => buf.extend_from_slice(int.format(bar.volume).as_bytes()),
                Field::Indicator(k) => push_f64(&mut buf, &mut ryu, ind[k]),
            }
        }
        buf.push(b'\n');
        stats.rows += 1;
        if buf.len() >= CHUNK {
            out.write_all(&buf).map_err(write_err)?;
            stats.bytes += buf.len() as u64;
            buf.clear();
        }
        if stats.rows % PROGRESS_EVERY == 0 {
            progress(stats.rows);
        }
    }
    out.write_all(&buf).map_err(write_err)?;
    stats.bytes += buf.len() as u64;
    out.flush().map_err(write_err)?;
    if stats.rows % PROGRESS_EVERY != 0 {
        progress(stats.rows);
    }
    Ok(stats)
}

/// Distinguishes temporary files of concurrent writers within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `<dir>/<SYMBOL>_minute_data_with_indicators.csv` atomically: the CSV goes to a
/// hidden temporary file in `dir` that is renamed over the final name only once complete,
/// so readers never see a partial file. `dir` is created if missing. Returns the final path.
///
/// The file is not fsynced: the data can be regenerated, and syncing ~650 MB per symbol
/// would dominate the run time.
pub fn write_symbol_file(
    dir: &Path,
    symbol: &str,
    opts: &GenOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(PathBuf, GenStats), GenError> {
    validate(symbol, opts)?;
    let file_err = |action: &'static str, path: &Path| {
        let symbol = symbol.to_string();
        let path = path.to_path_buf();
        move |source| GenError::File {
            symbol,
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(dir).map_err(file_err("create directory", dir))?;
    let name = raw_file_name(symbol);
    let path = dir.join(&name);
    let tmp = dir.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = File::create(&tmp).map_err(file_err("create", &tmp))?;
    let written = write_symbol(file, symbol, opts, progress).map_err(|e| match e {
        GenError::Write { symbol, source } => GenError::File {
            symbol,
            action: "write",
            path: tmp.clone(),
            source,
        },
        other => other,
    });
    let stats = match written {
        Ok(stats) => stats,
        Err(e) => {
            // Best effort: the write error is the one worth reporting.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(source) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(file_err("rename into", &path)(source));
    }
    Ok((path, stats))
}
