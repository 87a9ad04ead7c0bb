//! The AVX2 kernels, for x86_64 CPUs without AVX-512 (with BMI1/2 and POPCNT, which every AVX2
//! CPU has). Sixteen entries a step, as two registers of eight; gathers for the payloads,
//! bitmap words and renames; compaction by `vpermd` with indices looked up by mask (AVX2 has
//! no compress). The scan's sixteen lanes are four registers of four `f64`, and AVX2's
//! missing 64-bit conversions and shifts are built from exact integer and `f64` steps. AVX2
//! has sixteen registers, not AVX-512's thirty-two, so the scan keeps its lanes' best
//! positions in memory (a load, blend and store per step; read once, at the end) and turns ties
//! into NaN scores rather than masks: each saved register is a spill fewer in the loop.

use super::{
    first_lanes, kept_same, prefetch_payloads, Candidate, ScanSpec, LANES, SAME, WEIGHT_BITS,
};
use std::arch::x86_64::*;
use std::ops::Range;

/// The scores of four of the sixteen lanes' running bests, as a scan keeps them in registers.
/// Their positions are in memory (`Positions`), blended there each step: sixteen lanes of
/// score, position and the scan's own state are more than AVX2's sixteen registers hold, and
/// the positions are only read at the end.
#[derive(Clone, Copy)]
struct Lead {
    d2: __m256d,
    den: __m256d,
}

/// The positions of the sixteen lanes' running bests.
type Positions = [i64; LANES];

/// Four of the sixteen lanes of a scan's running bests, scores and positions.
#[derive(Clone, Copy)]
struct Quarter {
    d2: __m256d,
    den: __m256d,
    pos: __m256i,
}

/// What a scan carries from one quarter to the next.
struct Run {
    /// Prefix sums so far (weight, weighted target), in every lane.
    cw: __m256i,
    cs: __m256i,
    /// Positions of the next four lanes.
    pos: __m256i,
    mu: __m256d,
    wt: __m256d,
}

/// `x >> 15` (arithmetic) of each 64-bit lane: AVX2 shifts 64-bit lanes logically only, so
/// the sign is extended from bit 48 afterwards.
#[inline(always)]
unsafe fn wq_of(x: __m256i) -> __m256i {
    let sign = _mm256_set1_epi64x(1 << (63 - WEIGHT_BITS));
    _mm256_sub_epi64(
        _mm256_xor_si256(_mm256_srli_epi64::<{ WEIGHT_BITS as i32 }>(x), sign),
        sign,
    )
}

/// `x as f64` for `0 <= x < 2^52` (exact): the bits of x below those of 2^52, minus 2^52. With
/// bits 52-62 of `x` all set (an exponent of all ones) and any bit below, a NaN: the scan
/// marks ties by or-ing in the top 32 bits.
#[inline(always)]
unsafe fn small_to_f64(x: __m256i) -> __m256d {
    let magic = _mm256_set1_pd(4503599627370496.0); // 2^52
    _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(x, _mm256_castpd_si256(magic))),
        magic,
    )
}

/// `x as f64` for any `x`, exact when `|x| <= 2^53` (AVX2 has no 64-bit conversion): the top
/// 16 bits, scaled by 2^48 inside 3 * 2^67, and the low 48 bits inside 2^52, are both exact
/// `f64`s; their sum is the one rounding (none when x fits).
#[inline(always)]
unsafe fn exact_to_f64(x: __m256i) -> __m256d {
    let high =
        _mm256_blend_epi16::<0b0011_0011>(_mm256_srai_epi32::<16>(x), _mm256_setzero_si256());
    let high = _mm256_add_epi64(
        high,
        _mm256_castpd_si256(_mm256_set1_pd(442721857769029238784.0)), // 3 * 2^67
    );
    let low = _mm256_blend_epi16::<0b1000_1000>(
        x,
        _mm256_castpd_si256(_mm256_set1_pd(4503599627370496.0)), // 2^52
    );
    let f = _mm256_sub_pd(
        _mm256_castsi256_pd(high),
        _mm256_set1_pd(442726361368656609280.0), // 3 * 2^67 + 2^52
    );
    _mm256_add_pd(f, _mm256_castsi256_pd(low))
}

