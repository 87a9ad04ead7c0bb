//! The hot loops of tree growing (split scan, list partition, sample filter), in a portable
//! version and SIMD versions for AVX-512 and AVX2 (x86_64) and NEON (aarch64).
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
//! Every version computes bit-identical results (a grove retried on another machine must
//! reproduce itself): prefix sums are exact integers, converted exactly to `f64`, the
//! arithmetic is the same IEEE operations in the same order (never fused), and the split
//! search keeps one running best per lane of [`LANES`] positions, reduced the same way. The
//! tests run every version the machine can run against the portable one.
//!
//! # The versions
//!
//! - `avx512` (x86_64 with AVX-512F/DQ and POPCNT): sixteen entries per step, with masked
//!   gathers and compressing stores.
//! - `avx2` (x86_64 with AVX2, BMI1/2 and POPCNT, as Lambda's x86_64 hosts have): sixteen entries
//!   per step as two halves of eight; gathers, and compaction by a permutation looked up by
//!   mask.
//! - `neon` (aarch64, where NEON is always there: Graviton Lambda hosts): payload and bitmap
//!   lookups are scalar loads (NEON has no gathers), the arithmetic, masks and compaction
//!   (`tbl` by mask) are vector code.
//! - `portable`: the reference, for any CPU, in plain Rust, branch-free wherever the data
//!   would make a branch unpredictable (the scan's updates, the sides of rows). The
//!   partition works in fixed chunks of 32 (bookkeeping on masks, each chunk's entries with
//!   their new bits computed lane by lane, which compiles to vector code, chunks going all one
//!   way copied whole) and looks sides up in a byte per row ([`Sides`]); the scan and the
//!   filter go entry by entry (the scan's sixteen lanes as two-lane SSE2 vectors, blends
//!   built from masks, measured 5-8 % slower than the scalar loop).
//!
//! The SIMD versions are written with `std::arch` intrinsics, one module per instruction set,
//! rather than with a portable SIMD crate: `std::simd` is nightly-only, and what makes each
//! version fast is specific to its instruction set (masked gathers and compress on AVX-512,
//! gathers and table-driven permutes on AVX2, byte-table lookups on NEON), which the stable
//! crates (`wide`, `pulp`, `simdeez`, ...) either lack or emulate lane by lane; identical
//! trees also need every floating-point operation spelled out (no fused multiply-add), and
//! the crate gains no dependency. The price is keeping three SIMD versions in step with the
//! portable one, which the tests enforce.
//!
//! # Choosing a version
//!
//! [`Isa::from_env`] picks the best version the CPU runs (avx512, then avx2, on x86_64; neon
//! on aarch64), unless the environment variable `FOREST_KERNELS` names one: `avx512`, `avx2`,
//! `neon`, `portable` (or `auto`, the default). `FOREST_NO_SIMD` (any value) means
//! `portable`, as before. Asking for a version this CPU or build cannot run, an unknown name,
//! or `FOREST_NO_SIMD` together with a `FOREST_KERNELS` other than `portable` is an error
//! ([`ForestError::Kernels`] from `Forest::fit`), not a fallback: the variable exists to
//! benchmark or rule out one version, and a run that quietly used another would mislead.
//! The variables are read once per process.

use crate::error::ForestError;
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(test)]
mod tests;

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
/// them still fit: the SIMD scans sum up to eight packed payloads at once and split them after.
pub(crate) const WEIGHT_BITS: u32 = 15;

/// Largest bootstrap weight a payload holds (a row drawn more often is capped; for n > 4095
/// rows that has probability below 1e-13000, and for fewer rows it cannot happen).
pub(crate) const MAX_WEIGHT: u16 = 4095;

/// Payload of a row: `(w * qy) << 15 | w`, with `w` the bootstrap weight (at most
/// [`MAX_WEIGHT`]) and `qy` the quantised target, `|w * qy| < 2^45`. Prefix sums of the weighted
/// targets stay below 2^53 (see `presorted::Presorted::new`), where `f64` is exact.
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

/// The running bests of the [`LANES`] lanes of a scan, as the portable scan keeps them (the
/// SIMD scans keep theirs in registers, and reduce them the same way).
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
    /// j+1) that the AVX-512 code performs the same way.
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
}

