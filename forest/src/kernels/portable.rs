//! The portable kernels: the reference the SIMD versions match bit for bit, and what any CPU
//! runs. No branch depends on what a predictor cannot learn (which lane improves, which side
//! a row goes to): a misprediction costs more than the work it skips. The partition works in fixed chunks of 32 entries: the `SAME`-bit bookkeeping on
//! masks (`kept_same`), the entries with their new bits computed for all lanes alike (which
//! the compiler turns into vector code), and a chunk that goes all one way (common: the
//! features are correlated, so a node's rows often split in long runs) copied whole; the last
//! entries are one more chunk, padded. The scan and the filter stay loops over single entries
//! (see there).

use super::{
    bit, first_lanes, kept_same, pay_weight, pay_wq, row, Candidate, Lanes, ScanSpec, LANES, SAME,
};
use std::ops::Range;

pub(super) fn scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    // One position at a time, lane after lane, without a branch on the data: about 40 % of
    // positions improve their lane's best and 15 % are ties, in no pattern a predictor
    // learns. A tie makes its score a NaN, which compares false; the update always writes,
    // to the lane's slot if the position is better, else to a spare slot (`LANES`).
    let mut d2s = [-1.0f64; LANES + 1];
    let mut dens = [1.0f64; LANES + 1];
    let mut poss = [-1i64; LANES + 1];
    let (mut wl, mut sl) = (w0, s0);
    let mut lane = 0;
    for (i, pair) in seg[spec.first..=spec.last + 1].windows(2).enumerate() {
        let p = pay[row(pair[0]) as usize];
        wl += pay_weight(p);
        sl += pay_wq(p);
        // Exact: |wl|, |sl| < 2^53.
        let nan_if_tie = u64::from(pair[1] >> 31).wrapping_neg() & NAN_BITS;
        let wlf = f64::from_bits((wl as f64).to_bits() | nan_if_tie);
        let slf = sl as f64;
        let d = slf - wlf * spec.mu;
        let den = wlf * (spec.w_total - wlf);
        let d2 = d * d;
        let better = d2 * dens[lane] > d2s[lane] * den;
        let slot = if better { lane } else { LANES };
        d2s[slot] = d2;
        dens[slot] = den;
        poss[slot] = (spec.first + i) as i64;
        lane = (lane + 1) % LANES;
    }
    let mut lanes = Lanes::new();
    lanes.d2.copy_from_slice(&d2s[..LANES]);
    lanes.den.copy_from_slice(&dens[..LANES]);
    lanes.pos.copy_from_slice(&poss[..LANES]);
    lanes.reduce()
}

/// Bits that make any `f64` a NaN when or-ed into it (exponent all ones, quiet bit set).
const NAN_BITS: u64 = 0x7FF8_0000_0000_0000;

/// Entries per chunk of the partition and the filter (masks are `u64`, and `kept_same` needs
/// a bit above the chunk for its carry).
const CHUNK: usize = 32;

/// Lanes of `chunk` whose row goes left (`side` is 1 for it, else 0), and lanes with a value
/// boundary (no `SAME` bit).
#[inline(always)]
fn masks(chunk: &[u32; CHUNK], side: &[u8]) -> (u64, u64) {
    let mut left = 0u64;
    for (j, &e) in chunk.iter().enumerate() {
        left |= u64::from(side[row(e) as usize]) << j;
    }
    let mut same = 0u64;
    for (j, &e) in chunk.iter().enumerate() {
        same |= u64::from(e >> 31) << j;
    }
    (left, !same & first_lanes(CHUNK))
}

/// Entry `e` (lane `j` of its chunk) with its `SAME` bit from `same`.
#[inline(always)]
fn with_same(e: u32, same: u64, j: usize) -> u32 {
    row(e) | (((same >> j) as u32) << 31)
}

pub(super) fn partition_lists(
    src: &[u32],
    dst: &mut [u32],
    ranges: impl Iterator<Item = Range<usize>>,
    side: &[u8],
    // Writing both sides costs the portable version nothing extra worth saving.
    (n_left, _need): (usize, (bool, bool)),
) {
    for r in ranges {
        partition(&src[r.clone()], &mut dst[r], side, n_left);
    }
}

