//! Fitting: known answers, hyperparameters, determinism, combining groves.

mod common;

use common::{mse, params, prices, uniform, Lcg};
use forest::{average_predictions, Forest, ForestParams, Matrix, NodeKind};

fn split_nodes(tree: &forest::TreeView<'_>) -> Vec<(usize, usize)> {
    let samples = tree.node_samples();
    tree.nodes()
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match k {
            NodeKind::Split { feature, .. } => Some((*feature, samples[i])),
            NodeKind::Leaf { .. } => None,
        })
        .collect()
}

fn leaf_samples(tree: &forest::TreeView<'_>) -> Vec<usize> {
    tree.nodes()
        .iter()
        .filter_map(|k| match k {
            NodeKind::Leaf { n_samples, .. } => Some(*n_samples),
            NodeKind::Split { .. } => None,
        })
        .collect()
}

#[test]
fn recovers_a_step_function() {
    let step = |r: &[f64], _: &mut Lcg| if r[0] < 0.5 { 1.0 } else { 5.0 };
    let (x, y) = uniform(1000, 3, 1, step);
    let forest = Forest::fit(&x, &y, &params(20, 3, 7)).unwrap();
    for tree in forest.trees() {
        match tree.node(0) {
            NodeKind::Split {
                feature, threshold, ..
            } => {
                assert_eq!(feature, 0);
                assert!(
                    (0.45..0.55).contains(&threshold),
                    "root threshold {threshold}"
                );
            }
            NodeKind::Leaf { .. } => panic!("root is a leaf"),
        }
    }
    let (xt, yt) = uniform(500, 3, 2, step);
    let pred = forest.predict(&xt).unwrap();
    // Only points right at the step can be misplaced.
    let wrong = pred
        .iter()
        .zip(&yt)
        .filter(|(p, t)| (*p - *t).abs() > 0.5)
        .count();
    assert!(wrong <= 3, "{wrong} points off the step");
}

#[test]
fn recovers_a_noisy_line() {
    let line = |r: &[f64], g: &mut Lcg| r[0] + 0.05 * g.normal();
    let (x, y) = uniform(3000, 2, 3, line);
    let p = ForestParams {
        min_samples_leaf: 5,
        ..params(50, 2, 1)
    };
    let forest = Forest::fit(&x, &y, &p).unwrap();
    let (xt, _) = uniform(1000, 2, 4, line);
    let truth: Vec<f64> = xt.column(0).iter().map(|&v| f64::from(v)).collect();
    let err = mse(&forest.predict(&xt).unwrap(), &truth);
    // The noise variance is 0.0025; averaging leaves of >= 5 rows over 50 trees does far better.
    assert!(err < 4e-4, "mse against the true line {err}");
}

#[test]
fn one_full_tree_without_bootstrap_fits_the_training_set_exactly() {
    let (x, y) = uniform(500, 4, 5, |r, g| r[0] * 3.0 + r[1] + g.normal());
    let p = ForestParams {
        n_estimators: 1,
        max_features: 4,
        min_samples_split: 2,
        bootstrap: false,
        n_threads: Some(1),
        ..ForestParams::default()
    };
    let forest = Forest::fit(&x, &y, &p).unwrap();
    let tree = forest.tree(0).unwrap();
    assert!(leaf_samples(&tree).iter().all(|&n| n == 1));
    assert_eq!(tree.node_samples()[0], 500);
    let pred = forest.predict(&x).unwrap();
    for (p, t) in pred.iter().zip(&y) {
        // Leaf values are kept as f32 offsets from the target's midrange.
        assert!((p - t).abs() < 1e-5, "{p} vs {t}");
    }
}

#[test]
fn bootstrap_draws_about_63_percent_distinct_rows() {
    let (x, y) = uniform(2000, 2, 6, |r, _| r[0]);
    let forest = Forest::fit(&x, &y, &params(10, 2, 3)).unwrap();
    for tree in forest.trees() {
        let distinct = tree.node_samples()[0];
        assert!((1150..1380).contains(&distinct), "{distinct} distinct rows");
    }
}

