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

/// Rows in random order of `distinct` random ranks, with payloads from `payload`.
fn case_with(
    rng: &mut Rng,
    n: usize,
    distinct: u64,
    mut payload: impl FnMut(&mut Rng) -> u64,
) -> Case {
    let ranks: Vec<u32> = (0..n).map(|_| rng.below(distinct) as u32).collect();
    let mut rows: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        rows.swap(i, rng.below(i as u64 + 1) as usize);
    }
    rows.sort_by_key(|&id| ranks[id as usize]);
    let pay = (0..n).map(|_| payload(rng)).collect();
    Case {
        seg: entries(&rows, &ranks),
        ranks,
        pay,
    }
}

fn random_case(rng: &mut Rng, n: usize, distinct: u64) -> Case {
    case_with(rng, n, distinct, |rng| {
        let w = 1 + rng.below(4) as i64;
        let q = rng.below(2_000_001) as i64 - 1_000_000;
        (((w * q) << WEIGHT_BITS) as u64) | w as u64
    })
}

/// Payloads at the limits `build` allows: weights up to `MAX_WEIGHT`, weighted targets up to
/// 2^45, mostly of one sign so that prefix sums reach past 2^51 towards 2^53 (where a cheap
/// integer-to-`f64` conversion would no longer be exact).
fn extreme_case(rng: &mut Rng, n: usize, distinct: u64) -> Case {
    let cap = ((1i64 << 53) / n as i64).min((1 << 45) - 1);
    case_with(rng, n, distinct, |rng| {
        let w = 1 + rng.below(u64::from(MAX_WEIGHT)) as i64;
        let q = (cap / w) * (1 + rng.below(1000) as i64) / 1000;
        let wq = w * if rng.below(10) == 0 { -q } else { q };
        ((wq << WEIGHT_BITS) as u64) | w as u64
    })
}

fn totals(pay: &[u64]) -> (i64, i64) {
    pay.iter()
        .fold((0, 0), |(w, s), &p| (w + pay_weight(p), s + pay_wq(p)))
}

/// The scan's parameters for positions `first..=last` of `c`, with the sums before `first`.
fn spec_of(c: &Case, first: usize, last: usize) -> (ScanSpec, i64, i64) {
    let (wt, st) = totals(&c.pay);
    let before: Vec<u64> = c.seg[..first]
        .iter()
        .map(|&e| c.pay[row(e) as usize])
        .collect();
    let (w0, s0) = totals(&before);
    let spec = ScanSpec {
        first,
        last,
        mu: st as f64 / wt as f64,
        w_total: wt as f64,
    };
    (spec, w0, s0)
}

/// The portable scan as it was before it worked in chunks: one position at a time, each
/// updating lane `(i - first) % LANES`. The definition every version must match.
fn reference_scan(
    seg: &[u32],
    pay: &[u64],
    w0: i64,
    s0: i64,
    spec: &ScanSpec,
) -> Option<Candidate> {
    let mut lanes = Lanes::new();
    let (mut wl, mut sl) = (w0, s0);
    for i in spec.first..=spec.last {
        let p = pay[row(seg[i]) as usize];
        wl += pay_weight(p);
        sl += pay_wq(p);
        let lane = (i - spec.first) % LANES;
        let (wlf, slf) = (wl as f64, sl as f64);
        let d = slf - wlf * spec.mu;
        let den = wlf * (spec.w_total - wlf);
        let d2 = d * d;
        let tie = seg[i + 1] & SAME != 0;
        if !tie && d2 * lanes.den[lane] > lanes.d2[lane] * den {
            lanes.d2[lane] = d2;
            lanes.den[lane] = den;
            lanes.pos[lane] = i as i64;
        }
    }
    lanes.reduce()
}

