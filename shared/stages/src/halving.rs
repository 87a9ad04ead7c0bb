//! Successive halving: which settings go on to the next round. A round's settings are the better
//! part of the round before, ranked as min-mse ranks them, so the parent (which plans the next
//! round's groves) and pred-mses (which scores it) read the same answer from the same table.

use std::cmp::Ordering;

use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Setting};
use groves_core::spec::RunSpec;
use groves_store::Store;

use crate::error::{Result, StageError};
use crate::pred_mses::{read_round, SettingScore};

/// The finite MSE, if any: a setting without one ranks after every setting with one.
fn score(s: &SettingScore) -> Option<f64> {
    s.mse.filter(|m| m.is_finite())
}

/// Better first: the lower validation MSE; ties go to fewer features, then the smaller
/// `min_samples_split`, so the order never depends on listing order.
pub fn rank(a: &SettingScore, b: &SettingScore) -> Ordering {
    let by_mse = match (score(a), score(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_mse.then(a.feat.cmp(&b.feat)).then(a.samp.cmp(&b.samp))
}

/// The best `n` settings of one round's scores, in the grid's order.
pub fn survivors(spec: &RunSpec, scores: &[SettingScore], n: usize) -> Vec<Setting> {
    let mut ranked: Vec<&SettingScore> = scores.iter().collect();
    ranked.sort_by(|a, b| rank(a, b));
    let keep: Vec<Setting> = ranked
        .iter()
        .take(n)
        .map(|s| Setting {
            feat: s.feat,
            samp: s.samp,
        })
        .collect();
    spec.grid()
        .into_iter()
        .filter(|s| keep.contains(s))
        .collect()
}

/// The settings of `round` (≥ 1) for `stock`: the survivors of the round before, read from its
/// pred-mses table.
pub async fn round_settings(
    store: &dyn Store,
    run: &RunId,
    spec: &RunSpec,
    stock: &Symbol,
    round: u32,
) -> Result<Vec<Setting>> {
    let rounds = spec.rounds();
    let this = rounds.get(round as usize).ok_or_else(|| {
        StageError::Invalid(format!(
            "run {run}: its search has rounds 0 to {}, not {round}",
            rounds.len().saturating_sub(1)
        ))
    })?;
    if round == 0 {
        return Ok(spec.grid());
    }
    let before = read_round(
        store,
        &layout::pred_mses_round_key(run, stock, round - 1),
        stock,
    )
    .await?;
    Ok(survivors(spec, &before, this.settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(feat: u32, samp: u32, mse: Option<f64>) -> SettingScore {
        SettingScore {
            feat,
            samp,
            round: 0,
            groves_planned: 1,
            groves_found: u32::from(mse.is_some()),
            missing: Vec::new(),
            mse,
        }
    }

    #[test]
    fn the_better_half_goes_on_ties_by_fewer_features_then_smaller_split() {
        let spec = RunSpec {
            feat: vec![9, 5],
            samp: vec![25, 5],
            ..RunSpec::default()
        };
        let scores = [
            scored(9, 25, Some(1.0)),
            scored(9, 5, None),
            scored(5, 25, Some(1.0)),
            scored(5, 5, Some(f64::NAN)),
        ];
        // 5/25 and 9/25 tie on MSE: 5 features ranks first.
        let one = survivors(&spec, &scores, 1);
        assert_eq!(one, [Setting { feat: 5, samp: 25 }]);
        // Both tied settings, in the grid's order (feat 9 before 5 in this manifest).
        let two = survivors(&spec, &scores, 2);
        assert_eq!(
            two,
            [Setting { feat: 9, samp: 25 }, Setting { feat: 5, samp: 25 }]
        );
        // Without a finite MSE a setting comes last; among those, the tie-break order.
        let three = survivors(&spec, &scores, 3);
        assert!(three.contains(&Setting { feat: 5, samp: 5 }), "{three:?}");
        assert!(!three.contains(&Setting { feat: 9, samp: 5 }), "{three:?}");
        assert_eq!(survivors(&spec, &scores, 9).len(), 4);
    }
}