/// `x as f64` for `|x| < 2^51` (exact), in two steps: the bits of 1.5 * 2^52 plus x, minus
/// 1.5 * 2^52.
#[inline(always)]
unsafe fn narrow_to_f64(x: __m256i) -> __m256d {
    let magic = _mm256_set1_pd(6755399441055744.0); // 1.5 * 2^52
    _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_add_epi64(x, _mm256_castpd_si256(magic))),
        magic,
    )
}

/// Four positions: the entries at `e[0..4]` and the entries after them at `e[1..5]`; with
/// `TAIL`, only the lanes of `valid` (`e[k]` and `e[k + 1]` are read for those only). With
/// `NARROW`, every weighted-target sum of the quarter is below 2^51 in magnitude.
#[inline(always)]
unsafe fn quarter<const TAIL: bool, const NARROW: bool>(
    e: *const u32,
    pay: *const i64,
    valid: __m128i,
    run: &mut Run,
    q: &mut Lead,
    pos: *mut i64,
) {
    let (entries, next) = if TAIL {
        (
            _mm_maskload_epi32(e as *const i32, valid),
            _mm_maskload_epi32(e.add(1) as *const i32, valid),
        )
    } else {
        (
            _mm_loadu_si128(e as *const __m128i),
            _mm_loadu_si128(e.add(1) as *const __m128i),
        )
    };
    let ids = _mm_and_si128(entries, _mm_set1_epi32(!SAME as i32));
    // Sign-extended, the entries after have their top 32 bits set where the next row ties
    // with this one; those bits or-ed into a weight sum make it a NaN (see `small_to_f64`),
    // whose comparisons are false: a tie (or, in a tail, a lane past the end) never takes.
    let high = _mm256_set1_epi64x(-1 << 32);
    let valid = _mm256_cvtepi32_epi64(valid);
    let mut nan_bits = _mm256_and_si256(_mm256_cvtepi32_epi64(next), high);
    if TAIL {
        nan_bits = _mm256_or_si256(nan_bits, _mm256_andnot_si256(valid, high));
    }
    let p = if TAIL {
        _mm256_mask_i32gather_epi64::<8>(_mm256_setzero_si256(), pay, ids, valid)
    } else {
        _mm256_i32gather_epi64::<8>(pay, ids)
    };
    // Inclusive prefix sums of the four packed payloads (four weights cannot carry into the
    // weighted targets), then split, plus the sums before them.
    let x = _mm256_add_epi64(p, _mm256_slli_si256::<8>(p));
    let x = _mm256_add_epi64(
        x,
        _mm256_blend_epi32::<0b1111_0000>(
            _mm256_setzero_si256(),
            _mm256_permute4x64_epi64::<0b01_01_00_00>(x),
        ),
    );
    let wmask = _mm256_set1_epi64x((1 << WEIGHT_BITS) - 1);
    let wl = _mm256_add_epi64(_mm256_and_si256(x, wmask), run.cw);
    let sl = _mm256_add_epi64(wq_of(x), run.cs);
    run.cw = _mm256_permute4x64_epi64::<0xFF>(wl);
    run.cs = _mm256_permute4x64_epi64::<0xFF>(sl);

    // The portable arithmetic, operation for operation (see `Lanes::update`).
    let wlf = small_to_f64(_mm256_or_si256(wl, nan_bits));
    let slf = if NARROW {
        narrow_to_f64(sl)
    } else {
        exact_to_f64(sl)
    };
    let d = _mm256_sub_pd(slf, _mm256_mul_pd(wlf, run.mu));
    let den = _mm256_mul_pd(wlf, _mm256_sub_pd(run.wt, wlf));
    let d2 = _mm256_mul_pd(d, d);
    let take = _mm256_cmp_pd::<_CMP_GT_OQ>(_mm256_mul_pd(d2, q.den), _mm256_mul_pd(q.d2, den));
    q.d2 = _mm256_blendv_pd(q.d2, d2, take);
    q.den = _mm256_blendv_pd(q.den, den, take);
    // Load, blend, store rather than a masked store: AMD's masked stores are microcoded (on
    // Zen 3 the masked-store scan made the whole fit about 30 % slower, where Intel gained 3 %).
    // SAFETY: `pos` points to the quarter's four positions (the caller's contract).
    let kept = _mm256_castsi256_pd(_mm256_loadu_si256(pos as *const __m256i));
    let best = _mm256_blendv_pd(kept, _mm256_castsi256_pd(run.pos), take);
    _mm256_storeu_si256(pos as *mut __m256i, _mm256_castpd_si256(best));
    run.pos = _mm256_add_epi64(run.pos, _mm256_set1_epi64x(4));
}

