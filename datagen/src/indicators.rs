//! The dataset's 54 indicator columns, computed bar by bar (streaming, O(1) memory per
//! indicator) as ports of TA-Lib 0.4's C code — the version the Kaggle dataset was built
//! with — using the parameters the column names imply and TA-Lib's defaults otherwise.
//!
//! Every port, HT_TRENDLINE and HT_DCPERIOD included, is a full port of TA-Lib's algorithm
//! (no simplification): same seeding, same lookback (so the same leading empty cells), same
//! order of floating-point operations, running sums included. Where TA-Lib releases differ,
//! this follows 0.4: the EMA step is `prev + (x - prev) * k`, CCI treats only an exact zero
//! deviation as a flat window, and typical prices one ulp apart count as a move in MFI.
//!
//! Checked against the TA-Lib Python package (C library 0.8.1) with
//! `tools/crosscheck_talib.py`: identical empty cells everywhere, values bit-identical or
//! within 1e-9 relative, except where 0.8 changed 0.4's arithmetic (Bollinger bands'
//! running sum of squares drifts up to ~1e-7 relative over 700k rows in 0.4; MFI, CCI and
//! STOCHRSI on flat windows; BETA when its denominator sits at TA_IS_ZERO's 1e-8).

const NAN: f64 = f64::NAN;

/// The indicator columns in the order of the current layout (`CURRENT_COLUMNS[6..]`).
pub const INDICATOR_COLUMNS: [&str; 54] = [
    "sma5",
    "sma10",
    "sma15",
    "sma20",
    "ema5",
    "ema10",
    "ema15",
    "ema20",
    "upperband",
    "middleband",
    "lowerband",
    "HT_TRENDLINE",
    "KAMA10",
    "KAMA20",
    "KAMA30",
    "SAR",
    "TRIMA5",
    "TRIMA10",
    "TRIMA20",
    "ADX5",
    "ADX10",
    "ADX20",
    "APO",
    "CCI5",
    "CCI10",
    "CCI15",
    "macd510",
    "macd520",
    "macd1020",
    "macd1520",
    "macd1226",
    "MFI",
    "MOM10",
    "MOM15",
    "MOM20",
    "ROC5",
    "ROC10",
    "ROC20",
    "PPO",
    "RSI14",
    "RSI8",
    "slowk",
    "slowd",
    "fastk",
    "fastd",
    "fastksr",
    "fastdsr",
    "ULTOSC",
    "WILLR",
    "ATR",
    "Trange",
    "TYPPRICE",
    "HT_DCPERIOD",
    "BETA",
];

/// TA-Lib's lookback of each column of [`INDICATOR_COLUMNS`]: the number of leading rows
/// left empty.
pub const INDICATOR_LOOKBACKS: [usize; 54] = [
    4,  // sma5
    9,  // sma10
    14, // sma15
    19, // sma20
    4,  // ema5
    9,  // ema10
    14, // ema15
    19, // ema20
    4,  // upperband: BBANDS(5)
    4,  // middleband
    4,  // lowerband
    63, // HT_TRENDLINE
    10, // KAMA10
    20, // KAMA20
    30, // KAMA30
    1,  // SAR
    4,  // TRIMA5
    9,  // TRIMA10
    19, // TRIMA20
    9,  // ADX5: 2n - 1
    19, // ADX10
    39, // ADX20
    25, // APO(12, 26)
    4,  // CCI5
    9,  // CCI10
    14, // CCI15
    17, // macd510: (slow - 1) + (signal 9 - 1)
    27, // macd520
    27, // macd1020
    27, // macd1520
    33, // macd1226
    14, // MFI
    10, // MOM10
    15, // MOM15
    20, // MOM20
    5,  // ROC5
    10, // ROC10
    20, // ROC20
    25, // PPO(12, 26)
    14, // RSI14
    8,  // RSI8
    8,  // slowk: STOCH(5, 3, 3) = 4 + 2 + 2
    8,  // slowd
    6,  // fastk: STOCHF(5, 3) = 4 + 2
    6,  // fastd
    20, // fastksr: STOCHRSI(14, 5, 3) = 14 + 6
    20, // fastdsr
    28, // ULTOSC(7, 14, 28)
    13, // WILLR(14)
    14, // ATR(14)
    1,  // Trange
    0,  // TYPPRICE
    32, // HT_DCPERIOD
    5,  // BETA(5)
];

/// The number of leading empty rows of a dataset column (0 for date, prices, volume and
/// TYPPRICE); `None` for a name that is not a dataset column.
pub fn lookback(column: &str) -> Option<usize> {
    if matches!(
        column,
        "date" | "open" | "high" | "low" | "close" | "volume"
    ) {
        return Some(0);
    }
    INDICATOR_COLUMNS
        .iter()
        .position(|c| *c == column)
        .map(|i| INDICATOR_LOOKBACKS[i])
}

/// TA-Lib's `TA_IS_ZERO`.
fn is_zero(v: f64) -> bool {
    -0.000_000_01 < v && v < 0.000_000_01
}

/// TA-Lib's `TA_IS_ZERO_OR_NEG`.
fn is_zero_or_neg(v: f64) -> bool {
    v < 0.000_000_01
}

/// The last values of a series, addressed by how far back they are.
#[derive(Debug, Clone)]
struct Window {
    buf: Vec<f64>,
    mask: usize,
    len: usize,
}

impl Window {
    fn new(min_capacity: usize) -> Self {
        let cap = min_capacity.next_power_of_two();
        Window {
            buf: vec![0.0; cap],
            mask: cap - 1,
            len: 0,
        }
    }

    fn push(&mut self, x: f64) {
        self.buf[self.len & self.mask] = x;
        self.len += 1;
    }

    /// The value `k` pushes ago (`back(0)` is the latest).
    fn back(&self, k: usize) -> f64 {
        debug_assert!(k < self.len && k <= self.mask);
        self.buf[(self.len - 1 - k) & self.mask]
    }

