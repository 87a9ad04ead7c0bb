//! The Hilbert transform family: HT_TRENDLINE and HT_DCPERIOD, full ports of TA-Lib's.

use super::common::*;

/// One of the four Hilbert transformers of TA-Lib's `DO_HILBERT_EVEN/ODD` macros, with the
/// separate odd/even-bar state TA-Lib keeps.
#[derive(Debug, Clone, Default)]
pub(super) struct Hilbert {
    pub(super) odd: [f64; 3],
    pub(super) even: [f64; 3],
    pub(super) prev_odd: f64,
    pub(super) prev_even: f64,
    pub(super) prev_input_odd: f64,
    pub(super) prev_input_even: f64,
}

impl Hilbert {
    const A: f64 = 0.0962;
    const B: f64 = 0.5769;

    pub(super) fn even(&mut self, input: f64, idx: usize, adjusted_prev_period: f64) -> f64 {
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

    pub(super) fn odd(&mut self, input: f64, idx: usize, adjusted_prev_period: f64) -> f64 {
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
pub(super) struct HtCore {
    /// First bar at which the transform runs (bars before only warm the smoother).
    pub(super) transform_start: usize,
    pub(super) rad2deg: f64,
    pub(super) wma_sub: f64,
    pub(super) wma_sum: f64,
    pub(super) trailing_wma: f64,
    pub(super) hilbert_idx: usize,
    pub(super) detrender: Hilbert,
    pub(super) q1: Hilbert,
    pub(super) ji: Hilbert,
    pub(super) jq: Hilbert,
    pub(super) period: f64,
    pub(super) prev_q2: f64,
    pub(super) prev_i2: f64,
    pub(super) re: f64,
    pub(super) im: f64,
    pub(super) i1_for_odd_prev2: f64,
    pub(super) i1_for_odd_prev3: f64,
    pub(super) i1_for_even_prev2: f64,
    pub(super) i1_for_even_prev3: f64,
    pub(super) smooth_period: f64,
}

impl HtCore {
    pub(super) fn new(transform_start: usize, rad2deg: f64) -> Self {
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
    pub(super) fn update(&mut self, close: &Window) -> Option<f64> {
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
pub(super) struct HtDcPeriod {
    pub(super) core: HtCore,
}

impl HtDcPeriod {
    const LOOKBACK: usize = 32;

    pub(super) fn new() -> Self {
        HtDcPeriod {
            // 3 seed bars + 9 smoother-only bars.
            core: HtCore::new(12, 180.0 / (4.0 * 1f64.atan())),
        }
    }

    pub(super) fn update(&mut self, close: &Window) -> f64 {
        match self.core.update(close) {
            Some(p) if close.len > Self::LOOKBACK => p,
            _ => NAN,
        }
    }
}

/// `TA_HT_TRENDLINE`: the raw price averaged over the dominant cycle, then a 4-bar WMA of
/// those averages.
#[derive(Debug, Clone)]
pub(super) struct HtTrendline {
    pub(super) core: HtCore,
    pub(super) i_trend1: f64,
    pub(super) i_trend2: f64,
    pub(super) i_trend3: f64,
}

impl HtTrendline {
    const LOOKBACK: usize = 63;

    pub(super) fn new() -> Self {
        HtTrendline {
            // 3 seed bars + 34 smoother-only bars.
            core: HtCore::new(37, 45.0 / 1f64.atan()),
            i_trend1: 0.0,
            i_trend2: 0.0,
            i_trend3: 0.0,
        }
    }

    pub(super) fn update(&mut self, close: &Window) -> f64 {
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
