//! Growing one tree: exact best splits over pre-sorted feature lists.
//!
//! Per dataset (shared by all trees, built once): each feature's rows sorted by value, each
//! entry a 4-byte row id whose top bit says "same value as the previous entry" (see
//! `kernels::SAME`); the values by row (for thresholds, so splits are exact); the target
//! quantised to integers.
//!
//! Per tree: bootstrap draws become integer weights on the distinct rows drawn (~63 %), so
//! nothing is copied per draw. Each feature keeps a list of the tree's rows sorted by value,
//! in the same 4-byte entries. A node is the same range `start..end` in every list, so finding
//! its best split on a feature is one sequential prefix-sum scan, without sorting (a tie
//! between neighbours is the bit of the next entry, read in order rather than looked up per
//! row). Splitting a node partitions every list stably (order within each side kept, so the
//! children are sorted too, their bits recomputed on the way): O(n) per feature per level
//! instead of sorting at every node. Which side a row goes to is one bit in a bitmap of the
//! tree's rows (36 KB at 450k rows, so it stays in L1 while the lists stream by), or for the
//! portable kernels one byte (see `kernels::Sides`).
//!
//! Rows are numbered in the order of the first feature, and within a tree only the sampled rows
//! are numbered (densely). Here all features are prices and nearly equal, so a node (a narrow
//! band of prices) holds rows with nearby numbers, and the per-row payloads (weight and
//! target) a scan reads stay within a small window of memory.
//!
//! Targets are quantised to integers after centring (a step of 1.2e-10 of the target's
//! half-range at 450k rows), so prefix sums are exact, associative integer adds; the criterion
//! is evaluated in `f64` without division. The hot loops are in `kernels`, with AVX-512, AVX2
//! and NEON versions chosen at run time.

use crate::kernels::{self, pay_weight, pay_wq, row, Candidate, Isa, ScanSpec, Sides, SAME};
use crate::params::ForestParams;
use crate::presorted::Presorted;
use crate::rng::Rng;
use crate::tree::{Node, Tree};

const NONE: u32 = u32::MAX;

/// A tree's sampled row packed in 64 bits: weight times quantised target in the high bits
/// (signed), bootstrap weight in the low ones (see `kernels::pay_weight`). Eight bytes keep a
/// node's rows in L1/L2 during scans.
type Pay = u64;

fn pack(qy: i64, count: u16) -> Pay {
    let w = i64::from(count.min(kernels::MAX_WEIGHT));
    (((w * qy) << kernels::WEIGHT_BITS) as u64) | w as u64
}

/// A node waiting to be grown.
#[derive(Debug, Clone, Copy)]
struct Task {
    start: usize,
    end: usize,
    depth: usize,
    /// For a right child: the parent whose `aux` must point at it.
    parent: u32,
    /// Total weight and weighted quantised target sum of the node.
    w: i64,
    s: i64,
}

/// The best split found so far at a node.
#[derive(Debug, Clone, Copy)]
struct Best {
    split: Candidate,
    feature: usize,
    /// Tree row ids on either side of the split (adjacent in the feature's list).
    lower: u32,
    upper: u32,
    /// Weight and weighted target sum of the left side (filled in for the winner only).
    w_left: i64,
    s_left: i64,
}

/// Per-thread buffers, reused from tree to tree.
///
/// The lists are double-buffered: a node at depth `d` reads buffer `d % 2` and partitions
/// into buffer `(d + 1) % 2`, writing each entry once at its final place.
pub(crate) struct Workspace {
    counts: Vec<u16>,
    lists: [Vec<u32>; 2],
    /// Tree row id of each dataset row (meaningful for sampled rows only).
    ids: Vec<u32>,
    /// Dataset row of each tree row id.
    rows: Vec<u32>,
    /// Payload by tree row id.
    pay: Vec<Pay>,
    /// Sampled dataset rows, one bit each, while the lists are filtered for a tree.
    sampled: Vec<u64>,
    /// Which side each tree row goes to, set while partitioning a node.
    sides: Sides,
    feats: Vec<u16>,
    stack: Vec<Task>,
    /// Split nodes of the tree being grown and the tree rows either side of their threshold.
    splits: Vec<(u32, u32, u32)>,
    /// The kernel version (all grow the same trees).
    isa: Isa,
}

