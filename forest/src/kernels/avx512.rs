//! The AVX-512 kernels (with AVX-512DQ for the 64-bit conversions and POPCNT for the cursors).

use super::{prefetch_payloads, Candidate, ScanSpec, LANES, SAME, WEIGHT_BITS};
use std::arch::x86_64::*;

/// Inclusive prefix sums of the eight lanes.
#[inline(always)]
unsafe fn prefix(x: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let s1 = _mm512_add_epi64(x, _mm512_alignr_epi64::<7>(x, zero));
    let s2 = _mm512_add_epi64(s1, _mm512_alignr_epi64::<6>(s1, zero));
    _mm512_add_epi64(s2, _mm512_alignr_epi64::<4>(s2, zero))
}

struct Half {
    d2: __m512d,
    den: __m512d,
    pos: __m512i,
}

impl Half {
    unsafe fn empty() -> Half {
        Half {
            d2: _mm512_set1_pd(-1.0),
            den: _mm512_set1_pd(1.0),
            pos: _mm512_set1_epi64(-1),
        }
    }
}

/// Eight positions starting at `i` (lanes set in `valid`) of rows `ids`, with `boundary`
/// set where the next row's value differs: updates the running prefix sums and the
/// half's bests. Invalid lanes read nothing and add nothing.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn step(
    pay: *const i64,
    ids: __m256i,
    i: usize,
    valid: __mmask8,
    boundary: __mmask8,
    cw: &mut __m512i,
    cs: &mut __m512i,
    mu: __m512d,
    wt: __m512d,
    h: &mut Half,
) {
    let p = _mm512_mask_i32gather_epi64::<8>(_mm512_setzero_si512(), valid, ids, pay);
    // One prefix sum of the packed payloads: the weights (at most 8 * 4095 < 2^15) cannot
    // carry into the weighted targets, so both sums are recovered exactly.
    let pp = prefix(p);
    let wmask = _mm512_set1_epi64((1 << WEIGHT_BITS) - 1);
    let wl = _mm512_add_epi64(_mm512_and_si512(pp, wmask), *cw);
    let sl = _mm512_add_epi64(_mm512_srai_epi64::<WEIGHT_BITS>(pp), *cs);
    let total = _mm512_permutexvar_epi64(_mm512_set1_epi64(7), pp);
    *cw = _mm512_add_epi64(*cw, _mm512_and_si512(total, wmask));
    *cs = _mm512_add_epi64(*cs, _mm512_srai_epi64::<WEIGHT_BITS>(total));

    let wlf = _mm512_cvtepi64_pd(wl);
    let slf = _mm512_cvtepi64_pd(sl);
    let d = _mm512_sub_pd(slf, _mm512_mul_pd(wlf, mu));
    let den = _mm512_mul_pd(wlf, _mm512_sub_pd(wt, wlf));
    let d2 = _mm512_mul_pd(d, d);
    let better = _mm512_mask_cmp_pd_mask::<_CMP_GT_OQ>(
        boundary,
        _mm512_mul_pd(d2, h.den),
        _mm512_mul_pd(h.d2, den),
    );
    h.d2 = _mm512_mask_mov_pd(h.d2, better, d2);
    h.den = _mm512_mask_mov_pd(h.den, better, den);
    let pos = _mm512_add_epi64(
        _mm512_set1_epi64(i as i64),
        _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
    );
    h.pos = _mm512_mask_mov_epi64(h.pos, better, pos);
}

/// Lanes j of `a` against lanes j of `b`, as `takes_second` does one pair.
#[inline(always)]
unsafe fn tournament(a: &mut Half, b: &Half) {
    let b_beats =
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_mul_pd(b.d2, a.den), _mm512_mul_pd(a.d2, b.den));
    let a_beats =
        _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_mul_pd(a.d2, b.den), _mm512_mul_pd(b.d2, a.den));
    let earlier = _mm512_cmplt_epi64_mask(b.pos, a.pos);
    let take = b_beats | (!a_beats & earlier);
    a.d2 = _mm512_mask_mov_pd(a.d2, take, b.d2);
    a.den = _mm512_mask_mov_pd(a.den, take, b.den);
    a.pos = _mm512_mask_mov_epi64(a.pos, take, b.pos);
}

/// `h` with lanes `j + k` moved to lanes `j` (`k` in 4, 2, 1).
#[inline(always)]
unsafe fn shifted(h: &Half, k: i64) -> Half {
    let idx = _mm512_add_epi64(
        _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi64(k),
    );
    let idx = _mm512_and_si512(idx, _mm512_set1_epi64(7));
    Half {
        d2: _mm512_permutexvar_pd(idx, h.d2),
        den: _mm512_permutexvar_pd(idx, h.den),
        pos: _mm512_permutexvar_epi64(idx, h.pos),
    }
}

