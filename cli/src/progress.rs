//! Progress bars that appear only for work that lasts over a second (and only on a terminal).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A bar over `len` units that stays hidden unless the work takes over a second.
pub fn bar(len: u64, label: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    let template = format!(
        "{{msg:>14}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}  {{elapsed}} (ETA {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    let delayed = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(SHOW_AFTER);
        if !delayed.is_finished() {
            delayed.set_draw_target(ProgressDrawTarget::stderr());
            delayed.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}

/// Progress of a run: one bar per stage (units done / total, elapsed, ETA), drawn on stderr
/// when it is a terminal.
pub struct StageBars {
    multi: indicatif::MultiProgress,
    current: std::sync::Mutex<Option<ProgressBar>>,
}

impl StageBars {
    pub fn new() -> StageBars {
        StageBars {
            multi: indicatif::MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            current: std::sync::Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            f(bar);
        }
    }
}

impl groves_orchestrator::parent::Progress for StageBars {
    fn stage_started(&self, stage: groves_core::stage::Stage, total: usize, already_done: usize) {
        let bar = self.multi.add(ProgressBar::new(total as u64));
        let template = "{msg:>15} [{bar:30}] {pos:>5}/{len:<5} {elapsed:>4} (ETA {eta})";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(stage.to_string());
        bar.set_position(already_done as u64);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        if already_done > 0 {
            let _ = self.multi.println(format!(
                "{stage}: {already_done} of {total} units already done (resuming)"
            ));
        }
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn units_done(&self, _stage: groves_core::stage::Stage, done: usize, _total: usize) {
        self.with_bar(|b| b.set_position(done as u64));
    }

    fn retrying(&self, stage: groves_core::stage::Stage, unit: &str, attempt: u32, why: &str) {
        let _ = self
            .multi
            .println(format!("{stage} {unit}: attempt {attempt} (after: {why})"));
    }

    fn round_started(&self, round: u32, rounds: usize, settings: usize, groves: u32) {
        let _ = self.multi.println(format!(
            "halving round {round} (last: {}): {settings} setting(s) per stock, {groves} grove(s) each",
            rounds - 1
        ));
    }

    fn stage_finished(
        &self,
        _stage: groves_core::stage::Stage,
        log: &groves_orchestrator::parent::StageLog,
    ) {
        self.with_bar(|b| {
            b.set_position(log.done as u64);
            b.finish();
        });
    }
}