impl Workspace {
    pub(crate) fn new(isa: Isa) -> Self {
        Workspace {
            counts: Vec::new(),
            lists: [Vec::new(), Vec::new()],
            ids: Vec::new(),
            rows: Vec::new(),
            pay: Vec::new(),
            sampled: Vec::new(),
            sides: Sides::new(isa),
            feats: Vec::new(),
            stack: Vec::new(),
            splits: Vec::new(),
            isa,
        }
    }
}

struct Limits {
    min_split: usize,
    min_leaf: usize,
    max_depth: usize,
    max_features: usize,
}

impl Limits {
    /// Whether a node of `n` distinct rows at `depth` is a leaf without looking at the data.
    fn leaf_by_size(&self, n: usize, depth: usize) -> bool {
        n < self.min_split || n < 2 * self.min_leaf || depth >= self.max_depth
    }
}

/// Grows one tree of a forest with `params` on `ds`, from the tree's own seed.
pub(crate) fn build_tree(
    ds: &Presorted,
    params: &ForestParams,
    seed: u64,
    ws: &mut Workspace,
) -> Tree {
    let mut rng = Rng::new(seed);
    let m = init_sample(ds, params, &mut rng, ws);
    let limits = Limits {
        min_split: params.min_samples_split,
        min_leaf: params.min_samples_leaf,
        max_depth: params.max_depth.unwrap_or(usize::MAX),
        max_features: params.max_features,
    };

    let mut nodes: Vec<Node> = Vec::with_capacity(2 * m / params.min_samples_split + 1);
    let mut drawn: Vec<u16> = Vec::with_capacity(nodes.capacity());
    let (w_total, s_total) = ws.pay.iter().fold((0i64, 0i64), |(w, s), &p| {
        (w + pay_weight(p), s + pay_wq(p))
    });
    ws.stack.clear();
    ws.splits.clear();
    ws.stack.push(Task {
        start: 0,
        end: m,
        depth: 0,
        parent: NONE,
        w: w_total,
        s: s_total,
    });

    while let Some(task) = ws.stack.pop() {
        let idx = nodes.len();
        if task.parent != NONE {
            nodes[task.parent as usize].aux = idx as u32;
        }
        let n_node = task.end - task.start;
        let leaf_value = ((task.s as f64 / task.w as f64) / ds.scale) as f32;
        let leaf = Node::leaf(leaf_value, n_node as u32);
        if limits.leaf_by_size(n_node, task.depth) || constant_target(ws, &task) {
            nodes.push(leaf);
            drawn.push(0);
            continue;
        }
        let (best, n_drawn) = find_split(ws, m, &task, &limits, &mut rng);
        let Some(best) = best else {
            nodes.push(leaf);
            drawn.push(0);
            continue;
        };
        // The threshold is looked up once the tree is grown (see below).
        ws.splits.push((idx as u32, best.lower, best.upper));
        nodes.push(Node {
            feature: best.feature as u16 + 1,
            value: 0.0,
            aux: 0,
        });
        drawn.push(n_drawn);

        let n_left = best.split.pos + 1;
        let mid = task.start + n_left;
        let depth = task.depth + 1;
        // Children that are leaves by size never read their lists: only the others' are built.
        let need = (
            !limits.leaf_by_size(n_left, depth),
            !limits.leaf_by_size(n_node - n_left, depth),
        );
        if need.0 || need.1 {
            partition(ws, m, &task, best.feature, mid, need);
        }
        ws.stack.push(Task {
            start: mid,
            end: task.end,
            depth,
            parent: idx as u32,
            w: task.w - best.w_left,
            s: task.s - best.s_left,
        });
        ws.stack.push(Task {
            start: task.start,
            end: mid,
            depth,
            parent: NONE,
            w: best.w_left,
            s: best.s_left,
        });
    }
    // Thresholds come from tables of values by row (MBs, random rows): looked up here, all
    // independent loads, rather than one cache miss stalling every split of the loop above.
    for &(idx, lower, upper) in &ws.splits {
        let node = &mut nodes[idx as usize];
        let (lower, upper) = (ws.rows[lower as usize], ws.rows[upper as usize]);
        node.value = ds.threshold(usize::from(node.feature - 1), lower, upper);
    }

    Tree {
        offset: ds.offset,
        nodes,
        drawn,
    }
}

