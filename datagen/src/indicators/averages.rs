//! Moving averages and their kin: SMA, EMA, MACD, standard deviation (Bollinger bands), TRIMA,
//! KAMA.

use super::common::*;

/// `TA_INT_SMA`: a running total, added to before and trimmed after each output.
#[derive(Debug, Clone)]
pub(super) struct Sma {
    pub(super) n: usize,
    pub(super) total: f64,
    pub(super) win: Window,
}

impl Sma {
    pub(super) fn new(n: usize) -> Self {
        Sma {
            n,
            total: 0.0,
            win: Window::new(n),
        }
    }

    pub(super) fn update(&mut self, x: f64) -> f64 {
        self.win.push(x);
        self.total += x;
        if self.win.len < self.n {
            return NAN;
        }
        let value = self.total;
        self.total -= self.win.back(self.n - 1);
        value / self.n as f64
    }
}

/// `TA_INT_EMA` seeded (TA-Lib default compatibility) with the SMA of the `n` values ending
/// at bar `seed_at`; `seed_at` is `n - 1` for a plain EMA and later inside MACD.
#[derive(Debug, Clone)]
pub(super) struct Ema {
    pub(super) n: usize,
    pub(super) k: f64,
    pub(super) seed_at: usize,
    pub(super) win: Window,
    pub(super) prev: f64,
}

impl Ema {
    pub(super) fn new(n: usize, seed_at: usize) -> Self {
        Ema {
            n,
            k: 2.0 / (n as f64 + 1.0),
            seed_at,
            win: Window::new(n),
            prev: NAN,
        }
    }

    pub(super) fn update(&mut self, x: f64) -> f64 {
        let t = self.win.len;
        self.win.push(x);
        if t < self.seed_at {
            return NAN;
        }
        if t == self.seed_at {
            let mut sum = 0.0;
            for k in (0..self.n).rev() {
                sum += self.win.back(k);
            }
            self.prev = sum / self.n as f64;
        } else {
            self.prev += (x - self.prev) * self.k;
        }
        self.prev
    }
}

/// `TA_MACD`'s MACD line: EMA(fast) − EMA(slow), both seeded at the slow EMA's first bar,
/// output once the (unused) signal EMA(9) would have its first value.
#[derive(Debug, Clone)]
pub(super) struct Macd {
    pub(super) fast: Ema,
    pub(super) slow: Ema,
    pub(super) lookback: usize,
    pub(super) t: usize,
}

impl Macd {
    pub(super) fn new(fast: usize, slow: usize) -> Self {
        Macd {
            fast: Ema::new(fast, slow - 1),
            slow: Ema::new(slow, slow - 1),
            lookback: (slow - 1) + (9 - 1),
            t: 0,
        }
    }

    pub(super) fn update(&mut self, x: f64) -> f64 {
        let slow = self.slow.update(x);
        let fast = self.fast.update(x);
        let t = self.t;
        self.t += 1;
        if t < self.lookback {
            NAN
        } else {
            fast - slow
        }
    }
}

/// `TA_BBANDS(5, 2, 2, SMA)`'s standard deviation from a running sum of squares; the middle
/// band is the SMA itself.
#[derive(Debug, Clone)]
pub(super) struct StdDev {
    pub(super) n: usize,
    pub(super) total2: f64,
    pub(super) win: Window,
}

impl StdDev {
    pub(super) fn new(n: usize) -> Self {
        StdDev {
            n,
            total2: 0.0,
            win: Window::new(n),
        }
    }

    pub(super) fn update(&mut self, x: f64, mean: f64) -> f64 {
        self.win.push(x);
        self.total2 += x * x;
        if self.win.len < self.n {
            return NAN;
        }
        let mut mean2 = self.total2 / self.n as f64;
        let old = self.win.back(self.n - 1);
        self.total2 -= old * old;
        mean2 -= mean * mean;
        if is_zero_or_neg(mean2) {
            0.0
        } else {
            mean2.sqrt()
        }
    }
}

