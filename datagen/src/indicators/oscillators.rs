//! Oscillators and volatility: CCI, MFI, RSI, the stochastics, BETA, the ultimate oscillator,
//! ATR.

use super::averages::*;
use super::common::*;

/// `TA_CCI(n)`: typical prices in a circular buffer summed in slot order, as TA-Lib does.
#[derive(Debug, Clone)]
pub(super) struct Cci {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) buf: Vec<f64>,
}

impl Cci {
    pub(super) fn new(n: usize) -> Self {
        Cci {
            n,
            t: 0,
            buf: vec![0.0; n],
        }
    }

    pub(super) fn update(&mut self, tp: f64) -> f64 {
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
pub(super) struct Mfi {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) prev_tp: f64,
    pub(super) pos_sum: f64,
    pub(super) neg_sum: f64,
    pub(super) flows: Vec<(f64, f64)>,
}

impl Mfi {
    pub(super) fn new(n: usize) -> Self {
        Mfi {
            n,
            t: 0,
            prev_tp: 0.0,
            pos_sum: 0.0,
            neg_sum: 0.0,
            flows: vec![(0.0, 0.0); n],
        }
    }

    pub(super) fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> f64 {
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
pub(super) struct Rsi {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) prev_value: f64,
    pub(super) gain: f64,
    pub(super) loss: f64,
}

impl Rsi {
    pub(super) fn new(n: usize) -> Self {
        Rsi {
            n,
            t: 0,
            prev_value: 0.0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    pub(super) fn update(&mut self, x: f64) -> f64 {
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

/// `TA_STOCHF(5, 3, SMA)` on one series (used by STOCHRSI on the RSI).
#[derive(Debug, Clone)]
pub(super) struct StochF {
    pub(super) n: usize,
    pub(super) win: Window,
    pub(super) d: Sma,
}

impl StochF {
    pub(super) fn new(k: usize, d: usize) -> Self {
        StochF {
            n: k,
            win: Window::new(k),
            d: Sma::new(d),
        }
    }

    /// (fast %K, fast %D), both NaN until %D exists.
    pub(super) fn update(&mut self, x: f64) -> (f64, f64) {
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
pub(super) struct Beta {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) last_x: f64,
    pub(super) last_y: f64,
    pub(super) rets: Vec<(f64, f64)>,
    pub(super) s_xx: f64,
    pub(super) s_xy: f64,
    pub(super) s_x: f64,
    pub(super) s_y: f64,
}

impl Beta {
    pub(super) fn new(n: usize) -> Self {
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

    pub(super) fn ret(value: f64, last: f64) -> f64 {
        if is_zero(last) {
            0.0
        } else {
            (value - last) / last
        }
    }

    pub(super) fn update(&mut self, x_price: f64, y_price: f64) -> f64 {
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
pub(super) struct UltOsc {
    pub(super) t: usize,
    pub(super) terms: Vec<(f64, f64)>,
    pub(super) a: [f64; 3],
    pub(super) b: [f64; 3],
}

impl UltOsc {
    const PERIODS: [usize; 3] = [7, 14, 28];
    const LOOKBACK: usize = 28;

    pub(super) fn new() -> Self {
        UltOsc {
            t: 0,
            terms: vec![(0.0, 0.0); 32],
            a: [0.0; 3],
            b: [0.0; 3],
        }
    }

    pub(super) fn update(&mut self, high: f64, low: f64, close: f64, prev_close: f64) -> f64 {
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
pub(super) struct Atr {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) sum: f64,
    pub(super) prev: f64,
}

impl Atr {
    pub(super) fn new(n: usize) -> Self {
        Atr {
            n,
            t: 0,
            sum: 0.0,
            prev: NAN,
        }
    }

    /// `tr` is the bar's true range (NaN on bar 0).
    pub(super) fn update(&mut self, tr: f64) -> f64 {
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
