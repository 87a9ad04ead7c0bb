//! The price process: NSE trading calendar and realistic minute bars in integer paise.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};

use crate::rng::{stable_hash, Rng};
use crate::{validate, GenError, GenOptions};

/// Bars per trading day: 09:15 to 15:29 inclusive.
pub const BARS_PER_DAY: usize = 375;

/// First bar of the day, India time.
pub(crate) const OPEN_HOUR: u32 = 9;
pub(crate) const OPEN_MINUTE: u32 = 15;

/// India Standard Time, +05:30, the offset the dataset prints.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("+05:30 is within ±24h")
}

/// Fixed-date NSE holidays skipped every year when they fall on a weekday: Republic Day,
/// Maharashtra Day, Independence Day, Gandhi Jayanti, Christmas. (The real calendar has
/// more, moving, holidays; a handful keeps the gaps realistic without a table per year.)
pub const HOLIDAYS: [(u32, u32); 5] = [(1, 26), (5, 1), (8, 15), (10, 2), (12, 25)];

/// Monday to Friday and not one of [`HOLIDAYS`].
pub fn is_trading_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        && !HOLIDAYS.contains(&(date.month(), date.day()))
}

/// The trading days of a run: the first on or after `start`, then each next one.
pub fn trading_days(start: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(first_trading_day(start), |d| next_trading_day(*d))
}

fn first_trading_day(start: NaiveDate) -> Option<NaiveDate> {
    if is_trading_day(start) {
        Some(start)
    } else {
        next_trading_day(start)
    }
}

fn next_trading_day(mut d: NaiveDate) -> Option<NaiveDate> {
    loop {
        d = d.succ_opt()?;
        if is_trading_day(d) {
            return Some(d);
        }
    }
}

/// Checks that `days` trading days from `start` stay within chrono's dates. Any 7
/// consecutive days hold 5 weekdays and at most one of the (months-apart) holidays, so
/// 4 trading days per week is a safe lower bound.
pub(crate) fn check_date_range(
    symbol: &str,
    start: NaiveDate,
    days: usize,
) -> Result<(), GenError> {
    let weeks = (days as u64).div_ceil(4) + 2;
    weeks
        .checked_mul(7)
        .and_then(|n| start.checked_add_days(Days::new(n)))
        .map(|_| ())
        .ok_or_else(|| GenError::DateRange {
            symbol: symbol.to_string(),
            start,
            days,
        })
}

/// One minute bar as the dataset holds it: prices on the 0.05 tick, integer volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Start of the minute, India time (+05:30).
    pub ts: DateTime<FixedOffset>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: u64,
}

/// A bar in integer paise, as the simulator makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawBar {
    pub date: NaiveDate,
    /// 0 for 09:15 … 374 for 15:29.
    pub minute: u16,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: u64,
}

impl RawBar {
    pub(crate) fn to_bar(self) -> Bar {
        let minutes = OPEN_HOUR * 60 + OPEN_MINUTE + u32::from(self.minute);
        let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)
            .expect("minute < 375 keeps the time between 09:15 and 15:29");
        let ts = ist()
            .from_local_datetime(&self.date.and_time(time))
            .single()
            .expect("a fixed offset maps every local time to exactly one instant");
        Bar {
            ts,
            open: paise_to_rupees(self.open),
            high: paise_to_rupees(self.high),
            low: paise_to_rupees(self.low),
            close: paise_to_rupees(self.close),
            volume: self.volume,
        }
    }
}

/// Exact decimal rupees: the division is correctly rounded, so the shortest repr of the
/// result is the two-decimal price itself (`105920` → `1059.2`).
pub(crate) fn paise_to_rupees(paise: i64) -> f64 {
    paise as f64 / 100.0
}

/// Tick size in paise.
const TICK: i64 = 5;

fn to_tick(paise: f64) -> i64 {
    // `as` saturates, and the latent price stays finite and far from i64's range.
    ((paise / TICK as f64).round() as i64 * TICK).max(TICK)
}