/// Whether every row of the node has the same (quantised) target: then no split can help, and
/// scikit-learn makes it a leaf too.
fn constant_target(ws: &Workspace, task: &Task) -> bool {
    // Any feature's list holds the node's rows; feature 0's is first in the buffer.
    let rows = &ws.lists[task.depth % 2][task.start..task.end];
    let first = ws.pay[row(rows[0]) as usize];
    let (w0, wq0) = (pay_weight(first), pay_wq(first));
    // wq/w == wq0/w0 without dividing; |wq| < 2^45 and w < 2^12, so no product overflows.
    rows.iter().all(|&e| {
        let p = ws.pay[row(e) as usize];
        pay_wq(p) * w0 == wq0 * pay_weight(p)
    })
}

/// Draws the tree's sample and builds its per-feature lists; returns the number of distinct rows.
#[inline(never)]
fn init_sample(ds: &Presorted, params: &ForestParams, rng: &mut Rng, ws: &mut Workspace) -> usize {
    let n = ds.n_rows;
    let nf = ds.n_features;
    // Bootstrap as integer weights on rows (numbered in feature 0 order, see `Presorted`).
    // Counts above `kernels::MAX_WEIGHT` are capped when packed (see there).
    ws.counts.clear();
    if params.bootstrap {
        ws.counts.resize(n, 0);
        for _ in 0..n {
            let c = &mut ws.counts[rng.below(n as u64) as usize];
            *c = c.saturating_add(1);
        }
    } else {
        ws.counts.resize(n, 1);
    }

    // A row's id in the tree is its number among the sampled rows (in the dataset's row order,
    // so still in feature 0 order); the payload is indexed by it. Numbering only the sampled
    // rows keeps the payload (and the side bitmap) dense: a node's rows span fewer cache lines.
    ws.ids.clear();
    let mut next = 0u32;
    ws.ids.extend(ws.counts.iter().map(|&c| {
        let id = next;
        next += u32::from(c > 0);
        id
    }));
    ws.rows.clear();
    ws.rows.extend(
        ws.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(row, _)| row as u32),
    );
    let m = ws.rows.len();
    ws.pay.clear();
    ws.pay.extend(
        ws.rows
            .iter()
            .map(|&row| pack(ds.qy[row as usize], ws.counts[row as usize])),
    );

    // Per-feature lists of the sampled rows, filtered from the dataset's sorted order (so still
    // sorted). The extra slot lets the branch-free filter write one entry past a feature's range.
    // Lists only grow (to the largest sample so far): every entry a node reads has been
    // written for this tree first, so stale values from the previous tree are never seen, and
    // the buffers need not be cleared (tens of MB per tree).
    for list in ws.lists.iter_mut() {
        if list.len() < nf * m + 1 {
            list.resize(nf * m + 1, 0);
        }
    }
    // Sampled rows (by dataset row) as a bitmap (n/8 bytes, stays in L1/L2).
    ws.sampled.clear();
    ws.sampled.resize(n.div_ceil(64), 0);
    for (row, &c) in ws.counts.iter().enumerate() {
        ws.sampled[row >> 6] |= u64::from(c > 0) << (row & 63);
    }
    let isa = ws.isa;
    // Feature 0's list is the sampled rows in order, numbered 0..m (see `Presorted`): the
    // same filter, done by every feature's.
    for f in 0..nf {
        let kept = kernels::filter(
            isa,
            ds.sorted(f),
            &mut ws.lists[0][f * m..],
            &ws.sampled,
            &ws.ids,
        );
        debug_assert_eq!(kept, m);
    }
    ws.sides.reset(m);
    ws.feats.clear();
    ws.feats.extend(0..nf as u16);
    m
}