    fn max_min(&self, n: usize) -> (f64, f64) {
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

/// `TA_INT_SMA`: a running total, added to before and trimmed after each output.
#[derive(Debug, Clone)]
struct Sma {
    n: usize,
    total: f64,
    win: Window,
}

impl Sma {
    fn new(n: usize) -> Self {
        Sma {
            n,
            total: 0.0,
            win: Window::new(n),
        }
    }

    fn update(&mut self, x: f64) -> f64 {
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
struct Ema {
    n: usize,
    k: f64,
    seed_at: usize,
    win: Window,
    prev: f64,
}

impl Ema {
    fn new(n: usize, seed_at: usize) -> Self {
        Ema {
            n,
            k: 2.0 / (n as f64 + 1.0),
            seed_at,
            win: Window::new(n),
            prev: NAN,
        }
    }

    fn update(&mut self, x: f64) -> f64 {
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
struct Macd {
    fast: Ema,
    slow: Ema,
    lookback: usize,
    t: usize,
}

impl Macd {
    fn new(fast: usize, slow: usize) -> Self {
        Macd {
            fast: Ema::new(fast, slow - 1),
            slow: Ema::new(slow, slow - 1),
            lookback: (slow - 1) + (9 - 1),
            t: 0,
        }
    }

    fn update(&mut self, x: f64) -> f64 {
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
struct StdDev {
    n: usize,
    total2: f64,
    win: Window,
}

impl StdDev {
    fn new(n: usize) -> Self {
        StdDev {
            n,
            total2: 0.0,
            win: Window::new(n),
        }
    }

    fn update(&mut self, x: f64, mean: f64) -> f64 {
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
struct Trima {
    n: usize,
    half: usize,
    factor: f64,
    numerator: f64,
    sub: f64,
    add: f64,
    win: Window,
}

impl Trima {
    fn new(n: usize) -> Self {
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

    fn update(&mut self, x: f64) -> f64 {
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
struct Kama {
    n: usize,
    sum_roc1: f64,
    prev: f64,
    trailing: f64,
}

impl Kama {
    const CONST_MAX: f64 = 2.0 / (30.0 + 1.0);
    const CONST_DIFF: f64 = 2.0 / (2.0 + 1.0) - Self::CONST_MAX;

    fn new(n: usize) -> Self {
        Kama {
            n,
            sum_roc1: 0.0,
            prev: NAN,
            trailing: 0.0,
        }
    }

    /// `close` holds the series with the current bar pushed (at least 64 deep).
    fn update(&mut self, close: &Window) -> f64 {
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

    fn step(&mut self, x: f64, period_roc: f64) -> f64 {
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

/// `TA_SAR(0.02, 0.2)`; the first bar only seeds it (direction from the bar-1 −DM).
#[derive(Debug, Clone)]
struct Sar {
    t: usize,
    is_long: bool,
    af: f64,
    ep: f64,
    sar: f64,
    new_high: f64,
    new_low: f64,
}

impl Sar {
    const ACCELERATION: f64 = 0.02;
    const MAXIMUM: f64 = 0.2;

    fn new() -> Self {
        Sar {
            t: 0,
            is_long: true,
            af: Self::ACCELERATION,
            ep: 0.0,
            sar: 0.0,
            new_high: 0.0,
            new_low: 0.0,
        }
    }

    fn update(&mut self, high: f64, low: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        if t == 0 {
            self.new_high = high;
            self.new_low = low;
            return NAN;
        }
        if t == 1 {
            // MINUS_DM(1) at bar 1 picks the direction; a tie means long.
            let diff_p = high - self.new_high;
            let diff_m = self.new_low - low;
            let minus_dm = if diff_m > 0.0 && diff_p < diff_m {
                diff_m
            } else {
                0.0
            };
            self.is_long = minus_dm <= 0.0;
            if self.is_long {
                self.ep = high;
                self.sar = self.new_low;
            } else {
                self.ep = low;
                self.sar = self.new_high;
            }
            // TA-Lib "cheats" so the first iteration's previous bar is bar 1 itself.
            self.new_high = high;
            self.new_low = low;
        }
        let prev_low = self.new_low;
        let prev_high = self.new_high;
        self.new_low = low;
        self.new_high = high;
        let out;
        if self.is_long {
            if low <= self.sar {
                self.is_long = false;
                self.sar = self.ep.max_if_greater(prev_high).max_if_greater(high);
                out = self.sar;
                self.af = Self::ACCELERATION;
                self.ep = low;
                self.sar += self.af * (self.ep - self.sar);
                self.sar = self.sar.max_if_greater(prev_high).max_if_greater(high);
            } else {
                out = self.sar;
                if high > self.ep {
                    self.ep = high;
                    self.af = (self.af + Self::ACCELERATION).min_if_smaller(Self::MAXIMUM);
                }
                self.sar += self.af * (self.ep - self.sar);
                self.sar = self.sar.min_if_smaller(prev_low).min_if_smaller(low);
            }
        } else if high >= self.sar {
            self.is_long = true;
            self.sar = self.ep.min_if_smaller(prev_low).min_if_smaller(low);
            out = self.sar;
            self.af = Self::ACCELERATION;
            self.ep = high;
            self.sar += self.af * (self.ep - self.sar);
            self.sar = self.sar.min_if_smaller(prev_low).min_if_smaller(low);
        } else {
            out = self.sar;
            if low < self.ep {
                self.ep = low;
                self.af = (self.af + Self::ACCELERATION).min_if_smaller(Self::MAXIMUM);
            }
            self.sar += self.af * (self.ep - self.sar);
            self.sar = self.sar.max_if_greater(prev_high).max_if_greater(high);
        }
        out
    }
}

/// TA-Lib's `if (a < b) a = b;` clamps, spelled out because `f64::max` differs on NaN and
/// signed zeros.
trait Clamp {
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
fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
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

/// `TA_ADX(n)`: Wilder-smoothed ±DM and TR, DX summed over n bars, then Wilder-smoothed.
#[derive(Debug, Clone)]
struct Adx {
    n: usize,
    t: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    minus_dm: f64,
    plus_dm: f64,
    tr: f64,
    sum_dx: f64,
    adx: f64,
}

impl Adx {
    fn new(n: usize) -> Self {
        Adx {
            n,
            t: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            minus_dm: 0.0,
            plus_dm: 0.0,
            tr: 0.0,
            sum_dx: 0.0,
            adx: 0.0,
        }
    }

    fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        let nf = self.n as f64;
        if t == 0 {
            self.prev_high = high;
            self.prev_low = low;
            self.prev_close = close;
            return NAN;
        }
        let diff_p = high - self.prev_high;
        self.prev_high = high;
        let diff_m = self.prev_low - low;
        self.prev_low = low;
        let smoothing = t >= self.n;
        if smoothing {
            self.minus_dm -= self.minus_dm / nf;
            self.plus_dm -= self.plus_dm / nf;
        }
        if diff_m > 0.0 && diff_p < diff_m {
            self.minus_dm += diff_m;
        } else if diff_p > 0.0 && diff_p > diff_m {
            self.plus_dm += diff_p;
        }
        let tr = true_range(self.prev_high, self.prev_low, self.prev_close);
        if smoothing {
            self.tr = self.tr - self.tr / nf + tr;
        } else {
            self.tr += tr;
        }
        self.prev_close = close;
        if !smoothing {
            return NAN;
        }
        let mut dx = None;
        if !is_zero(self.tr) {
            let minus_di = 100.0 * (self.minus_dm / self.tr);
            let plus_di = 100.0 * (self.plus_dm / self.tr);
            let sum = minus_di + plus_di;
            if !is_zero(sum) {
                dx = Some(100.0 * ((minus_di - plus_di).abs() / sum));
            }
        }
        let first_output = 2 * self.n - 1;
        if t < first_output {
            self.sum_dx += dx.unwrap_or(0.0);
            NAN
        } else if t == first_output {
            self.sum_dx += dx.unwrap_or(0.0);
            self.adx = self.sum_dx / nf;
            self.adx
        } else {
            if let Some(dx) = dx {
                self.adx = (self.adx * (nf - 1.0) + dx) / nf;
            }
            self.adx
        }
    }
}

/// `TA_CCI(n)`: typical prices in a circular buffer summed in slot order, as TA-Lib does.
#[derive(Debug, Clone)]
struct Cci {
    n: usize,
    t: usize,
    buf: Vec<f64>,
}

impl Cci {
    fn new(n: usize) -> Self {
        Cci {
            n,
            t: 0,
            buf: vec![0.0; n],
        }
    }

    fn update(&mut self, tp: f64) -> f64 {
        let n = self.n;
        self.buf[self.t % n] = tp;
        self.t += 1;
        if self.t < n {
            return NAN;
        }
        let mut average = 0.0;
        for v in &self.buf {
            average += v;
        }
        average /= n as f64;
        let mut dev = 0.0;
        for v in &self.buf {
            dev += (v - average).abs();
        }
        let delta = tp - average;
        if delta != 0.0 && dev != 0.0 {
            delta / (0.015 * (dev / n as f64))
        } else {
            0.0
        }
    }
}

/// `TA_MFI(14)`: money flows kept per bar so the oldest can be taken off the sums.
#[derive(Debug, Clone)]
struct Mfi {
    n: usize,
    t: usize,
    prev_tp: f64,
    pos_sum: f64,
    neg_sum: f64,
    flows: Vec<(f64, f64)>,
}

impl Mfi {
    fn new(n: usize) -> Self {
        Mfi {
            n,
            t: 0,
            prev_tp: 0.0,
            pos_sum: 0.0,
            neg_sum: 0.0,
            flows: vec![(0.0, 0.0); n],
        }
    }

    fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        let tp = (high + low + close) / 3.0;
        if t == 0 {
            self.prev_tp = tp;
            return NAN;
        }
        let slot = (t - 1) % self.n;
        if t > self.n {
            self.pos_sum -= self.flows[slot].0;
            self.neg_sum -= self.flows[slot].1;
        }
        let change = tp - self.prev_tp;
        self.prev_tp = tp;
        let flow = tp * volume;
        self.flows[slot] = if change < 0.0 {
            self.neg_sum += flow;
            (0.0, flow)
        } else if change > 0.0 {
            self.pos_sum += flow;
            (flow, 0.0)
        } else {
            (0.0, 0.0)
        };
        if t < self.n {
            return NAN;
        }
        let total = self.pos_sum + self.neg_sum;
        if total < 1.0 {
            0.0
        } else {
            100.0 * (self.pos_sum / total)
        }
    }
}

/// `TA_RSI(n)` with Wilder smoothing (TA-Lib default compatibility, no unstable period).
#[derive(Debug, Clone)]
struct Rsi {
    n: usize,
    t: usize,
    prev_value: f64,
    gain: f64,
    loss: f64,
}

impl Rsi {
    fn new(n: usize) -> Self {
        Rsi {
            n,
            t: 0,
            prev_value: 0.0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    fn update(&mut self, x: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        let nf = self.n as f64;
        if t == 0 {
            self.prev_value = x;
            return NAN;
        }
        let diff = x - self.prev_value;
        self.prev_value = x;
        if t > self.n {
            self.loss *= nf - 1.0;
            self.gain *= nf - 1.0;
        }
        if diff < 0.0 {
            self.loss -= diff;
        } else {
            self.gain += diff;
        }
        if t < self.n {
            return NAN;
        }
        self.loss /= nf;
        self.gain /= nf;
        let total = self.gain + self.loss;
        if is_zero(total) {
            0.0
        } else {
            100.0 * (self.gain / total)
        }
    }
}

/// TA-Lib's raw stochastic %K over `n` bars: `(close - lowest) / ((highest - lowest) / 100)`.
fn raw_k(close: f64, highest: f64, lowest: f64) -> f64 {
    let diff = (highest - lowest) / 100.0;
    if diff != 0.0 {
        (close - lowest) / diff
    } else {
        0.0
    }
}

/// `TA_STOCHF(5, 3, SMA)` on one series (used by STOCHRSI on the RSI).
#[derive(Debug, Clone)]
struct StochF {
    n: usize,
    win: Window,
    d: Sma,
}

impl StochF {
    fn new(k: usize, d: usize) -> Self {
        StochF {
            n: k,
            win: Window::new(k),
            d: Sma::new(d),
        }
    }

    /// (fast %K, fast %D), both NaN until %D exists.
    fn update(&mut self, x: f64) -> (f64, f64) {
        self.win.push(x);
        if self.win.len < self.n {
            return (NAN, NAN);
        }
        let (hi, lo) = self.win.max_min(self.n);
        let k = raw_k(x, hi, lo);
        let d = self.d.update(k);
        if d.is_nan() {
            (NAN, NAN)
        } else {
            (k, d)
        }
    }
}

/// `TA_BETA(x, y, n)` on bar-to-bar returns, with running sums.
#[derive(Debug, Clone)]
struct Beta {
    n: usize,
    t: usize,
    last_x: f64,
    last_y: f64,
    rets: Vec<(f64, f64)>,
    s_xx: f64,
    s_xy: f64,
    s_x: f64,
    s_y: f64,
}

impl Beta {
    fn new(n: usize) -> Self {
        Beta {
            n,
            t: 0,
            last_x: 0.0,
            last_y: 0.0,
            rets: vec![(0.0, 0.0); n],
            s_xx: 0.0,
            s_xy: 0.0,
            s_x: 0.0,
            s_y: 0.0,
        }
    }

    fn ret(value: f64, last: f64) -> f64 {
        if is_zero(last) {
            0.0
        } else {
            (value - last) / last
        }
    }

    fn update(&mut self, x_price: f64, y_price: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        if t == 0 {
            self.last_x = x_price;
            self.last_y = y_price;
            return NAN;
        }
        let x = Self::ret(x_price, self.last_x);
        self.last_x = x_price;
        let y = Self::ret(y_price, self.last_y);
        self.last_y = y_price;
        self.rets[t % self.n] = (x, y);
        self.s_xx += x * x;
        self.s_xy += x * y;
        self.s_x += x;
        self.s_y += y;
        if t < self.n {
            return NAN;
        }
        let n = self.n as f64;
        let den = n * self.s_xx - self.s_x * self.s_x;
        let out = if is_zero(den) {
            0.0
        } else {
            (n * self.s_xy - self.s_x * self.s_y) / den
        };
        // The oldest return in the window (bar t - n + 1) leaves the sums.
        let (ox, oy) = self.rets[(t + 1) % self.n];
        self.s_xx -= ox * ox;
        self.s_xy -= ox * oy;
        self.s_x -= ox;
        self.s_y -= oy;
        out
    }
}

/// `TA_ULTOSC(7, 14, 28)`: three running sums of buying pressure and true range.
#[derive(Debug, Clone)]
struct UltOsc {
    t: usize,
    terms: Vec<(f64, f64)>,
    a: [f64; 3],
    b: [f64; 3],
}

impl UltOsc {
    const PERIODS: [usize; 3] = [7, 14, 28];
    const LOOKBACK: usize = 28;

    fn new() -> Self {
        UltOsc {
            t: 0,
            terms: vec![(0.0, 0.0); 32],
            a: [0.0; 3],
            b: [0.0; 3],
        }
    }

    fn update(&mut self, high: f64, low: f64, close: f64, prev_close: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        if t == 0 {
            return NAN;
        }
        let true_low = if low < prev_close { low } else { prev_close };
        let bp = close - true_low;
        let tr = true_range(high, low, prev_close);
        self.terms[t % 32] = (bp, tr);
        if t < Self::LOOKBACK {
            // Priming: each total starts at the first bar of its window ending at bar 27.
            for (i, p) in Self::PERIODS.iter().enumerate() {
                if t > Self::LOOKBACK - p {
                    self.a[i] += bp;
                    self.b[i] += tr;
                }
            }
            return NAN;
        }
        for i in 0..3 {
            self.a[i] += bp;
            self.b[i] += tr;
        }
        let mut output = 0.0;
        if !is_zero(self.b[0]) {
            output += 4.0 * (self.a[0] / self.b[0]);
        }
        if !is_zero(self.b[1]) {
            output += 2.0 * (self.a[1] / self.b[1]);
        }
        if !is_zero(self.b[2]) {
            output += self.a[2] / self.b[2];
        }
        for (i, p) in Self::PERIODS.iter().enumerate() {
            let (old_bp, old_tr) = self.terms[(t + 1 - p) % 32];
            self.a[i] -= old_bp;
            self.b[i] -= old_tr;
        }
        100.0 * (output / 7.0)
    }
}

/// `TA_ATR(14)`: the SMA of the first 14 true ranges, then Wilder smoothing.
#[derive(Debug, Clone)]
struct Atr {
    n: usize,
    t: usize,
    sum: f64,
    prev: f64,
}

impl Atr {
    fn new(n: usize) -> Self {
        Atr {
            n,
            t: 0,
            sum: 0.0,
            prev: NAN,
        }
    }

    /// `tr` is the bar's true range (NaN on bar 0).
    fn update(&mut self, tr: f64) -> f64 {
        let t = self.t;
        self.t += 1;
        let nf = self.n as f64;
        if t == 0 {
            return NAN;
        }
        if t <= self.n {
            self.sum += tr;
            if t < self.n {
                return NAN;
            }
            self.prev = self.sum / nf;
            return self.prev;
        }
        self.prev *= nf - 1.0;
        self.prev += tr;
        self.prev /= nf;
        self.prev
    }
}

/// One of the four Hilbert transformers of TA-Lib's `DO_HILBERT_EVEN/ODD` macros, with the
/// separate odd/even-bar state TA-Lib keeps.
#[derive(Debug, Clone, Default)]
struct Hilbert {
    odd: [f64; 3],
    even: [f64; 3],
    prev_odd: f64,
    prev_even: f64,
    prev_input_odd: f64,
    prev_input_even: f64,
}

impl Hilbert {
    const A: f64 = 0.0962;
    const B: f64 = 0.5769;

    fn even(&mut self, input: f64, idx: usize, adjusted_prev_period: f64) -> f64 {
        let temp = Self::A * input;
        let mut v = 0.0 - self.even[idx];
        self.even[idx] = temp;
        v += temp;
        v -= self.prev_even;
        self.prev_even = Self::B * self.prev_input_even;
        v += self.prev_even;
        self.prev_input_even = input;
        v * adjusted_prev_period
    }

    fn odd(&mut self, input: f64, idx: usize, adjusted_prev_period: f64) -> f64 {
        let temp = Self::A * input;
        let mut v = 0.0 - self.odd[idx];
        self.odd[idx] = temp;
        v += temp;
        v -= self.prev_odd;
        self.prev_odd = Self::B * self.prev_input_odd;
        v += self.prev_odd;
        self.prev_input_odd = input;
        v * adjusted_prev_period
    }
}

/// The shared core of `TA_HT_DCPERIOD` and `TA_HT_TRENDLINE`: a 4-bar WMA price smoother,
/// the Hilbert transform of it, and Ehlers' homodyne dominant-cycle period. The two
/// functions start the transform at different bars (after 9 vs 34 smoother-only bars), so
/// each column has its own instance.
#[derive(Debug, Clone)]
struct HtCore {
    /// First bar at which the transform runs (bars before only warm the smoother).
    transform_start: usize,
    rad2deg: f64,
    wma_sub: f64,
    wma_sum: f64,
    trailing_wma: f64,
    hilbert_idx: usize,
    detrender: Hilbert,
    q1: Hilbert,
    ji: Hilbert,
    jq: Hilbert,
    period: f64,
    prev_q2: f64,
    prev_i2: f64,
    re: f64,
    im: f64,
    i1_for_odd_prev2: f64,
    i1_for_odd_prev3: f64,
    i1_for_even_prev2: f64,
    i1_for_even_prev3: f64,
    smooth_period: f64,
}

impl HtCore {
    fn new(transform_start: usize, rad2deg: f64) -> Self {
        HtCore {
            transform_start,
            rad2deg,
            wma_sub: 0.0,
            wma_sum: 0.0,
            trailing_wma: 0.0,
            hilbert_idx: 0,
            detrender: Hilbert::default(),
            q1: Hilbert::default(),
            ji: Hilbert::default(),
            jq: Hilbert::default(),
            period: 0.0,
            prev_q2: 0.0,
            prev_i2: 0.0,
            re: 0.0,
            im: 0.0,
            i1_for_odd_prev2: 0.0,
            i1_for_odd_prev3: 0.0,
            i1_for_even_prev2: 0.0,
            i1_for_even_prev3: 0.0,
            smooth_period: 0.0,
        }
    }

    /// Advances one bar; returns the smoothed period once the transform runs.
    fn update(&mut self, close: &Window) -> Option<f64> {
        let t = close.len - 1;
        let x = close.back(0);
        match t {
            0 => {
                self.wma_sub = x;
                self.wma_sum = x;
                return None;
            }
            1 => {
                self.wma_sub += x;
                self.wma_sum += x * 2.0;
                return None;
            }
            2 => {
                self.wma_sub += x;
                self.wma_sum += x * 3.0;
                self.trailing_wma = 0.0;
                return None;
            }
            _ => {}
        }
        let adjusted_prev_period = 0.075 * self.period + 0.54;
        self.wma_sub += x;
        self.wma_sub -= self.trailing_wma;
        self.wma_sum += x * 4.0;
        self.trailing_wma = close.back(3);
        let smoothed = self.wma_sum * 0.1;
        self.wma_sum -= self.wma_sub;
        if t < self.transform_start {
            return None;
        }

        let idx = self.hilbert_idx;
        let (q2, i2);
        if t.is_multiple_of(2) {
            let detrender = self.detrender.even(smoothed, idx, adjusted_prev_period);
            let q1 = self.q1.even(detrender, idx, adjusted_prev_period);
            let ji = self
                .ji
                .even(self.i1_for_even_prev3, idx, adjusted_prev_period);
            let jq = self.jq.even(q1, idx, adjusted_prev_period);
            self.hilbert_idx += 1;
            if self.hilbert_idx == 3 {
                self.hilbert_idx = 0;
            }
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2;
            i2 = 0.2 * (self.i1_for_even_prev3 - jq) + 0.8 * self.prev_i2;
            self.i1_for_odd_prev3 = self.i1_for_odd_prev2;
            self.i1_for_odd_prev2 = detrender;
        } else {
            let detrender = self.detrender.odd(smoothed, idx, adjusted_prev_period);
            let q1 = self.q1.odd(detrender, idx, adjusted_prev_period);
            let ji = self
                .ji
                .odd(self.i1_for_odd_prev3, idx, adjusted_prev_period);
            let jq = self.jq.odd(q1, idx, adjusted_prev_period);
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2;
            i2 = 0.2 * (self.i1_for_odd_prev3 - jq) + 0.8 * self.prev_i2;
            self.i1_for_even_prev3 = self.i1_for_even_prev2;
            self.i1_for_even_prev2 = detrender;
        }

        self.re = 0.2 * (i2 * self.prev_i2 + q2 * self.prev_q2) + 0.8 * self.re;
        self.im = 0.2 * (i2 * self.prev_q2 - q2 * self.prev_i2) + 0.8 * self.im;
        self.prev_q2 = q2;
        self.prev_i2 = i2;
        let previous = self.period;
        if self.im != 0.0 && self.re != 0.0 {
            self.period = 360.0 / ((self.im / self.re).atan() * self.rad2deg);
        }
        let cap = 1.5 * previous;
        if self.period > cap {
            self.period = cap;
        }
        let floor = 0.67 * previous;
        if self.period < floor {
            self.period = floor;
        }
        // Same as TA-Lib's two ifs: the period is never NaN here.
        self.period = self.period.clamp(6.0, 50.0);
        self.period = 0.2 * self.period + 0.8 * previous;
        self.smooth_period = 0.33 * self.period + 0.67 * self.smooth_period;
        Some(self.smooth_period)
    }
}

/// `TA_HT_DCPERIOD`.
#[derive(Debug, Clone)]
struct HtDcPeriod {
    core: HtCore,
}

impl HtDcPeriod {
    const LOOKBACK: usize = 32;

    fn new() -> Self {
        HtDcPeriod {
            // 3 seed bars + 9 smoother-only bars.
            core: HtCore::new(12, 180.0 / (4.0 * 1f64.atan())),
        }
    }

    fn update(&mut self, close: &Window) -> f64 {
        match self.core.update(close) {
            Some(p) if close.len > Self::LOOKBACK => p,
            _ => NAN,
        }
    }
}

/// `TA_HT_TRENDLINE`: the raw price averaged over the dominant cycle, then a 4-bar WMA of
/// those averages.
#[derive(Debug, Clone)]
struct HtTrendline {
    core: HtCore,
    i_trend1: f64,
    i_trend2: f64,
    i_trend3: f64,
}

impl HtTrendline {
    const LOOKBACK: usize = 63;

    fn new() -> Self {
        HtTrendline {
            // 3 seed bars + 34 smoother-only bars.
            core: HtCore::new(37, 45.0 / 1f64.atan()),
            i_trend1: 0.0,
            i_trend2: 0.0,
            i_trend3: 0.0,
        }
    }

    fn update(&mut self, close: &Window) -> f64 {
        let Some(smooth_period) = self.core.update(close) else {
            return NAN;
        };
        // Truncation, as C's (int) cast; the period is clamped to [6, 50] so at most 50 bars
        // (the window holds 64). Before the period grows, fewer bars than asked may exist:
        // TA-Lib would read before the array there; this stops at bar 0 instead (never hit
        // in practice: the smoothed period starts near 0 and grows slowly).
        let dc_period = (smooth_period + 0.5) as usize;
        let available = dc_period.min(close.len);
        let mut avg = 0.0;
        for k in 0..available {
            avg += close.back(k);
        }
        if dc_period > 0 {
            avg /= dc_period as f64;
        }
        let value = (4.0 * avg + 3.0 * self.i_trend1 + 2.0 * self.i_trend2 + self.i_trend3) / 10.0;
        self.i_trend3 = self.i_trend2;
        self.i_trend2 = self.i_trend1;
        self.i_trend1 = avg;
        if close.len > Self::LOOKBACK {
            value
        } else {
            NAN
        }
    }
}

/// All 54 indicator columns, advanced one bar at a time.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    close: Window,
    high: Window,
    low: Window,
    t: usize,
    sma: [Sma; 4],
    ema: [Ema; 4],
    bb_std: StdDev,
    ht_trendline: HtTrendline,
    kama: [Kama; 3],
    sar: Sar,
    trima: [Trima; 3],
    adx: [Adx; 3],
    apo_fast: Sma,
    apo_slow: Sma,
    cci: [Cci; 3],
    macd: [Macd; 5],
    mfi: Mfi,
    rsi14: Rsi,
    rsi8: Rsi,
    /// SMA(3) of the raw %K: STOCH's slow %K and STOCHF's fast %D are the same series.
    k_sma: Sma,
    /// SMA(3) of the slow %K: STOCH's slow %D.
    slowk_sma: Sma,
    stoch_rsi: StochF,
    ultosc: UltOsc,
    atr: Atr,
    ht_dcperiod: HtDcPeriod,
    beta: Beta,
    out: [f64; 54],
}

impl Engine {
    pub(crate) fn new() -> Self {
        Engine {
            close: Window::new(64),
            high: Window::new(64),
            low: Window::new(64),
            t: 0,
            sma: [Sma::new(5), Sma::new(10), Sma::new(15), Sma::new(20)],
            ema: [
                Ema::new(5, 4),
                Ema::new(10, 9),
                Ema::new(15, 14),
                Ema::new(20, 19),
            ],
            bb_std: StdDev::new(5),
            ht_trendline: HtTrendline::new(),
            kama: [Kama::new(10), Kama::new(20), Kama::new(30)],
            sar: Sar::new(),
            trima: [Trima::new(5), Trima::new(10), Trima::new(20)],
            adx: [Adx::new(5), Adx::new(10), Adx::new(20)],
            apo_fast: Sma::new(12),
            apo_slow: Sma::new(26),
            cci: [Cci::new(5), Cci::new(10), Cci::new(15)],
            macd: [
                Macd::new(5, 10),
                Macd::new(5, 20),
                Macd::new(10, 20),
                Macd::new(15, 20),
                Macd::new(12, 26),
            ],
            mfi: Mfi::new(14),
            rsi14: Rsi::new(14),
            rsi8: Rsi::new(8),
            k_sma: Sma::new(3),
            slowk_sma: Sma::new(3),
            stoch_rsi: StochF::new(5, 3),
            ultosc: UltOsc::new(),
            atr: Atr::new(14),
            ht_dcperiod: HtDcPeriod::new(),
            beta: Beta::new(5),
            out: [NAN; 54],
        }
    }

    /// Advances one bar; the slice holds the 54 columns in [`INDICATOR_COLUMNS`] order,
    /// NaN where TA-Lib would still be in its lookback.
    pub(crate) fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> &[f64; 54] {
        let t = self.t;
        self.t += 1;
        let prev_close = if t > 0 { self.close.back(0) } else { NAN };
        self.close.push(close);
        self.high.push(high);
        self.low.push(low);
        let o = &mut self.out;

        for i in 0..4 {
            o[i] = self.sma[i].update(close);
            o[4 + i] = self.ema[i].update(close);
        }
        // BBANDS: its middle band is TA_MA(SMA, 5), i.e. the sma5 column.
        let middle = o[0];
        let std = self.bb_std.update(close, middle);
        let width = std * 2.0;
        o[8] = middle + width;
        o[9] = middle;
        o[10] = middle - width;
        o[11] = self.ht_trendline.update(&self.close);
        for i in 0..3 {
            o[12 + i] = self.kama[i].update(&self.close);
        }
        o[15] = self.sar.update(high, low);
        for i in 0..3 {
            o[16 + i] = self.trima[i].update(close);
            o[19 + i] = self.adx[i].update(high, low, close);
        }
        let fast = self.apo_fast.update(close);
        let slow = self.apo_slow.update(close);
        o[22] = fast - slow;
        let tp = (high + low + close) / 3.0;
        for i in 0..3 {
            o[23 + i] = self.cci[i].update(tp);
        }
        for i in 0..5 {
            o[26 + i] = self.macd[i].update(close);
        }
        o[31] = self.mfi.update(high, low, close, volume);
        for (i, n) in [10, 15, 20].into_iter().enumerate() {
            o[32 + i] = if t >= n {
                close - self.close.back(n)
            } else {
                NAN
            };
        }
        for (i, n) in [5, 10, 20].into_iter().enumerate() {
            o[35 + i] = if t >= n {
                let prev = self.close.back(n);
                if prev != 0.0 {
                    ((close / prev) - 1.0) * 100.0
                } else {
                    0.0
                }
            } else {
                NAN
            };
        }
        o[38] = if slow.is_nan() {
            NAN
        } else if is_zero(slow) {
            0.0
        } else {
            ((fast - slow) / slow) * 100.0
        };
        let rsi14 = self.rsi14.update(close);
        o[39] = rsi14;
        o[40] = self.rsi8.update(close);

        // STOCH(5, 3, 3) and STOCHF(5, 3) share the raw %K and its SMA(3).
        let (k, k3) = if t >= 4 {
            let (hi, _) = self.high.max_min(5);
            let (_, lo) = self.low.max_min(5);
            let k = raw_k(close, hi, lo);
            (k, self.k_sma.update(k))
        } else {
            (NAN, NAN)
        };
        let slowd = if k3.is_nan() {
            NAN
        } else {
            self.slowk_sma.update(k3)
        };
        let stoch_ready = !slowd.is_nan();
        o[41] = if stoch_ready { k3 } else { NAN };
        o[42] = slowd;
        let stochf_ready = !k3.is_nan();
        o[43] = if stochf_ready { k } else { NAN };
        o[44] = k3;

        let (fksr, fdsr) = if rsi14.is_nan() {
            (NAN, NAN)
        } else {
            self.stoch_rsi.update(rsi14)
        };
        o[45] = fksr;
        o[46] = fdsr;
        o[47] = self.ultosc.update(high, low, close, prev_close);
        o[48] = if t >= 13 {
            let (hi, _) = self.high.max_min(14);
            let (_, lo) = self.low.max_min(14);
            let diff = (hi - lo) / -100.0;
            if diff != 0.0 {
                (hi - close) / diff
            } else {
                0.0
            }
        } else {
            NAN
        };
        let tr = if t >= 1 {
            // TA_TRANGE spells it |prev_close - high| etc.; the magnitudes are identical.
            true_range(high, low, prev_close)
        } else {
            NAN
        };
        o[49] = self.atr.update(tr);
        o[50] = tr;
        o[51] = tp;
        o[52] = self.ht_dcperiod.update(&self.close);
        o[53] = self.beta.update(high, low);
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::CURRENT_COLUMNS;
    use crate::rng::Rng;

    /// A random-walk OHLCV series with flat stretches, so zero-range branches are hit too.
    fn series(n: usize, seed: u64) -> Vec<[f64; 4]> {
        let mut rng = Rng::new(seed);
        let mut c = 1000.0f64;
        (0..n)
            .map(|i| {
                let flat = (i / 50) % 7 == 3;
                let o = c;
                if !flat {
                    c = (c + rng.normal() * 2.0).max(1.0);
                    c = (c * 20.0).round() / 20.0;
                }
                let h = o.max(c)
                    + if flat {
                        0.0
                    } else {
                        rng.range(0.0, 1.0).round() * 0.05
                    };
                let l = o.min(c)
                    - if flat {
                        0.0
                    } else {
                        rng.range(0.0, 1.0).round() * 0.05
                    };
                [h, l, c, (rng.range(0.0, 1000.0)).round()]
            })
            .collect()
    }

    fn run(bars: &[[f64; 4]]) -> Vec<[f64; 54]> {
        let mut e = Engine::new();
        bars.iter()
            .map(|b| *e.update(b[0], b[1], b[2], b[3]))
            .collect()
    }

    fn column(rows: &[[f64; 54]], name: &str) -> Vec<f64> {
        let i = INDICATOR_COLUMNS.iter().position(|c| *c == name).unwrap();
        rows.iter().map(|r| r[i]).collect()
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        let tol = 1e-9 * want.abs().max(1.0);
        assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
    }

    #[test]
    fn columns_follow_the_current_layout() {
        assert_eq!(INDICATOR_COLUMNS.as_slice(), &CURRENT_COLUMNS[6..]);
        assert_eq!(lookback("MFI"), Some(14));
        assert_eq!(lookback("close"), Some(0));
        assert_eq!(lookback("nope"), None);
    }

    #[test]
    fn warm_up_matches_lookback_for_every_column() {
        let rows = run(&series(300, 1));
        for (i, name) in INDICATOR_COLUMNS.iter().enumerate() {
            let first = rows.iter().position(|r| !r[i].is_nan()).unwrap();
            assert_eq!(first, INDICATOR_LOOKBACKS[i], "{name}");
            assert!(rows[first..].iter().all(|r| r[i].is_finite()), "{name}");
        }
    }

    #[test]
    fn sma_ema_hand_computed() {
        let closes = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let mut sma = Sma::new(5);
        let got: Vec<f64> = closes.iter().map(|&x| sma.update(x)).collect();
        assert!(got[..4].iter().all(|v| v.is_nan()));
        assert_eq!(&got[4..], &[3.0, 4.0, 5.0]);

        // EMA(5): seeded with SMA(1..5) = 3 at bar 4, then prev + (x - prev) * 2/6.
        let mut ema = Ema::new(5, 4);
        let got: Vec<f64> = closes.iter().map(|&x| ema.update(x)).collect();
        assert!(got[..4].iter().all(|v| v.is_nan()));
        assert_eq!(got[4], 3.0);
        assert_close(got[5], 3.0 + (6.0 - 3.0) / 3.0, "ema bar 5");
        assert_close(got[6], 4.0 + (7.0 - 4.0) / 3.0, "ema bar 6");

        // MACD(5, 10): the fast EMA is seeded at bar 9 with the SMA of bars 5..9.
        let xs: Vec<f64> = (0..20).map(|i| (i * i) as f64).collect();
        let mut macd = Macd::new(5, 10);
        let got: Vec<f64> = xs.iter().map(|&x| macd.update(x)).collect();
        let mut fast = (25.0 + 36.0 + 49.0 + 64.0 + 81.0) / 5.0;
        let mut slow = xs[..10].iter().sum::<f64>() / 10.0;
        for (t, &x) in xs.iter().enumerate().skip(10) {
            fast += (x - fast) * (2.0 / 6.0);
            slow += (x - slow) * (2.0 / 11.0);
            if t < 17 {
                assert!(got[t].is_nan(), "macd bar {t}");
            } else {
                assert_close(got[t], fast - slow, "macd");
            }
        }
    }

    #[test]
    fn rsi_hand_computed() {
        // RSI(2): diffs +1, -2, +3, +1.
        let mut rsi = Rsi::new(2);
        let got: Vec<f64> = [10.0, 11.0, 9.0, 12.0, 13.0]
            .iter()
            .map(|&x| rsi.update(x))
            .collect();
        assert!(got[0].is_nan() && got[1].is_nan());
        // Bar 2: gain 1/2, loss 2/2 → 100 * 0.5 / 1.5.
        assert_close(got[2], 100.0 * 0.5 / 1.5, "rsi bar 2");
        // Bar 3: gain (0.5 + 3) / 2 = 1.75, loss (1 + 0) / 2 = 0.5.
        assert_close(got[3], 100.0 * 1.75 / 2.25, "rsi bar 3");
        // Bar 4: gain (1.75 + 1) / 2 = 1.375, loss 0.25.
        assert_close(got[4], 100.0 * 1.375 / 1.625, "rsi bar 4");
    }

    #[test]
    fn typprice_and_true_range_exact() {
        let bars = [
            [101.0, 99.0, 100.0, 10.0],
            [103.5, 100.5, 103.0, 10.0],
            [102.0, 101.0, 101.5, 10.0],
            [99.0, 97.0, 98.0, 10.0],
        ];
        let rows = run(&bars);
        let tp = column(&rows, "TYPPRICE");
        let tr = column(&rows, "Trange");
        for (b, v) in bars.iter().zip(&tp) {
            assert_eq!(*v, (b[0] + b[1] + b[2]) / 3.0);
        }
        assert!(tr[0].is_nan());
        assert_eq!(tr[1], 3.5); // |high - prev close| = |103.5 - 100| beats high - low = 3
        assert_eq!(tr[2], 2.0); // |low - prev close| = |101 - 103| beats high - low = 1
        assert_eq!(tr[3], 4.5); // |low - prev close| = |97 - 101.5| beats 2 and 2.5
    }

    /// Straightforward batch formulas, independent of the streaming ports.
    #[test]
    fn streaming_matches_naive_batch_formulas() {
        let bars = series(600, 9);
        let rows = run(&bars);
        let h: Vec<f64> = bars.iter().map(|b| b[0]).collect();
        let l: Vec<f64> = bars.iter().map(|b| b[1]).collect();
        let c: Vec<f64> = bars.iter().map(|b| b[2]).collect();
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        for t in 40..bars.len() {
            // SMA, Bollinger (population sd), TRIMA weights, MOM, ROC.
            let w5 = &c[t - 4..=t];
            assert_close(column(&rows, "sma20")[t], mean(&c[t - 19..=t]), "sma20");
            let m = mean(w5);
            let sd = (w5.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 5.0).sqrt();
            let up = column(&rows, "upperband")[t];
            assert!(
                (up - (m + 2.0 * sd)).abs() < 1e-5,
                "upperband {up} vs {}",
                m + 2.0 * sd
            );
            let trima10: f64 = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 4.0, 3.0, 2.0, 1.0]
                .iter()
                .zip(&c[t - 9..=t])
                .map(|(w, x)| w * x)
                .sum::<f64>()
                / 30.0;
            assert_close(column(&rows, "TRIMA10")[t], trima10, "TRIMA10");
            let trima5 = (c[t - 4] + 2.0 * c[t - 3] + 3.0 * c[t - 2] + 2.0 * c[t - 1] + c[t]) / 9.0;
            assert_close(column(&rows, "TRIMA5")[t], trima5, "TRIMA5");
            assert_close(column(&rows, "MOM10")[t], c[t] - c[t - 10], "MOM10");
            assert_close(
                column(&rows, "ROC5")[t],
                (c[t] / c[t - 5] - 1.0) * 100.0,
                "ROC5",
            );
            // APO / PPO on SMA(12) and SMA(26).
            let (f, s) = (mean(&c[t - 11..=t]), mean(&c[t - 25..=t]));
            assert_close(column(&rows, "APO")[t], f - s, "APO");
            assert_close(column(&rows, "PPO")[t], (f - s) / s * 100.0, "PPO");
            // Stochastics and Williams %R.
            let kf = |i: usize| {
                let hi = h[i - 4..=i].iter().cloned().fold(f64::MIN, f64::max);
                let lo = l[i - 4..=i].iter().cloned().fold(f64::MAX, f64::min);
                if hi > lo {
                    (c[i] - lo) / (hi - lo) * 100.0
                } else {
                    0.0
                }
            };
            assert_close(column(&rows, "fastk")[t], kf(t), "fastk");
            let sk = |i: usize| (kf(i) + kf(i - 1) + kf(i - 2)) / 3.0;
            assert_close(column(&rows, "fastd")[t], sk(t), "fastd");
            assert_close(column(&rows, "slowk")[t], sk(t), "slowk");
            assert_close(
                column(&rows, "slowd")[t],
                (sk(t) + sk(t - 1) + sk(t - 2)) / 3.0,
                "slowd",
            );
            let hi14 = h[t - 13..=t].iter().cloned().fold(f64::MIN, f64::max);
            let lo14 = l[t - 13..=t].iter().cloned().fold(f64::MAX, f64::min);
            if hi14 > lo14 {
                assert_close(
                    column(&rows, "WILLR")[t],
                    (hi14 - c[t]) / (hi14 - lo14) * -100.0,
                    "WILLR",
                );
            }
            // CCI(10).
            let tps: Vec<f64> = (t - 9..=t).map(|i| (h[i] + l[i] + c[i]) / 3.0).collect();
            let avg = mean(&tps);
            let md = tps.iter().map(|x| (x - avg).abs()).sum::<f64>() / 10.0;
            if md > 1e-6 && (tps[9] - avg).abs() > 1e-6 {
                assert_close(
                    column(&rows, "CCI10")[t],
                    (tps[9] - avg) / (0.015 * md),
                    "CCI10",
                );
            }
            // BETA(5) of high vs low returns.
            let rx: Vec<f64> = (t - 4..=t).map(|i| h[i] / h[i - 1] - 1.0).collect();
            let ry: Vec<f64> = (t - 4..=t).map(|i| l[i] / l[i - 1] - 1.0).collect();
            let (mx, my) = (mean(&rx), mean(&ry));
            let sxx: f64 = rx.iter().map(|x| (x - mx) * (x - mx)).sum();
            let sxy: f64 = rx.iter().zip(&ry).map(|(x, y)| (x - mx) * (y - my)).sum();
            if sxx * 5.0 > 1e-6 {
                let got = column(&rows, "BETA")[t];
                assert!(
                    (got - sxy / sxx).abs() < 1e-6 * (1.0 + got.abs()),
                    "BETA {got}"
                );
            }
        }
        // ATR(14): SMA of the first 14 true ranges, then Wilder.
        let trs: Vec<f64> = (1..bars.len())
            .map(|i| {
                (h[i] - l[i])
                    .max((h[i] - c[i - 1]).abs())
                    .max((l[i] - c[i - 1]).abs())
            })
            .collect();
        let mut atr = trs[..14].iter().sum::<f64>() / 14.0;
        let got = column(&rows, "ATR");
        assert_close(got[14], atr, "ATR first");
        for t in 15..bars.len() {
            atr = (atr * 13.0 + trs[t - 1]) / 14.0;
            assert_close(got[t], atr, "ATR");
        }
    }

    #[test]
    fn bounded_oscillators() {
        let rows = run(&series(2000, 3));
        for name in [
            "RSI14", "RSI8", "MFI", "ADX5", "ADX10", "ADX20", "ULTOSC", "slowk", "slowd", "fastk",
            "fastd", "fastksr", "fastdsr",
        ] {
            for v in column(&rows, name).into_iter().filter(|v| !v.is_nan()) {
                assert!((-1e-9..=100.0 + 1e-9).contains(&v), "{name}: {v}");
            }
        }
        for v in column(&rows, "WILLR").into_iter().filter(|v| !v.is_nan()) {
            assert!((-100.0 - 1e-9..=1e-9).contains(&v), "WILLR {v}");
        }
        for v in column(&rows, "HT_DCPERIOD")
            .into_iter()
            .filter(|v| !v.is_nan())
        {
            assert!((0.0..=50.0).contains(&v), "HT_DCPERIOD {v}");
        }
        let c: Vec<f64> = rows.iter().map(|r| r[51]).collect();
        for (t, v) in column(&rows, "HT_TRENDLINE").into_iter().enumerate() {
            if !v.is_nan() {
                assert!(
                    (v - c[t]).abs() < 0.2 * c[t],
                    "HT_TRENDLINE {v} vs {}",
                    c[t]
                );
            }
        }
    }
}