/// Sixteen positions from `e` (reading e[0..=16]).
#[inline(always)]
unsafe fn chunk<const NARROW: bool>(
    e: *const u32,
    pay: *const i64,
    run: &mut Run,
    q: &mut [Lead; 4],
    pos: &mut Positions,
) {
    let all = _mm_set1_epi32(-1);
    let p = pos.as_mut_ptr();
    quarter::<false, NARROW>(e, pay, all, run, &mut q[0], p);
    quarter::<false, NARROW>(e.add(4), pay, all, run, &mut q[1], p.add(4));
    quarter::<false, NARROW>(e.add(8), pay, all, run, &mut q[2], p.add(8));
    quarter::<false, NARROW>(e.add(12), pay, all, run, &mut q[3], p.add(12));
}

/// The last `n` positions (1 to 15) from `e` (reading e[0..=n]).
#[inline(always)]
unsafe fn tail<const NARROW: bool>(
    e: *const u32,
    n: usize,
    pay: *const i64,
    run: &mut Run,
    q: &mut [Lead; 4],
    pos: &mut Positions,
) {
    let p = pos.as_mut_ptr();
    tail_quarter::<NARROW>(e, n, 0, pay, run, &mut q[0], p);
    if n > 4 {
        tail_quarter::<NARROW>(e, n, 1, pay, run, &mut q[1], p.add(4));
    }
    if n > 8 {
        tail_quarter::<NARROW>(e, n, 2, pay, run, &mut q[2], p.add(8));
    }
    if n > 12 {
        tail_quarter::<NARROW>(e, n, 3, pay, run, &mut q[3], p.add(12));
    }
}

/// Quarter `k` of [`tail`] (helpers are functions, not closures: a closure calling intrinsics
/// may be compiled apart, without the target features).
#[inline(always)]
unsafe fn tail_quarter<const NARROW: bool>(
    e: *const u32,
    n: usize,
    k: usize,
    pay: *const i64,
    run: &mut Run,
    q: &mut Lead,
    pos: *mut i64,
) {
    let iota = _mm_setr_epi32(0, 1, 2, 3);
    let rest = n - 4 * k;
    if rest >= 4 {
        quarter::<false, NARROW>(e.add(4 * k), pay, iota, run, q, pos);
    } else {
        let valid = _mm_cmpgt_epi32(_mm_set1_epi32(rest as i32), iota);
        quarter::<true, NARROW>(e.add(4 * k), pay, valid, run, q, pos);
    }
}

/// Whether the weighted-target sums of the next sixteen positions are below 2^51 in magnitude:
/// they are within 16 * 2^45 = 2^49 of the sum before them.
#[inline(always)]
unsafe fn narrow(run: &Run) -> bool {
    _mm_cvtsi128_si64(_mm256_castsi256_si128(run.cs)).unsigned_abs() < 1 << 50
}

