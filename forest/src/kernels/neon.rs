//! The NEON kernels, for aarch64 (Graviton). NEON is part of the aarch64 baseline, so there is
//! nothing to detect. NEON has no gathers: payload, bitmap and rename lookups are scalar loads;
//! the scan's arithmetic (two `f64` lanes a register, eight registers for the sixteen lanes),
//! the masks, the `SAME` bits (shift-and-insert) and the compaction (`tbl` with byte indices
//! looked up by mask) are vector code.

use super::{first_lanes, kept_same, Candidate, ScanSpec, LANES, SAME, WEIGHT_BITS};
use std::arch::aarch64::*;
use std::ops::Range;

/// What a scan carries from one pair of positions to the next.
struct Run {
    /// Prefix sums so far (weight, weighted target), in both lanes.
    cw: int64x2_t,
    cs: int64x2_t,
    /// Positions of the next two lanes.
    pos: int64x2_t,
    mu: float64x2_t,
    wt: float64x2_t,
}

/// The running bests of two of the sixteen lanes.
#[derive(Clone, Copy)]
struct Pair {
    d2: float64x2_t,
    den: float64x2_t,
    pos: int64x2_t,
}

/// Two positions: the entries at `e[0..2]` and the entries after them at `e[1..3]`; with
/// `LAST`, only the first is a position (`e[0..2]` are read, `e[2]` is not).
#[inline(always)]
unsafe fn pair<const LAST: bool>(e: *const u32, pay: *const u64, run: &mut Run, b: &mut Pair) {
    let p0 = *pay.add((*e & !SAME) as usize);
    let p1 = *pay.add((*e.add(1) & !SAME) as usize);
    let p = vreinterpretq_s64_u64(vcombine_u64(vcreate_u64(p0), vcreate_u64(p1)));
    // Inclusive prefix sums of the two packed payloads, split, plus the sums before them.
    let x = vaddq_s64(p, vextq_s64::<1>(vdupq_n_s64(0), p));
    let wl = vaddq_s64(vandq_s64(x, vdupq_n_s64((1 << WEIGHT_BITS) - 1)), run.cw);
    let sl = vaddq_s64(vshrq_n_s64::<{ WEIGHT_BITS as i32 }>(x), run.cs);
    run.cw = vdupq_laneq_s64::<1>(wl);
    run.cs = vdupq_laneq_s64::<1>(sl);

    // The portable arithmetic, operation for operation (see `portable::scan`); the
    // conversions are exact (|wl|, |sl| < 2^53).
    let wlf = vcvtq_f64_s64(wl);
    let slf = vcvtq_f64_s64(sl);
    let d = vsubq_f64(slf, vmulq_f64(wlf, run.mu));
    let den = vmulq_f64(wlf, vsubq_f64(run.wt, wlf));
    let d2 = vmulq_f64(d, d);
    let better = vcgtq_f64(vmulq_f64(d2, b.den), vmulq_f64(b.d2, den));
    // Sign-extended, the entries after are negative where the next row ties with this one;
    // past the last position, a tie.
    let next = if LAST {
        vcreate_s32(u64::from(*e.add(1)) | u64::from(SAME) << 32)
    } else {
        vld1_s32(e.add(1) as *const i32)
    };
    let tie = vcltzq_s64(vmovl_s32(next));
    let take = vbicq_u64(better, tie);
    b.d2 = vbslq_f64(take, d2, b.d2);
    b.den = vbslq_f64(take, den, b.den);
    b.pos = vbslq_s64(take, run.pos, b.pos);
    run.pos = vaddq_s64(run.pos, vdupq_n_s64(2));
}

/// Sixteen positions from `e` (reading e[0..=16]). A loop, with the bests in memory: the
/// twenty-four registers of bests written out in registers left too few for the rest, and
/// the spills cost more than these loads and stores.
#[inline(always)]
unsafe fn chunk(e: *const u32, pay: *const u64, run: &mut Run, bests: &mut [Pair; 8]) {
    for (k, b) in bests.iter_mut().enumerate() {
        pair::<false>(e.add(2 * k), pay, run, b);
    }
}

