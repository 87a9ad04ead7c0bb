//! Random-forest regressor with exact splits: the compute core of groves.
//!
//! The vocabulary is scikit-learn's `RandomForestRegressor` (`n_estimators`, `max_features`,
//! `min_samples_split`, `min_samples_leaf`, `max_depth`, `bootstrap`), with squared-error
//! splits on exact feature values. Trees are grown in parallel on a dedicated rayon pool of
//! `n_threads` threads; the result depends only on the data, the parameters and the seed,
//! never on the thread count (nor on the CPU's SIMD instructions: the kernel versions, AVX-512,
//! AVX2, NEON and portable, compute bit-identical trees; [`kernels_in_use`] names the one in
//! use, and the environment variable `FOREST_KERNELS` can force one, see there).
//!
//! Precision: features are held as `f32`, as scikit-learn's trees hold them, and splits are
//! exact between adjacent distinct `f32` values (no binning), so a threshold separates prices
//! a tick apart. Targets are centred on their midrange and quantised to integers for training
//! (a step of about 1e-10 of their range), leaf means are stored as `f32` offsets from that
//! centre and predictions are summed in `f64`.
//!
//! How training works is described in the `build` module; the model file in `format`.
//!
//! ```
//! use forest::{Forest, ForestParams, Matrix};
//! let x0: Vec<f64> = (0..200).map(|i| i as f64).collect();
//! let x1: Vec<f64> = (0..200).map(|i| ((i * 37) % 200) as f64).collect();
//! let y: Vec<f64> = x0.iter().map(|v| if *v < 100.0 { 1.0 } else { 5.0 }).collect();
//! let x = Matrix::from_columns(vec!["a".into(), "b".into()], vec![x0, x1])?;
//! let params = ForestParams { n_estimators: 10, max_features: 2, seed: 7, ..Default::default() };
//! let forest = Forest::fit(&x, &y, &params)?;
//! let again = Forest::from_bytes(&forest.to_bytes()?)?;
//! assert_eq!(forest.predict(&x)?, again.predict(&x)?);
//! # Ok::<(), forest::ForestError>(())
//! ```

mod build;
mod error;
mod forest;
mod format;
mod kernels;
mod matrix;
mod params;
mod presorted;
mod rng;
mod tree;

pub use crate::error::ForestError;
pub use crate::forest::{average_predictions, Forest};
pub use crate::format::{read_header, ModelHeader, FORMAT_VERSION};
pub use crate::kernels::kernels_in_use;
pub use crate::matrix::Matrix;
pub use crate::params::ForestParams;
pub use crate::rng::grove_seed;
pub use crate::tree::{NodeKind, TreeView};