/// Of the lanes in `kept` (of a chunk of `W <= 32` entries), those whose entry has the same
/// value as the previous kept entry, given the lanes with a value `boundary` and `pending` (1
/// if a boundary was passed since the last kept entry of earlier chunks); and the pending bit
/// for the next chunk. This is the bookkeeping of a partition or filter side, a chunk at a
/// time: a boundary counts for the first kept lane at or after it, so adding the boundaries on
/// dropped lanes to the mask of dropped lanes carries each one up its run of dropped lanes into
/// the kept lane that ends the run (or out of bit `W - 1`, into the next chunk).
#[inline(always)]
fn kept_same<const W: u32>(boundary: u64, kept: u64, pending: u64) -> (u64, u64) {
    let b = boundary | pending;
    let dropped = !kept & ((1 << W) - 1);
    let carried = dropped + (b & dropped);
    let hit = (b | carried) & kept;
    (kept & !hit, (carried >> W) & 1)
}

/// Mask of the first `k` lanes of a chunk.
#[inline(always)]
fn first_lanes(k: usize) -> u64 {
    if k >= 64 {
        u64::MAX
    } else {
        (1u64 << k) - 1
    }
}

/// The kernel versions, by the name `FOREST_KERNELS` and [`crate::kernels_in_use`] use. All
/// exist on every target so that names parse everywhere; which can run is [`Kernels::runs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernels {
    Avx512,
    Avx2,
    Neon,
    Portable,
}

impl Kernels {
    /// Best first: the order in which the automatic choice tries them.
    pub(crate) const ALL: [Kernels; 4] = [
        Kernels::Avx512,
        Kernels::Avx2,
        Kernels::Neon,
        Kernels::Portable,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Kernels::Avx512 => "avx512",
            Kernels::Avx2 => "avx2",
            Kernels::Neon => "neon",
            Kernels::Portable => "portable",
        }
    }

    /// What the CPU must have, for messages.
    const fn needs(self) -> &'static str {
        match self {
            Kernels::Avx512 => "x86_64 with avx512f, avx512dq and popcnt",
            Kernels::Avx2 => "x86_64 with avx2, bmi1, bmi2 and popcnt",
            Kernels::Neon => "aarch64",
            Kernels::Portable => "nothing",
        }
    }

    /// Whether this build and this CPU can run the version.
    pub(crate) fn runs(self) -> bool {
        match self {
            Kernels::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("bmi1")
                    && std::arch::is_x86_feature_detected!("bmi2")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            // NEON is part of the aarch64 baseline (Rust's aarch64 targets assume it).
            #[cfg(target_arch = "aarch64")]
            Kernels::Neon => true,
            _ => false,
        }
    }

    /// The choice made by `FOREST_KERNELS` (`kernels`, if set) and `FOREST_NO_SIMD` (`no_simd`:
    /// whether it is set) on a CPU that runs the versions for which `runs` is true. The error
    /// says what was asked, why it cannot be had, and what can.
    pub(crate) fn choose(
        kernels: Option<&str>,
        no_simd: bool,
        runs: impl Fn(Kernels) -> bool,
    ) -> Result<Kernels, String> {
        let can = || {
            Kernels::ALL
                .iter()
                .filter(|&&k| runs(k))
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let asked = match kernels.map(|k| k.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("auto") => None,
            Some(name) => match Kernels::ALL.iter().find(|k| k.name() == name) {
                Some(&k) => Some(k),
                None => {
                    return Err(format!(
                        "FOREST_KERNELS={name} is not a kernel version: use auto, avx512, \
                         avx2, neon or portable (this CPU can run {})",
                        can()
                    ))
                }
            },
        };
        match (asked, no_simd) {
            (None, true) | (Some(Kernels::Portable), _) => Ok(Kernels::Portable),
            (Some(k), true) => Err(format!(
                "FOREST_KERNELS={} contradicts FOREST_NO_SIMD (which means portable): unset one",
                k.name()
            )),
            (Some(k), false) if runs(k) => Ok(k),
            (Some(k), false) => Err(format!(
                "FOREST_KERNELS={} needs {}, which this machine is not; it can run {}",
                k.name(),
                k.needs(),
                can()
            )),
            (None, false) => Ok(Kernels::ALL
                .into_iter()
                .find(|&k| runs(k))
                .unwrap_or(Kernels::Portable)),
        }
    }
}

/// A kernel version this CPU runs: the only kind of value the dispatching functions below
/// accept, which is what makes their calls into the SIMD versions sound. Made by
/// [`Isa::new`] (which checks the CPU) or [`Isa::from_env`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isa(Kernels);

impl Isa {
    #[cfg(test)]
    pub(crate) const PORTABLE: Isa = Isa(Kernels::Portable);

    /// The version `k`, if this CPU runs it.
    pub(crate) fn new(k: Kernels) -> Option<Isa> {
        k.runs().then_some(Isa(k))
    }

    /// Every version this CPU runs, best first (the portable one last).
    #[cfg(test)]
    pub(crate) fn available() -> impl Iterator<Item = Isa> {
        Kernels::ALL.into_iter().filter_map(Isa::new)
    }

