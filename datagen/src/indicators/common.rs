//! What the indicators share: TA-Lib's zero tests and clamps, the true range, the raw
//! stochastic %K, and a window of a series' last values.

pub(super) const NAN: f64 = f64::NAN;

/// TA-Lib's `TA_IS_ZERO`.
pub(super) fn is_zero(v: f64) -> bool {
    -0.000_000_01 < v && v < 0.000_000_01
}

/// TA-Lib's `TA_IS_ZERO_OR_NEG`.
pub(super) fn is_zero_or_neg(v: f64) -> bool {
    v < 0.000_000_01
}

/// The last values of a series, addressed by how far back they are.
#[derive(Debug, Clone)]
pub(super) struct Window {
    pub(super) buf: Vec<f64>,
    pub(super) mask: usize,
    pub(super) len: usize,
}

impl Window {
    pub(super) fn new(min_capacity: usize) -> Self {
        let cap = min_capacity.next_power_of_two();
        Window {
            buf: vec![0.0; cap],
            mask: cap - 1,
            len: 0,
        }
    }

    pub(super) fn push(&mut self, x: f64) {
        self.buf[self.len & self.mask] = x;
        self.len += 1;
    }

    /// The value `k` pushes ago (`back(0)` is the latest).
    pub(super) fn back(&self, k: usize) -> f64 {
        debug_assert!(k < self.len && k <= self.mask);
        self.buf[(self.len - 1 - k) & self.mask]
    }

    pub(super) fn max_min(&self, n: usize) -> (f64, f64) {
        let mut hi = f64::NEG_INFINITY;
        let mut lo = f64::INFINITY;
        for k in 0..n {
            let v = self.back(k);
            hi = hi.max(v);
            lo = lo.min(v);
        }
        (hi, lo)
    }
}

/// TA-Lib's `if (a < b) a = b;` clamps, spelled out because `f64::max` differs on NaN and
/// signed zeros.
pub(super) trait Clamp {
    fn max_if_greater(self, other: f64) -> f64;
    fn min_if_smaller(self, other: f64) -> f64;
}

impl Clamp for f64 {
    fn max_if_greater(self, other: f64) -> f64 {
        if self < other {
            other
        } else {
            self
        }
    }

    fn min_if_smaller(self, other: f64) -> f64 {
        if self > other {
            other
        } else {
            self
        }
    }
}

/// TA-Lib's `TRUE_RANGE` macro.
pub(super) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut range = high - low;
    let t = (high - prev_close).abs();
    if t > range {
        range = t;
    }
    let t = (low - prev_close).abs();
    if t > range {
        range = t;
    }
    range
}

/// TA-Lib's raw stochastic %K over `n` bars: `(close - lowest) / ((highest - lowest) / 100)`.
pub(super) fn raw_k(close: f64, highest: f64, lowest: f64) -> f64 {
    let diff = (highest - lowest) / 100.0;
    if diff != 0.0 {
        (close - lowest) / diff
    } else {
        0.0
    }
}
