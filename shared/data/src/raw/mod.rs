//! Reading one raw Kaggle minute file: header check, the two columns the search needs, and
//! errors that name the file, the row and the column.

pub mod minutes;
mod scan;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use groves_core::calendar::{parse_bar_time, BarTime};
use groves_core::dataset::{Layout, CURRENT_COLUMNS, DATE_COLUMN, LEGACY_COLUMNS};
use groves_core::features::TYPPRICE;
use polars_core::prelude::*;
use polars_io::prelude::*;

/// What is wrong with a raw file. `row` is the 1-based line number in the file (the header is
/// line 1), so a user can open the file at that line.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: the file has a header but no data rows")]
    NoRows { file: String },
    #[error("{file}: missing column `{column}` (header: {header})")]
    MissingColumn {
        file: String,
        column: String,
        header: String,
    },
    #[error("{file}: column `{column}` appears more than once in the header")]
    DuplicateColumn { file: String, column: String },
    #[error("{file}: the header matches neither dataset version (current: 60 columns with MFI; legacy: 59 without); missing: [{missing}]; unexpected: [{unexpected}]")]
    UnknownHeader {
        file: String,
        missing: String,
        unexpected: String,
    },
    #[error("{file}: row {row}: {found} fields where the header has {expected}")]
    RaggedRow {
        file: String,
        row: u64,
        found: usize,
        expected: usize,
    },
    #[error("{file}: row {row}, column `{column}`: {problem}: {value:?}")]
    BadCell {
        file: String,
        row: u64,
        column: String,
        value: String,
        problem: &'static str,
    },
    #[error("{file}: cannot parse the CSV: {message}")]
    Parse { file: String, message: String },
}

/// The two columns of a raw file the search needs, in file order.
#[derive(Debug)]
pub struct RawSeries {
    pub layout: Layout,
    /// Data rows in the file, counting a truncated last line.
    pub rows_read: u64,
    /// The file ended in a partial line, which was dropped.
    pub truncated_last_line: bool,
    pub times: Vec<BarTime>,
    /// `None` for an empty or `NaN` cell (pandas' missing value).
    pub typprice: Vec<Option<f64>>,
    /// The extra columns asked for, in that order; `None` where empty or `NaN`.
    pub extras: Vec<Vec<Option<f64>>>,
}

impl RawSeries {
    /// Appends live minute rows (their extras in this series' order), counting them as read.
    pub fn append_minutes(&mut self, rows: Vec<minutes::MinuteRow>) {
        self.rows_read += rows.len() as u64;
        for r in rows {
            self.times.push(r.time);
            self.typprice.push(r.price);
            for (column, v) in self.extras.iter_mut().zip(r.extras) {
                column.push(v);
            }
        }
    }

    /// Keeps only the rows up to `until_ms` (wall clock); the others no longer count as read.
    pub fn keep_until(&mut self, until_ms: i64) {
        let keep: Vec<bool> = self.times.iter().map(|t| t.local_ms <= until_ms).collect();
        let kept = keep.iter().filter(|k| **k).count();
        if kept == self.times.len() {
            return;
        }
        self.rows_read -= (self.times.len() - kept) as u64;
        fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
            let mut k = keep.iter();
            v.retain(|_| k.next().copied().unwrap_or(false));
        }
        retain(&mut self.times, &keep);
        retain(&mut self.typprice, &keep);
        for column in &mut self.extras {
            retain(column, &keep);
        }
        // A truncated last line was the file's last row, after the cut: it is not read either.
        if self.truncated_last_line {
            self.truncated_last_line = false;
            self.rows_read -= 1;
        }
    }
}

