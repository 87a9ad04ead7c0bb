//! The training data in the form every tree reads, built once per forest: each feature's rows
//! sorted by value as list entries (a 4-byte row id whose top bit says "same value as the
//! previous entry", see `kernels::SAME`), the values by row (for exact thresholds), and the
//! target quantised to integers.

use crate::kernels::{self, SAME};
use crate::Matrix;
use rayon::prelude::*;

const LOW: u64 = 0xFFFF_FFFF;

/// The training data in the form every tree reads.
pub(crate) struct Presorted {
    pub(crate) n_rows: usize,
    pub(crate) n_features: usize,
    /// Feature `f` occupies `sorted[f * n_rows..][..n_rows]`: its rows in ascending order of
    /// value, as list entries (`kernels::SAME` set on a row whose value equals the previous
    /// one's), where rows are numbered in the order of feature 0 (not the matrix order).
    sorted: Vec<u32>,
    /// `values[f * n_rows + row]`: feature f's value of (renamed) row `row`.
    values: Vec<f32>,
    /// `(y - offset) * scale`, rounded, by renamed row.
    pub(crate) qy: Vec<i64>,
    pub(crate) offset: f64,
    pub(crate) scale: f64,
}

/// Sorts `(key << 32) | row` entries that are in row order by key, keeping row order among
/// equal keys: the same order as sorting the whole `u64`s. LSD radix sort on the 32 key bits,
/// 11 bits a pass, skipping passes where every key has the same digit (prices share their top
/// bits); several times faster than a comparison sort at 450k rows.
fn sort_by_high_half(keys: &mut [u64]) {
    const BITS: u32 = 11;
    let mut tmp = vec![0u64; keys.len()];
    let (mut src, mut dst) = (&mut *keys, &mut tmp[..]);
    let mut in_tmp = false;
    for shift in [32u32, 32 + BITS, 32 + 2 * BITS] {
        let digit = |k: u64| ((k >> shift) & ((1 << BITS) - 1)) as usize;
        let mut count = vec![0usize; 1 << BITS];
        for &k in src.iter() {
            count[digit(k)] += 1;
        }
        if count.contains(&src.len()) {
            continue;
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            (*c, sum) = (sum, sum + *c);
        }
        for &k in src.iter() {
            let d = digit(k);
            dst[count[d]] = k;
            count[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        in_tmp = !in_tmp;
    }
    if in_tmp {
        dst.copy_from_slice(src);
    }
}

/// Order-preserving map of a finite `f32` to `u32`.
fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

impl Presorted {
    /// `x` and `y` must already be validated (finite, same length, at least one row, fewer
    /// than 2^32 rows).
    pub(crate) fn new(x: &Matrix, y: &[f64]) -> Self {
        let n = x.n_rows();
        let n_features = x.n_features();
        let mut keys = vec![0u64; n * n_features];
        keys.par_chunks_mut(n).enumerate().for_each(|(f, keys)| {
            for (row, (k, &v)) in keys.iter_mut().zip(x.column(f)).enumerate() {
                *k = (u64::from(ordered_bits(v)) << 32) | row as u64;
            }
            sort_by_high_half(keys);
        });

        // Centre on the midrange (smallest largest deviation), then scale so that a weighted
        // value (weight at most 4095, or n) stays below 2^45, as a packed payload needs, and a
        // sum over all rows (total weight n) below 2^53, where f64 is exact. At 450k rows the
        // step is 1.2e-10 of the target's half-range (1.2e-7 for prices of 1000 ± 1000).
        let (lo, hi) = y
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let offset = lo / 2.0 + hi / 2.0;
        let spread = y.iter().fold(0.0f64, |m, &v| m.max((v - offset).abs()));
        let n64 = n as u64;
        let max_weight = n64.min(u64::from(kernels::MAX_WEIGHT));
        let qmax = ((1u64 << 45) / max_weight).min((1u64 << 53) / n64) - 1;
        let qmax = qmax as f64;
        let scale = if spread > 0.0 { qmax / spread } else { 1.0 };
        // Rows are renamed by their position in the first feature's order, so that lists built
        // per tree read their per-row tables in nearly sequential order when features are
        // correlated (here all are prices).
        let mut rename = vec![0u32; n];
        for (pos, &k) in keys[..n].iter().enumerate() {
            rename[(k & LOW) as usize] = pos as u32;
        }
        let mut sorted = vec![0u32; n * n_features];
        let mut values = vec![0f32; n * n_features];
        sorted
            .par_chunks_mut(n)
            .zip(values.par_chunks_mut(n))
            .zip(keys.par_chunks(n))
            .enumerate()
            .for_each(|(f, ((entries, values), keys))| {
                let col = x.column(f);
                let mut last = None;
                for (entry, &k) in entries.iter_mut().zip(keys) {
                    let row = (k & LOW) as usize;
                    let v = col[row];
                    // `==`, not bits: -0.0 and 0.0 are one value, as a threshold sees them.
                    let same = last == Some(v);
                    last = Some(v);
                    *entry = rename[row] | if same { SAME } else { 0 };
                    values[rename[row] as usize] = v;
                }
            });
        drop(keys);
        let mut qy = vec![0i64; n];
        for (row, &v) in y.iter().enumerate() {
            qy[rename[row] as usize] = ((v - offset) * scale).round() as i64;
        }
        Presorted {
            n_rows: n,
            n_features,
            sorted,
            values,
            qy,
            offset,
            scale,
        }
    }

    pub(crate) fn sorted(&self, f: usize) -> &[u32] {
        &self.sorted[f * self.n_rows..(f + 1) * self.n_rows]
    }

    /// `f32` threshold between the values of two rows on either side of a split (adjacent in
    /// the node, as scikit-learn takes them): the midpoint, or the lower value if the midpoint
    /// rounds up to the upper one, so `lower <= t < upper` always holds.
    pub(crate) fn threshold(&self, f: usize, lower: u32, upper: u32) -> f32 {
        let a = self.values[f * self.n_rows + lower as usize];
        let b = self.values[f * self.n_rows + upper as usize];
        let t = ((f64::from(a) + f64::from(b)) / 2.0) as f32;
        if t >= b {
            a
        } else {
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::row;
    use crate::rng::Rng;

    #[test]
    fn radix_sort_matches_a_comparison_sort() {
        let mut rng = Rng::new(8);
        for (n, spread) in [
            (0usize, 1u64),
            (1, 1),
            (1000, 3),
            (5000, 1 << 20),
            (5000, 1 << 32),
        ] {
            let mut keys: Vec<u64> = (0..n as u64)
                .map(|row| ((rng.next_u64() % spread) << 32) | row)
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_by_high_half(&mut keys);
            assert_eq!(keys, expected, "n {n} spread {spread}");
        }
    }

    #[test]
    fn thresholds_fall_between_the_values_they_separate() {
        let x = Matrix::from_columns(
            vec!["a".into()],
            vec![vec![
                1500.0,
                1500.0166666,
                1500.0333333,
                16_777_216.0,
                16_777_218.0,
            ]],
        )
        .unwrap();
        let ds = Presorted::new(&x, &[0.0; 5]);
        // Rows are renamed in value order, which here is the given order.
        let v = |r: u32| ds.values[r as usize];
        for r in 0..4u32 {
            let t = ds.threshold(0, r, r + 1);
            assert!(v(r) <= t && t < v(r + 1), "{} {t} {}", v(r), v(r + 1));
        }
        // Not adjacent in the dataset, adjacent in a node: the midpoint of the node's values.
        assert_eq!(
            ds.threshold(0, 0, 3),
            ((1500.0 + 16_777_216.0) / 2.0) as f32
        );
    }

    #[test]
    fn dataset_lists_mark_ties_with_the_previous_entry() {
        let x = Matrix::from_columns(
            vec!["a".into(), "b".into()],
            vec![
                vec![3.0, 1.0, 3.0, 2.0, 1.0],
                vec![-0.0, 5.0, 0.0, 5.0, 5.0],
            ],
        )
        .unwrap();
        let ds = Presorted::new(&x, &[0.0; 5]);
        // Feature a in value order: rows 1, 4 (value 1), 3 (2), 0, 2 (3), renamed 0..5.
        assert_eq!(ds.sorted(0), &[0, 1 | SAME, 2, 3, 4 | SAME]);
        // Feature b: rows 0 and 2 (-0.0 and 0.0 are one value), then 1, 3, 4 (5.0).
        let b: Vec<f32> = ds
            .sorted(1)
            .iter()
            .map(|&e| ds.values[5 + row(e) as usize])
            .collect();
        assert_eq!(b, [0.0, 0.0, 5.0, 5.0, 5.0]);
        let same: Vec<bool> = ds.sorted(1).iter().map(|&e| e & SAME != 0).collect();
        assert_eq!(same, [false, true, false, true, true]);
    }
}