/// Lanes j of `a` against lanes j of `b`, as `takes_second` does one pair: the winners in `a`.
#[inline(always)]
unsafe fn tournament(a: &mut Quarter, b: &Quarter) {
    let ab = _mm256_mul_pd(a.d2, b.den);
    let ba = _mm256_mul_pd(b.d2, a.den);
    let b_beats = _mm256_cmp_pd::<_CMP_GT_OQ>(ba, ab);
    let a_beats = _mm256_cmp_pd::<_CMP_GT_OQ>(ab, ba);
    let earlier = _mm256_castsi256_pd(_mm256_cmpgt_epi64(a.pos, b.pos));
    let take = _mm256_or_pd(b_beats, _mm256_andnot_pd(a_beats, earlier));
    a.d2 = _mm256_blendv_pd(a.d2, b.d2, take);
    a.den = _mm256_blendv_pd(a.den, b.den, take);
    a.pos = _mm256_castpd_si256(_mm256_blendv_pd(
        _mm256_castsi256_pd(a.pos),
        _mm256_castsi256_pd(b.pos),
        take,
    ));
}

/// Quarter `k` of the running bests: its scores with its positions.
#[inline(always)]
unsafe fn joined(q: &[Lead; 4], pos: &Positions, k: usize) -> Quarter {
    Quarter {
        d2: q[k].d2,
        den: q[k].den,
        pos: _mm256_loadu_si256(pos[4 * k..4 * k + 4].as_ptr() as *const __m256i),
    }
}

/// `q` with its lanes permuted by `IMM` (as `vpermq`).
#[inline(always)]
unsafe fn permuted<const IMM: i32>(q: &Quarter) -> Quarter {
    Quarter {
        d2: _mm256_permute4x64_pd::<IMM>(q.d2),
        den: _mm256_permute4x64_pd::<IMM>(q.den),
        pos: _mm256_permute4x64_epi64::<IMM>(q.pos),
    }
}

#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
pub(super) unsafe fn scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    let empty = Lead {
        d2: _mm256_set1_pd(-1.0),
        den: _mm256_set1_pd(1.0),
    };
    let mut q = [empty; 4];
    let mut pos: Positions = [-1; LANES];
    let first = spec.first as i64;
    let mut run = Run {
        cw: _mm256_set1_epi64x(w0),
        cs: _mm256_set1_epi64x(s0),
        pos: _mm256_setr_epi64x(first, first + 1, first + 2, first + 3),
        mu: _mm256_set1_pd(spec.mu),
        wt: _mm256_set1_pd(spec.w_total),
    };
    let pp = pay.as_ptr() as *const i64;
    let mut left = spec.last + 1 - spec.first;
    // SAFETY (here and below): positions first..=last and the entry after the last are
    // inside `seg` (last + 1 < seg.len(), asserted by the caller), and each step reads only
    // those; every row is below `pay.len()` (the caller's contract) and below 2^31, so the
    // gather indices are exact and in bounds.
    let mut e = seg.as_ptr().add(spec.first);
    while left >= LANES {
        if left >= 3 * LANES {
            prefetch_payloads(e.add(2 * LANES), pp);
        }
        if narrow(&run) {
            chunk::<true>(e, pp, &mut run, &mut q, &mut pos);
        } else {
            chunk::<false>(e, pp, &mut run, &mut q, &mut pos);
        }
        e = e.add(LANES);
        left -= LANES;
    }
    if left > 0 {
        if narrow(&run) {
            tail::<true>(e, left, pp, &mut run, &mut q, &mut pos);
        } else {
            tail::<false>(e, left, pp, &mut run, &mut q, &mut pos);
        }
    }
    // The tournament of `Lanes::reduce`: lanes j against j + 8, j + 4, j + 2, j + 1. Lanes
    // never reached hold empty bests, which lose to any real one.
    let mut a = joined(&q, &pos, 0);
    let mut b = joined(&q, &pos, 1);
    let c = joined(&q, &pos, 2);
    let d = joined(&q, &pos, 3);
    tournament(&mut a, &c);
    tournament(&mut b, &d);
    tournament(&mut a, &b);
    let high = permuted::<0b11_10_11_10>(&a);
    tournament(&mut a, &high);
    let second = permuted::<0b01_01_01_01>(&a);
    tournament(&mut a, &second);
    let pos = _mm_cvtsi128_si64(_mm256_castsi256_si128(a.pos));
    (pos >= 0).then(|| Candidate {
        d2: _mm256_cvtsd_f64(a.d2),
        den: _mm256_cvtsd_f64(a.den),
        pos: pos as usize,
    })
}

