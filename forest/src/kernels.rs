//! The hot loops of tree growing (split scan, list partition, sample filter), in a portable
//! version and an AVX-512 version.
//!
//! A list entry is a row id (below 2^31) with [`SAME`] set when the row's value in the list's
//! feature equals the previous entry's. That bit is all a scan needs to tell ties from
//! boundaries, and it travels with the id: one 4-byte entry instead of an id and a rank, so
//! scans, partitions and filters move half the bytes. Values are sorted within a list, so
//! equality is transitive along it: when entries are dropped from between two kept ones (a
//! partition sends them to the other side, a filter leaves them out of the sample), the later
//! one's bit becomes the AND of its own and the dropped entries' bits. The first entry of a
//! list (or child segment) never has the bit set: nothing reads it.
//!
//! Both versions compute bit-identical results (a grove retried on another machine must
//! reproduce itself): prefix sums are exact integers, converted exactly to `f64`, the
//! arithmetic is the same IEEE operations in the same order (never fused), and the split
//! search keeps one running best per lane of [`LANES`] positions, reduced the same way. The
//! AVX-512 version is chosen at run time when the CPU has it; unit tests check that both agree.

/// Top bit of a list entry: same value as the previous entry (see the module docs).
pub(crate) const SAME: u32 = 1 << 31;

/// Row id of a list entry.
#[inline(always)]
pub(crate) fn row(entry: u32) -> u32 {
    entry & !SAME
}

/// Positions `first + k`, `first + k + LANES`, ... of a scan share one running best. Sixteen
/// lanes (two AVX-512 registers) keep two independent dependency chains in flight.
pub(crate) const LANES: usize = 16;

/// Bits of the payload that hold the weight. Weights are at most [`MAX_WEIGHT`], so eight of
/// them still fit: the SIMD scan sums eight packed payloads at once and splits them after.
pub(crate) const WEIGHT_BITS: u32 = 15;

/// Largest bootstrap weight a payload holds (a row drawn more often is capped; for n > 4095
/// rows that has probability below 1e-13000, and for fewer rows it cannot happen).
pub(crate) const MAX_WEIGHT: u16 = 4095;

/// Payload of a row: `(w * qy) << 15 | w`, with `w` the bootstrap weight (at most
/// [`MAX_WEIGHT`]) and `qy` the quantised target, `|w * qy| < 2^45`.
#[inline(always)]
pub(crate) fn pay_weight(p: u64) -> i64 {
    (p & ((1 << WEIGHT_BITS) - 1)) as i64
}

#[inline(always)]
pub(crate) fn pay_wq(p: u64) -> i64 {
    (p as i64) >> WEIGHT_BITS
}

/// A candidate split: left side is positions `..=pos` of the segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    /// Score `d2 / den`, compared by cross-multiplication (see `build::scan`).
    pub(crate) d2: f64,
    pub(crate) den: f64,
    pub(crate) pos: usize,
}

impl Candidate {
    #[inline(always)]
    pub(crate) fn beats(&self, other: &Candidate) -> bool {
        self.d2 * other.den > other.d2 * self.den
    }
}

/// Whether candidate b wins the tournament against a: a higher score, or, when neither score
/// beats the other, an earlier position. Empty lanes (`d2 = -1, den = 1, pos = -1`) lose to
/// any real candidate.
#[inline(always)]
fn takes_second(ad2: f64, aden: f64, apos: i64, bd2: f64, bden: f64, bpos: i64) -> bool {
    let b_beats = bd2 * aden > ad2 * bden;
    let a_beats = ad2 * bden > bd2 * aden;
    b_beats || (!a_beats && bpos < apos)
}

/// What a scan needs besides the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanSpec {
    /// Evaluate left sides ending at positions `first..=last` (`last + 1 < seg.len()`).
    pub(crate) first: usize,
    pub(crate) last: usize,
    /// Node mean of the quantised target, and node total weight.
    pub(crate) mu: f64,
    pub(crate) w_total: f64,
}

#[derive(Debug, Clone, Copy)]
struct Lanes {
    d2: [f64; LANES],
    den: [f64; LANES],
    pos: [i64; LANES],
}