/// Mask of the first `k` of sixteen lanes.
#[inline(always)]
fn first_lanes(k: usize) -> u16 {
    if k >= 16 {
        0xFFFF
    } else {
        ((1u32 << k) - 1) as u16
    }
}

#[target_feature(enable = "avx512f,avx512dq,popcnt")]
pub(super) unsafe fn scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    let mut ha = Half::empty();
    let mut hb = Half::empty();
    let mu = _mm512_set1_pd(spec.mu);
    let wt = _mm512_set1_pd(spec.w_total);
    let mut cw = _mm512_set1_epi64(w0);
    let mut cs = _mm512_set1_epi64(s0);
    let same = _mm512_set1_epi32(SAME as i32);
    let sp = seg.as_ptr() as *const i32;
    let pp = pay.as_ptr() as *const i64;
    let mut i = spec.first;
    while i <= spec.last {
        // Sixteen positions i.. (fewer at the end), and the entry after each of them.
        let rest = spec.last + 1 - i;
        if rest >= 3 * LANES {
            // SAFETY: positions i..i + 48 are inside `seg`.
            prefetch_payloads(seg.as_ptr().add(i + 2 * LANES), pp);
        }
        let valid = first_lanes(rest);
        // SAFETY: positions i..=last and last + 1 are inside `seg` (last + 1 < seg.len(),
        // asserted by the caller); rows are below `pay.len()` (one entry per row) and below
        // 2^31, so the 32-bit gather indices are exact and in bounds; masked lanes read
        // nothing.
        let loaded = first_lanes(rest + 1);
        let e = _mm512_maskz_loadu_epi32(loaded, sp.add(i));
        let after = if rest >= 16 {
            _mm512_set1_epi32(*sp.add(i + 16))
        } else {
            _mm512_setzero_si512()
        };
        let next = _mm512_alignr_epi32::<1>(after, e);
        // A split may fall after position i only where the next entry's value differs.
        let boundary = _mm512_mask_testn_epi32_mask(valid, next, same);
        let ids = _mm512_andnot_si512(same, e);
        let (va, vb) = (valid as u8, (valid >> 8) as u8);
        let (ba, bb) = (boundary as u8, (boundary >> 8) as u8);
        let lo = _mm512_castsi512_si256(ids);
        let hi = _mm512_extracti64x4_epi64::<1>(ids);
        step(pp, lo, i, va, ba, &mut cw, &mut cs, mu, wt, &mut ha);
        if vb != 0 {
            step(pp, hi, i + 8, vb, bb, &mut cw, &mut cs, mu, wt, &mut hb);
        }
        i += LANES;
    }
    // Half b holds positions only if the scan reached lane 8; otherwise it is all empty
    // lanes, which lose every match anyway.
    if spec.last >= spec.first + 8 {
        tournament(&mut ha, &hb);
    }
    for k in [4i64, 2, 1] {
        let other = shifted(&ha, k);
        tournament(&mut ha, &other);
    }
    let pos = _mm_cvtsi128_si64(_mm512_castsi512_si128(ha.pos));
    (pos >= 0).then(|| Candidate {
        d2: _mm512_cvtsd_f64(ha.d2),
        den: _mm512_cvtsd_f64(ha.den),
        pos: pos as usize,
    })
}

/// Mask of the rows `ids` (lanes `valid`) whose bit is set in the bitmap `bits` (little-
/// endian, so bit b of 64-bit word w is bit b % 32 of 32-bit word 2w + b / 32).
#[inline(always)]
unsafe fn bits_set(bits: *const i32, ids: __m512i, valid: __mmask16) -> __mmask16 {
    let words = _mm512_mask_i32gather_epi32::<4>(
        _mm512_setzero_si512(),
        valid,
        _mm512_srli_epi32::<5>(ids),
        bits,
    );
    let bit = _mm512_srlv_epi32(words, _mm512_and_si512(ids, _mm512_set1_epi32(31)));
    _mm512_mask_test_epi32_mask(valid, bit, _mm512_set1_epi32(1))
}

/// Of the lanes in `kept`, those whose entry has the same value as the previous kept entry,
/// given the lanes with a value `boundary` and `pending` (1 if a boundary was passed since
/// the last kept entry of earlier chunks); and the pending bit for the next chunk. This is
/// `Pending` of the portable code, sixteen lanes at once: a boundary counts for the first
/// kept lane at or after it, so adding the boundaries on dropped lanes to the mask of
/// dropped lanes carries each one up its run of dropped lanes into the kept lane that ends
/// the run (or out of bit 15, into the next chunk).
#[inline(always)]
fn kept_same(boundary: u16, kept: u16, pending: u32) -> (u16, u32) {
    let b = u32::from(boundary) | pending;
    let dropped = u32::from(!kept);
    let carried = dropped + (b & dropped);
    let hit = (b | carried) & u32::from(kept);
    ((u32::from(kept) & !hit) as u16, (carried >> 16) & 1)
}