/// For each mask of eight lanes, the indices of its set lanes in order, one per byte: the
/// `vpermd` indices that pack those lanes to the front.
static COMPRESS: [u64; 256] = compress_table();

const fn compress_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut k, mut lane) = (0, 0);
        while lane < 8 {
            if (mask >> lane) & 1 == 1 {
                table[mask] |= (lane as u64) << (8 * k);
                k += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    table
}

/// The lanes of `v` in `mask` (eight bits) packed to the front, in order.
#[inline(always)]
unsafe fn compress(v: __m256i, mask: u64) -> __m256i {
    // SAFETY: mask < 256, inside the table.
    let idx = _mm_loadl_epi64(COMPRESS.as_ptr().add(mask as usize) as *const __m128i);
    _mm256_permutevar8x32_epi32(v, _mm256_cvtepu8_epi32(idx))
}

/// Lanes j of lane shift counts 31 - j and 23 - j: shifting a broadcast 16-bit mask left by
/// them puts bit j (bit 8 + j) in the top bit of lane j of the low (high) register.
#[inline(always)]
unsafe fn mask_shifts() -> (__m256i, __m256i) {
    (
        _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24),
        _mm256_setr_epi32(23, 22, 21, 20, 19, 18, 17, 16),
    )
}

/// A 16-bit mask as two registers of lanes whose top bit is the lane's bit (the rest junk).
#[inline(always)]
unsafe fn spread(mask: u64) -> (__m256i, __m256i) {
    let (s0, s1) = mask_shifts();
    let m = _mm256_set1_epi32(mask as i32);
    (_mm256_sllv_epi32(m, s0), _mm256_sllv_epi32(m, s1))
}

/// The top bits of the eight lanes, as a mask.
#[inline(always)]
unsafe fn sign_mask(v: __m256i) -> u64 {
    _mm256_movemask_ps(_mm256_castsi256_ps(v)) as u32 as u64
}

