//! The forest: fitting trees in parallel, predicting, combining groves.

use crate::build::{build_tree, Workspace};
use crate::error::ForestError;
use crate::kernels::Isa;
use crate::params::ForestParams;
use crate::presorted::Presorted;
use crate::rng::tree_seed;
use crate::tree::{Tree, TreeView};
use crate::Matrix;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fitted random-forest regressor.
#[derive(Debug, Clone)]
pub struct Forest {
    pub(crate) params: ForestParams,
    pub(crate) feature_names: Vec<String>,
    pub(crate) train_rows: usize,
    pub(crate) trees: Vec<Tree>,
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, ForestError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("forest-{i}"))
        .build()
        .map_err(|e| ForestError::ThreadPool(e.to_string()))
}

impl Forest {
    /// Fits `params.n_estimators` trees on `x` and the target `y` (one value per row).
    ///
    /// The result depends only on the data and the parameters other than `n_threads` (not on
    /// the kernel version either: see [`crate::kernels_in_use`], whose error this returns if
    /// `FOREST_KERNELS` asks for a version that cannot run).
    pub fn fit(x: &Matrix, y: &[f64], params: &ForestParams) -> Result<Forest, ForestError> {
        // Bad inputs are reported before a bad kernel choice.
        Forest::check(x, y, params)?;
        Forest::grow(x, y, params, Isa::from_env()?)
    }

    /// [`Forest::fit`] with the kernel version `isa` (tests choose it this way: the
    /// environment is the same for all the tests of a process).
    #[cfg(test)]
    pub(crate) fn fit_with(
        x: &Matrix,
        y: &[f64],
        params: &ForestParams,
        isa: Isa,
    ) -> Result<Forest, ForestError> {
        Forest::check(x, y, params)?;
        Forest::grow(x, y, params, isa)
    }

    /// The input errors of [`Forest::fit`].
    fn check(x: &Matrix, y: &[f64], params: &ForestParams) -> Result<(), ForestError> {
        params.validate(x.n_features())?;
        if x.n_rows() == 0 {
            return Err(ForestError::NoRows);
        }
        if y.len() != x.n_rows() {
            return Err(ForestError::LengthMismatch {
                rows: x.n_rows(),
                targets: y.len(),
            });
        }
        if let Some((row, &value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ForestError::NonFiniteTarget { row, value });
        }
        // Row ids are 32-bit in the sorted lists (with room to spare for a sentinel).
        if x.n_rows() > i32::MAX as usize {
            return Err(ForestError::TooLarge(format!(
                "{} rows (at most {} supported)",
                x.n_rows(),
                i32::MAX
            )));
        }
        Ok(())
    }

    /// [`Forest::fit`] of checked inputs, with the kernel version `isa`.
    fn grow(x: &Matrix, y: &[f64], params: &ForestParams, isa: Isa) -> Result<Forest, ForestError> {
        let threads = params.threads().min(params.n_estimators);
        let pool = pool(threads)?;
        let ds = pool.install(|| Presorted::new(x, y));
        // Threads pull tree numbers from a counter; each tree depends only on its number, so
        // the assignment of trees to threads does not matter.
        let next = AtomicUsize::new(0);
        let per_thread: Vec<Vec<(usize, Tree)>> = pool.broadcast(|_| {
            let mut ws = Workspace::new(isa);
            let mut built = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= params.n_estimators {
                    break;
                }
                built.push((
                    i,
                    build_tree(&ds, params, tree_seed(params.seed, i), &mut ws),
                ));
            }
            built
        });
        drop(ds);
        let mut numbered: Vec<(usize, Tree)> = per_thread.into_iter().flatten().collect();
        numbered.sort_by_key(|(i, _)| *i);
        let trees: Vec<Tree> = numbered.into_iter().map(|(_, t)| t).collect();