/// Trading minutes in a year (≈250 sessions of 375 minutes), to scale annual figures.
const MINUTES_PER_YEAR: f64 = 250.0 * BARS_PER_DAY as f64;
/// Share of the daily variance that happens during the session; the rest is the overnight gap.
const INTRADAY_VARIANCE_SHARE: f64 = 0.8;
/// Pull of the log price towards its drifting trend, per minute: keeps seven years of a
/// random walk within a plausible band (stationary spread ≈ 0.5–0.8 in log price).
const MEAN_REVERSION: f64 = 1e-6;

/// Per-symbol parameters, fixed by (seed, symbol).
#[derive(Debug, Clone)]
struct Params {
    start_price: f64,
    mu_min: f64,
    sigma_min: f64,
    gap_sigma: f64,
    garch_alpha: f64,
    garch_beta: f64,
    regime_phi: f64,
    regime_eta: f64,
    turnover_per_min: f64,
    volume_noise: f64,
}

impl Params {
    fn draw(rng: &mut Rng) -> Self {
        let start_price = rng.range(100f64.ln(), 5000f64.ln()).exp();
        let sigma_annual = rng.range(0.18, 0.45);
        let mu_annual = rng.range(-0.05, 0.25);
        let garch_alpha = rng.range(0.04, 0.09);
        let garch_beta = rng.range(0.86, 0.93).min(0.985 - garch_alpha);
        Params {
            start_price,
            mu_min: mu_annual / MINUTES_PER_YEAR,
            sigma_min: sigma_annual * (INTRADAY_VARIANCE_SHARE / MINUTES_PER_YEAR).sqrt(),
            gap_sigma: sigma_annual * ((1.0 - INTRADAY_VARIANCE_SHARE) / 250.0).sqrt(),
            garch_alpha,
            garch_beta,
            regime_phi: 0.97,
            regime_eta: rng.range(0.08, 0.16),
            // Rupees traded per average minute: large caps ₹0.2–3 crore.
            turnover_per_min: rng.range(2e6f64.ln(), 3e7f64.ln()).exp(),
            volume_noise: rng.range(0.35, 0.6),
        }
    }
}

/// The per-minute volatility (U-shaped: busy open, calmer midday, livelier close),
/// normalised to a mean square of 1 so it redistributes rather than adds variance.
fn volatility_profile() -> [f64; BARS_PER_DAY] {
    let mut p = [0.0; BARS_PER_DAY];
    for (m, v) in p.iter_mut().enumerate() {
        let m = m as f64;
        *v = 0.7 + 1.4 * (-m / 20.0).exp() + 0.5 * (-(374.0 - m) / 30.0).exp();
    }
    let ms = p.iter().map(|v| v * v).sum::<f64>() / BARS_PER_DAY as f64;
    let norm = ms.sqrt();
    p.iter_mut().for_each(|v| *v /= norm);
    p
}

/// The per-minute volume profile (U-shaped, steeper at the open), normalised to mean 1.
fn volume_profile() -> [f64; BARS_PER_DAY] {
    let mut p = [0.0; BARS_PER_DAY];
    for (m, v) in p.iter_mut().enumerate() {
        let m = m as f64;
        *v = 0.55 + 2.2 * (-m / 15.0).exp() + 1.1 * (-(374.0 - m) / 20.0).exp();
    }
    let mean = p.iter().sum::<f64>() / BARS_PER_DAY as f64;
    p.iter_mut().for_each(|v| *v /= mean);
    p
}

/// The minute-bar simulator. Log price: drift + GARCH(1,1) minute shocks (with rare jumps)
/// scaled by a slow daily volatility regime and the intraday U profile, overnight gaps,
/// and a weak pull towards the drifting trend. High/low come from the extremes of a
/// Brownian bridge between open and close; everything is rounded to the 0.05 tick.
#[derive(Debug, Clone)]
pub(crate) struct Sim {
    rng: Rng,
    p: Params,
    vol_profile: [f64; BARS_PER_DAY],
    volume_profile: [f64; BARS_PER_DAY],
    days: usize,
    day: usize,
    minute: usize,
    date: NaiveDate,
    log_price: f64,
    trend: f64,
    garch_h: f64,
    regime: f64,
    prev_close: i64,
}

