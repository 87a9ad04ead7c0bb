//! Trees as flat node arrays, and a read-only view of them.

use serde::{Deserialize, Serialize};

/// One node, in pre-order: the left child of split node `i` is node `i + 1`.
///
/// Ten bytes of payload; in the model file the `u16`/`u32` are varints, so a node takes about
/// seven bytes on disk (scikit-learn stores 72 per node: the 64-byte node struct plus the
/// `f64` value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// 0 for a leaf, else 1 + the index of the split feature (0 keeps the varint one byte).
    pub(crate) feature: u16,
    /// Split threshold (`x <= value` goes left), or the leaf value minus the tree's `offset`.
    pub(crate) value: f32,
    /// Index of the right child (split), or the number of distinct training rows (leaf).
    pub(crate) aux: u32,
}

impl Node {
    pub(crate) fn leaf(value: f32, n_samples: u32) -> Self {
        Node {
            feature: 0,
            value,
            aux: n_samples,
        }
    }
}

/// One regression tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tree {
    /// Added to every leaf value: leaves are stored as `f32` offsets from the target's midrange,
    /// which keeps them precise when the target is large (prices) but varies little.
    pub(crate) offset: f64,
    pub(crate) nodes: Vec<Node>,
    /// Features drawn at each node while training (0 for leaves); a diagnostic that the file
    /// does not keep, so it is empty for a loaded forest.
    #[serde(skip)]
    pub(crate) drawn: Vec<u16>,
}

impl Tree {
    /// Leaf value (without the offset) reached by the row `x` (features in training order).
    #[inline]
    pub(crate) fn leaf_value(&self, x: &[f32]) -> f32 {
        let nodes = &self.nodes[..];
        let mut i = 0usize;
        loop {
            let node = nodes[i];
            if node.feature == 0 {
                return node.value;
            }
            i = if x[usize::from(node.feature - 1)] <= node.value {
                i + 1
            } else {
                node.aux as usize
            };
        }
    }

    /// Checks that `nodes` is a well-formed pre-order tree over `n_features` features, so that
    /// prediction can neither index out of bounds nor loop. Returns a reason when not.
    pub(crate) fn check(&self, n_features: usize) -> Result<(), String> {
        let len = self.nodes.len();
        if len == 0 {
            return Err("a tree has no nodes".into());
        }
        if !self.offset.is_finite() {
            return Err("a tree offset is not finite".into());
        }
        // Replay the depth-first walk: pre-order means nodes are visited as 0, 1, 2, ...
        let mut stack = vec![0usize];
        let mut next = 0usize;
        while let Some(i) = stack.pop() {
            if i != next || i >= len {
                return Err(format!("node {i} is out of pre-order (expected {next})"));
            }
            next += 1;
            let node = self.nodes[i];
            if !node.value.is_finite() {
                return Err(format!("node {i} has a non-finite value"));
            }
            if node.feature == 0 {
                continue;
            }
            if usize::from(node.feature - 1) >= n_features {
                return Err(format!("node {i} splits on a feature that does not exist"));
            }
            let right = node.aux as usize;
            if right <= i + 1 || right >= len {
                return Err(format!("node {i} has an invalid right child {right}"));
            }
            stack.push(right);
            stack.push(i + 1);
        }
        if next != len {
            return Err(format!("{} nodes are unreachable", len - next));
        }
        Ok(())
    }
}

/// What a node of a [`TreeView`] is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NodeKind {
    /// Rows with `x[feature] <= threshold` (in `f32`) go to `left`, the others to `right`.
    Split {
        feature: usize,
        threshold: f32,
        left: usize,
        right: usize,
    },
    /// A leaf predicting `value`, fitted on `n_samples` distinct training rows.
    Leaf { value: f64, n_samples: usize },
}

/// Read-only view of one tree, for inspection and tests.
#[derive(Debug, Clone, Copy)]
pub struct TreeView<'a> {
    pub(crate) tree: &'a Tree,
}

impl<'a> TreeView<'a> {
    /// Number of nodes (splits and leaves).
    pub fn n_nodes(&self) -> usize {
        self.tree.nodes.len()
    }

    /// Node `i` (0 is the root; pre-order). Panics if `i >= n_nodes()`.
    pub fn node(&self, i: usize) -> NodeKind {
        let node = self.tree.nodes[i];
        if node.feature == 0 {
            NodeKind::Leaf {
                value: self.tree.offset + f64::from(node.value),
                n_samples: node.aux as usize,
            }
        } else {
            NodeKind::Split {
                feature: usize::from(node.feature - 1),
                threshold: node.value,
                left: i + 1,
                right: node.aux as usize,
            }
        }
    }

    /// All nodes, in pre-order.
    pub fn nodes(&self) -> Vec<NodeKind> {
        (0..self.n_nodes()).map(|i| self.node(i)).collect()
    }

    /// Depth of every node (root 0).
    pub fn node_depths(&self) -> Vec<usize> {
        let nodes = &self.tree.nodes;
        let mut depth = vec![0usize; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            if node.feature != 0 {
                depth[i + 1] = depth[i] + 1;
                depth[node.aux as usize] = depth[i] + 1;
            }
        }
        depth
    }

    /// Depth of the deepest leaf (0 for a single-leaf tree).
    pub fn depth(&self) -> usize {
        self.node_depths().into_iter().max().unwrap_or(0)
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.tree.nodes.iter().filter(|n| n.feature == 0).count()
    }

    /// Distinct training rows that reached each node (a split's count is the sum over its leaves).
    pub fn node_samples(&self) -> Vec<usize> {
        let nodes = &self.tree.nodes;
        let mut samples = vec![0usize; nodes.len()];
        // Children come after their parent in pre-order, so a reverse sweep sees them first.
        for i in (0..nodes.len()).rev() {
            let node = nodes[i];
            samples[i] = if node.feature == 0 {
                node.aux as usize
            } else {
                samples[i + 1] + samples[node.aux as usize]
            };
        }
        samples
    }

    /// Number of features drawn as candidates at each node while training (0 at leaves), or
    /// `None` for a forest loaded from bytes (the file does not keep this diagnostic).
    pub fn features_drawn(&self) -> Option<&'a [u16]> {
        if self.tree.drawn.len() == self.tree.nodes.len() {
            Some(&self.tree.drawn)
        } else {
            None
        }
    }

    /// Prediction of this tree alone for one row (features in training order). Panics if `x`
    /// has fewer values than the features the tree splits on.
    pub fn predict_row(&self, x: &[f32]) -> f64 {
        self.tree.offset + f64::from(self.tree.leaf_value(x))
    }
}