        Ok(Forest {
            params: params.clone(),
            feature_names: x.feature_names().to_vec(),
            train_rows: x.n_rows(),
            trees,
        })
    }

    /// Mean prediction of the trees for every row of `x`, whose features must be the training
    /// features in the same order.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ForestError> {
        if x.feature_names() != self.feature_names.as_slice() {
            return Err(ForestError::FeatureMismatch {
                expected: self.feature_names.clone(),
                found: x.feature_names().to_vec(),
            });
        }
        let n = x.n_rows();
        let nf = x.n_features();
        if n == 0 {
            return Ok(Vec::new());
        }
        if n > u32::MAX as usize {
            return Err(ForestError::TooLarge(format!(
                "{n} rows to predict (at most {} at once)",
                u32::MAX
            )));
        }
        // Rows are visited in the order of the first feature: rows with close values take
        // nearly the same path through a tree (here all features are prices), so the nodes they
        // visit are still in cache. Blocks of rows, transposed to row-major, walk every tree in
        // turn; sums run in tree order, so the result does not depend on the thread count.
        const BLOCK: usize = 512;
        let mut order: Vec<u32> = (0..n as u32).collect();
        let first = x.column(0);
        order.sort_unstable_by(|&a, &b| first[a as usize].total_cmp(&first[b as usize]));
        let columns: Vec<&[f32]> = (0..nf).map(|f| x.column(f)).collect();
        let inv = 1.0 / self.trees.len() as f64;
        let offset_sum: f64 = self.trees.iter().map(|t| t.offset).sum();
        let mut sorted_out = vec![0.0f64; n];
        let work = |(block, chunk): (&[u32], &mut [f64])| {
            let mut rows = vec![0.0f32; block.len() * nf];
            for (r, &row) in block.iter().enumerate() {
                for (f, col) in columns.iter().enumerate() {
                    rows[r * nf + f] = col[row as usize];
                }
            }
            for tree in &self.trees {
                for (r, acc) in chunk.iter_mut().enumerate() {
                    *acc += f64::from(tree.leaf_value(&rows[r * nf..(r + 1) * nf]));
                }
            }
            for acc in chunk.iter_mut() {
                *acc = (offset_sum + *acc) * inv;
            }
        };
        let threads = self.params.threads().min(n.div_ceil(BLOCK));
        if threads <= 1 {
            order
                .chunks(BLOCK)
                .zip(sorted_out.chunks_mut(BLOCK))
                .for_each(work);
        } else {
            pool(threads)?.install(|| {
                order
                    .par_chunks(BLOCK)
                    .zip(sorted_out.par_chunks_mut(BLOCK))
                    .for_each(work)
            });
        }
        let mut out = vec![0.0f64; n];
        for (&row, &v) in order.iter().zip(&sorted_out) {
            out[row as usize] = v;
        }
        Ok(out)
    }

    /// The parameters the forest was fitted with.
    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    /// Sets the thread count used by `predict` (e.g. after loading on another machine).
    pub fn set_n_threads(&mut self, n_threads: Option<usize>) -> Result<(), ForestError> {
        if n_threads == Some(0) {
            return Err(ForestError::InvalidParameter {
                name: "n_threads",
                reason: "must be at least 1 (or None)".into(),
            });
        }
        self.params.n_threads = n_threads;
        Ok(())
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Number of rows of the training matrix.
    pub fn train_rows(&self) -> usize {
        self.train_rows
    }

    /// Names of the training features, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Read-only view of tree `i`, or `None` if there is no such tree.
    pub fn tree(&self, i: usize) -> Option<TreeView<'_>> {
        self.trees.get(i).map(|tree| TreeView { tree })
    }

    /// Read-only views of all trees.
    pub fn trees(&self) -> impl Iterator<Item = TreeView<'_>> {
        self.trees.iter().map(|tree| TreeView { tree })
    }

    /// Merges forests fitted on the same data with the same settings (typically groves that
    /// differ only in seed) into one forest whose prediction is the mean over all their trees,
    /// which for groves of equal size equals [`average_predictions`] of their predictions.
    /// The merged forest keeps the first forest's seed and thread count.
    pub fn merge(forests: Vec<Forest>) -> Result<Forest, ForestError> {
        let mut iter = forests.into_iter();
        let Some(mut merged) = iter.next() else {
            return Err(ForestError::IncompatibleForests("no forests given".into()));
        };
        for (i, other) in iter.enumerate() {
            let i = i + 1;
            if other.feature_names != merged.feature_names {
                return Err(ForestError::IncompatibleForests(format!(
                    "forest {i} has features {:?}, forest 0 has {:?}",
                    other.feature_names, merged.feature_names
                )));
            }
            if other.train_rows != merged.train_rows {
                return Err(ForestError::IncompatibleForests(format!(
                    "forest {i} was trained on {} rows, forest 0 on {}",
                    other.train_rows, merged.train_rows
                )));
            }
            let comparable = |p: &ForestParams| ForestParams {
                n_estimators: 0,
                seed: 0,
                n_threads: None,
                ..p.clone()
            };
            if comparable(&other.params) != comparable(&merged.params) {
                return Err(ForestError::IncompatibleForests(format!(
                    "forest {i} has parameters {:?}, forest 0 has {:?}",
                    other.params, merged.params
                )));
            }
            merged.trees.extend(other.trees);
        }
        merged.params.n_estimators = merged.trees.len();
        Ok(merged)
    }
}

/// Mean of several groves' predictions, row by row, each grove weighing the same.
pub fn average_predictions(groves: &[Vec<f64>]) -> Result<Vec<f64>, ForestError> {
    let Some(first) = groves.first() else {
        return Err(ForestError::NothingToAverage);
    };
    for (index, g) in groves.iter().enumerate() {
        if g.len() != first.len() {
            return Err(ForestError::PredictionLengthMismatch {
                index,
                expected: first.len(),
                found: g.len(),
            });
        }
    }
    let inv = 1.0 / groves.len() as f64;
    Ok((0..first.len())
        .map(|i| groves.iter().map(|g| g[i]).sum::<f64>() * inv)
        .collect())
}