fn partition(src: &[u32], dst: &mut [u32], side: &[u8], n_left: usize) {
    let mut cursors = Cursors {
        at: (0, n_left),
        pending: (1, 1),
    };
    let all = first_lanes(CHUNK);
    let (chunks, rest) = src.as_chunks::<CHUNK>();
    for chunk in chunks {
        let (left, boundary) = masks(chunk, side);
        let right = all & !left;
        if left == all || right == all {
            // All one way: every entry keeps its bit but the first, whose previous entry on
            // this side may be further back; the other side only notes the boundaries.
            let (at, pending, other) = if left == all {
                (
                    &mut cursors.at.0,
                    &mut cursors.pending.0,
                    &mut cursors.pending.1,
                )
            } else {
                (
                    &mut cursors.at.1,
                    &mut cursors.pending.1,
                    &mut cursors.pending.0,
                )
            };
            let out = &mut dst[*at..*at + CHUNK];
            out.copy_from_slice(chunk);
            out[0] = with_same(chunk[0], !(boundary | *pending), 0);
            *at += CHUNK;
            *pending = 0;
            *other |= u64::from(boundary != 0);
        } else {
            cursors.scatter(chunk, CHUNK, (left, right), boundary, dst);
        }
    }
    if !rest.is_empty() {
        // The last entries as a chunk, padded with row 0 marked as the same value: no
        // boundary, and a valid lookup (`side` covers every row of the list, so row 0 too).
        // Only the first `rest.len()` lanes are written.
        let mut padded = [SAME; CHUNK];
        padded[..rest.len()].copy_from_slice(rest);
        let (left, boundary) = masks(&padded, side);
        let valid = first_lanes(rest.len());
        let (left, right) = (left & valid, valid & !left);
        cursors.scatter(&padded, rest.len(), (left, right), boundary, dst);
    }
}

/// The two sides (left, right) of a partition as it goes: where each writes next, and whether
/// a value boundary was passed since each kept its last entry.
struct Cursors {
    at: (usize, usize),
    pending: (u64, u64),
}

impl Cursors {
    /// The first `n` entries of `chunk` to their sides (lanes `goes.0` left, `goes.1` right;
    /// lanes from `n` on in neither), lanes `boundary` with a value boundary.
    #[inline(always)]
    fn scatter(
        &mut self,
        chunk: &[u32; CHUNK],
        n: usize,
        goes: (u64, u64),
        boundary: u64,
        dst: &mut [u32],
    ) {
        let (same_l, next_l) = kept_same::<{ CHUNK as u32 }>(boundary, goes.0, self.pending.0);
        let (same_r, next_r) = kept_same::<{ CHUNK as u32 }>(boundary, goes.1, self.pending.1);
        self.pending = (next_l, next_r);
        // The entries with their new bits first, all lanes alike (vector code), then each to
        // its side's cursor: branch-free, as the side is unpredictable.
        let same = (same_l | same_r) as u32;
        let mut out = [0u32; CHUNK];
        for (j, (o, &e)) in out.iter_mut().zip(chunk).enumerate() {
            let same_bit = if same & (1 << j) != 0 { SAME } else { 0 };
            *o = row(e) | same_bit;
        }
        let (mut l, mut r) = self.at;
        let mut goes_left = goes.0;
        for &o in &out[..n] {
            let slot = if goes_left & 1 == 1 { l } else { r };
            dst[slot] = o;
            l += (goes_left & 1) as usize;
            r += (!goes_left & 1) as usize;
            goes_left >>= 1;
        }
        self.at = (l, r);
    }
}

pub(super) fn filter(src: &[u32], dst: &mut [u32], bits: &[u64], rename: &[u32]) -> usize {
    // One entry at a time: about two rows in three are kept, so chunks are hardly ever kept
    // whole, and their masks would cost more than they save.
    let mut k = 0;
    // Whether a value boundary was passed since the last kept entry.
    let mut pending = true;
    for &e in src {
        let id = row(e);
        let kept = bit(bits, id);
        pending |= e & SAME == 0;
        let same = if pending { 0 } else { SAME };
        pending &= !kept;
        // Branch-free: always write, advance when kept (a dropped entry's slot is overwritten
        // by the next kept one).
        dst[k] = rename[id as usize] | same;
        k += usize::from(kept);
    }
    k
}