    /// The version chosen by the environment (see the module docs), read once per process.
    pub(crate) fn from_env() -> Result<Isa, ForestError> {
        static CHOSEN: OnceLock<Result<Isa, String>> = OnceLock::new();
        CHOSEN
            .get_or_init(|| {
                let kernels = match std::env::var("FOREST_KERNELS") {
                    Ok(v) => Some(v),
                    Err(std::env::VarError::NotPresent) => None,
                    Err(std::env::VarError::NotUnicode(v)) => {
                        return Err(format!("FOREST_KERNELS={v:?} is not a kernel version"))
                    }
                };
                let no_simd = std::env::var_os("FOREST_NO_SIMD").is_some();
                let k = Kernels::choose(kernels.as_deref(), no_simd, Kernels::runs)?;
                // `choose` only returns versions `runs` accepts; `new` checks again.
                Isa::new(k).ok_or_else(|| format!("{} does not run here", k.name()))
            })
            .clone()
            .map_err(ForestError::Kernels)
    }

    #[cfg(test)]
    pub(crate) fn kernels(self) -> Kernels {
        self.0
    }

    pub(crate) fn name(self) -> &'static str {
        self.0.name()
    }
}

/// Name of the kernel version `Forest::fit` uses in this process (`avx512`, `avx2`, `neon` or
/// `portable`): the best the CPU runs, or the one `FOREST_KERNELS` names (see
/// [`ForestError::Kernels`] for when that fails). All versions grow the same trees; they
/// differ in speed only.
pub fn kernels_in_use() -> Result<&'static str, ForestError> {
    Isa::from_env().map(Isa::name)
}

/// Which side of a split each tree row goes to, set row by row before a node's lists are
/// partitioned, in the form the kernel version reads: one bit per row for the SIMD versions
/// (a gather fetches 32 rows' bits at once), one byte per row for the portable one (a byte
/// is one load; a bit also needs a shift by a variable count, several instructions on
/// baseline x86_64, and those lookups were a third of the portable partition's time).
#[derive(Debug, Clone)]
pub(crate) struct Sides {
    isa: Isa,
    bits: Vec<u64>,
    bytes: Vec<u8>,
}

impl Sides {
    pub(crate) fn new(isa: Isa) -> Self {
        Sides {
            isa,
            bits: Vec::new(),
            bytes: Vec::new(),
        }
    }

    fn bytes_read(&self) -> bool {
        self.isa.0 == Kernels::Portable
    }

    /// Room for rows `0..m`, all going right.
    pub(crate) fn reset(&mut self, m: usize) {
        self.bits.clear();
        self.bytes.clear();
        if self.bytes_read() {
            self.bytes.resize(m, 0);
        } else {
            self.bits.resize(m.div_ceil(64), 0);
        }
    }

    /// The rows of list `entries` go left (`true`) or right.
    pub(crate) fn set(&mut self, entries: &[u32], left: bool) {
        if self.bytes_read() {
            for &e in entries {
                self.bytes[row(e) as usize] = u8::from(left);
            }
        } else if left {
            for &e in entries {
                let id = row(e);
                self.bits[id as usize >> 6] |= 1 << (id & 63);
            }
        } else {
            for &e in entries {
                let id = row(e);
                self.bits[id as usize >> 6] &= !(1 << (id & 63));
            }
        }
    }

    /// The sides of the rows `0..64 * bits.len()` from a bitmap, in both forms.
    #[cfg(test)]
    pub(crate) fn from_bits(isa: Isa, bits: &[u64]) -> Self {
        Sides {
            isa,
            bits: bits.to_vec(),
            bytes: (0..64 * bits.len() as u32)
                .map(|id| u8::from(bit(bits, id)))
                .collect(),
        }
    }
}

