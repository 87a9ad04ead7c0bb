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

/// The indicator columns in the order of the current layout: the last 54 of the dataset's
/// header, after the date, the prices and the volume.
pub const INDICATOR_COLUMNS: [&str; 54] = match CURRENT_COLUMNS.split_last_chunk::<54>() {
    Some((_, columns)) => *columns,
    None => panic!("the dataset's header has fewer than 54 columns"),
};

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

mod averages;
mod common;
mod hilbert;
mod oscillators;
#[cfg(test)]
mod tests;
mod trend;

use crate::layout::CURRENT_COLUMNS;
use averages::*;
use common::*;
use hilbert::*;
use oscillators::*;
use trend::*;

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