/// Reads `path` (named `file` in errors): only `date`, `TYPPRICE` and the `extras` columns,
/// found by name.
///
/// The file is read and scanned a block at a time on every core ([`scan`]); a file with quoted
/// fields that the scanner cannot read is read with polars instead.
pub fn read_raw(path: &Path, file: &str, extras: &[String]) -> Result<RawSeries, RawError> {
    let io = |source| RawError::Io {
        file: file.to_string(),
        source,
    };
    let f = File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len == 0 {
        return Err(RawError::Empty {
            file: file.to_string(),
        });
    }
    let src = scan::FileSource { file: f, len };
    let head = read_header_line(&src).map_err(io)?;
    let header = parse_header(&head, file)?;
    let layout = check_header(&header, file)?;
    let cols = scan::Columns {
        n_fields: header.len(),
        date: column_index(&header, DATE_COLUMN, file)?,
        price: column_index(&header, TYPPRICE, file)?,
        extras: extras
            .iter()
            .map(|name| Ok((column_index(&header, name, file)?, name.clone())))
            .collect::<Result<_, RawError>>()?,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scanned = match scan::scan(&src, head.len() as u64, &cols, threads, scan::BLOCK) {
        Ok(s) => s,
        Err(scan::ScanFailure::Io(e)) => return Err(io(e)),
        // A quoted field can hide a comma or a line break from the scanner, or quote a needed
        // cell: polars reads such a file properly (and is the judge of what is wrong in it).
        // Searched only now, so a clean file is read once.
        Err(scan::ScanFailure::Line(_)) if contains_quote(&src).map_err(io)? => {
            return read_raw_polars(path, file, header, layout, extras)
        }
        Err(scan::ScanFailure::Line(e)) => return Err(scan_error(e, file, header.len())),
    };
    if scanned.times.is_empty() {
        return Err(RawError::NoRows {
            file: file.to_string(),
        });
    }
    Ok(RawSeries {
        layout,
        rows_read: scanned.rows_read,
        truncated_last_line: scanned.truncated_last_line,
        times: scanned.times,
        typprice: scanned.typprice,
        extras: scanned.extras,
    })
}

/// The first line of the file, with its line break (the whole file if it has none).
fn read_header_line(src: &scan::FileSource) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let n = scan::read_full(src, &mut block, head.len() as u64)?;
        let seen = head.len();
        head.extend_from_slice(&block[..n]);
        if let Some(i) = memchr::memchr(b'\n', &head[seen..]) {
            head.truncate(seen + i + 1);
            return Ok(head);
        }
        if n < block.len() {
            return Ok(head);
        }
    }
}

/// Whether the file has a double quote anywhere.
fn contains_quote(src: &scan::FileSource) -> std::io::Result<bool> {
    let mut block = vec![0u8; scan::BLOCK];
    let mut at = 0u64;
    loop {
        let n = scan::read_full(src, &mut block, at)?;
        if memchr::memchr(b'"', &block[..n]).is_some() {
            return Ok(true);
        }
        if n < block.len() {
            return Ok(false);
        }
        at += n as u64;
    }
}

fn scan_error(e: scan::ScanError, file: &str, expected: usize) -> RawError {
    // Line 1 of the file is the header.
    let row = e.line + 1;
    match e.problem {
        scan::Problem::Ragged { found } => RawError::RaggedRow {
            file: file.to_string(),
            row,
            found,
            expected,
        },
        scan::Problem::BadCell {
            column,
            value,
            problem,
        } => RawError::BadCell {
            file: file.to_string(),
            row,
            column,
            value,
            problem,
        },
    }
}