impl Lanes {
    fn new() -> Self {
        Lanes {
            d2: [-1.0; LANES],
            den: [1.0; LANES],
            pos: [-1; LANES],
        }
    }

    /// The best over all lanes, by a fixed tournament (lane j against j+8, then j+4, j+2,
    /// j+1) that the SIMD code performs the same way.
    fn reduce(&self) -> Option<Candidate> {
        let mut d2 = self.d2;
        let mut den = self.den;
        let mut pos = self.pos;
        let mut half = LANES / 2;
        while half > 0 {
            for j in 0..half {
                if takes_second(
                    d2[j],
                    den[j],
                    pos[j],
                    d2[j + half],
                    den[j + half],
                    pos[j + half],
                ) {
                    d2[j] = d2[j + half];
                    den[j] = den[j + half];
                    pos[j] = pos[j + half];
                }
            }
            half /= 2;
        }
        (pos[0] >= 0).then_some(Candidate {
            d2: d2[0],
            den: den[0],
            pos: pos[0] as usize,
        })
    }

    /// One position, the portable way: the reference the SIMD code must match exactly.
    #[inline(always)]
    fn step(&mut self, lane: usize, pos: usize, tie: bool, wl: i64, sl: i64, spec: &ScanSpec) {
        let wlf = wl as f64;
        let slf = sl as f64;
        let d = slf - wlf * spec.mu;
        let den = wlf * (spec.w_total - wlf);
        let d2 = d * d;
        if !tie && d2 * self.den[lane] > self.d2[lane] * den {
            self.d2[lane] = d2;
            self.den[lane] = den;
            self.pos[lane] = pos as i64;
        }
    }
}

/// Which implementation of the kernels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// AVX-512 (with POPCNT, for the partition cursors) when the CPU has it, unless the
    /// environment variable `FOREST_NO_SIMD` is set (to compare, or to rule the SIMD code out
    /// when debugging; the trees are the same).
    pub(crate) fn detect() -> Isa {
        if std::env::var_os("FOREST_NO_SIMD").is_some() {
            return Isa::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("popcnt")
            {
                return Isa::Avx512;
            }
        }
        Isa::Portable
    }
}