#[test]
fn min_samples_split_is_honoured() {
    let (x, y) = uniform(3000, 3, 7, |r, g| r[0] + r[1] + 0.3 * g.normal());
    for mss in [2usize, 15, 40] {
        let p = ForestParams {
            min_samples_split: mss,
            ..params(5, 2, 9)
        };
        let forest = Forest::fit(&x, &y, &p).unwrap();
        for tree in forest.trees() {
            assert!(split_nodes(&tree).iter().all(|&(_, n)| n >= mss));
            // Continuous noisy data: every node big enough is split.
            assert!(leaf_samples(&tree).iter().all(|&n| n < mss), "mss {mss}");
        }
    }
}

#[test]
fn min_samples_leaf_is_honoured() {
    let (x, y) = uniform(3000, 3, 8, |r, g| r[0] + 0.3 * g.normal());
    for msl in [1usize, 4, 25] {
        let p = ForestParams {
            min_samples_leaf: msl,
            ..params(5, 3, 2)
        };
        let forest = Forest::fit(&x, &y, &p).unwrap();
        for tree in forest.trees() {
            let leaves = leaf_samples(&tree);
            assert!(leaves.iter().all(|&n| n >= msl), "msl {msl}");
            assert!(leaves.contains(&msl), "msl {msl} never binds");
        }
    }
}

#[test]
fn max_depth_is_honoured() {
    let (x, y) = uniform(2000, 3, 9, |r, g| r[0] + 0.3 * g.normal());
    let unlimited = Forest::fit(&x, &y, &params(3, 3, 1)).unwrap();
    assert!(unlimited.trees().all(|t| t.depth() > 8));
    for depth in [1usize, 3, 6] {
        let p = ForestParams {
            max_depth: Some(depth),
            ..params(3, 3, 1)
        };
        let forest = Forest::fit(&x, &y, &p).unwrap();
        for tree in forest.trees() {
            assert_eq!(tree.depth(), depth);
            assert!(tree.n_leaves() <= 1 << depth);
        }
    }
}

#[test]
fn max_features_is_honoured() {
    // Only x0 matters; x1..x5 are noise.
    let (x, y) = uniform(1000, 6, 10, |r, g| 10.0 * r[0] + 0.1 * g.normal());
    for k in [1usize, 3, 6] {
        let forest = Forest::fit(&x, &y, &params(30, k, 4)).unwrap();
        let mut root_features = std::collections::BTreeSet::new();
        for tree in forest.trees() {
            let drawn = tree.features_drawn().unwrap();
            for (i, node) in tree.nodes().iter().enumerate() {
                match node {
                    // No feature is constant in a node of continuous data: exactly k drawn.
                    NodeKind::Split { .. } => assert_eq!(usize::from(drawn[i]), k),
                    NodeKind::Leaf { .. } => assert_eq!(drawn[i], 0),
                }
            }
            if let NodeKind::Split { feature, .. } = tree.node(0) {
                root_features.insert(feature);
            }
        }
        match k {
            // With all features drawn the informative one always wins at the root.
            6 => assert_eq!(root_features.into_iter().collect::<Vec<_>>(), vec![0]),
            // With one drawn at random, the root feature varies.
            1 => assert!(root_features.len() >= 4, "{root_features:?}"),
            _ => assert!(root_features.contains(&0)),
        }
    }
}

#[test]
fn constant_features_are_skipped_but_counted_like_scikit_learn() {
    // x1 and x2 are constant: with max_features 1, a node that draws one of them draws on
    // until it finds x0, so every split is on x0.
    let mut g = Lcg::new(11);
    let x0: Vec<f64> = (0..300).map(|_| g.next_f64()).collect();
    let y: Vec<f64> = x0.iter().map(|v| v * 2.0 + 0.1 * g.normal()).collect();
    let x =
        Matrix::from_columns(common::names(3), vec![x0, vec![1.0; 300], vec![-2.0; 300]]).unwrap();
    let forest = Forest::fit(&x, &y, &params(10, 1, 5)).unwrap();
    let mut drew_more = false;
    for tree in forest.trees() {
        let drawn = tree.features_drawn().unwrap();
        for (i, node) in tree.nodes().iter().enumerate() {
            if let NodeKind::Split { feature, .. } = node {
                assert_eq!(*feature, 0);
                drew_more |= drawn[i] > 1;
            }
        }
    }
    assert!(drew_more);
}

