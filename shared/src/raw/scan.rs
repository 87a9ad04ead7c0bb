//! The fast path of reading a raw file: one pass over the mapped bytes that finds each line,
//! checks its field count and parses only `date` and `TYPPRICE`, on every core.
//!
//! A general CSV reader tokenises all 60 fields of every row; here a SIMD count of the commas
//! checks the field count and a few `memchr` jumps find the two fields, so the pass runs at
//! memory speed. Quoted fields are not understood here: the caller falls back to polars for a
//! file that has any (see `super::read_raw`).

use memchr::{memchr, memchr_iter, memrchr};

use super::{parse_bar_time_bytes, price_cell, BarTime};

/// Where the two needed fields sit in a line of `n_fields` fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub n_fields: usize,
    pub date: usize,
    pub price: usize,
}

/// What is wrong with a line, before the file name and line number are attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    Ragged {
        found: usize,
    },
    BadCell {
        column: &'static str,
        value: String,
        problem: &'static str,
    },
}

/// The first bad line: `line` counts from 1 at the first line after the header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScanError {
    pub line: u64,
    pub problem: Problem,
}

/// The two columns, in file order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Scanned {
    /// Data rows, counting a truncated last line (blank lines are not rows).
    pub rows_read: u64,
    pub truncated_last_line: bool,
    pub times: Vec<BarTime>,
    pub typprice: Vec<Option<f64>>,
}

/// Scans `body` (everything after the header line) with up to `threads` threads.
pub(crate) fn scan(body: &[u8], cols: Columns, threads: usize) -> Result<Scanned, ScanError> {
    let chunks = split_at_lines(body, threads.max(1));
    let last = chunks.len() - 1;
    let outs: Vec<Chunk> = if chunks.len() == 1 {
        vec![scan_chunk(chunks[0], cols, true)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| s.spawn(move || scan_chunk(c, cols, i == last)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };

    let mut lines_before = 0u64;
    let mut out = Scanned::default();
    for c in outs {
        if let Some((line, problem)) = c.error {
            return Err(ScanError {
                line: lines_before + line,
                problem,
            });
        }
        lines_before += c.lines;
        out.rows_read += c.times.len() as u64;
        // The first chunk's vectors are taken as they are, later ones appended.
        if out.times.is_empty() {
            (out.times, out.typprice) = (c.times, c.typprice);
        } else {
            out.times.extend_from_slice(&c.times);
            out.typprice.extend_from_slice(&c.typprice);
        }
        if c.truncated {
            out.truncated_last_line = true;
            out.rows_read += 1;
        }
    }
    Ok(out)
}

/// Cuts `body` into about `n` pieces, each ending just after a line break (the last one at the
/// end of `body`). A piece is never empty unless `body` is.
fn split_at_lines(body: &[u8], n: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let target = body.len() * i / n;
        if target <= start {
            continue;
        }
        match memchr(b'\n', &body[target..]) {
            Some(j) => {
                let end = target + j + 1;
                pieces.push(&body[start..end]);
                start = end;
            }
            None => break,
        }
    }
    pieces.push(&body[start..]);
    pieces
}

struct Chunk {
    /// Lines seen, blank ones included (to number the lines of later chunks).
    lines: u64,
    times: Vec<BarTime>,
    typprice: Vec<Option<f64>>,
    truncated: bool,
    /// The first bad line, numbered within this chunk from 1.
    error: Option<(u64, Problem)>,
}

fn scan_chunk(chunk: &[u8], cols: Columns, is_last: bool) -> Chunk {
    // Lines in the real files are about 1 kB; this guess only sizes the vectors.
    let guess = chunk.len() / 512 + 1;
    let mut out = Chunk {
        lines: 0,
        times: Vec::with_capacity(guess),
        typprice: Vec::with_capacity(guess),
        truncated: false,
        error: None,
    };
    let mut start = 0;
    let mut ends = memchr_iter(b'\n', chunk);
    while start < chunk.len() {
        let (end, terminated) = match ends.next() {
            Some(e) => (e, true),
            None => (chunk.len(), false),
        };
        let mut line = &chunk[start..end];
        start = end + 1;
        out.lines += 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            continue;
        }
        match parse_line(line, cols) {
            Ok((t, p)) => {
                out.times.push(t);
                out.typprice.push(p);
            }
            // A last line cut off mid-write: dropped and reported, as it cannot be trusted.
            Err(Problem::Ragged { found }) if is_last && !terminated && found < cols.n_fields => {
                out.truncated = true;
            }
            Err(problem) => {
                out.error = Some((out.lines, problem));
                break;
            }
        }
    }
    out
}