/// Best split of a sorted segment of list entries (row ids with [`SAME`] bits): the prefix
/// sums before `spec.first` are `(w0, s0)`.
pub(crate) fn scan(
    isa: Isa,
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    // The SIMD version reads `seg` up to `last + 1`: required for soundness.
    assert!(spec.first <= spec.last && spec.last + 1 < seg.len());
    match isa {
        Isa::Portable => {
            let mut lanes = Lanes::new();
            let (mut wl, mut sl) = (w0, s0);
            for i in spec.first..=spec.last {
                let p = pay[row(seg[i]) as usize];
                wl += pay_weight(p);
                sl += pay_wq(p);
                let tie = seg[i + 1] & SAME != 0;
                lanes.step((i - spec.first) % LANES, i, tie, wl, sl, spec);
            }
            lanes.reduce()
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU supports these features.
        Isa::Avx512 => unsafe { avx512::scan(seg, pay, w0, s0, spec) },
    }
}

/// The [`SAME`] bits of the entries that a stable partition or a filter keeps, one side at a
/// time: `pending` is whether a value boundary has been passed since the side's last kept
/// entry (true at the start, so a side's first entry gets no bit).
#[derive(Debug, Clone, Copy)]
struct Pending(bool);

impl Pending {
    /// Entry `e` passes by (kept on this side or not): its boundary, if any, is pending.
    #[inline(always)]
    fn pass(&mut self, e: u32) {
        self.0 |= e & SAME == 0;
    }

    /// The entry just passed is kept on this side: its bit, and nothing is pending any more.
    #[inline(always)]
    fn keep(&mut self, kept: bool) -> u32 {
        let same = if self.0 { 0 } else { SAME };
        self.0 &= !kept;
        same
    }
}

/// Stable partition of one list segment into `dst` (same length): rows with their bit set in
/// `side` go to the front, in order, the others after them, in order, each with its
/// [`SAME`] bit as seen on its side. `n_left` is the number of rows going left. Only the sides
/// in `need` (left, right) must be written; the portable version writes both.
pub(crate) fn partition(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    side: &[u64],
    (n_left, need): (usize, (bool, bool)),
) {
    // The SIMD version relies on this for soundness.
    assert_eq!(src.len(), dst.len());
    match isa {
        Isa::Portable => {
            // Writing both sides keeps the loop branch-free; `need` only saves SIMD work.
            let _ = need;
            let (mut l, mut r) = (0, n_left);
            let (mut pl, mut pr) = (Pending(true), Pending(true));
            for &e in src {
                let id = row(e);
                let left = bit(side, id);
                pl.pass(e);
                pr.pass(e);
                let (same_l, same_r) = (pl.keep(left), pr.keep(!left));
                let same = if left { same_l } else { same_r };
                // Branch-free (the side is unpredictable): pick the slot, advance one cursor.
                let pos = if left { l } else { r };
                dst[pos] = id | same;
                l += usize::from(left);
                r += usize::from(!left);
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU supports these features.
        Isa::Avx512 => unsafe { avx512::partition(src, dst, side, n_left, need) },
    }
}

#[inline(always)]
fn bit(bits: &[u64], id: u32) -> bool {
    (bits[id as usize >> 6] >> (id & 63)) & 1 == 1
}

/// [`partition`] of the segment `start..end` of each of `n_lists` lists but list `skip`; lists
/// are `stride` entries apart in `src` and `dst`. One call per node keeps the per-call overhead
/// off the many small nodes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn partition_lists(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    (n_lists, stride): (usize, usize),
    (start, end): (usize, usize),
    skip: usize,
    side: &[u64],
    split: (usize, (bool, bool)),
) {
    let each = |f: usize| f * stride + start..f * stride + end;
    match isa {
        Isa::Portable => {
            for f in (0..n_lists).filter(|&f| f != skip) {
                partition(isa, &src[each(f)], &mut dst[each(f)], side, split);
            }
        }
        // SAFETY: `Isa::Avx512` is only chosen when the CPU supports these features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            avx512::partition_lists(
                src,
                dst,
                (0..n_lists).filter(|&f| f != skip).map(each),
                side,
                split,
            )
        },
    }
}