#[test]
fn constant_target_gives_a_single_leaf() {
    let (x, _) = uniform(200, 2, 12, |_, _| 0.0);
    let forest = Forest::fit(&x, &[3.25; 200], &params(3, 2, 1)).unwrap();
    for tree in forest.trees() {
        assert_eq!(tree.n_nodes(), 1);
    }
    assert!(forest.predict(&x).unwrap().iter().all(|&p| p == 3.25));
}

#[test]
fn identical_whatever_the_thread_count() {
    let (x, y) = prices(3000, 10, 13);
    let base = ForestParams {
        min_samples_split: 15,
        ..params(12, 7, 99)
    };
    let fits: Vec<Forest> = [1usize, 2, 3, 8]
        .iter()
        .map(|&t| {
            let p = ForestParams {
                n_threads: Some(t),
                ..base.clone()
            };
            Forest::fit(&x, &y, &p).unwrap()
        })
        .collect();
    let bytes: Vec<Vec<u8>> = fits
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.set_n_threads(None).unwrap();
            f.to_bytes().unwrap()
        })
        .collect();
    let preds: Vec<Vec<f64>> = fits.iter().map(|f| f.predict(&x).unwrap()).collect();
    for i in 1..fits.len() {
        assert_eq!(bytes[i], bytes[0]);
        assert_eq!(preds[i], preds[0]);
    }
    // Refitting reproduces it; another seed does not.
    assert_eq!(
        Forest::fit(&x, &y, &base).unwrap().predict(&x).unwrap(),
        preds[0]
    );
    let other = ForestParams { seed: 100, ..base };
    assert_ne!(
        Forest::fit(&x, &y, &other).unwrap().predict(&x).unwrap(),
        preds[0]
    );
}

#[test]
fn beats_the_naive_forecast_baseline_on_a_trend_free_target() {
    // Target is the mean of the lags (so learnable from features), sanity check on prices.
    let (x, _) = prices(4000, 10, 14);
    let y: Vec<f64> = (0..x.n_rows())
        .map(|r| (0..11).map(|f| f64::from(x.column(f)[r])).sum::<f64>() / 11.0)
        .collect();
    let forest = Forest::fit(&x, &y, &params(20, 7, 3)).unwrap();
    let naive: Vec<f64> = x.column(0).iter().map(|&v| f64::from(v)).collect();
    let pred = forest.predict(&x).unwrap();
    assert!(mse(&pred, &y) < mse(&naive, &y) / 4.0);
}

#[test]
fn merged_groves_predict_their_average() {
    let (x, y) = prices(2000, 10, 15);
    let groves: Vec<Forest> = (0..3)
        .map(|g| {
            let seed = forest::grove_seed("TEST", 7, 15, g, 1);
            let p = ForestParams {
                min_samples_split: 15,
                ..params(8, 7, seed)
            };
            Forest::fit(&x, &y, &p).unwrap()
        })
        .collect();
    let preds: Vec<Vec<f64>> = groves.iter().map(|g| g.predict(&x).unwrap()).collect();
    let avg = average_predictions(&preds).unwrap();
    let merged = Forest::merge(groves).unwrap();
    assert_eq!(merged.n_trees(), 24);
    assert_eq!(merged.params().n_estimators, 24);
    for (a, b) in merged.predict(&x).unwrap().iter().zip(&avg) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn average_predictions_is_the_row_mean() {
    let avg = average_predictions(&[vec![1.0, 2.0], vec![3.0, 6.0], vec![2.0, 1.0]]).unwrap();
    assert_eq!(avg, vec![2.0, 3.0]);
}

#[test]
fn predict_on_no_rows_gives_nothing() {
    let (x, y) = uniform(100, 2, 16, |r, _| r[0]);
    let forest = Forest::fit(&x, &y, &params(2, 1, 1)).unwrap();
    let empty = Matrix::from_columns(common::names(2), vec![vec![], vec![]]).unwrap();
    assert!(forest.predict(&empty).unwrap().is_empty());
}

#[test]
fn a_single_row_trains_a_leaf() {
    let x = Matrix::from_columns(common::names(1), vec![vec![4.0]]).unwrap();
    let forest = Forest::fit(&x, &[7.5], &params(3, 1, 1)).unwrap();
    assert_eq!(forest.predict(&x).unwrap(), vec![7.5]);
    assert_eq!(forest.train_rows(), 1);
}