/// The slow path, for a file with quoted fields: polars, projecting only `date` and
/// `TYPPRICE`.
fn read_raw_polars(
    path: &Path,
    file: &str,
    header: Vec<String>,
    layout: Layout,
    extras: &[String],
) -> Result<RawSeries, RawError> {
    let io = |source| RawError::Io {
        file: file.to_string(),
        source,
    };
    // Polars fills short rows with nulls and ignores extra fields; a comma count (cheap next to
    // parsing) tells whether every row has the header's field count, and if not, where.
    let shape = scan_shape(path, header.len()).map_err(io)?;
    let truncated = shape.truncated_last_line;
    if !shape.field_counts_match {
        if let Some(e) = find_bad_row(path, file, &header) {
            return Err(e);
        }
    }

    let df = read_columns(path, &header, extras).map_err(|e| {
        find_bad_row(path, file, &header).unwrap_or_else(|| RawError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })
    })?;
    let rows_read = df.height() as u64;
    let keep = if truncated {
        df.height().saturating_sub(1)
    } else {
        df.height()
    };
    if keep == 0 {
        return Err(RawError::NoRows {
            file: file.to_string(),
        });
    }
    let parse_err = |e: PolarsError| RawError::Parse {
        file: file.to_string(),
        message: e.to_string(),
    };
    let dates = df.column(DATE_COLUMN).map_err(parse_err)?;
    let dates = dates.str().map_err(parse_err)?;
    let prices = df.column(TYPPRICE).map_err(parse_err)?;
    let prices = prices.f64().map_err(parse_err)?;

    let extra_columns = extras
        .iter()
        .map(|name| {
            let c = df.column(name).map_err(parse_err)?;
            Ok(c.f64().map_err(parse_err)?.clone())
        })
        .collect::<Result<Vec<_>, RawError>>()?;
    let mut extra_values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(keep); extras.len()];
    let mut times = Vec::with_capacity(keep);
    let mut typprice = Vec::with_capacity(keep);
    for (i, (d, p)) in dates.iter().zip(prices.iter()).take(keep).enumerate() {
        let row = i as u64 + 2;
        let cell = |value: &str, column: &str, problem| RawError::BadCell {
            file: file.to_string(),
            row,
            column: column.to_string(),
            value: value.to_string(),
            problem,
        };
        let d = d.ok_or_else(|| cell("", "date", "empty date"))?;
        let t = parse_bar_time(d).map_err(|problem| cell(d, "date", problem))?;
        times.push(t);
        let p = match p {
            Some(v) => price_cell(v).map_err(|problem| cell(&v.to_string(), TYPPRICE, problem))?,
            None => None,
        };
        typprice.push(p);
        for ((name, column), values) in extras.iter().zip(&extra_columns).zip(&mut extra_values) {
            values.push(match column.get(i) {
                Some(v) if v.is_infinite() => return Err(cell(&v.to_string(), name, "not finite")),
                Some(v) if v.is_nan() => None,
                v => v,
            });
        }
    }
    Ok(RawSeries {
        layout,
        rows_read,
        truncated_last_line: truncated,
        times,
        typprice,
        extras: extra_values,
    })
}

/// A parsed `TYPPRICE` cell: `NaN` is pandas' missing value; an infinite or non-positive
/// price is an error.
fn price_cell(v: f64) -> Result<Option<f64>, &'static str> {
    if v.is_nan() {
        Ok(None)
    } else if v.is_infinite() {
        Err("price is infinite")
    } else if v <= 0.0 {
        Err("price is not positive")
    } else {
        Ok(Some(v))
    }
}

fn parse_header(line: &[u8], file: &str) -> Result<Vec<String>, RawError> {
    let line = String::from_utf8_lossy(line);
    let line = line
        .trim_end_matches(['\n', '\r'])
        .trim_start_matches('\u{feff}');
    if line.trim().is_empty() {
        return Err(RawError::Empty {
            file: file.to_string(),
        });
    }
    Ok(line.split(',').map(|s| s.trim().to_string()).collect())
}

fn column_index(header: &[String], column: &str, file: &str) -> Result<usize, RawError> {
    header
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| RawError::MissingColumn {
            file: file.to_string(),
            column: column.to_string(),
            header: header.join(","),
        })
}

fn check_header(header: &[String], file: &str) -> Result<Layout, RawError> {
    for required in [DATE_COLUMN, TYPPRICE] {
        column_index(header, required, file)?;
    }
    let mut seen = std::collections::HashSet::new();
    for h in header {
        if !seen.insert(h.as_str()) {
            return Err(RawError::DuplicateColumn {
                file: file.to_string(),
                column: h.clone(),
            });
        }
    }
    let same_set =
        |cols: &[&str]| cols.len() == header.len() && cols.iter().all(|c| seen.contains(c));
    if same_set(&CURRENT_COLUMNS) {
        return Ok(Layout::Current);
    }
    if same_set(&LEGACY_COLUMNS) {
        return Ok(Layout::Legacy);
    }
    // Report against the nearer layout.
    let expected: &[&str] = if seen.contains("MFI") {
        &CURRENT_COLUMNS
    } else {
        &LEGACY_COLUMNS
    };
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| !seen.contains(c))
        .collect();
    let unexpected: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !expected.contains(h))
        .collect();
    Err(RawError::UnknownHeader {
        file: file.to_string(),
        missing: missing.join(", "),
        unexpected: unexpected.join(", "),
    })
}