/// Every version this machine runs but the portable one.
fn simd() -> impl Iterator<Item = Isa> {
    Isa::available().filter(|&isa| isa != Isa::PORTABLE)
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
        let got = scan(Isa::PORTABLE, &c.seg, &c.pay, 0, 0, &spec);
        assert_eq!(got.map(|c| c.pos), expected.map(|e| e.1), "n = {n}");
    }
}

#[test]
fn every_scan_matches_the_position_by_position_reference() {
    // All versions, the chunked portable one included, on ranges of every length up to past
    // three chunks, from several starts, with ties and extreme payloads.
    let mut rng = Rng::new(23);
    for n in (2..60).chain([100, 257, 1000]) {
        for distinct in [1u64, 2, 5, n as u64 * 4] {
            for extreme in [false, true] {
                let c = if extreme {
                    extreme_case(&mut rng, n, distinct)
                } else {
                    random_case(&mut rng, n, distinct)
                };
                for first in [0, 1, 3, 16, 17] {
                    for trim in [0, 1, 5] {
                        if first + trim + 2 > n {
                            continue;
                        }
                        let (spec, w0, s0) = spec_of(&c, first, n - 2 - trim);
                        let expected = reference_scan(&c.seg, &c.pay, w0, s0, &spec);
                        for isa in Isa::available() {
                            let got = scan(isa, &c.seg, &c.pay, w0, s0, &spec);
                            assert_eq!(
                                got, expected,
                                "{isa:?} n={n} distinct={distinct} extreme={extreme} \
                                 first={first} trim={trim}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn scans_of_equal_scores_keep_the_lane_and_tournament_order() {
    // Every position scores the same (all targets equal, all weights 1, a segment symmetric
    // around its middle): ties between lanes are settled by the tournament, not by which
    // position was seen first, and every version must settle them the same way.
    for n in [2usize, 3, 17, 33, 64, 200] {
        let seg: Vec<u32> = (0..n as u32).collect();
        let pay = vec![(5u64 << WEIGHT_BITS) | 1; n];
        for first in [0, 1] {
            if first + 2 > n {
                continue;
            }
            let spec = ScanSpec {
                first,
                last: n - 2,
                mu: 5.0,
                w_total: n as f64,
            };
            let expected = reference_scan(&seg, &pay, first as i64, 5 * first as i64, &spec);
            for isa in Isa::available() {
                let got = scan(isa, &seg, &pay, first as i64, 5 * first as i64, &spec);
                assert_eq!(got, expected, "{isa:?} n={n} first={first}");
            }
        }
    }
}

#[test]
fn kept_entries_get_the_same_bits_as_a_fresh_list() {
    // Each partition against the definition, with long runs of equal values and long runs of
    // rows going one way (what the carry between chunks must get right).
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
            let (left, right): (Vec<u32>, Vec<u32>) = rows.iter().partition(|&&id| bit(&side, id));
            let mut expected = entries(&left, &c.ranks);
            expected.extend(entries(&right, &c.ranks));
            for isa in Isa::available() {
                let mut got = vec![0u32; n];
                partition(isa, &c.seg, &mut got, &side, (left.len(), (true, true)));
                assert_eq!(got, expected, "{isa:?} n {n} distinct {distinct}");
            }
        }
    }
}

#[test]
fn simd_kernels_match_portable_ones() {
    for isa in simd() {
        let mut rng = Rng::new(11);
        for n in [
            2usize, 3, 5, 8, 9, 10, 15, 16, 17, 18, 31, 32, 33, 100, 1000, 4099,
        ] {
            for distinct in [1u64, 2, 7, n as u64 * 4] {
                let c = random_case(&mut rng, n, distinct);
                for (first, trim) in [(0usize, 0usize), (1, 1), (2, 3)] {
                    if first + trim + 2 > n {
                        continue;
                    }
                    let (spec, w0, s0) = spec_of(&c, first, n - 2 - trim);
                    let a = scan(Isa::PORTABLE, &c.seg, &c.pay, w0, s0, &spec);
                    let b = scan(isa, &c.seg, &c.pay, w0, s0, &spec);
                    assert_eq!(a, b, "{isa:?} scan n={n} distinct={distinct} first={first}");
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
                partition(Isa::PORTABLE, &c.seg, &mut a, &side, split);
                partition(isa, &c.seg, &mut b, &side, split);
                assert_eq!(a, b, "{isa:?} partition n={n} distinct={distinct}");
                assert_eq!(&a[..n_left], &entries(&rows_of(&a[..n_left]), &c.ranks)[..]);
                assert_eq!(&a[n_left..], &entries(&rows_of(&a[n_left..]), &c.ranks)[..]);
                // Each side alone writes the same entries, and nothing on the other side.
                for need in [(true, false), (false, true)] {
                    let mut s = a.clone();
                    let (lo, hi) = if need.0 { (0, n_left) } else { (n_left, n) };
                    s[lo..hi].fill(u32::MAX);
                    partition(isa, &c.seg, &mut s, &side, (n_left, need));
                    assert_eq!(s, a, "{isa:?} partition n={n} {need:?}");
                    let mut s = vec![u32::MAX; n];
                    partition(isa, &c.seg, &mut s, &side, (n_left, need));
                    let (other_lo, other_hi) = if need.0 { (n_left, n) } else { (0, n_left) };
                    assert!(s[other_lo..other_hi].iter().all(|&e| e == u32::MAX));
                }
                let (mut fa, mut fb) = (vec![0u32; n + 1], vec![0u32; n + 1]);
                let ident: Vec<u32> = (0..n as u32).collect();
                let ka = filter(Isa::PORTABLE, &c.seg, &mut fa, &side, &ident);
                let kb = filter(isa, &c.seg, &mut fb, &side, &ident);
                assert_eq!((ka, &fa[..ka]), (kb, &fb[..kb]), "{isa:?} filter n={n}");
                assert_eq!(ka, n_left);
                assert_eq!(&fa[..ka], &a[..n_left]);
                // Renaming: the kept rows come out renamed, the same way in both versions, with
                // the bits of the kept rows' values.
                let rename: Vec<u32> = (0..n as u32).map(|r| r.wrapping_mul(7919) % 1000).collect();
                let ka = filter(Isa::PORTABLE, &c.seg, &mut fa, &side, &rename);
                let kb = filter(isa, &c.seg, &mut fb, &side, &rename);
                assert_eq!(
                    (ka, &fa[..ka]),
                    (kb, &fb[..kb]),
                    "{isa:?} filter renamed n={n}"
                );
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

#[test]
fn tiny_and_empty_lists_and_whole_chunks_one_way() {
    // Lists of 0-3 entries, and lists of up to 70 where every row, or all but one, goes one
    // way: the tails, and the chunks kept whole.
    let mut rng = Rng::new(29);
    for n in (0..=3).chain([16, 31, 32, 33, 48, 64, 70]) {
        for distinct in [1u64, 2, n as u64 + 1] {
            let c = random_case(&mut rng, n, distinct);
            let mut sides: Vec<Vec<u64>> = vec![vec![0; n.div_ceil(64)], vec![!0; n.div_ceil(64)]];
            for odd in [0, n / 2, n.saturating_sub(1)] {
                for base in [0u64, !0] {
                    let mut s = vec![base; n.div_ceil(64)];
                    if n > 0 {
                        s[odd >> 6] ^= 1 << (odd & 63);
                    }
                    sides.push(s);
                }
            }
            for side in &sides {
                let n_left = (0..n as u32).filter(|&id| bit(side, id)).count();
                let rename: Vec<u32> = (0..n as u32).map(|r| (n as u32 - r) * 3).collect();
                let (mut a, mut fa) = (vec![0u32; n], vec![0u32; n + 1]);
                partition(Isa::PORTABLE, &c.seg, &mut a, side, (n_left, (true, true)));
                let ka = filter(Isa::PORTABLE, &c.seg, &mut fa, side, &rename);
                let rows: Vec<u32> = c.seg.iter().map(|&e| row(e)).collect();
                let (left, right): (Vec<u32>, Vec<u32>) =
                    rows.iter().partition(|&&id| bit(side, id));
                let mut expected = entries(&left, &c.ranks);
                expected.extend(entries(&right, &c.ranks));
                assert_eq!(a, expected, "n {n}");
                assert_eq!(ka, n_left);
                for isa in simd() {
                    let (mut b, mut fb) = (vec![0u32; n], vec![0u32; n + 1]);
                    partition(isa, &c.seg, &mut b, side, (n_left, (true, true)));
                    let kb = filter(isa, &c.seg, &mut fb, side, &rename);
                    assert_eq!(a, b, "{isa:?} partition n={n} distinct={distinct}");
                    assert_eq!((ka, &fa[..ka]), (kb, &fb[..kb]), "{isa:?} filter n={n}");
                }
            }
            if n >= 2 {
                for last in 0..n - 1 {
                    let (spec, w0, s0) = spec_of(&c, 0, last);
                    let expected = reference_scan(&c.seg, &c.pay, w0, s0, &spec);
                    for isa in Isa::available() {
                        let got = scan(isa, &c.seg, &c.pay, w0, s0, &spec);
                        assert_eq!(got, expected, "{isa:?} scan n={n} last={last}");
                    }
                }
            }
        }
    }
}

#[test]
fn kernels_write_only_inside_their_ranges() {
    // Several lists in one buffer, with a gap after each node's range: a partition of all
    // lists but one must change exactly the partitioned ranges, and a filter into a slice of
    // exactly one slot more than it keeps must not write past it.
    const CANARY: u32 = 0xDEAD_BEEF;
    let mut rng = Rng::new(31);
    for n in [1usize, 7, 16, 17, 40, 129] {
        let n_lists = 4;
        let stride = n + 9;
        let (start, end) = (3, 3 + n);
        let mut src = vec![CANARY; n_lists * stride];
        let mut rows_by_list = Vec::new();
        for f in 0..n_lists {
            let c = random_case(&mut rng, n, 1 + f as u64 * 3);
            src[f * stride + start..f * stride + end].copy_from_slice(&c.seg);
            rows_by_list.push(c);
        }
        let mut side = vec![0u64; n.div_ceil(64)];
        for id in 0..n {
            if rng.below(3) == 0 || id < n / 3 {
                side[id >> 6] |= 1 << (id & 63);
            }
        }
        let n_left = (0..n as u32).filter(|&id| bit(&side, id)).count();
        let mut expected = vec![CANARY; n_lists * stride];
        for f in (0..n_lists).filter(|&f| f != 2) {
            let r = f * stride + start..f * stride + end;
            partition(
                Isa::PORTABLE,
                &src[r.clone()],
                &mut expected[r],
                &side,
                (n_left, (true, true)),
            );
        }
        for isa in Isa::available() {
            let mut dst = vec![CANARY; n_lists * stride];
            let split = (n_left, (true, true));
            partition_lists(
                isa,
                &src,
                &mut dst,
                (n_lists, stride),
                (start, end),
                2,
                &Sides::from_bits(isa, &side),
                split,
            );
            assert_eq!(dst, expected, "{isa:?} n={n}");

            for c in &rows_by_list {
                let rename: Vec<u32> = (0..n as u32).collect();
                let mut buf = vec![CANARY; n_left + 1 + 40];
                let k = filter(isa, &c.seg, &mut buf[..n_left + 1], &side, &rename);
                assert_eq!(k, n_left);
                assert!(
                    buf[n_left + 1..].iter().all(|&e| e == CANARY),
                    "{isa:?} n={n}"
                );
            }
        }
    }
}

#[test]
fn sides_set_row_by_row_partition_as_the_bitmap_says() {
    // `Sides::set` writes the form its version reads (bytes for the portable one, bits for the
    // others), including rows set one way and then the other (a node's rows were set by its
    // parent): each version's partition must equal the one from a bitmap of the final sides.
    let mut rng = Rng::new(31);
    for n in [1usize, 31, 32, 33, 100, 1000] {
        let c = random_case(&mut rng, n, 1 + n as u64 / 4);
        let first: Vec<bool> = (0..n).map(|_| rng.below(2) == 0).collect();
        let last: Vec<bool> = (0..n).map(|_| rng.below(3) == 0).collect();
        let mut bits = vec![0u64; n.div_ceil(64)];
        for (id, &left) in last.iter().enumerate() {
            bits[id >> 6] |= u64::from(left) << (id & 63);
        }
        let n_left = last.iter().filter(|&&l| l).count();
        for isa in Isa::available() {
            let mut sides = Sides::new(isa);
            sides.reset(n);
            for goes in [&first, &last] {
                let (l, r): (Vec<u32>, Vec<u32>) = (0..n as u32).partition(|&id| goes[id as usize]);
                sides.set(&l, true);
                sides.set(&r, false);
            }
            let mut got = vec![0u32; n];
            partition_lists(
                isa,
                &c.seg,
                &mut got,
                (1, n),
                (0, n),
                1,
                &sides,
                (n_left, (true, true)),
            );
            let mut want = vec![0u32; n];
            partition(isa, &c.seg, &mut want, &bits, (n_left, (true, true)));
            assert_eq!(got, want, "{isa:?} n={n}");
        }
    }
}

#[test]
#[should_panic(expected = "another version reads")]
fn sides_set_for_another_version_are_refused() {
    let simd = Isa::available()
        .find(|&isa| isa != Isa::PORTABLE)
        .expect("the test machines run a SIMD version (x86_64 with AVX2, aarch64)");
    let mut sides = Sides::new(simd);
    sides.reset(1);
    let split = (0, (true, true));
    partition_lists(
        Isa::PORTABLE,
        &[0],
        &mut [0],
        (1, 1),
        (0, 1),
        1,
        &sides,
        split,
    );
}

#[test]
fn the_choice_of_kernels_follows_the_cpu_and_the_environment() {
    use Kernels::*;
    let cpu = |runs: &'static [Kernels]| move |k: Kernels| runs.contains(&k);
    let avx512_cpu = cpu(&[Avx512, Avx2, Portable]);
    let avx2_cpu = cpu(&[Avx2, Portable]);
    let arm = cpu(&[Neon, Portable]);
    let old = cpu(&[Portable]);
    // Automatic: the best the CPU runs.
    assert_eq!(Kernels::choose(None, false, avx512_cpu), Ok(Avx512));
    assert_eq!(Kernels::choose(Some("auto"), false, avx2_cpu), Ok(Avx2));
    assert_eq!(Kernels::choose(Some(""), false, arm), Ok(Neon));
    assert_eq!(Kernels::choose(None, false, old), Ok(Portable));
    // Forced, and runnable.
    assert_eq!(Kernels::choose(Some("avx2"), false, avx512_cpu), Ok(Avx2));
    assert_eq!(
        Kernels::choose(Some(" AVX512 "), false, avx512_cpu),
        Ok(Avx512)
    );
    assert_eq!(Kernels::choose(Some("portable"), false, arm), Ok(Portable));
    assert_eq!(Kernels::choose(None, true, avx512_cpu), Ok(Portable));
    assert_eq!(Kernels::choose(Some("portable"), true, arm), Ok(Portable));
    // Forced, and not runnable: an error naming what is missing and what would run.
    let err = Kernels::choose(Some("avx512"), false, avx2_cpu).unwrap_err();
    assert!(
        err.contains("FOREST_KERNELS=avx512 needs x86_64 with avx512f"),
        "{err}"
    );
    assert!(err.contains("it can run avx2, portable"), "{err}");
    let err = Kernels::choose(Some("neon"), false, avx512_cpu).unwrap_err();
    assert!(err.contains("needs aarch64"), "{err}");
    let err = Kernels::choose(Some("avx2"), false, arm).unwrap_err();
    assert!(err.contains("it can run neon, portable"), "{err}");
    assert!(Kernels::choose(Some("avx2"), false, old).is_err());
    // Unknown names and contradictions are errors too.
    let err = Kernels::choose(Some("sse2"), false, avx512_cpu).unwrap_err();
    assert!(err.contains("not a kernel version"), "{err}");
    let err = Kernels::choose(Some("avx2"), true, avx512_cpu).unwrap_err();
    assert!(err.contains("contradicts FOREST_NO_SIMD"), "{err}");
}

#[test]
fn the_automatic_choice_is_the_best_version_this_cpu_runs() {
    let auto = Kernels::choose(None, false, Kernels::runs).unwrap();
    assert_eq!(Isa::available().next(), Isa::new(auto));
    assert_eq!(Isa::available().last(), Some(Isa::PORTABLE));
    assert!(Isa::new(Kernels::Portable).is_some());
    #[cfg(target_arch = "aarch64")]
    {
        // What the qemu run (scripts/test_forest_aarch64.sh) relies on to test NEON.
        assert_eq!(auto, Kernels::Neon);
        assert!(Isa::new(Kernels::Avx2).is_none() && Isa::new(Kernels::Avx512).is_none());
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert!(Isa::new(Kernels::Neon).is_none());
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq");
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        let expected = if avx512 {
            Kernels::Avx512
        } else if avx2 {
            Kernels::Avx2
        } else {
            Kernels::Portable
        };
        assert_eq!(auto, expected);
    }
    // This process's choice (from its environment) is one it runs.
    if let Ok(isa) = Isa::from_env() {
        assert!(isa.kernels().runs());
        assert_eq!(kernels_in_use(), Ok(isa.name()));
    }
}

#[test]
fn every_kernel_version_fits_byte_identical_forests() {
    use crate::{Forest, ForestParams, Matrix};
    // A price-like random walk and its lags (the groves features), prices on a coarse tick so
    // that values tie often; two settings, several trees, two threads.
    let mut rng = Rng::new(41);
    let n = 4000;
    let mut p = vec![1500.0f64];
    for _ in 0..n + 6 {
        let z = (0..4).map(|_| rng.below(1000) as f64).sum::<f64>() / 1000.0 - 2.0;
        let last = p[p.len() - 1];
        p.push(((last * (1.0 + 0.001 * z)) / 0.25).round() * 0.25);
    }
    let cols: Vec<Vec<f64>> = (0..5)
        .map(|l| (5..5 + n).map(|t| p[t - l]).collect())
        .collect();
    let y: Vec<f64> = (5..5 + n).map(|t| p[t + 1]).collect();
    let names = (0..5).map(|l| format!("lag{l}")).collect();
    let x = Matrix::from_columns(names, cols).unwrap();
    for params in [
        ForestParams {
            n_estimators: 6,
            max_features: 3,
            min_samples_split: 4,
            seed: 3,
            n_threads: Some(2),
            ..ForestParams::default()
        },
        ForestParams {
            n_estimators: 4,
            max_features: 5,
            min_samples_leaf: 3,
            bootstrap: false,
            seed: 9,
            n_threads: Some(2),
            ..ForestParams::default()
        },
    ] {
        let reference = Forest::fit_with(&x, &y, &params, Isa::PORTABLE)
            .unwrap()
            .to_bytes()
            .unwrap();
        for isa in simd() {
            let bytes = Forest::fit_with(&x, &y, &params, isa)
                .unwrap()
                .to_bytes()
                .unwrap();
            assert!(
                bytes == reference,
                "{isa:?}: model bytes differ ({params:?})"
            );
        }
    }
}
