//! The indicators against hand-computed values and TA-Lib's lookbacks.

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