impl Sim {
    /// Validates like every public entry point, then builds the simulator.
    pub(crate) fn new(symbol: &str, opts: &GenOptions) -> Result<Self, GenError> {
        validate(symbol, opts)?;
        let date = first_trading_day(opts.start).ok_or_else(|| GenError::DateRange {
            symbol: symbol.to_string(),
            start: opts.start,
            days: opts.days,
        })?;
        let mut rng = Rng::new(stable_hash(&[
            b"groves-datagen/v1",
            &opts.seed.to_le_bytes(),
            symbol.as_bytes(),
        ]));
        let p = Params::draw(&mut rng);
        let log_price = p.start_price.ln();
        Ok(Sim {
            rng,
            vol_profile: volatility_profile(),
            volume_profile: volume_profile(),
            days: opts.days,
            day: 0,
            minute: 0,
            date,
            log_price,
            trend: log_price,
            garch_h: 1.0,
            regime: 0.0,
            prev_close: to_tick(p.start_price * 100.0),
            p,
        })
    }

    fn remaining(&self) -> usize {
        (self.days - self.day) * BARS_PER_DAY - self.minute
    }

    fn step(&mut self) -> RawBar {
        let m = self.minute;
        let p = &self.p;
        let rng = &mut self.rng;

        let open = if m == 0 {
            if self.day > 0 {
                // New session: move the volatility regime, then gap overnight.
                self.regime =
                    (p.regime_phi * self.regime + p.regime_eta * rng.normal()).clamp(-1.0, 1.0);
                self.log_price += p.gap_sigma * self.regime.exp() * rng.normal();
            }
            to_tick(self.log_price.exp() * 100.0)
        } else {
            // Minute bars open at (or a tick off) the previous close.
            let u = rng.range(0.0, 1.0);
            let jitter = if u < 0.075 {
                -TICK
            } else if u < 0.15 {
                TICK
            } else {
                0
            };
            (self.prev_close + jitter).max(TICK)
        };

        let sd = p.sigma_min * self.regime.exp() * self.garch_h.sqrt() * self.vol_profile[m];
        let mut z = rng.normal();
        if rng.range(0.0, 1.0) < 0.002 {
            z *= 4.0;
        }
        self.trend += p.mu_min;
        let a = (open as f64 / 100.0).ln();
        let b = self.log_price + p.mu_min - MEAN_REVERSION * (self.log_price - self.trend) + sd * z;
        self.garch_h = ((1.0 - p.garch_alpha - p.garch_beta)
            + p.garch_alpha * self.garch_h * z * z
            + p.garch_beta * self.garch_h)
            .clamp(0.2, 8.0);

        // Extremes of a Brownian bridge from a to b with variance sd²: exact marginals.
        let var = sd * sd;
        let d2 = (b - a) * (b - a);
        let hi = 0.5 * (a + b + (d2 - 2.0 * var * rng.uniform_open0().ln()).sqrt());
        let lo = 0.5 * (a + b - (d2 - 2.0 * var * rng.uniform_open0().ln()).sqrt());

        let close = to_tick(b.exp() * 100.0);
        let high = to_tick(hi.exp() * 100.0).max(open).max(close);
        let low = to_tick(lo.exp() * 100.0).min(open).min(close);

        // Volume: shares = turnover / price, shaped by the U profile, busier in volatile
        // regimes and on large moves, with lognormal noise.
        let s = p.volume_noise;
        let shares = p.turnover_per_min / (close as f64 / 100.0)
            * self.volume_profile[m]
            * (0.6 * self.regime).exp()
            * (0.6 + 0.4 * z.abs())
            * (s * rng.normal() - 0.5 * s * s).exp();
        let volume = shares.round() as u64;

        self.log_price = b;
        self.prev_close = close;
        RawBar {
            date: self.date,
            minute: m as u16,
            open,
            high,
            low,
            close,
            volume,
        }
    }
}