/// Best split of a sorted segment of list entries (row ids with [`SAME`] bits): the prefix
/// sums before `spec.first` are `(w0, s0)`. Every row must be below `pay.len()`.
pub(crate) fn scan(
    isa: Isa,
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    // The SIMD versions read `seg` up to `last + 1`: required for soundness.
    assert!(spec.first <= spec.last && spec.last + 1 < seg.len());
    match isa.0 {
        Kernels::Portable => portable::scan(seg, pay, w0, s0, spec),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` holds a SIMD version only if the CPU runs it; the
        // positions read are inside `seg` (asserted above), the rows inside `pay` (contract).
        Kernels::Avx512 => unsafe { avx512::scan(seg, pay, w0, s0, spec) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as for the arm above.
        Kernels::Avx2 => unsafe { avx2::scan(seg, pay, w0, s0, spec) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as for the arm above.
        Kernels::Neon => unsafe { neon::scan(seg, pay, w0, s0, spec) },
        other => unreachable!("{other:?} kernels in an Isa on this target"),
    }
}

/// [`partition_lists`] of one list: all of `src` into `dst` (same length).
#[cfg(test)]
pub(crate) fn partition(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    side: &[u64],
    split: (usize, (bool, bool)),
) {
    assert_eq!(src.len(), dst.len());
    let n = src.len();
    let sides = Sides::from_bits(isa, side);
    partition_lists(isa, src, dst, (1, n), (0, n), 1, &sides, split);
}

/// Stable partition of the segment `start..end` of each of `n_lists` lists but list `skip`
/// (lists are `stride` entries apart in `src` and `dst`) into the same segment of `dst`: rows
/// going left in `sides` go to the front, in order, the others after them, in order,
/// each with its [`SAME`] bit as seen on its side. `split` is the number of rows going left,
/// and the sides (left, right) that must be written (the portable version writes both); the
/// other side of `dst` is left as it was. Every row must have its side in `sides`. One call
/// per node keeps the per-call overhead off the many small nodes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn partition_lists(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    (n_lists, stride): (usize, usize),
    (start, end): (usize, usize),
    skip: usize,
    sides: &Sides,
    split: (usize, (bool, bool)),
) {
    // The SIMD versions rely on these for soundness.
    assert!(start <= end && end <= stride && split.0 <= end - start);
    assert!(n_lists * stride <= src.len().min(dst.len()));
    assert_eq!(
        isa, sides.isa,
        "the sides are set in the form another version reads"
    );
    let ranges = (0..n_lists)
        .filter(|&f| f != skip)
        .map(|f| f * stride + start..f * stride + end);
    match isa.0 {
        Kernels::Portable => portable::partition_lists(src, dst, ranges, &sides.bytes, split),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` holds a SIMD version only if the CPU runs it; the ranges
        // are inside `src` and `dst` and hold at least `n_left` entries (asserted above), the
        // rows' bits inside `sides.bits` (contract; the SIMD versions set bits, asserted).
        Kernels::Avx512 => unsafe { avx512::partition_lists(src, dst, ranges, &sides.bits, split) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as for the arm above.
        Kernels::Avx2 => unsafe { avx2::partition_lists(src, dst, ranges, &sides.bits, split) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as for the arm above.
        Kernels::Neon => unsafe { neon::partition_lists(src, dst, ranges, &sides.bits, split) },
        other => unreachable!("{other:?} kernels in an Isa on this target"),
    }
}

/// Copies the entries of `src` whose row's bit is set in `bits` to the front of `dst`, in
/// order, renamed to `rename[row]` (with their [`SAME`] bits as seen among the kept entries),
/// and returns how many; `dst` needs one slot more than that, and any of it past the kept
/// entries may be overwritten. Every row must have its bit in `bits` and be below
/// `rename.len()`; renamed rows must be below 2^31.
pub(crate) fn filter(
    isa: Isa,
    src: &[u32],
    dst: &mut [u32],
    bits: &[u64],
    rename: &[u32],
) -> usize {
    match isa.0 {
        Kernels::Portable => portable::filter(src, dst, bits, rename),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` holds a SIMD version only if the CPU runs it; the rows'
        // bits are inside `bits`, the rows inside `rename`, and `dst` has room (contract).
        Kernels::Avx512 => unsafe { avx512::filter(src, dst, bits, rename) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as for the arm above.
        Kernels::Avx2 => unsafe { avx2::filter(src, dst, bits, rename) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as for the arm above.
        Kernels::Neon => unsafe { neon::filter(src, dst, bits, rename) },
        other => unreachable!("{other:?} kernels in an Isa on this target"),
    }
}

/// Asks for the payloads of the rows of the [`LANES`] entries at `e` to be brought into the
/// cache: the SIMD scans do this two steps ahead, as they wait on their payload loads more
/// than on their arithmetic in large nodes (3-5 % of a fit; the portable scan, bound by its
/// instructions, gains nothing). A hint: it reads the entries, not the payloads.
///
/// # Safety
/// `e[0..LANES]` must be readable.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch_payloads(e: *const u32, pay: *const i64) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for k in 0..LANES {
        let id = row(*e.add(k)) as usize;
        _mm_prefetch::<_MM_HINT_T0>(pay.wrapping_add(id) as *const i8);
    }
}

/// Whether the bit of row `id` is set in the bitmap `bits`.
#[inline(always)]
fn bit(bits: &[u64], id: u32) -> bool {
    (bits[id as usize >> 6] >> (id & 63)) & 1 == 1
}