/// Draws candidate features as scikit-learn does (`max_features` of them, constant ones
/// included, but going on until one non-constant feature has been seen) and returns the best
/// split with the number of features drawn.
fn find_split(
    ws: &mut Workspace,
    m: usize,
    task: &Task,
    limits: &Limits,
    rng: &mut Rng,
) -> (Option<Best>, u16) {
    let isa = ws.isa;
    let lists = &ws.lists[task.depth % 2];
    let pay = &ws.pay;
    let mut best: Option<Best> = None;
    let mut remaining = ws.feats.len();
    let mut n_drawn = 0usize;
    let mut found_varying = false;
    while remaining > 0 && (n_drawn < limits.max_features || !found_varying) {
        let j = rng.below(remaining as u64) as usize;
        remaining -= 1;
        ws.feats.swap(j, remaining);
        let f = usize::from(ws.feats[remaining]);
        n_drawn += 1;
        let seg = &lists[f * m + task.start..f * m + task.end];
        // Constant in this node: every entry has the value of the one before. A varying
        // feature usually shows a boundary within a few entries.
        if seg[1..].iter().all(|&e| e & SAME != 0) {
            continue;
        }
        found_varying = true;
        if let Some(split) = scan(isa, seg, pay, task, limits.min_leaf) {
            if best.is_none_or(|b| split.beats(&b.split)) {
                best = Some(Best {
                    split,
                    feature: f,
                    lower: row(seg[split.pos]),
                    upper: row(seg[split.pos + 1]),
                    w_left: 0,
                    s_left: 0,
                });
            }
        }
    }
    if let Some(b) = best.as_mut() {
        // Sums of the smaller side (each row is a payload lookup), the other by difference.
        let seg = &lists[b.feature * m + task.start..m * b.feature + task.end];
        let n_left = b.split.pos + 1;
        let sums = |entries: &[u32]| {
            entries.iter().fold((0, 0), |(w, s), &e| {
                let p = pay[row(e) as usize];
                (w + pay_weight(p), s + pay_wq(p))
            })
        };
        (b.w_left, b.s_left) = if 2 * n_left <= seg.len() {
            sums(&seg[..n_left])
        } else {
            let (w, s) = sums(&seg[n_left..]);
            (task.w - w, task.s - s)
        };
    }
    (best, n_drawn as u16)
}

/// Best split of one feature's sorted segment of the node.
///
/// scikit-learn maximises `sl²/wl + sr²/wr` (weighted sums of the target left and right);
/// with `sr = S - sl`, `wr = W - wl` that is `S²/W + W·d²/(wl·wr)` with `d = sl - wl·S/W`,
/// so comparing `d²/(wl·wr)` picks the same split, with fewer operations and no division.
fn scan(isa: Isa, seg: &[u32], pay: &[Pay], task: &Task, min_leaf: usize) -> Option<Candidate> {
    let n = seg.len();
    // Left sides of min_leaf..=n-min_leaf distinct rows; the caller guarantees n >= 2*min_leaf.
    let first = min_leaf - 1;
    let (w0, s0) = seg[..first].iter().fold((0i64, 0i64), |(w, s), &e| {
        let p = pay[row(e) as usize];
        (w + pay_weight(p), s + pay_wq(p))
    });
    let spec = ScanSpec {
        first,
        last: n - min_leaf - 1,
        mu: task.s as f64 / task.w as f64,
        w_total: task.w as f64,
    };
    kernels::scan(isa, seg, pay, w0, s0, &spec)
}

