//! Small, fully specified random number generation and seed derivation.
//!
//! Our own generator rather than `rand`'s: the streams (and so every tree) must stay the same
//! across dependency upgrades, so that a retried grove reproduces itself bit for bit.

/// The SplitMix64 finaliser: a bijective 64-bit mix with full avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Seed of one grove, derived from what identifies it in the search.
///
/// Stable by definition (not `std`'s `DefaultHasher`, whose output may change between Rust
/// releases): FNV-1a 64 over the UTF-8 bytes of `stock`, a `0xFF` separator (never part of
/// UTF-8, so `"AB"+…` and `"A"+"B…"` cannot collide), then the little-endian bytes of
/// `max_features` (u64), `min_samples_split` (u64), `grove` (u32) and `base_seed` (u64),
/// finished with the SplitMix64 mix. Changing this function changes every model: the unit
/// test pins its values.
pub fn grove_seed(
    stock: &str,
    max_features: usize,
    min_samples_split: usize,
    grove: u32,
    base_seed: u64,
) -> u64 {
    let mut h = fnv1a(FNV_OFFSET, stock.as_bytes());
    h = fnv1a(h, &[0xFF]);
    h = fnv1a(h, &(max_features as u64).to_le_bytes());
    h = fnv1a(h, &(min_samples_split as u64).to_le_bytes());
    h = fnv1a(h, &grove.to_le_bytes());
    h = fnv1a(h, &base_seed.to_le_bytes());
    mix64(h)
}

/// Seed of tree `index` of a forest fitted with `seed`: depends on nothing else, so trees can
/// be built on any thread in any order.
pub(crate) fn tree_seed(seed: u64, index: usize) -> u64 {
    mix64(seed ^ mix64(index as u64 ^ 0x5452_4545_5345_4544))
}

/// xoshiro256++ (Blackman & Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform integer in `0..n` (`n > 0`), by Lemire's multiply-and-reject method (unbiased).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grove_seed_is_pinned() {
        // These values define the seeds of every grove ever trained: they must never change.
        // (Also computed independently from the definition above, in Python.)
        assert_eq!(grove_seed("RELIANCE", 7, 15, 0, 42), 0xbbae_7e2e_1f72_6019);
        assert_eq!(grove_seed("RELIANCE", 7, 15, 1, 42), 0x7ee3_6b65_c2a4_7a42);
        assert_eq!(grove_seed("", 5, 5, 0, 0), 0x29fe_3560_0dd0_3f40);
    }

    #[test]
    fn grove_seed_separates_every_input() {
        let base = grove_seed("TCS", 7, 15, 3, 1);
        assert_ne!(base, grove_seed("TCS ", 7, 15, 3, 1));
        assert_ne!(base, grove_seed("TCS", 9, 15, 3, 1));
        assert_ne!(base, grove_seed("TCS", 7, 25, 3, 1));
        assert_ne!(base, grove_seed("TCS", 7, 15, 4, 1));
        assert_ne!(base, grove_seed("TCS", 7, 15, 3, 2));
        assert_eq!(base, grove_seed("TCS", 7, 15, 3, 1));
    }

    #[test]
    fn xoshiro_matches_reference_stream() {
        // xoshiro256++ with its state filled by SplitMix64 from 0 (computed independently).
        let mut r = Rng::new(0);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            first,
            vec![
                0x5317_5d61_490b_23df,
                0x61da_6f3d_c380_d507,
                0x5c0f_df91_ec9a_7bfc
            ]
        );
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            let v = r.below(5) as usize;
            seen[v] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }
}
