//! Trend indicators: parabolic SAR and ADX.

use super::common::*;

/// `TA_SAR(0.02, 0.2)`; the first bar only seeds it (direction from the bar-1 −DM).
#[derive(Debug, Clone)]
pub(super) struct Sar {
    pub(super) t: usize,
    pub(super) is_long: bool,
    pub(super) af: f64,
    pub(super) ep: f64,
    pub(super) sar: f64,
    pub(super) new_high: f64,
    pub(super) new_low: f64,
}

impl Sar {
    const ACCELERATION: f64 = 0.02;
    const MAXIMUM: f64 = 0.2;

    pub(super) fn new() -> Self {
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

    pub(super) fn update(&mut self, high: f64, low: f64) -> f64 {
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

/// `TA_ADX(n)`: Wilder-smoothed ±DM and TR, DX summed over n bars, then Wilder-smoothed.
#[derive(Debug, Clone)]
pub(super) struct Adx {
    pub(super) n: usize,
    pub(super) t: usize,
    pub(super) prev_high: f64,
    pub(super) prev_low: f64,
    pub(super) prev_close: f64,
    pub(super) minus_dm: f64,
    pub(super) plus_dm: f64,
    pub(super) tr: f64,
    pub(super) sum_dx: f64,
    pub(super) adx: f64,
}

impl Adx {
    pub(super) fn new(n: usize) -> Self {
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

    pub(super) fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
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