/// Splits node `task` on `split_feature` at `mid` into the other buffer, for the children
/// that `need` (left, right) lists: the split feature's segment is already in order (its
/// first `mid - start` entries go left) and is copied; every other feature's segment is
/// partitioned stably by the side of each row.
#[inline(never)]
fn partition(
    ws: &mut Workspace,
    m: usize,
    task: &Task,
    split_feature: usize,
    mid: usize,
    need: (bool, bool),
) {
    let (start, end) = (task.start, task.end);
    let n_left = mid - start;
    let [lists_a, lists_b] = &mut ws.lists;
    let (src, dst) = if task.depth.is_multiple_of(2) {
        (&*lists_a, lists_b)
    } else {
        (&*lists_b, lists_a)
    };
    let base = split_feature * m;
    ws.sides.set(&src[base + start..base + mid], true);
    ws.sides.set(&src[base + mid..base + end], false);
    // Copied with their bits: a child's first entry keeps its parent's, which nothing reads.
    if need.0 {
        dst[base + start..base + mid].copy_from_slice(&src[base + start..base + mid]);
    }
    if need.1 {
        dst[base + mid..base + end].copy_from_slice(&src[base + mid..base + end]);
    }
    let isa = ws.isa;
    let lists = (ws.feats.len(), m);
    kernels::partition_lists(
        isa,
        src,
        dst,
        lists,
        (start, end),
        split_feature,
        &ws.sides,
        (n_left, need),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Matrix;

    /// A price-like random walk with 10 lags (the groves features), rows shuffled.
    fn prices(n: usize, seed: u64) -> (Matrix, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut p = vec![1500.0f64];
        for _ in 0..n + 11 {
            let z = (0..4).map(|_| rng.below(1000) as f64).sum::<f64>() / 1000.0 - 2.0;
            let last = p[p.len() - 1];
            p.push(((last * (1.0 + 0.0005 * z)) / 0.05).round() * 0.05);
        }
        let mut idx: Vec<usize> = (10..10 + n).collect();
        for i in (1..n).rev() {
            idx.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let cols = (0..11)
            .map(|l| idx.iter().map(|&t| p[t - l]).collect())
            .collect();
        let names = (0..11).map(|l| format!("f{l}")).collect();
        let y = idx.iter().map(|&t| p[t + 1]).collect();
        (Matrix::from_columns(names, cols).unwrap(), y)
    }

    #[test]
    fn portable_and_simd_kernels_grow_identical_trees() {
        let (x, y) = prices(20_000, 3);
        let ds = Presorted::new(&x, &y);
        let params = ForestParams {
            max_features: 7,
            min_samples_split: 5,
            ..ForestParams::default()
        };
        for isa in Isa::available().filter(|&isa| isa != Isa::PORTABLE) {
            // One workspace per version, reused from tree to tree as in a forest.
            let mut portable = Workspace::new(Isa::PORTABLE);
            let mut simd = Workspace::new(isa);
            for seed in 0..3 {
                let a = build_tree(&ds, &params, seed, &mut portable);
                let b = build_tree(&ds, &params, seed, &mut simd);
                assert!(a.nodes.len() > 1000);
                assert_eq!(a.nodes, b.nodes, "seed {seed} with {isa:?}");
                assert_eq!(a.drawn, b.drawn, "seed {seed} with {isa:?}");
            }
        }
    }

    /// Settings that reach the kernels' other cases: scans that start past the first
    /// position (`min_samples_leaf`), no bootstrap (every weight 1), tiny nodes, and a
    /// feature with few distinct values (long runs of ties, whole nodes constant in it).
    #[test]
    fn every_kernel_version_grows_identical_trees_in_corner_cases() {
        let (mut x, y) = prices(3_000, 4);
        let coarse: Vec<f64> = x
            .column(0)
            .iter()
            .map(|&v| f64::from((v / 10.0).round()))
            .collect();
        let mut cols: Vec<Vec<f64>> = (0..x.n_features())
            .map(|f| x.column(f).iter().map(|&v| f64::from(v)).collect())
            .collect();
        cols.push(coarse);
        cols.push(vec![1.0; x.n_rows()]);
        let names = (0..cols.len()).map(|f| format!("f{f}")).collect();
        x = Matrix::from_columns(names, cols).unwrap();
        let ds = Presorted::new(&x, &y);
        let settings = [
            (5, 1, None, true),
            (2, 1, None, false),
            (10, 4, None, true),
            (3, 2, Some(6), false),
            (40, 17, None, true),
        ];
        for (min_samples_split, min_samples_leaf, max_depth, bootstrap) in settings {
            let params = ForestParams {
                max_features: 5,
                min_samples_split,
                min_samples_leaf,
                max_depth,
                bootstrap,
                ..ForestParams::default()
            };
            let mut portable = Workspace::new(Isa::PORTABLE);
            let trees: Vec<Tree> = (0..4)
                .map(|seed| build_tree(&ds, &params, seed, &mut portable))
                .collect();
            for isa in Isa::available() {
                let mut ws = Workspace::new(isa);
                for (seed, a) in trees.iter().enumerate() {
                    let b = build_tree(&ds, &params, seed as u64, &mut ws);
                    assert!(a.nodes.len() > 10);
                    assert_eq!(a.nodes, b.nodes, "{params:?} seed {seed} with {isa:?}");
                    assert_eq!(a.drawn, b.drawn, "{params:?} seed {seed} with {isa:?}");
                }
            }
        }
    }
}
