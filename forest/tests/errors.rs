//! Bad input is a clear error, never a panic.

mod common;

use common::{names, params, uniform};
use forest::{average_predictions, Forest, ForestError, ForestParams, Matrix};

fn small() -> (Matrix, Vec<f64>) {
    uniform(50, 3, 31, |r, _| r[0])
}

fn fit_err(x: &Matrix, y: &[f64], p: &ForestParams) -> ForestError {
    let err = Forest::fit(x, y, p).unwrap_err();
    assert!(!err.to_string().is_empty());
    err
}

#[test]
fn non_finite_features_are_rejected() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e39] {
        let err = Matrix::from_columns(names(2), vec![vec![1.0, 2.0], vec![3.0, bad]]).unwrap_err();
        match err {
            ForestError::NonFiniteFeature { feature, row, .. } => {
                assert_eq!((feature.as_str(), row), ("x1", 1));
            }
            other => panic!("{other:?}"),
        }
    }
    let err = Matrix::from_f32_columns(names(1), vec![vec![f32::NAN]]).unwrap_err();
    assert!(matches!(err, ForestError::NonFiniteFeature { .. }));
}

#[test]
fn non_finite_targets_are_rejected() {
    let (x, mut y) = small();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        y[7] = bad;
        match fit_err(&x, &y, &params(2, 2, 1)) {
            ForestError::NonFiniteTarget { row, .. } => assert_eq!(row, 7),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn zero_rows_are_rejected() {
    let x = Matrix::from_columns(names(2), vec![vec![], vec![]]).unwrap();
    assert_eq!(fit_err(&x, &[], &params(2, 2, 1)), ForestError::NoRows);
}

#[test]
fn mismatched_shapes_are_rejected() {
    let (x, y) = small();
    assert_eq!(
        fit_err(&x, &y[..49], &params(2, 2, 1)),
        ForestError::LengthMismatch {
            rows: 50,
            targets: 49
        }
    );
    assert!(matches!(
        Matrix::from_columns(names(2), vec![vec![1.0, 2.0], vec![3.0]]),
        Err(ForestError::RaggedColumns { .. })
    ));
    assert_eq!(
        Matrix::from_columns(names(3), vec![vec![1.0], vec![2.0]]).unwrap_err(),
        ForestError::NameCountMismatch {
            names: 3,
            columns: 2
        }
    );
    assert_eq!(
        Matrix::from_columns(vec![], vec![]).unwrap_err(),
        ForestError::NoFeatures
    );
    assert_eq!(
        Matrix::from_columns(vec!["a".into(), "a".into()], vec![vec![1.0], vec![2.0]]).unwrap_err(),
        ForestError::DuplicateFeatureName("a".into())
    );
}

#[test]
fn max_features_out_of_range_is_rejected() {
    let (x, y) = small();
    for k in [0usize, 4, 100] {
        assert_eq!(
            fit_err(&x, &y, &params(2, k, 1)),
            ForestError::InvalidMaxFeatures {
                max_features: k,
                n_features: 3
            }
        );
    }
    // The default leaves max_features unset on purpose.
    assert!(matches!(
        fit_err(&x, &y, &ForestParams::default()),
        ForestError::InvalidMaxFeatures { .. }
    ));
}

#[test]
fn other_bad_parameters_are_rejected() {
    let (x, y) = small();
    let base = params(2, 2, 1);
    let cases = [
        (
            "n_estimators",
            ForestParams {
                n_estimators: 0,
                ..base.clone()
            },
        ),
        (
            "min_samples_split",
            ForestParams {
                min_samples_split: 1,
                ..base.clone()
            },
        ),
        (
            "min_samples_leaf",
            ForestParams {
                min_samples_leaf: 0,
                ..base.clone()
            },
        ),
        (
            "max_depth",
            ForestParams {
                max_depth: Some(0),
                ..base.clone()
            },
        ),
        (
            "n_threads",
            ForestParams {
                n_threads: Some(0),
                ..base.clone()
            },
        ),
    ];
    for (name, p) in cases {
        match fit_err(&x, &y, &p) {
            ForestError::InvalidParameter { name: got, .. } => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn predicting_on_other_features_is_rejected() {
    let (x, y) = small();
    let forest = Forest::fit(&x, &y, &params(2, 2, 1)).unwrap();
    let fewer = Matrix::from_columns(names(2), vec![vec![1.0], vec![2.0]]).unwrap();
    assert!(matches!(
        forest.predict(&fewer),
        Err(ForestError::FeatureMismatch { .. })
    ));
    let reordered = Matrix::from_columns(
        vec!["x1".into(), "x0".into(), "x2".into()],
        vec![vec![1.0], vec![2.0], vec![3.0]],
    )
    .unwrap();
    assert!(matches!(
        forest.predict(&reordered),
        Err(ForestError::FeatureMismatch { .. })
    ));
}

#[test]
fn bad_averages_and_merges_are_rejected() {
    assert_eq!(
        average_predictions(&[]).unwrap_err(),
        ForestError::NothingToAverage
    );
    assert_eq!(
        average_predictions(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err(),
        ForestError::PredictionLengthMismatch {
            index: 1,
            expected: 2,
            found: 1
        }
    );
    let (x, y) = small();
    let a = Forest::fit(&x, &y, &params(2, 2, 1)).unwrap();
    let b = Forest::fit(&x, &y, &params(2, 3, 1)).unwrap();
    assert!(matches!(
        Forest::merge(vec![a.clone(), b]),
        Err(ForestError::IncompatibleForests(_))
    ));
    let (x2, y2) = uniform(60, 3, 32, |r, _| r[1]);
    let c = Forest::fit(&x2, &y2, &params(2, 2, 1)).unwrap();
    assert!(matches!(
        Forest::merge(vec![a, c]),
        Err(ForestError::IncompatibleForests(_))
    ));
    assert!(matches!(
        Forest::merge(vec![]),
        Err(ForestError::IncompatibleForests(_))
    ));
}
