//! The portable kernels: the reference the SIMD versions match bit for bit, and what any CPU
//! runs. They work in fixed chunks with branch-free inner loops: the scan evaluates its
//! criterion sixteen positions at a time, independent lanes the compiler vectorises (SSE2 on
//! x86_64, NEON on aarch64); the partition and filter keep their `SAME`-bit bookkeeping on
//! masks of 32 entries (`kept_same`), and copy a chunk whole when it goes all one way (common:
//! the features are correlated, so a node's rows often split in long runs).

use super::{
    bit, first_lanes, kept_same, pay_weight, pay_wq, row, Candidate, Lanes, ScanSpec, LANES, SAME,
};
use std::ops::Range;

/// Prefix sums at, and whether a split may follow, sixteen consecutive positions.
struct Chunk {
    wl: [i64; LANES],
    sl: [i64; LANES],
    open: [bool; LANES],
}

impl Lanes {
    /// Positions `base..base + LANES` (one per lane), the reference arithmetic: each lane keeps
    /// the first position of its best score, comparing by cross-multiplication.
    #[inline(always)]
    fn update(&mut self, base: usize, c: &Chunk, spec: &ScanSpec) {
        for j in 0..LANES {
            // Exact: |wl|, |sl| < 2^53.
            let wlf = c.wl[j] as f64;
            let slf = c.sl[j] as f64;
            let d = slf - wlf * spec.mu;
            let den = wlf * (spec.w_total - wlf);
            let d2 = d * d;
            // `&`, not `&&`, and selects rather than an `if`: no branch in the loop.
            let better = c.open[j] & (d2 * self.den[j] > self.d2[j] * den);
            self.d2[j] = if better { d2 } else { self.d2[j] };
            self.den[j] = if better { den } else { self.den[j] };
            self.pos[j] = if better {
                (base + j) as i64
            } else {
                self.pos[j]
            };
        }
    }
}

pub(super) fn scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    let mut lanes = Lanes::new();
    let mut c = Chunk {
        wl: [0; LANES],
        sl: [0; LANES],
        open: [false; LANES],
    };
    let (mut wl, mut sl) = (w0, s0);
    let mut i = spec.first;
    // Whole chunks: the prefix sums (a chain of integer adds), then the criterion (independent
    // lanes).
    while i + LANES <= spec.last + 1 {
        let e = &seg[i..=i + LANES];
        for j in 0..LANES {
            let p = pay[row(e[j]) as usize];
            wl += pay_weight(p);
            sl += pay_wq(p);
            c.wl[j] = wl;
            c.sl[j] = sl;
            c.open[j] = e[j + 1] & SAME == 0;
        }
        lanes.update(i, &c, spec);
        i += LANES;
    }
    // The last positions (fewer than a chunk): the lanes past them stay closed.
    if i <= spec.last {
        let e = &seg[i..=spec.last + 1];
        c.open = [false; LANES];
        for j in 0..e.len() - 1 {
            let p = pay[row(e[j]) as usize];
            wl += pay_weight(p);
            sl += pay_wq(p);
            c.wl[j] = wl;
            c.sl[j] = sl;
            c.open[j] = e[j + 1] & SAME == 0;
        }
        lanes.update(i, &c, spec);
    }
    lanes.reduce()
}

/// Entries per chunk of the partition and the filter (masks are `u64`, and `kept_same` needs
/// a bit above the chunk for its carry).
const CHUNK: usize = 32;

/// Lanes of `chunk` whose row's bit is set in `bits`, and lanes with a value boundary (no
/// `SAME` bit).
#[inline(always)]
fn masks(chunk: &[u32], bits: &[u64]) -> (u64, u64) {
    let (mut set, mut boundary) = (0u64, 0u64);
    for (j, &e) in chunk.iter().enumerate() {
        set |= u64::from(bit(bits, row(e))) << j;
        boundary |= u64::from((e >> 31) ^ 1) << j;
    }
    (set, boundary)
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
    for chunk in src.chunks(CHUNK) {
        let n = chunk.len();
        let valid = first_lanes(n);
        let (left, boundary) = masks(chunk, side);
        let right = valid & !left;
        let (same_l, next_l) = kept_same::<{ CHUNK as u32 }>(boundary, left, pending_l);
        let (same_r, next_r) = kept_same::<{ CHUNK as u32 }>(boundary, right, pending_r);
        (pending_l, pending_r) = (next_l, next_r);
        let same = same_l | same_r;
        if left == valid || right == valid {
            // All one way: every entry keeps its bit but the first, whose previous entry on
            // this side may be further back.
            let at = if left == valid { &mut l } else { &mut r };
            let out = &mut dst[*at..*at + n];
            out.copy_from_slice(chunk);
            out[0] = with_same(chunk[0], same, 0);
            *at += n;
        } else {
            for (j, &e) in chunk.iter().enumerate() {
                // Branch-free (the side is unpredictable): pick the slot, advance one cursor.
                let goes_left = (left >> j) & 1 == 1;
                let slot = if goes_left { l } else { r };
                dst[slot] = with_same(e, same, j);
                l += usize::from(goes_left);
                r += usize::from(!goes_left);
            }
        }
    }
}

pub(super) fn filter(src: &[u32], dst: &mut [u32], bits: &[u64], rename: &[u32]) -> usize {
    let mut k = 0;
    let mut pending = 1;
    for chunk in src.chunks(CHUNK) {
        let n = chunk.len();
        let (keep, boundary) = masks(chunk, bits);
        let (same, next) = kept_same::<{ CHUNK as u32 }>(boundary, keep, pending);
        pending = next;
        if keep == first_lanes(n) {
            // All kept: each keeps its bit but the first (see `partition`).
            let out = &mut dst[k..k + n];
            for (o, &e) in out.iter_mut().zip(chunk) {
                *o = rename[row(e) as usize] | (e & SAME);
            }
            out[0] = rename[row(chunk[0]) as usize] | with_same(0, same, 0);
            k += n;
        } else {
            for (j, &e) in chunk.iter().enumerate() {
                // Branch-free: always write, advance when kept.
                dst[k] = rename[row(e) as usize] | with_same(0, same, j);
                k += ((keep >> j) & 1) as usize;
            }
        }
    }
    k
}