/// The first `k` of eight lanes, as lanes of all ones.
#[inline(always)]
unsafe fn first_of_eight(k: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(k as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Sixteen entries (fewer at the end of a list, the lanes past it zero) and their lanes.
struct Chunk {
    e: [__m256i; 2],
    ids: [__m256i; 2],
    /// Lanes holding an entry, as lanes of all ones and as a mask.
    valid: [__m256i; 2],
    valid_mask: u64,
    /// Lanes with a value boundary (no `SAME` bit).
    boundary: u64,
}

impl Chunk {
    /// Entries `p[0..min(rest, 16)]`.
    #[inline(always)]
    unsafe fn load(p: *const u32, rest: usize) -> Chunk {
        let ones = _mm256_set1_epi32(-1);
        let (e, valid) = if rest >= 16 {
            // SAFETY: the caller's `rest` entries from `p` are readable.
            let e0 = _mm256_loadu_si256(p as *const __m256i);
            let e1 = _mm256_loadu_si256(p.add(8) as *const __m256i);
            ([e0, e1], [ones, ones])
        } else {
            let k = _mm256_set1_epi32(rest as i32);
            let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let v0 = _mm256_cmpgt_epi32(k, iota);
            let v1 = _mm256_cmpgt_epi32(k, _mm256_add_epi32(iota, _mm256_set1_epi32(8)));
            // SAFETY: masked loads touch the first `rest` entries only (the second starts
            // inside the list when rest > 8).
            let e0 = _mm256_maskload_epi32(p as *const i32, v0);
            let e1 = if rest > 8 {
                _mm256_maskload_epi32(p.add(8) as *const i32, v1)
            } else {
                _mm256_setzero_si256()
            };
            ([e0, e1], [v0, v1])
        };
        let same = _mm256_set1_epi32(SAME as i32);
        Chunk {
            e,
            ids: [
                _mm256_andnot_si256(same, e[0]),
                _mm256_andnot_si256(same, e[1]),
            ],
            valid,
            valid_mask: first_lanes(rest.min(16)),
            boundary: !(sign_mask(e[0]) | sign_mask(e[1]) << 8) & 0xFFFF,
        }
    }

    /// Mask of the lanes whose row has its bit set in the bitmap `bits` (little-endian, so bit
    /// b of 64-bit word w is bit b % 32 of 32-bit word 2w + b / 32).
    #[inline(always)]
    unsafe fn bits_set(&self, bits: *const i32) -> u64 {
        self.bits_set_half(bits, 0) | self.bits_set_half(bits, 1) << 8
    }

    /// [`Chunk::bits_set`] of the eight lanes of half `h`.
    #[inline(always)]
    unsafe fn bits_set_half(&self, bits: *const i32, h: usize) -> u64 {
        // SAFETY: only valid lanes gather, and every row's bit is inside the bitmap (the
        // caller's contract).
        let words = _mm256_mask_i32gather_epi32::<4>(
            _mm256_setzero_si256(),
            bits,
            _mm256_srli_epi32::<5>(self.ids[h]),
            self.valid[h],
        );
        // Bit id % 32 of the word to the top: shift left by 31 - id % 32.
        let top = _mm256_sllv_epi32(
            words,
            _mm256_andnot_si256(self.ids[h], _mm256_set1_epi32(31)),
        );
        sign_mask(top)
    }

    /// The entries with the `SAME` bits of `same` (a mask of lanes).
    #[inline(always)]
    unsafe fn with_same(&self, same: u64, ids: [__m256i; 2]) -> [__m256i; 2] {
        let (s0, s1) = spread(same);
        let top = _mm256_set1_epi32(SAME as i32);
        [
            _mm256_or_si256(ids[0], _mm256_and_si256(s0, top)),
            _mm256_or_si256(ids[1], _mm256_and_si256(s1, top)),
        ]
    }

    /// The entries of a chunk kept whole on one side, whose bits stay as they are but the
    /// first lane's, cleared if a boundary is `pending` from earlier chunks; with `ids` in
    /// place of the row ids.
    #[inline(always)]
    unsafe fn kept_whole(&self, pending: u64, ids: [__m256i; 2]) -> [__m256i; 2] {
        let top = _mm256_set1_epi32(SAME as i32);
        let clear = _mm256_zextsi128_si256(_mm_cvtsi32_si128((pending << 31) as i32));
        [
            _mm256_or_si256(
                ids[0],
                _mm256_andnot_si256(clear, _mm256_and_si256(self.e[0], top)),
            ),
            _mm256_or_si256(ids[1], _mm256_and_si256(self.e[1], top)),
        ]
    }
}

/// Stores the lanes of `v` in the 16-bit `mask`, in order, at `dst[at..]`, writing nothing at or
/// past `end`; returns the cursor after them. Two full-width stores when there is room: the
/// lanes written past the new cursor hold junk, which the side's later entries overwrite (a
/// side's entries fill it exactly up to `end`).
#[inline(always)]
unsafe fn put(dst: *mut u32, at: usize, end: usize, v: [__m256i; 2], mask: u64) -> usize {
    let (m0, m1) = (mask & 0xFF, mask >> 8);
    let (k0, k1) = (m0.count_ones() as usize, m1.count_ones() as usize);
    let (p0, p1) = (compress(v[0], m0), compress(v[1], m1));
    if at + 16 <= end {
        // SAFETY: dst[at..at + 16] is inside the caller's slice (end <= its length).
        _mm256_storeu_si256(dst.add(at) as *mut __m256i, p0);
        _mm256_storeu_si256(dst.add(at + k0) as *mut __m256i, p1);
    } else {
        // Checked: with wrong counts from the caller this would write out of bounds.
        assert!(at + k0 + k1 <= end, "more entries than room on this side");
        // SAFETY: masked stores write dst[at..at + k0 + k1] only, inside the slice.
        _mm256_maskstore_epi32(dst.add(at) as *mut i32, first_of_eight(k0), p0);
        _mm256_maskstore_epi32(dst.add(at + k0) as *mut i32, first_of_eight(k1), p1);
    }
    at + k0 + k1
}

/// Stores a chunk kept whole at `dst[at..at + 16]` (16 <= end - at, checked).
#[inline(always)]
unsafe fn put_whole(dst: *mut u32, at: usize, end: usize, v: [__m256i; 2]) -> usize {
    assert!(at + 16 <= end, "more entries than room on this side");
    // SAFETY: dst[at..at + 16] is inside the caller's slice (end <= its length).
    _mm256_storeu_si256(dst.add(at) as *mut __m256i, v[0]);
    _mm256_storeu_si256(dst.add(at + 8) as *mut __m256i, v[1]);
    at + 16
}

/// [`partition_lists`](super::partition_lists) of the `ranges` of the lists, in one call
/// (the loop over lists runs with the kernel inlined: many nodes are small).
#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
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
#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
unsafe fn partition(
    src: &[u32],
    dst: &mut [u32],
    side: &[u64],
    n_left: usize,
    (need_left, need_right): (bool, bool),
) {
    let n = src.len();
    assert!(dst.len() == n && n_left <= n);
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();
    let bits = side.as_ptr() as *const i32;
    let (mut l, mut r) = (0usize, n_left);
    let (mut pending_l, mut pending_r) = (1u64, 1u64);
    let mut i = 0;
    while i < n {
        // SAFETY: entries i..n are inside `src`.
        let c = Chunk::load(sp.add(i), n - i);
        let left = c.bits_set(bits);
        let right = c.valid_mask & !left;
        if left == 0xFFFF || right == 0xFFFF {
            // All sixteen one way (common: features are correlated): stored as they are but
            // the first; the other side only notes the boundaries it skips.
            let any_boundary = u64::from(c.boundary != 0);
            if left == 0xFFFF {
                if need_left {
                    l = put_whole(dp, l, n_left, c.kept_whole(pending_l, c.ids));
                } else {
                    l += 16;
                }
                (pending_l, pending_r) = (0, pending_r | any_boundary);
            } else {
                if need_right {
                    r = put_whole(dp, r, n, c.kept_whole(pending_r, c.ids));
                } else {
                    r += 16;
                }
                (pending_l, pending_r) = (pending_l | any_boundary, 0);
            }
        } else {
            let (same_l, next_l) = kept_same::<16>(c.boundary, left, pending_l);
            let (same_r, next_r) = kept_same::<16>(c.boundary, right, pending_r);
            (pending_l, pending_r) = (next_l, next_r);
            // Kept sets are disjoint: one set of entries serves both sides.
            let out = c.with_same(same_l | same_r, c.ids);
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

#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
pub(super) unsafe fn filter(src: &[u32], dst: &mut [u32], bits: &[u64], rename: &[u32]) -> usize {
    let n = src.len();
    let end = dst.len();
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();
    let bp = bits.as_ptr() as *const i32;
    let np = rename.as_ptr() as *const i32;
    let mut pending = 1u64;
    let mut k = 0usize;
    let mut i = 0;
    while i < n {
        // SAFETY: entries i..n are inside `src`.
        let c = Chunk::load(sp.add(i), n - i);
        let keep = c.bits_set(bp);
        // SAFETY: kept lanes only (gathers read lanes whose mask top bit is set), and every
        // row is below `rename.len()` (the caller's contract).
        let (k0, k1) = spread(keep);
        let renamed = [
            _mm256_mask_i32gather_epi32::<4>(_mm256_setzero_si256(), np, c.ids[0], k0),
            _mm256_mask_i32gather_epi32::<4>(_mm256_setzero_si256(), np, c.ids[1], k1),
        ];
        if keep == 0xFFFF {
            k = put_whole(dp, k, end, c.kept_whole(pending, renamed));
            pending = 0;
        } else {
            let (same, next) = kept_same::<16>(c.boundary, keep, pending);
            pending = next;
            k = put(dp, k, end, c.with_same(same, renamed), keep);
        }
        i += 16;
    }
    k
}