fn parse_line(line: &[u8], cols: Columns) -> Result<(BarTime, Option<f64>), Problem> {
    let found = bytecount::count(line, b',') + 1;
    if found != cols.n_fields {
        return Err(Problem::Ragged { found });
    }
    let cell = |column, value: &[u8], problem| Problem::BadCell {
        column,
        value: String::from_utf8_lossy(value).into_owned(),
        problem,
    };
    let date = field(line, cols.date, cols.n_fields);
    let time = parse_bar_time_bytes(date.trim_ascii()).map_err(|p| cell("date", date, p))?;
    let raw = field(line, cols.price, cols.n_fields);
    let text = raw.trim_ascii();
    if text.is_empty() {
        return Ok((time, None));
    }
    let value: f64 = std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| cell("TYPPRICE", raw, "not a number"))?;
    let price = price_cell(value).map_err(|p| cell("TYPPRICE", raw, p))?;
    Ok((time, price))
}

/// Field `idx` of a line known to have `n` fields: reached from whichever end is nearer.
fn field(line: &[u8], idx: usize, n: usize) -> &[u8] {
    if idx < n / 2 {
        let mut start = 0;
        for _ in 0..idx {
            start += memchr(b',', &line[start..]).map_or(line.len() - start, |i| i + 1);
        }
        let end = memchr(b',', &line[start..]).map_or(line.len(), |i| start + i);
        &line[start..end]
    } else {
        let mut end = line.len();
        for _ in idx + 1..n {
            end = memrchr(b',', &line[..end]).unwrap_or(0);
        }
        let start = memrchr(b',', &line[..end]).map_or(0, |i| i + 1);
        &line[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: Columns = Columns {
        n_fields: 4,
        date: 0,
        price: 2,
    };

    #[test]
    fn fields_are_found_from_either_end() {
        let line = b"a,bb,,dddd";
        let got: Vec<&[u8]> = (0..4).map(|i| field(line, i, 4)).collect();
        assert_eq!(got, vec![&b"a"[..], b"bb", b"", b"dddd"]);
    }

    #[test]
    fn lines_are_numbered_across_chunks_and_threads() {
        let mut text = String::new();
        for m in 0..50 {
            text.push_str(&format!("2015-02-02 10:{m:02}:00+05:30,x,{}.5,y\n", m + 1));
        }
        // A blank line and CRLF endings are accepted.
        text.push_str("\r\n2015-02-02 11:00:00+05:30,x,7,y\r\n");
        let one = scan(text.as_bytes(), COLS, 1).unwrap();
        assert_eq!(one.rows_read, 51);
        assert_eq!(one.typprice[0], Some(1.5));
        assert_eq!(one.typprice[50], Some(7.0));
        for threads in [2, 3, 7, 200] {
            assert_eq!(scan(text.as_bytes(), COLS, threads).unwrap(), one);
        }

        // A bad price on line 40 of the body is line 40 whichever thread finds it.
        let bad = text.replacen(",40.5,", ",4x,", 1);
        for threads in [1, 2, 3, 7] {
            let e = scan(bad.as_bytes(), COLS, threads).unwrap_err();
            assert_eq!(e.line, 40, "threads {threads}");
            assert!(matches!(
                e.problem,
                Problem::BadCell {
                    column: "TYPPRICE",
                    ..
                }
            ));
        }
    }

    #[test]
    fn a_short_unterminated_last_line_is_truncation_elsewhere_an_error() {
        let good = "2015-02-02 10:00:00+05:30,x,1,y\n";
        let t = scan(format!("{good}{good}2015-02-02 10:0").as_bytes(), COLS, 2).unwrap();
        assert!(t.truncated_last_line);
        assert_eq!((t.rows_read, t.times.len()), (3, 2));
        let e = scan(format!("{good}2015,x\n{good}").as_bytes(), COLS, 1).unwrap_err();
        assert_eq!(
            e,
            ScanError {
                line: 2,
                problem: Problem::Ragged { found: 2 }
            }
        );
        let e = scan(format!("{good}{good}a,b,c,d,e").as_bytes(), COLS, 1).unwrap_err();
        assert_eq!(e.problem, Problem::Ragged { found: 5 });
    }

    #[test]
    fn missing_and_bad_prices() {
        let line = |p: &str| format!("2015-02-02 10:00:00+05:30,x,{p},y\n");
        let one = |p: &str| scan(line(p).as_bytes(), COLS, 1);
        assert_eq!(one("").unwrap().typprice, vec![None]);
        assert_eq!(one("NaN").unwrap().typprice, vec![None]);
        assert_eq!(one(" 2.25 ").unwrap().typprice, vec![Some(2.25)]);
        for (p, why) in [
            ("inf", "infinite"),
            ("0", "not positive"),
            ("1e", "not a number"),
        ] {
            match one(p).unwrap_err().problem {
                Problem::BadCell { problem, .. } => assert!(problem.contains(why), "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }
}
