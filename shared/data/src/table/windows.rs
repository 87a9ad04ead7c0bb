//! Snappy compression of column chunks that are windows of one longer `f64` series: a price,
//! its ten lags and the next row's price are one series shifted a row at a time, so twelve
//! columns can cost about one compression instead of twelve.
//!
//! Snappy compresses its input in independent 64 KB blocks (no copy reaches outside its block),
//! so a stream is the uncompressed length followed by the elements of each block, and the
//! elements of independently compressed pieces, concatenated, decompress to the concatenated
//! pieces. The series is cut into fragments at fixed 64 KB offsets, each compressed once, on
//! first use; a page that is a window of the series is then its first partial fragment (with
//! the page's level bytes in front) compressed afresh, the whole fragments it covers copied,
//! and its last partial fragment compressed afresh. Any reader decodes the same bytes as if
//! the page had been compressed whole.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Values per fragment: one Snappy block (64 KB) of `f64`s.
const FRAGMENT_VALUES: usize = (1 << 16) / 8;

/// A series' fragments, each compressed (elements only, no length header) on first use.
struct Fragments {
    /// The series' address and length: which series this is.
    id: (usize, usize),
    compressed: Vec<OnceLock<Result<Vec<u8>, snap::Error>>>,
}

/// Compressed fragments of every series the columns of one encoding run are windows of.
#[derive(Default)]
pub(super) struct FragmentCache {
    series: Mutex<Vec<Arc<Fragments>>>,
}

impl FragmentCache {
    fn fragments_of(&self, series: &[f64]) -> Arc<Fragments> {
        let id = (series.as_ptr() as usize, series.len());
        // A panic elsewhere cannot leave the list half-updated: it is only ever pushed to.
        let mut all = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = all.iter().find(|f| f.id == id) {
            return Arc::clone(found);
        }
        let fragments = Arc::new(Fragments {
            id,
            compressed: (0..series.len().div_ceil(FRAGMENT_VALUES))
                .map(|_| OnceLock::new())
                .collect(),
        });
        all.push(Arc::clone(&fragments));
        fragments
    }
}

fn le_bytes(values: &[f64], out: &mut Vec<u8>) {
    out.reserve(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends the Snappy elements of `input` (a stream without its length header) to `out`.
fn append_elements(
    encoder: &mut snap::raw::Encoder,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), snap::Error> {
    let stream = encoder.compress_vec(input)?;
    let header = stream
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(stream.len(), |i| i + 1);
    out.extend_from_slice(&stream[header..]);
    Ok(())
}

/// The Snappy stream of `levels` followed by `series[start..start + n]`, as one page's
/// compressed bytes.
pub(super) fn compress_window(
    cache: &FragmentCache,
    series: &[f64],
    start: usize,
    n: usize,
    levels: &[u8],
) -> Result<Vec<u8>, snap::Error> {
    let end = start + n;
    let mut encoder = snap::raw::Encoder::new();
    let total = (levels.len() + n * 8) as u64;
    let mut out = Vec::with_capacity(snap::raw::max_compress_len(levels.len() + n * 8));
    let mut rest = total;
    while rest >= 0x80 {
        out.push((rest as u8) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);

    let head_end = start.next_multiple_of(FRAGMENT_VALUES).min(end);
    let mut piece = Vec::with_capacity(levels.len() + (head_end - start) * 8);
    piece.extend_from_slice(levels);
    le_bytes(&series[start..head_end], &mut piece);
    append_elements(&mut encoder, &piece, &mut out)?;

    let fragments = cache.fragments_of(series);
    let mut at = head_end;
    while at + FRAGMENT_VALUES <= end {
        let j = at / FRAGMENT_VALUES;
        let elements = fragments.compressed[j].get_or_init(|| {
            let mut bytes = Vec::new();
            le_bytes(&series[at..at + FRAGMENT_VALUES], &mut bytes);
            let mut elements = Vec::new();
            append_elements(&mut snap::raw::Encoder::new(), &bytes, &mut elements)?;
            Ok(elements)
        });
        out.extend_from_slice(elements.as_ref().map_err(Clone::clone)?);
        at += FRAGMENT_VALUES;
    }
    if at < end {
        piece.clear();
        le_bytes(&series[at..end], &mut piece);
        append_elements(&mut encoder, &piece, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Vec<f64> {
        // Prices on a third-of-a-tick grid, as TYPPRICE is: runs of repeating mantissa bytes.
        (0..n)
            .map(|i| 1500.0 + ((i * 7919) % 3001) as f64 * 0.05 / 3.0)
            .collect()
    }

    fn plain(levels: &[u8], values: &[f64]) -> Vec<u8> {
        let mut bytes = levels.to_vec();
        le_bytes(values, &mut bytes);
        bytes
    }

    #[test]
    fn windows_decompress_to_their_values_and_reuse_fragments() {
        let s = series(5 * FRAGMENT_VALUES + 123);
        let cache = FragmentCache::default();
        let levels = [2u8, 0, 0, 0, 3, 1];
        let cases = [
            (0, s.len()),
            (0, 10),
            (7, FRAGMENT_VALUES),
            (FRAGMENT_VALUES, 2 * FRAGMENT_VALUES),
            (FRAGMENT_VALUES - 1, 3 * FRAGMENT_VALUES + 2),
            (s.len() - 1, 1),
            (5, 0),
        ];
        for (start, n) in cases {
            let got = compress_window(&cache, &s, start, n, &levels).unwrap();
            let expected = plain(&levels, &s[start..start + n]);
            let back = snap::raw::Decoder::new().decompress_vec(&got).unwrap();
            assert_eq!(back, expected, "window {start} + {n}");
        }
        // One series, several windows: its fragments were compressed once and shared.
        assert_eq!(cache.series.lock().unwrap().len(), 1);
        let fragments = cache.fragments_of(&s);
        let done = fragments.compressed.iter().filter(|f| f.get().is_some());
        assert_eq!(done.count(), 5);
        // The window of the whole series is as small as compressing it whole (blocks at the
        // same offsets, plus the level bytes).
        let whole = compress_window(&cache, &s, 0, s.len(), &[]).unwrap();
        let direct = snap::raw::Encoder::new()
            .compress_vec(&plain(&[], &s))
            .unwrap();
        assert_eq!(whole, direct);
    }
}
