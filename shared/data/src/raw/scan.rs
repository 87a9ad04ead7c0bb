//! The fast path of reading a raw file: one pass over the file that finds each line, checks
//! its field count and parses only `date` and `TYPPRICE`, on every core.
//!
//! A general CSV reader tokenises all 60 fields of every row; here a SIMD count of the commas
//! checks the field count and a few `memchr` jumps find the two fields. Each thread reads its
//! share of the file a block at a time into a buffer that stays in the core's cache, so the
//! bytes come from memory once (a mapping of the file would fault in every page, then search
//! the lines out of main memory, then take a while to unmap). Quoted fields are not
//! understood here: the caller falls back to polars for a file that has any (see
//! `super::read_raw`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use memchr::{memchr, memchr_iter, memrchr};

use groves_core::calendar::{parse_bar_time_bytes, BarTime};

use super::price_cell;

/// Bytes a thread reads at a time: a few hundred lines, small enough to stay in L2.
pub(crate) const BLOCK: usize = 256 * 1024;

/// Where the needed fields sit in a line of `n_fields` fields.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub n_fields: usize,
    pub date: usize,
    pub price: usize,
    /// Extra feature columns: (field index, name), in the order asked for.
    pub extras: Vec<(usize, String)>,
}

/// What is wrong with a line, before the file name and line number are attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    Ragged {
        found: usize,
    },
    BadCell {
        column: String,
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

/// Why a scan stopped.
#[derive(Debug)]
pub(crate) enum ScanFailure {
    Line(ScanError),
    Io(io::Error),
}

/// The two columns, in file order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Scanned {
    /// Data rows, counting a truncated last line (blank lines are not rows).
    pub rows_read: u64,
    pub truncated_last_line: bool,
    pub times: Vec<BarTime>,
    pub typprice: Vec<Option<f64>>,
    /// Per extra column (in `Columns::extras` order), its values; `None` where empty or NaN.
    pub extras: Vec<Vec<Option<f64>>>,
}

/// Bytes read at an offset, by several threads at once.
pub(crate) trait Source: Sync {
    fn len(&self) -> u64;
    /// Like `pread`: may read fewer bytes than asked; 0 only at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

/// An open file of a known length.
pub(crate) struct FileSource {
    pub file: File,
    pub len: u64,
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }
}