/// Copies the entries of `src` whose row's bit is set in `bits` to the front of `dst`, in
/// order, renamed to `rename[row]` (with their [`SAME`] bits as seen among the kept entries),
/// and returns how many; `dst` needs one slot more than that.
pub(crate) fn filter(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    bits: &[u64],
    rename: &[u32],
) -> usize {
    match isa {
        Isa::Portable => {
            let mut k = 0;
            let mut pending = Pending(true);
            for &e in src {
                let id = row(e);
                let kept = bit(bits, id);
                pending.pass(e);
                // Branch-free: always write, advance when kept.
                dst[k] = rename[id as usize] | pending.keep(kept);
                k += usize::from(kept);
            }
            k
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU supports these features.
        Isa::Avx512 => unsafe { avx512::filter(src, dst, bits, rename) },
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Candidate, ScanSpec, LANES, SAME, WEIGHT_BITS};
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
        let b_beats = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(
            _mm512_mul_pd(b.d2, a.den),
            _mm512_mul_pd(a.d2, b.den),
        );
        let a_beats = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(
            _mm512_mul_pd(a.d2, b.den),
            _mm512_mul_pd(b.d2, a.den),
        );
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

    /// [`partition`](super::partition) of the `ranges` of the lists, in one call (the loop
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
    pub(super) unsafe fn filter(
        src: &[u32],
        dst: &mut [u32],
        bits: &[u64],
        rename: &[u32],
    ) -> usize {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// `n` rows with random ranks (`distinct` values) and payloads; `seg` holds the rows in
    /// rank order as list entries.
    struct Case {
        seg: Vec<u32>,
        ranks: Vec<u32>,
        pay: Vec<u64>,
    }

    /// Rows (in ascending rank order) as list entries, their `SAME` bits computed afresh.
    fn entries(rows: &[u32], ranks: &[u32]) -> Vec<u32> {
        rows.iter()
            .enumerate()
            .map(|(k, &id)| {
                let same = k > 0 && ranks[rows[k - 1] as usize] == ranks[id as usize];
                id | if same { SAME } else { 0 }
            })
            .collect()
    }

    fn random_case(rng: &mut Rng, n: usize, distinct: u64) -> Case {
        let ranks: Vec<u32> = (0..n).map(|_| rng.below(distinct) as u32).collect();
        let mut rows: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            rows.swap(i, rng.below(i as u64 + 1) as usize);
        }
        rows.sort_by_key(|&id| ranks[id as usize]);
        let pay = (0..n)
            .map(|_| {
                let w = 1 + rng.below(4) as i64;
                let q = rng.below(2_000_001) as i64 - 1_000_000;
                (((w * q) << WEIGHT_BITS) as u64) | w as u64
            })
            .collect();
        Case {
            seg: entries(&rows, &ranks),
            ranks,
            pay,
        }
    }

    fn totals(pay: &[u64]) -> (i64, i64) {
        pay.iter()
            .fold((0, 0), |(w, s), &p| (w + pay_weight(p), s + pay_wq(p)))
    }

    #[test]
    fn portable_scan_matches_a_plain_sequential_argmax() {
        let mut rng = Rng::new(5);
        for n in [2usize, 3, 9, 17, 64, 301] {
            let c = random_case(&mut rng, n, 1 + n as u64 / 2);
            let (wt, st) = totals(&c.pay);
            let spec = ScanSpec {
                first: 0,
                last: n - 2,
                mu: st as f64 / wt as f64,
                w_total: wt as f64,
            };
            // Sequential argmax of scikit-learn's proxy sl²/wl + sr²/wr, ties to the first.
            let (mut wl, mut sl) = (0i64, 0i64);
            let mut expected: Option<(f64, usize)> = None;
            let rank = |k: usize| c.ranks[row(c.seg[k]) as usize];
            for i in 0..n - 1 {
                let p = c.pay[row(c.seg[i]) as usize];
                wl += pay_weight(p);
                sl += pay_wq(p);
                if rank(i) == rank(i + 1) {
                    continue;
                }
                let (wr, sr) = ((wt - wl) as f64, (st - sl) as f64);
                let proxy = (sl as f64).powi(2) / wl as f64 + sr * sr / wr;
                if expected.is_none_or(|(b, _)| proxy > b * (1.0 + 1e-12)) {
                    expected = Some((proxy, i));
                }
            }
            let got = scan(Isa::Portable, &c.seg, &c.pay, 0, 0, &spec);
            assert_eq!(got.map(|c| c.pos), expected.map(|e| e.1), "n = {n}");
        }
    }

    #[test]
    fn kept_entries_get_the_same_bits_as_a_fresh_list() {
        // The portable partition against the definition, with long runs of equal values and
        // long runs of rows going one way (what the SIMD carry between chunks must get right).
        let mut rng = Rng::new(17);
        for n in [1usize, 2, 40, 1000] {
            for distinct in [1u64, 3, n as u64] {
                let c = random_case(&mut rng, n, distinct);
                let mut side = vec![0u64; n.div_ceil(64)];
                for id in 0..n {
                    if (id / 37) % 2 == 0 || rng.below(8) == 0 {
                        side[id >> 6] |= 1 << (id & 63);
                    }
                }
                let rows: Vec<u32> = c.seg.iter().map(|&e| row(e)).collect();
                let (left, right): (Vec<u32>, Vec<u32>) =
                    rows.iter().partition(|&&id| bit(&side, id));
                let mut expected = entries(&left, &c.ranks);
                expected.extend(entries(&right, &c.ranks));
                let mut got = vec![0u32; n];
                partition(
                    Isa::Portable,
                    &c.seg,
                    &mut got,
                    &side,
                    (left.len(), (true, true)),
                );
                assert_eq!(got, expected, "n {n} distinct {distinct}");
            }
        }
    }

    #[test]
    fn simd_kernels_match_portable_ones() {
        let isa = Isa::detect();
        let mut rng = Rng::new(11);
        for n in [2usize, 3, 5, 8, 9, 10, 15, 16, 17, 18, 33, 100, 1000, 4099] {
            for distinct in [1u64, 2, 7, n as u64 * 4] {
                let c = random_case(&mut rng, n, distinct);
                let (wt, st) = totals(&c.pay);
                for (first, trim) in [(0usize, 0usize), (1, 1), (2, 3)] {
                    if first + trim + 2 > n {
                        continue;
                    }
                    let (w0, s0) = totals(
                        &c.seg[..first]
                            .iter()
                            .map(|&e| c.pay[row(e) as usize])
                            .collect::<Vec<_>>(),
                    );
                    let spec = ScanSpec {
                        first,
                        last: n - 2 - trim,
                        mu: st as f64 / wt as f64,
                        w_total: wt as f64,
                    };
                    let a = scan(Isa::Portable, &c.seg, &c.pay, w0, s0, &spec);
                    let b = scan(isa, &c.seg, &c.pay, w0, s0, &spec);
                    assert_eq!(a, b, "scan n={n} distinct={distinct} first={first}");
                }

                // Sides drawn per row, in runs of one side now and then (so that chunks of
                // sixteen lanes go all one way).
                let mut side = vec![0u64; n.div_ceil(64)];
                let mut n_left = 0;
                for id in 0..n {
                    let left = if (id / 50) % 3 == 0 {
                        (id / 150) % 2 == 0
                    } else {
                        rng.below(2) == 1
                    };
                    if left {
                        side[id >> 6] |= 1 << (id & 63);
                        n_left += 1;
                    }
                }
                let goes_left = |id: u32| bit(&side, id);
                let rows_of = |s: &[u32]| -> Vec<u32> { s.iter().map(|&e| row(e)).collect() };
                let (mut a, mut b) = (vec![0u32; n], vec![0u32; n]);
                let split = (n_left, (true, true));
                partition(Isa::Portable, &c.seg, &mut a, &side, split);
                partition(isa, &c.seg, &mut b, &side, split);
                assert_eq!(a, b, "partition n={n} distinct={distinct}");
                assert_eq!(&a[..n_left], &entries(&rows_of(&a[..n_left]), &c.ranks)[..]);
                assert_eq!(&a[n_left..], &entries(&rows_of(&a[n_left..]), &c.ranks)[..]);
                // Each side alone writes the same entries.
                for need in [(true, false), (false, true)] {
                    let mut s = a.clone();
                    let (lo, hi) = if need.0 { (0, n_left) } else { (n_left, n) };
                    s[lo..hi].fill(u32::MAX);
                    partition(isa, &c.seg, &mut s, &side, (n_left, need));
                    assert_eq!(s, a, "partition n={n} {need:?}");
                }
                let (mut fa, mut fb) = (vec![0u32; n + 1], vec![0u32; n + 1]);
                let ident: Vec<u32> = (0..n as u32).collect();
                let ka = filter(Isa::Portable, &c.seg, &mut fa, &side, &ident);
                let kb = filter(isa, &c.seg, &mut fb, &side, &ident);
                assert_eq!((ka, &fa[..ka]), (kb, &fb[..kb]), "filter n={n}");
                assert_eq!(ka, n_left);
                assert_eq!(&fa[..ka], &a[..n_left]);
                // Renaming: the kept rows come out renamed, the same way in both versions, with
                // the bits of the kept rows' values.
                let rename: Vec<u32> = (0..n as u32).map(|r| r.wrapping_mul(7919) % 1000).collect();
                let ka = filter(Isa::Portable, &c.seg, &mut fa, &side, &rename);
                let kb = filter(isa, &c.seg, &mut fb, &side, &rename);
                assert_eq!((ka, &fa[..ka]), (kb, &fb[..kb]), "filter renamed n={n}");
                let expect: Vec<u32> = a[..n_left]
                    .iter()
                    .map(|&e| rename[row(e) as usize] | (e & SAME))
                    .collect();
                assert_eq!(&fa[..ka], &expect[..]);
                // Stable, and split at n_left.
                let rank = |e: &u32| c.ranks[row(*e) as usize];
                assert!(a[..n_left].iter().all(|&e| goes_left(row(e))));
                assert!(a[n_left..].iter().all(|&e| !goes_left(row(e))));
                assert!(a[..n_left].windows(2).all(|w| rank(&w[0]) <= rank(&w[1])));
                assert!(a[n_left..].windows(2).all(|w| rank(&w[0]) <= rank(&w[1])));
            }
        }
    }
}
