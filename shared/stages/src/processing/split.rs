//! Which rows go to train, validation and test: sizes as the original's scikit-learn split,
//! in time order or drawn at random with a seed.

use groves_core::spec::SplitMethod;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Row positions of each split, each ascending (time order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<u32>,
    pub validation: Vec<u32>,
    pub test: Vec<u32>,
}

/// Split sizes as scikit-learn's `train_test_split` gives them when applied twice with
/// `test_size=0.2` (the original's method): test = ⌈n/5⌉, validation = ⌈(n − test)/5⌉, the
/// rest (≈ 64 %) is train.
pub fn split_sizes(n: usize) -> (usize, usize, usize) {
    let test = n.div_ceil(5);
    let validation = (n - test).div_ceil(5);
    (n - test - validation, validation, test)
}

pub fn split_indices(n: usize, method: SplitMethod, seed: u64) -> SplitIndices {
    let (n_train, n_val, _) = split_sizes(n);
    let mut ids: Vec<u32> = (0..n as u32).collect();
    if method == SplitMethod::Random {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        ids.shuffle(&mut rng);
    }
    let mut train = ids[..n_train].to_vec();
    let mut validation = ids[n_train..n_train + n_val].to_vec();
    let mut test = ids[n_train + n_val..].to_vec();
    train.sort_unstable();
    validation.sort_unstable();
    test.sort_unstable();
    SplitIndices {
        train,
        validation,
        test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_follow_train_test_split_twice() {
        assert_eq!(split_sizes(100), (64, 16, 20));
        assert_eq!(split_sizes(3), (1, 1, 1));
        let (a, b, c) = split_sizes(700_001);
        assert_eq!(a + b + c, 700_001);
        assert_eq!(c, 140_001);
    }

    #[test]
    fn splits_are_disjoint_and_cover() {
        for method in [SplitMethod::Random, SplitMethod::Chronological] {
            let s = split_indices(1000, method, 7);
            let mut all: Vec<u32> = s
                .train
                .iter()
                .chain(&s.validation)
                .chain(&s.test)
                .copied()
                .collect();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<u32>>());
        }
        let c = split_indices(10, SplitMethod::Chronological, 0);
        assert_eq!(c.train, (0..6).collect::<Vec<u32>>());
        assert_eq!(c.validation, vec![6, 7]);
        assert_eq!(c.test, vec![8, 9]);
        assert_eq!(
            split_indices(500, SplitMethod::Random, 1),
            split_indices(500, SplitMethod::Random, 1)
        );
        assert_ne!(
            split_indices(500, SplitMethod::Random, 1),
            split_indices(500, SplitMethod::Random, 2)
        );
    }
}