/// [`partition_lists`](super::partition_lists) of the `ranges` of the lists, in one call (the loop
/// over lists runs with the kernel inlined: many nodes are small).
#[target_feature(enable = "avx512f,avx512dq,popcnt")]
pub(super) unsafe fn partition_lists(
    src: &[u32],
    dst: &mut [u32],
    ranges: impl Iterator<Item = std::ops::Range<usize>>,
    side: &[u64],
    (n_left, need): (usize, (bool, bool)),
) {
    for r in ranges {
        // Same range of each: equal lengths, as `partition` requires.
        partition(&src[r.clone()], &mut dst[r], side, n_left, need);
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,popcnt")]
pub(super) unsafe fn partition(
    src: &[u32],
    dst: &mut [u32],
    side: &[u64],
    n_left: usize,
    (need_left, need_right): (bool, bool),
) {
    let n = src.len();
    let sp = src.as_ptr() as *const i32;
    let dp = dst.as_mut_ptr() as *mut i32;
    let bits = side.as_ptr() as *const i32;
    let same = _mm512_set1_epi32(SAME as i32);
    let mut l = 0usize;
    let mut r = n_left;
    let (mut pending_l, mut pending_r) = (1u32, 1u32);
    let mut i = 0usize;
    while i < n {
        // SAFETY: the masked load reads rows i..min(i+16, n) of `src` only; every row's bit
        // word is inside `side`; the masked stores write exactly the rows that go left (to
        // l..l+k <= n_left) and right (to r..r+kr <= n), so nothing outside `dst` (same
        // length as `src`).
        let valid = first_lanes(n - i);
        let e = _mm512_maskz_loadu_epi32(valid, sp.add(i));
        let ids = _mm512_andnot_si512(same, e);
        let left = bits_set(bits, ids, valid);
        let right = valid & !left;
        let boundary = _mm512_mask_testn_epi32_mask(valid, e, same);
        let (same_l, pl) = kept_same(boundary, left, pending_l);
        let (same_r, pr) = kept_same(boundary, right, pending_r);
        (pending_l, pending_r) = (pl, pr);
        let out = _mm512_mask_or_epi32(ids, same_l | same_r, ids, same);
        let k = left.count_ones() as usize;
        let kr = right.count_ones() as usize;
        if need_left {
            let packed = _mm512_maskz_compress_epi32(left, out);
            _mm512_mask_storeu_epi32(dp.add(l), first_lanes(k), packed);
        }
        if need_right {
            let packed = _mm512_maskz_compress_epi32(right, out);
            _mm512_mask_storeu_epi32(dp.add(r), first_lanes(kr), packed);
        }
        l += k;
        r += kr;
        i += 16;
    }
}

#[target_feature(enable = "avx512f,avx512dq,popcnt")]
pub(super) unsafe fn filter(src: &[u32], dst: &mut [u32], bits: &[u64], rename: &[u32]) -> usize {
    let n = src.len();
    let sp = src.as_ptr() as *const i32;
    let bp = bits.as_ptr() as *const i32;
    let np = rename.as_ptr() as *const i32;
    let dp = dst.as_mut_ptr() as *mut i32;
    let same = _mm512_set1_epi32(SAME as i32);
    let mut pending = 1u32;
    let mut k = 0usize;
    let mut i = 0usize;
    while i < n {
        // SAFETY: the masked load reads rows i..min(i+16, n) of `src` only; every row's bit
        // word is inside `bits`; the masked store writes kept rows only, to
        // k..k+c <= (number kept) < dst.len(); every row is below `rename.len()` and 2^31,
        // and only kept lanes read it.
        let valid = first_lanes(n - i);
        let e = _mm512_maskz_loadu_epi32(valid, sp.add(i));
        let ids = _mm512_andnot_si512(same, e);
        let keep = bits_set(bp, ids, valid);
        let boundary = _mm512_mask_testn_epi32_mask(valid, e, same);
        let (same_k, p) = kept_same(boundary, keep, pending);
        pending = p;
        let c = keep.count_ones() as usize;
        let renamed = _mm512_mask_i32gather_epi32::<4>(_mm512_setzero_si512(), keep, ids, np);
        let out = _mm512_mask_or_epi32(renamed, same_k, renamed, same);
        let packed = _mm512_maskz_compress_epi32(keep, out);
        _mm512_mask_storeu_epi32(dp.add(k), first_lanes(c), packed);
        k += c;
        i += 16;
    }
    k
}