/// Fills `buf` from `offset` unless the source ends first; returns the bytes read.
pub(crate) fn read_full(src: &dyn Source, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match src.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Scans the lines of `src` from byte `body` (the first byte after the header line) with up
/// to `threads` threads, reading `block` bytes at a time.
pub(crate) fn scan(
    src: &dyn Source,
    body: u64,
    cols: &Columns,
    threads: usize,
    block: usize,
) -> Result<Scanned, ScanFailure> {
    let len = src.len();
    let n = threads.max(1) as u64;
    // Thread i takes the lines that start in bounds[i]..bounds[i + 1].
    let bounds: Vec<u64> = (0..=n).map(|i| body + (len - body) * i / n).collect();
    let share = |i: usize| Share {
        start: bounds[i],
        end: bounds[i + 1],
        // A range that does not start the body starts mid-line (or just after a line break,
        // which the byte before tells).
        mid_line: bounds[i] > body,
    };
    let outs: Vec<io::Result<Chunk>> = if n == 1 {
        vec![scan_range(src, share(0), cols, block)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n as usize)
                .map(|i| {
                    let r = share(i);
                    s.spawn(move || scan_range(src, r, cols, block))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };

    let mut lines_before = 0u64;
    let mut out = Scanned {
        extras: vec![Vec::new(); cols.extras.len()],
        ..Scanned::default()
    };
    for c in outs {
        let c = c.map_err(ScanFailure::Io)?;
        if let Some((line, problem)) = c.error {
            return Err(ScanFailure::Line(ScanError {
                line: lines_before + line,
                problem,
            }));
        }
        lines_before += c.lines;
        out.rows_read += c.times.len() as u64;
        // The first chunk's vectors are taken as they are, later ones appended.
        if out.times.is_empty() {
            (out.times, out.typprice, out.extras) = (c.times, c.typprice, c.extras);
        } else {
            out.times.extend_from_slice(&c.times);
            out.typprice.extend_from_slice(&c.typprice);
            for (all, part) in out.extras.iter_mut().zip(&c.extras) {
                all.extend_from_slice(part);
            }
        }
        if c.truncated {
            out.truncated_last_line = true;
            out.rows_read += 1;
        }
    }
    Ok(out)
}

/// A thread's share of the file: the lines that start in `start..end`.
#[derive(Debug, Clone, Copy)]
struct Share {
    start: u64,
    end: u64,
    mid_line: bool,
}

struct Chunk {
    /// Lines seen, blank ones included (to number the lines of later chunks).
    lines: u64,
    times: Vec<BarTime>,
    typprice: Vec<Option<f64>>,
    extras: Vec<Vec<Option<f64>>>,
    truncated: bool,
    /// The first bad line, numbered within this chunk from 1.
    error: Option<(u64, Problem)>,
}

/// The lines that start in `r`, read a block at a time (the last one read on to its end).
fn scan_range(src: &dyn Source, r: Share, cols: &Columns, block: usize) -> io::Result<Chunk> {
    // Lines in the real files are about 1 kB; this guess only sizes the vectors.
    let guess = ((r.end - r.start) / 512 + 1) as usize;
    let mut out = Chunk {
        lines: 0,
        times: Vec::with_capacity(guess),
        typprice: Vec::with_capacity(guess),
        extras: vec![Vec::with_capacity(guess); cols.extras.len()],
        truncated: false,
        error: None,
    };
    if r.start >= r.end {
        return Ok(out);
    }
    let mut buf = vec![0u8; block.max(1)];
    // `buf[..filled]` holds the file from offset `pos`; `buf[..from]` is done with.
    let (mut pos, mut filled, mut from) = (r.start, 0usize, 0usize);
    // Mid-line: the first line of this range starts after the first line break at or after
    // the byte before the range.
    let mut skipping = r.mid_line;
    if skipping {
        pos -= 1;
    }
    loop {
        // Keep the unfinished line, make room (a line longer than the buffer grows it), read.
        buf.copy_within(from..filled, 0);
        pos += from as u64;
        filled -= from;
        from = 0;
        if filled == buf.len() {
            buf.resize(2 * buf.len(), 0);
        }
        let want = buf.len() - filled;
        let got = read_full(src, &mut buf[filled..], pos + filled as u64)?;
        filled += got;
        let at_end = got < want;

        if skipping {
            match memchr(b'\n', &buf[..filled]) {
                Some(i) => {
                    from = i + 1;
                    skipping = false;
                }
                None if at_end => return Ok(out),
                None => {
                    from = filled;
                    continue;
                }
            }
        }
        // Offset in `buf` where lines stop belonging to this range.
        let limit = match r.end.checked_sub(pos).map(usize::try_from) {
            None => return Ok(out),
            Some(Ok(l)) if l <= from => return Ok(out),
            Some(Ok(l)) => l,
            Some(Err(_)) => usize::MAX,
        };
        let data = &buf[from..filled];
        match memrchr(b'\n', data) {
            Some(last) if from + last < limit => {
                // Every complete line here starts in the range.
                if scan_lines(&data[..=last], cols, &mut out) {
                    return Ok(out);
                }
                from += last + 1;
            }
            Some(_) => {
                // The range's last line ends at the first line break at or after limit - 1.
                let cut = limit - 1 - from;
                let end = memchr(b'\n', &data[cut..]).map_or(data.len(), |i| cut + i + 1);
                scan_lines(&data[..end], cols, &mut out);
                return Ok(out);
            }
            None if at_end => {
                // The file's last line, without a line break: it may be cut off.
                scan_lines(data, cols, &mut out);
                return Ok(out);
            }
            None => {}
        }
        if at_end && from == filled {
            return Ok(out);
        }
    }
}

/// Parses the lines of `chunk` into `out`; returns whether a bad line stopped it. Only the
/// file's last line is ever passed without its line break.
fn scan_lines(chunk: &[u8], cols: &Columns, out: &mut Chunk) -> bool {
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
        match parse_line(line, cols, &mut out.extras) {
            Ok((t, p)) => {
                out.times.push(t);
                out.typprice.push(p);
            }
            // A last line cut off mid-write: dropped and reported, as it cannot be trusted.
            Err(Problem::Ragged { found }) if !terminated && found < cols.n_fields => {
                out.truncated = true;
            }
            Err(problem) => {
                out.error = Some((out.lines, problem));
                return true;
            }
        }
    }
    false
}

/// Parses a line's date and price, and pushes its extra cells onto `extras` (only once the
/// whole line is known good, so the columns stay the same length).
fn parse_line(
    line: &[u8],
    cols: &Columns,
    extras: &mut [Vec<Option<f64>>],
) -> Result<(BarTime, Option<f64>), Problem> {
    let found = bytecount::count(line, b',') + 1;
    if found != cols.n_fields {
        return Err(Problem::Ragged { found });
    }
    let cell = |column: &str, value: &[u8], problem| Problem::BadCell {
        column: column.to_string(),
        value: String::from_utf8_lossy(value).into_owned(),
        problem,
    };
    let date = field(line, cols.date, cols.n_fields);
    let time = parse_bar_time_bytes(date.trim_ascii()).map_err(|p| cell("date", date, p))?;
    let raw = field(line, cols.price, cols.n_fields);
    let price = match number_cell(raw).map_err(|p| cell("TYPPRICE", raw, p))? {
        Some(v) => price_cell(v).map_err(|p| cell("TYPPRICE", raw, p))?,
        None => None,
    };
    if !cols.extras.is_empty() {
        // One pass finds every field's start; extras are few but anywhere in the line.
        let mut starts = Vec::with_capacity(cols.n_fields + 1);
        starts.push(0);
        starts.extend(memchr_iter(b',', line).map(|i| i + 1));
        starts.push(line.len() + 1);
        let mut values = Vec::with_capacity(cols.extras.len());
        for (idx, name) in &cols.extras {
            let raw = &line[starts[*idx]..starts[idx + 1] - 1];
            values.push(extra_cell(raw).map_err(|p| cell(name, raw, p))?);
        }
        for (column, v) in extras.iter_mut().zip(values) {
            column.push(v);
        }
    }
    Ok((time, price))
}

/// A numeric cell: `None` when empty or NaN (pandas' missing value).
fn number_cell(raw: &[u8]) -> Result<Option<f64>, &'static str> {
    let text = raw.trim_ascii();
    if text.is_empty() {
        return Ok(None);
    }
    let value: f64 = std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("not a number")?;
    Ok((!value.is_nan()).then_some(value))
}

/// An extra feature's cell: any finite number, or missing.
fn extra_cell(raw: &[u8]) -> Result<Option<f64>, &'static str> {
    match number_cell(raw)? {
        Some(v) if v.is_infinite() => Err("not finite"),
        v => Ok(v),
    }
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

    impl Source for &[u8] {
        fn len(&self) -> u64 {
            <[u8]>::len(self) as u64
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let rest = self.get(offset as usize..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            Ok(n)
        }
    }

    /// Scans `text` as a body with `threads` threads, reading blocks of every size from one
    /// byte up (they must all agree).
    fn scan(text: &[u8], cols: Columns, threads: usize) -> Result<Scanned, ScanError> {
        let run = |block| match super::scan(&text, 0, &cols, threads, block) {
            Ok(s) => Ok(s),
            Err(ScanFailure::Line(e)) => Err(e),
            Err(ScanFailure::Io(e)) => panic!("{e}"),
        };
        let first = run(BLOCK);
        for block in [1, 2, 7, 64, 1000] {
            assert_eq!(run(block), first, "block {block} threads {threads}");
        }
        first
    }

    const COLS: Columns = Columns {
        n_fields: 4,
        date: 0,
        price: 2,
        extras: Vec::new(),
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
                Problem::BadCell { ref column, .. } if column == "TYPPRICE"
            ));
        }
    }

    #[test]
    fn a_body_after_a_header_reads_as_the_body_alone() {
        let mut body = String::new();
        for m in 0..30 {
            body.push_str(&format!("2015-02-02 10:{m:02}:00+05:30,x,{}.25,y\n", m + 1));
        }
        let alone = scan(body.as_bytes(), COLS, 1).unwrap();
        let file = format!("date,a,TYPPRICE,b\n{body}");
        let start = file.find('\n').unwrap() as u64 + 1;
        for threads in [1, 2, 5, 40] {
            for block in [1, 3, 100, BLOCK] {
                match super::scan(&file.as_bytes(), start, &COLS, threads, block) {
                    Ok(got) => assert_eq!(got, alone, "threads {threads} block {block}"),
                    Err(e) => panic!("threads {threads} block {block}: {e:?}"),
                }
            }
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
    fn extra_columns_are_read_by_position_and_named_in_errors() {
        let cols = Columns {
            extras: vec![(3, "RSI14".into()), (1, "volume".into())],
            ..COLS
        };
        let mut text = String::new();
        for m in 0..40 {
            let rsi = if m == 0 {
                String::new()
            } else {
                format!("{m}.5")
            };
            text.push_str(&format!(
                "2015-02-02 10:{m:02}:00+05:30,{m},{}.5,{rsi}\n",
                m + 1
            ));
        }
        let got = scan(text.as_bytes(), cols.clone(), 1).unwrap();
        assert_eq!(got.extras[0][0], None);
        assert_eq!(got.extras[0][39], Some(39.5));
        assert_eq!(got.extras[1][7], Some(7.0));
        for threads in [2, 3, 9] {
            assert_eq!(scan(text.as_bytes(), cols.clone(), threads).unwrap(), got);
        }
        let bad = text.replacen(",12.5\n", ",x\n", 1);
        let e = scan(bad.as_bytes(), cols.clone(), 2).unwrap_err();
        assert_eq!(e.line, 13);
        match e.problem {
            Problem::BadCell { column, value, .. } => {
                assert_eq!((column.as_str(), value.as_str()), ("RSI14", "x"))
            }
            other => panic!("{other:?}"),
        }
        let inf = text.replacen(",12.5\n", ",inf\n", 1);
        assert!(scan(inf.as_bytes(), cols, 1).is_err());
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