/// The last `n` positions (1 to 15) from `e` (reading e[0..=n]).
#[inline(always)]
unsafe fn tail(e: *const u32, n: usize, pay: *const u64, run: &mut Run, bests: &mut [Pair; 8]) {
    for (k, b) in bests.iter_mut().enumerate().take(n.div_ceil(2)) {
        if n - 2 * k >= 2 {
            pair::<false>(e.add(2 * k), pay, run, b);
        } else {
            pair::<true>(e.add(2 * k), pay, run, b);
        }
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    let empty = Pair {
        d2: vdupq_n_f64(-1.0),
        den: vdupq_n_f64(1.0),
        pos: vdupq_n_s64(-1),
    };
    let mut bests = [empty; 8];
    let first = spec.first as i64;
    let mut run = Run {
        cw: vdupq_n_s64(w0),
        cs: vdupq_n_s64(s0),
        pos: vcombine_s64(vcreate_s64(first as u64), vcreate_s64(first as u64 + 1)),
        mu: vdupq_n_f64(spec.mu),
        wt: vdupq_n_f64(spec.w_total),
    };
    let pp = pay.as_ptr();
    let mut left = spec.last + 1 - spec.first;
    let mut e = seg.as_ptr().add(spec.first);
    while left >= LANES {
        // SAFETY: positions first..=last and the entry after the last are inside `seg`
        // (last + 1 < seg.len(), asserted by the caller), so e[0..=16] is; every row is below
        // `pay.len()` (the caller's contract).
        chunk(e, pp, &mut run, &mut bests);
        e = e.add(LANES);
        left -= LANES;
    }
    if left > 0 {
        // SAFETY: as above, e[0..=left] is inside `seg`.
        tail(e, left, pp, &mut run, &mut bests);
    }
    // The tournament of `Lanes::reduce`: lanes j against j + 8, j + 4, j + 2, j + 1. Lanes
    // never reached hold empty bests, which lose to any real one.
    let [mut b0, mut b1, mut b2, mut b3, b4, b5, b6, b7] = bests;
    tournament(&mut b0, &b4);
    tournament(&mut b1, &b5);
    tournament(&mut b2, &b6);
    tournament(&mut b3, &b7);
    tournament(&mut b0, &b2);
    tournament(&mut b1, &b3);
    tournament(&mut b0, &b1);
    let second = Pair {
        d2: vdupq_laneq_f64::<1>(b0.d2),
        den: vdupq_laneq_f64::<1>(b0.den),
        pos: vdupq_laneq_s64::<1>(b0.pos),
    };
    tournament(&mut b0, &second);
    let pos = vgetq_lane_s64::<0>(b0.pos);
    (pos >= 0).then(|| Candidate {
        d2: vgetq_lane_f64::<0>(b0.d2),
        den: vgetq_lane_f64::<0>(b0.den),
        pos: pos as usize,
    })
}

/// Lanes j of `a` against lanes j of `b`, as `takes_second` does one pair: the winners in `a`.
#[inline(always)]
unsafe fn tournament(a: &mut Pair, b: &Pair) {
    let ab = vmulq_f64(a.d2, b.den);
    let ba = vmulq_f64(b.d2, a.den);
    let b_beats = vcgtq_f64(ba, ab);
    let a_beats = vcgtq_f64(ab, ba);
    let earlier = vcltq_s64(b.pos, a.pos);
    let take = vorrq_u64(b_beats, vbicq_u64(earlier, a_beats));
    a.d2 = vbslq_f64(take, b.d2, a.d2);
    a.den = vbslq_f64(take, b.den, a.den);
    a.pos = vbslq_s64(take, b.pos, a.pos);
}

/// For each mask of four lanes, the `tbl` byte indices that pack those lanes to the front.
static PACK: [[u8; 16]; 16] = pack_table();

/// Number of lanes in each mask of four.
static COUNT: [u8; 16] = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

const fn pack_table() -> [[u8; 16]; 16] {
    let mut table = [[0xFF; 16]; 16];
    let mut mask = 0;
    while mask < 16 {
        let (mut k, mut lane) = (0, 0);
        while lane < 4 {
            if (mask >> lane) & 1 == 1 {
                let mut b = 0;
                while b < 4 {
                    table[mask][4 * k + b] = (4 * lane + b) as u8;
                    b += 1;
                }
                k += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    table
}

/// Sixteen entries (fewer at the end of a list, the lanes past it zero) as vectors.
#[inline(always)]
unsafe fn load(p: *const u32) -> [uint32x4_t; 4] {
    [
        vld1q_u32(p),
        vld1q_u32(p.add(4)),
        vld1q_u32(p.add(8)),
        vld1q_u32(p.add(12)),
    ]
}

/// Mask of the lanes with a value boundary (no `SAME` bit).
#[inline(always)]
unsafe fn boundaries(e: &[uint32x4_t; 4]) -> u64 {
    let sum = vaddq_u32(
        vaddq_u32(same_bits(e[0], 0), same_bits(e[1], 1)),
        vaddq_u32(same_bits(e[2], 2), same_bits(e[3], 3)),
    );
    u64::from(!vaddvq_u32(sum) & 0xFFFF)
}

/// The `SAME` bits of lanes 4k.. (vector `v`) at bits 4k.. of their lanes: added up over the
/// four vectors, the mask of `SAME` bits. (Helpers are functions, not closures: a closure
/// calling intrinsics may be compiled apart, without inlining them.)
#[inline(always)]
unsafe fn same_bits(v: uint32x4_t, k: i32) -> uint32x4_t {
    let shifts = vld1q_s32([4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3].as_ptr());
    vshlq_u32(vshrq_n_u32::<31>(v), shifts)
}

/// Mask of the lanes (of sixteen at `p`) whose row has its bit set in the bitmap `bits`.
#[inline(always)]
unsafe fn bits_set(p: *const u32, bits: *const u64) -> u64 {
    let mut m = 0;
    for j in 0..16 {
        let id = *p.add(j) & !SAME;
        m |= ((*bits.add(id as usize >> 6) >> (id & 63)) & 1) << j;
    }
    m
}

/// `v` (row ids, or anything below 2^31) with the `SAME` bits of the 16-bit mask `same`.
#[inline(always)]
unsafe fn with_same(v: [uint32x4_t; 4], same: u64) -> [uint32x4_t; 4] {
    let s = vdupq_n_u32(same as u32);
    [
        with_same_at(v[0], s, 0),
        with_same_at(v[1], s, 1),
        with_same_at(v[2], s, 2),
        with_same_at(v[3], s, 3),
    ]
}

/// Vector `k` of [`with_same`]: bit 4k + j of the broadcast mask `s` down to bit 0 of lane j,
/// then inserted as its top bit.
#[inline(always)]
unsafe fn with_same_at(v: uint32x4_t, s: uint32x4_t, k: i32) -> uint32x4_t {
    let shifts = vld1q_s32([-4 * k, -4 * k - 1, -4 * k - 2, -4 * k - 3].as_ptr());
    vsliq_n_u32::<31>(v, vshlq_u32(s, shifts))
}

/// The entries `e` of a chunk kept whole on one side, with the low 31 bits of `ids` (the
/// entries themselves, or renamed rows) in place of their rows: bits as they are but the first
/// lane's, cleared if a boundary is `pending` from earlier chunks.
#[inline(always)]
unsafe fn kept_whole(e: &[uint32x4_t; 4], ids: [uint32x4_t; 4], pending: u64) -> [uint32x4_t; 4] {
    let first = vbicq_u32(
        e[0],
        vsetq_lane_u32::<0>((pending as u32) << 31, vdupq_n_u32(0)),
    );
    let bits = [first, e[1], e[2], e[3]];
    let mut out = ids;
    for k in 0..4 {
        out[k] = vsliq_n_u32::<31>(ids[k], vshrq_n_u32::<31>(bits[k]));
    }
    out
}

/// The lanes of `v` in the low four bits of `mask` packed to the front, and how many.
#[inline(always)]
unsafe fn pack(v: uint32x4_t, mask: u64) -> (uint32x4_t, usize) {
    let m = (mask & 15) as usize;
    let idx = vld1q_u8(PACK[m].as_ptr());
    let packed = vqtbl1q_u8(vreinterpretq_u8_u32(v), idx);
    (vreinterpretq_u32_u8(packed), usize::from(COUNT[m]))
}

/// Stores the lanes of `v` in the 16-bit `mask`, in order, at `dst[at..]`, writing nothing at or
/// past `end`; returns the cursor after them. Full-width stores when there is room: the lanes
/// written past the new cursor hold junk, which the side's later entries overwrite (a side's
/// entries fill it exactly up to `end`).
#[inline(always)]
unsafe fn put(dst: *mut u32, at: usize, end: usize, v: [uint32x4_t; 4], mask: u64) -> usize {
    if at + 16 <= end {
        let mut c = at;
        for (k, &v) in v.iter().enumerate() {
            let (packed, count) = pack(v, mask >> (4 * k));
            // SAFETY: c + 4 <= at + 16 <= end, inside the caller's slice.
            vst1q_u32(dst.add(c), packed);
            c += count;
        }
        c
    } else {
        let mut buf = [0u32; 16];
        let mut c = 0;
        for (k, &v) in v.iter().enumerate() {
            let (packed, count) = pack(v, mask >> (4 * k));
            // SAFETY: c <= 12, so buf[c..c + 4] is inside `buf`.
            vst1q_u32(buf.as_mut_ptr().add(c), packed);
            c += count;
        }
        // Checked: with wrong counts from the caller this would write out of bounds.
        assert!(at + c <= end, "more entries than room on this side");
        // SAFETY: dst[at..at + c] is inside the caller's slice, and not `buf`.
        std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(at), c);
        at + c
    }
}

/// Stores a chunk kept whole at `dst[at..at + 16]` (16 <= end - at, checked).
#[inline(always)]
unsafe fn put_whole(dst: *mut u32, at: usize, end: usize, v: [uint32x4_t; 4]) -> usize {
    assert!(at + 16 <= end, "more entries than room on this side");
    for (k, v) in v.iter().enumerate() {
        // SAFETY: dst[at..at + 16] is inside the caller's slice (end <= its length).
        vst1q_u32(dst.add(at + 4 * k), *v);
    }
    at + 16
}

/// Sixteen readable entries for the chunk at `src[i..]`: in place, or copied into `buf` with
/// zeros after the end; and the mask of the real ones.
#[inline(always)]
fn entries_at(src: &[u32], i: usize, buf: &mut [u32; 16]) -> (*const u32, u64) {
    let rest = src.len() - i;
    if rest >= 16 {
        (src[i..].as_ptr(), 0xFFFF)
    } else {
        buf.fill(0);
        buf[..rest].copy_from_slice(&src[i..]);
        (buf.as_ptr(), first_lanes(rest))
    }
}

/// [`partition_lists`](super::partition_lists) of the `ranges` of the lists, in one call
/// (the loop over lists runs with the kernel inlined: many nodes are small).
#[target_feature(enable = "neon")]
pub(super) unsafe fn partition_lists(
    src: &[u32],
    dst: &mut [u32],
    ranges: impl Iterator<Item = Range<usize>>,
    side: &[u64],
    (n_left, need): (usize, (bool, bool)),
) {
    for r in ranges {
        // Same range of each: equal lengths, as `partition` requires.
        partition(&src[r.clone()], &mut dst[r], side, n_left, need);
    }
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn partition(
    src: &[u32],
    dst: &mut [u32],
    side: &[u64],
    n_left: usize,
    (need_left, need_right): (bool, bool),
) {
    let n = src.len();
    assert!(dst.len() == n && n_left <= n);
    let dp = dst.as_mut_ptr();
    let bits = side.as_ptr();
    let (mut l, mut r) = (0usize, n_left);
    let (mut pending_l, mut pending_r) = (1u64, 1u64);
    let mut buf = [0u32; 16];
    let mut i = 0;
    while i < n {
        let (p, valid) = entries_at(src, i, &mut buf);
        // SAFETY: `p` points to sixteen readable entries; every row's bit is inside `side`
        // (the caller's contract; lanes past the end are row 0, whose bit exists since the
        // list is not empty).
        let e = load(p);
        let left = bits_set(p, bits) & valid;
        let right = valid & !left;
        let boundary = boundaries(&e);
        if left == 0xFFFF || right == 0xFFFF {
            // All sixteen one way (common: features are correlated): stored as they are but
            // the first; the other side only notes the boundaries it skips.
            let any_boundary = u64::from(boundary != 0);
            if left == 0xFFFF {
                if need_left {
                    l = put_whole(dp, l, n_left, kept_whole(&e, e, pending_l));
                } else {
                    l += 16;
                }
                (pending_l, pending_r) = (0, pending_r | any_boundary);
            } else {
                if need_right {
                    r = put_whole(dp, r, n, kept_whole(&e, e, pending_r));
                } else {
                    r += 16;
                }
                (pending_l, pending_r) = (pending_l | any_boundary, 0);
            }
        } else {
            let (same_l, next_l) = kept_same::<16>(boundary, left, pending_l);
            let (same_r, next_r) = kept_same::<16>(boundary, right, pending_r);
            (pending_l, pending_r) = (next_l, next_r);
            // Kept sets are disjoint: one set of entries serves both sides.
            let out = with_same(e, same_l | same_r);
            l = if need_left {
                put(dp, l, n_left, out, left)
            } else {
                l + left.count_ones() as usize
            };
            r = if need_right {
                put(dp, r, n, out, right)
            } else {
                r + right.count_ones() as usize
            };
        }
        i += 16;
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn filter(src: &[u32], dst: &mut [u32], bits: &[u64], rename: &[u32]) -> usize {
    let n = src.len();
    let end = dst.len();
    let dp = dst.as_mut_ptr();
    let bp = bits.as_ptr();
    let np = rename.as_ptr();
    let mut pending = 1u64;
    let mut k = 0usize;
    let mut buf = [0u32; 16];
    let mut renamed = [0u32; 16];
    let mut i = 0;
    while i < n {
        let (p, valid) = entries_at(src, i, &mut buf);
        // SAFETY: `p` points to sixteen readable entries; every row's bit is inside `bits` and
        // every row is below `rename.len()` (the caller's contract; lanes past the end are row
        // 0, which exists since the list is not empty).
        let e = load(p);
        let keep = bits_set(p, bp) & valid;
        for (j, r) in renamed.iter_mut().enumerate() {
            *r = *np.add((*p.add(j) & !SAME) as usize);
        }
        let ids = load(renamed.as_ptr());
        let boundary = boundaries(&e);
        if keep == 0xFFFF {
            k = put_whole(dp, k, end, kept_whole(&e, ids, pending));
            pending = 0;
        } else {
            let (same, next) = kept_same::<16>(boundary, keep, pending);
            pending = next;
            k = put(dp, k, end, with_same(ids, same), keep);
        }
        i += 16;
    }
    k
}