fn read_columns(path: &Path, header: &[String], extras: &[String]) -> PolarsResult<DataFrame> {
    // The whole schema is given so polars infers nothing; only the needed columns are parsed.
    let mut schema = Schema::with_capacity(header.len());
    for name in header {
        let dtype = if name == TYPPRICE || extras.contains(name) {
            DataType::Float64
        } else {
            DataType::String
        };
        schema.with_column(name.as_str().into(), dtype);
    }
    let columns: Arc<[PlSmallStr]> = [DATE_COLUMN, TYPPRICE]
        .into_iter()
        .map(PlSmallStr::from)
        .chain(extras.iter().map(|e| PlSmallStr::from(e.as_str())))
        .collect();
    CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_columns(Some(columns))
        .with_rechunk(true)
        .with_raise_if_empty(false)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
        .finish()
}

/// What one pass over the bytes tells about a file's rows.
struct Shape {
    /// The file ends in a line without its newline and with fewer fields than the header: cut
    /// off mid-write. That line is dropped (and reported), as it cannot be trusted.
    truncated_last_line: bool,
    /// Commas and line breaks add up to every line having the header's field count (allowing
    /// for a truncated last line). Quoting or blank lines can make this false for a good file;
    /// [`find_bad_row`] then has the last word.
    field_counts_match: bool,
}

fn scan_shape(path: &Path, n_fields: usize) -> std::io::Result<Shape> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut commas, mut newlines, mut last_line_commas) = (0u64, 0u64, 0u64);
    let mut last = b'\n';
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        commas += chunk.iter().filter(|b| **b == b',').count() as u64;
        newlines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        let after_nl = chunk.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let tail_commas = chunk[after_nl..].iter().filter(|b| **b == b',').count() as u64;
        last_line_commas = if after_nl > 0 {
            tail_commas
        } else {
            last_line_commas + tail_commas
        };
        last = chunk[n - 1];
    }
    let per_line = n_fields as u64 - 1;
    let unterminated = last != b'\n';
    // A lone header without newline is not a truncated data line.
    let truncated_last_line = unterminated && newlines > 0 && last_line_commas < per_line;
    let lines = newlines + u64::from(unterminated);
    let expected = if truncated_last_line {
        (lines - 1) * per_line + last_line_commas
    } else {
        lines * per_line
    };
    Ok(Shape {
        truncated_last_line,
        field_counts_match: commas == expected,
    })
}

/// Finds the first row that polars would misread or refuse: too many or too few fields (a
/// short last line is the truncation already handled) or a non-numeric price. Slow; only
/// on the error path.
fn find_bad_row(path: &Path, file: &str, header: &[String]) -> Option<RawError> {
    let price_idx = header.iter().position(|h| h == TYPPRICE)?;
    let f = File::open(path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, f));
    let mut record = csv::ByteRecord::new();
    let mut row: u64 = 1;
    let mut short: Option<(u64, usize)> = None;
    let ragged = |row, found| RawError::RaggedRow {
        file: file.to_string(),
        row,
        found,
        expected: header.len(),
    };
    while let Ok(true) = reader.read_byte_record(&mut record) {
        row += 1;
        if let Some((r, found)) = short.take() {
            return Some(ragged(r, found));
        }
        if record.len() > header.len() {
            return Some(ragged(row, record.len()));
        }
        if record.len() < header.len() {
            short = Some((row, record.len()));
            continue;
        }
        let text = String::from_utf8_lossy(record.get(price_idx)?);
        let t = text.trim();
        if !t.is_empty() && t.parse::<f64>().is_err() {
            return Some(RawError::BadCell {
                file: file.to_string(),
                row,
                column: TYPPRICE.to_string(),
                value: t.to_string(),
                problem: "not a number",
            });
        }
    }
    None
}