/// `TA_TRIMA`'s incremental numerator (two running partial sums around the middle bar).
#[derive(Debug, Clone)]
pub(super) struct Trima {
    pub(super) n: usize,
    pub(super) half: usize,
    pub(super) factor: f64,
    pub(super) numerator: f64,
    pub(super) sub: f64,
    pub(super) add: f64,
    pub(super) win: Window,
}

impl Trima {
    pub(super) fn new(n: usize) -> Self {
        let half = n >> 1;
        let weight = if n % 2 == 1 {
            (half + 1) * (half + 1)
        } else {
            half * (half + 1)
        };
        Trima {
            n,
            half,
            factor: 1.0 / weight as f64,
            numerator: 0.0,
            sub: 0.0,
            add: 0.0,
            win: Window::new(n + 1),
        }
    }

    pub(super) fn update(&mut self, x: f64) -> f64 {
        self.win.push(x);
        let t = self.win.len - 1;
        let n = self.n;
        if t + 1 < n {
            return NAN;
        }
        let odd = n % 2 == 1;
        if t + 1 == n {
            // Bars 0..n-1 are back(n-1)..back(0). The middle bar is h (odd) or h-1 (even).
            let middle = if odd { self.half } else { self.half - 1 };
            for i in (0..=middle).rev() {
                self.sub += self.win.back(n - 1 - i);
                self.numerator += self.sub;
            }
            for i in middle + 1..n {
                self.add += self.win.back(n - 1 - i);
                self.numerator += self.add;
            }
            return self.numerator * self.factor;
        }
        let trailing = self.win.back(n);
        let middle = self.win.back(self.half);
        self.numerator -= self.sub;
        self.sub -= trailing;
        self.sub += middle;
        if odd {
            self.numerator += self.add;
            self.add -= middle;
        } else {
            self.add -= middle;
            self.numerator += self.add;
        }
        self.add += x;
        self.numerator += x;
        self.numerator * self.factor
    }
}

/// `TA_KAMA(n)` with the fixed fast (2) and slow (30) constants.
#[derive(Debug, Clone)]
pub(super) struct Kama {
    pub(super) n: usize,
    pub(super) sum_roc1: f64,
    pub(super) prev: f64,
    pub(super) trailing: f64,
}

impl Kama {
    const CONST_MAX: f64 = 2.0 / (30.0 + 1.0);
    const CONST_DIFF: f64 = 2.0 / (2.0 + 1.0) - Self::CONST_MAX;

    pub(super) fn new(n: usize) -> Self {
        Kama {
            n,
            sum_roc1: 0.0,
            prev: NAN,
            trailing: 0.0,
        }
    }

    /// `close` holds the series with the current bar pushed (at least 64 deep).
    pub(super) fn update(&mut self, close: &Window) -> f64 {
        let t = close.len - 1;
        let n = self.n;
        if t == 0 {
            return NAN;
        }
        let x = close.back(0);
        if t <= n {
            self.sum_roc1 += (close.back(1) - x).abs();
            if t < n {
                return NAN;
            }
            self.prev = close.back(1);
            let first = close.back(n);
            self.trailing = first;
            return self.step(x, x - first);
        }
        let old = close.back(n);
        self.sum_roc1 -= (self.trailing - old).abs();
        self.sum_roc1 += (x - close.back(1)).abs();
        self.trailing = old;
        self.step(x, x - old)
    }

    pub(super) fn step(&mut self, x: f64, period_roc: f64) -> f64 {
        let er = if self.sum_roc1 <= period_roc || is_zero(self.sum_roc1) {
            1.0
        } else {
            (period_roc / self.sum_roc1).abs()
        };
        let mut sc = er * Self::CONST_DIFF + Self::CONST_MAX;
        sc *= sc;
        self.prev += (x - self.prev) * sc;
        self.prev
    }
}