impl Iterator for Sim {
    type Item = RawBar;

    fn next(&mut self) -> Option<RawBar> {
        if self.day >= self.days {
            return None;
        }
        let bar = self.step();
        self.minute += 1;
        if self.minute == BARS_PER_DAY {
            self.minute = 0;
            self.day += 1;
            if self.day < self.days {
                self.date = next_trading_day(self.date)
                    .expect("check_date_range guarantees the run's trading days exist");
            }
        }
        Some(bar)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}

/// The bars of one symbol, in file order (see [`bars`]).
#[derive(Debug, Clone)]
pub struct Bars {
    sim: Sim,
}

impl Iterator for Bars {
    type Item = Bar;

    fn next(&mut self) -> Option<Bar> {
        self.sim.next().map(RawBar::to_bar)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.sim.size_hint()
    }
}

impl ExactSizeIterator for Bars {}

/// The minute bars `write_symbol` writes for `symbol` (the same for both layouts), so tests
/// can recompute columns independently of the CSV.
pub fn bars(symbol: &str, opts: &GenOptions) -> Result<Bars, GenError> {
    Ok(Bars {
        sim: Sim::new(symbol, opts)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert!(is_trading_day(d(2015, 2, 2))); // Monday
        assert!(!is_trading_day(d(2015, 2, 7))); // Saturday
        assert!(!is_trading_day(d(2015, 1, 26))); // Republic Day, a Monday
        assert!(!is_trading_day(d(2015, 10, 2))); // Friday
        let days: Vec<_> = trading_days(d(2015, 12, 24)).take(3).collect();
        assert_eq!(days, [d(2015, 12, 24), d(2015, 12, 28), d(2015, 12, 29)]);
        // 1870 trading days from the default start end in 2022, like the dataset.
        let last = trading_days(d(2015, 2, 2)).nth(1869).unwrap();
        assert_eq!(last.year(), 2022, "{last}");
    }

    #[test]
    fn ticks() {
        assert_eq!(to_tick(105_917.4), 105_915);
        assert_eq!(to_tick(105_918.0), 105_920);
        assert_eq!(to_tick(1.0), 5);
        assert_eq!(paise_to_rupees(105_920), 1059.2);
    }

    #[test]
    fn profiles_are_u_shaped() {
        for p in [volatility_profile(), volume_profile()] {
            let mid = p[BARS_PER_DAY / 2];
            assert!(p[0] > 2.0 * mid && p[BARS_PER_DAY - 1] > 1.2 * mid);
        }
    }

    #[test]
    fn realistic_returns_and_volumes() {
        let opts = GenOptions {
            days: 60,
            ..GenOptions::default()
        };
        for symbol in ["RELIANCE", "M&M", "YESBANK"] {
            let bars: Vec<RawBar> = Sim::new(symbol, &opts).unwrap().collect();
            assert_eq!(bars.len(), 60 * BARS_PER_DAY);
            let rets: Vec<f64> = bars
                .windows(2)
                .filter(|w| w[1].minute != 0)
                .map(|w| (w[1].close as f64 / w[0].close as f64).ln())
                .collect();
            let sd = (rets.iter().map(|r| r * r).sum::<f64>() / rets.len() as f64).sqrt();
            // 18–45 % a year is 0.05–0.15 % a minute, give or take the regimes and ticks.
            assert!((2e-4..4e-3).contains(&sd), "{symbol}: minute sd {sd}");
            let zero = bars.iter().filter(|b| b.volume == 0).count();
            assert!(zero * 100 < bars.len(), "{symbol}: {zero} zero volumes");
            let first = bars[0].close as f64;
            for b in &bars {
                let r = b.close as f64 / first;
                assert!((0.2..5.0).contains(&r), "{symbol}: price drifted to {r}x");
            }
        }
    }
}
