//! Small deterministic data sets for the integration tests.
#![allow(dead_code)]

use forest::{ForestParams, Matrix};

/// A tiny xorshift generator: tests need reproducible data, not statistical quality.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (sum of uniforms), mean 0, sd 1.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.next_f64()).sum::<f64>() - 6.0
    }
}

pub fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("x{i}")).collect()
}

/// `n_features` uniform columns on [0, 1) and the target `f(row)`.
pub fn uniform(
    n_rows: usize,
    n_features: usize,
    seed: u64,
    f: impl Fn(&[f64], &mut Lcg) -> f64,
) -> (Matrix, Vec<f64>) {
    let mut rng = Lcg::new(seed);
    let mut cols = vec![Vec::with_capacity(n_rows); n_features];
    let mut y = Vec::with_capacity(n_rows);
    let mut row = vec![0.0; n_features];
    for _ in 0..n_rows {
        for (c, v) in cols.iter_mut().zip(row.iter_mut()) {
            *v = rng.next_f64();
            c.push(*v);
        }
        y.push(f(&row, &mut rng));
    }
    (Matrix::from_columns(names(n_features), cols).unwrap(), y)
}

/// A price-like random walk: feature 0 is the price, features 1.. its lags, target the next
/// price, rows shuffled — a small version of the groves data.
pub fn prices(n_rows: usize, n_lags: usize, seed: u64) -> (Matrix, Vec<f64>) {
    let mut rng = Lcg::new(seed);
    let total = n_rows + n_lags + 1;
    let mut p = vec![1500.0f64];
    for _ in 1..total {
        let last = *p.last().unwrap();
        p.push(((last * (1.0 + 0.0005 * rng.normal())) / 0.05).round() * 0.05);
    }
    let mut idx: Vec<usize> = (n_lags..total - 1).collect();
    for i in (1..idx.len()).rev() {
        let j = (rng.next_f64() * (i + 1) as f64) as usize;
        idx.swap(i, j);
    }
    let cols: Vec<Vec<f64>> = (0..=n_lags)
        .map(|l| idx.iter().map(|&t| p[t - l]).collect())
        .collect();
    let y = idx.iter().map(|&t| p[t + 1]).collect();
    (Matrix::from_columns(names(n_lags + 1), cols).unwrap(), y)
}

pub fn params(n_estimators: usize, max_features: usize, seed: u64) -> ForestParams {
    ForestParams {
        n_estimators,
        max_features,
        seed,
        n_threads: Some(2),
        ..ForestParams::default()
    }
}

pub fn mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64
}
