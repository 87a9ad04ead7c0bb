//! The portable kernels: the reference the SIMD versions match bit for bit, and what any CPU
//! runs. The partition works in fixed chunks of 32 entries with branch-free inner loops: the
//! `SAME`-bit bookkeeping on masks (`kept_same`), and a chunk that goes all one way (common:
//! the features are correlated, so a node's rows often split in long runs) copied whole. The
//! scan and the filter stay loops over single entries (see there).

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
    // One position at a time, lane after lane. The sixteen lanes of a chunk vectorised with
    // SSE2 (no 64-bit conversions, no blends) cost more instructions than this, where the
    // update is mostly skipped (ties, and scores below the lane's best).
    let mut lanes = Lanes::new();
    let (mut wl, mut sl) = (w0, s0);
    let mut lane = 0;
    for (i, pair) in seg[spec.first..=spec.last + 1].windows(2).enumerate() {
        let p = pay[row(pair[0]) as usize];
        wl += pay_weight(p);
        sl += pay_wq(p);
        // Exact: |wl|, |sl| < 2^53.
        let (wlf, slf) = (wl as f64, sl as f64);
        let d = slf - wlf * spec.mu;
        let den = wlf * (spec.w_total - wlf);
        let d2 = d * d;
        let tie = pair[1] & SAME != 0;
        if !tie && d2 * lanes.den[lane] > lanes.d2[lane] * den {
            lanes.d2[lane] = d2;
            lanes.den[lane] = den;
            lanes.pos[lane] = (spec.first + i) as i64;
        }
        lane = (lane + 1) % LANES;
    }
    lanes.reduce()
}

/// Entries per chunk of the partition and the filter (masks are `u64`, and `kept_same` needs
/// a bit above the chunk for its carry).
const CHUNK: usize = 32;

/// Lanes of `chunk` whose row's bit is set in `bits`, and lanes with a value boundary (no
/// `SAME` bit).
#[inline(always)]
fn masks(chunk: &[u32; CHUNK], bits: &[u64]) -> (u64, u64) {
    // Shifting in each lane's bit from the last lane down keeps the shifts constant.
    let mut set = 0u64;
    for &e in chunk.iter().rev() {
        // `e & 63` is `row(e) & 63`.
        set = (set << 1) | ((bits[row(e) as usize >> 6] >> (e & 63)) & 1);
    }
    let mut same = 0u64;
    for (j, &e) in chunk.iter().enumerate() {
        same |= u64::from(e >> 31) << j;
    }
    (set, !same & first_lanes(CHUNK))
}

/// Entry `e` (lane `j` of its chunk) with its `SAME` bit from `same`.
#[inline(always)]
fn with_same(e: u32, same: u64, j: usize) -> u32 {
    row(e) | (((same >> j) as u32) << 31)
}

/// The `SAME` bit of an entry kept on a side, given the side's pending bit in `pending` (mask
/// `this` of it); the bit is cleared, as the side has kept an entry since. This is
/// `kept_same` one entry at a time, for the entries after the last whole chunk.
#[inline(always)]
fn keep_one(pending: &mut u32, this: u32) -> u32 {
    // Pending: 0 - 1 has the top bit set (same value); pending: this - 1 has not.
    let same = (*pending & this).wrapping_sub(1) & SAME;
    *pending &= !this;
    same
}

pub(super) fn partition_lists(
    src: &[u32],
    dst: &mut [u32],
    ranges: impl Iterator<Item = Range<usize>>,
    side: &[u64],
    // Writing both sides costs the portable version nothing extra worth saving.
    (n_left, _need): (usize, (bool, bool)),
) {
    for r in ranges {
        partition(&src[r.clone()], &mut dst[r], side, n_left);
    }
}

fn partition(src: &[u32], dst: &mut [u32], side: &[u64], n_left: usize) {
    let (mut l, mut r) = (0, n_left);
    let (mut pending_l, mut pending_r) = (1, 1);
    let all = first_lanes(CHUNK);
    let (chunks, rest) = src.as_chunks::<CHUNK>();
    for chunk in chunks {
        let (left, boundary) = masks(chunk, side);
        let right = all & !left;
        if left == all || right == all {
            // All one way: every entry keeps its bit but the first, whose previous entry on
            // this side may be further back; the other side only notes the boundaries.
            let (at, pending, other) = if left == all {
                (&mut l, &mut pending_l, &mut pending_r)
            } else {
                (&mut r, &mut pending_r, &mut pending_l)
            };
            let out = &mut dst[*at..*at + CHUNK];
            out.copy_from_slice(chunk);
            out[0] = with_same(chunk[0], !(boundary | *pending), 0);
            *at += CHUNK;
            *pending = 0;
            *other |= u64::from(boundary != 0);
        } else {
            let (same_l, next_l) = kept_same::<{ CHUNK as u32 }>(boundary, left, pending_l);
            let (same_r, next_r) = kept_same::<{ CHUNK as u32 }>(boundary, right, pending_r);
            (pending_l, pending_r) = (next_l, next_r);
            // Lane j's bits are bit 0 of the masks shifted right j times (constant shifts).
            let (mut goes_left, mut same) = (left, same_l | same_r);
            for &e in chunk {
                // Branch-free (the side is unpredictable): pick the slot, advance one cursor.
                let slot = if goes_left & 1 == 1 { l } else { r };
                dst[slot] = row(e) | (same << 31) as u32;
                l += (goes_left & 1) as usize;
                r += (!goes_left & 1) as usize;
                goes_left >>= 1;
                same >>= 1;
            }
        }
    }
    // The last entries one at a time; bit 0 of `pending` is the left side's, bit 1 the right's.
    let mut pending = (pending_l | pending_r << 1) as u32;
    for &e in rest {
        let left = bit(side, row(e));
        pending |= (!e >> 31) * 3;
        let same = keep_one(&mut pending, if left { 1 } else { 2 });
        let slot = if left { l } else { r };
        dst[slot] = row(e) | same;
        l += usize::from(left);
        r += usize::from(!left);
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
