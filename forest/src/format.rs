//! The persisted model: a fixed prefix, then a postcard-encoded header and trees.
//!
//! ```text
//! offset  size  content
//!      0     8  magic b"GROVESRF"
//!      8     4  format version, u32 little-endian (FORMAT_VERSION)
//!     12     8  payload length in bytes, u64 little-endian
//!     20     4  CRC-32 (IEEE) of the payload, u32 little-endian
//!     24     …  payload: postcard(ModelHeader) followed by postcard(Vec<Tree>)
//! ```
//!
//! A tree is its offset (`f64`) and its pre-order nodes: feature (varint, 0 = leaf), `f32`
//! threshold or leaf value, varint right-child index or leaf row count. The checksum makes
//! corruption an error rather than a wrong model, and the structure of every tree is checked
//! on load, so even a crafted file cannot make `predict` panic.

use crate::error::ForestError;
use crate::forest::Forest;
use crate::params::ForestParams;
use crate::tree::Tree;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"GROVESRF";
const PREFIX: usize = 24;

/// Version of the model file layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a model file says about itself, readable without decoding the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Parameters the forest was fitted with.
    pub params: ForestParams,
    /// Training feature names, in order.
    pub feature_names: Vec<String>,
    /// Rows of the training matrix.
    pub train_rows: u64,
    /// Number of trees in the file.
    pub n_trees: u64,
}

impl Forest {
    /// Encodes the forest in the versioned, checksummed model format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ForestError> {
        let header = ModelHeader {
            params: self.params.clone(),
            feature_names: self.feature_names.clone(),
            train_rows: self.train_rows as u64,
            n_trees: self.trees.len() as u64,
        };
        let enc = |e: postcard::Error| ForestError::Encode(e.to_string());
        let mut payload = postcard::to_allocvec(&header).map_err(enc)?;
        payload.extend(postcard::to_allocvec(&self.trees).map_err(enc)?);

        let mut out = Vec::with_capacity(PREFIX + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Decodes a model written by [`Forest::to_bytes`]. A file of another format version, a
    /// truncated or corrupt file, or one whose trees are malformed is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Forest, ForestError> {
        let payload = checked_payload(bytes)?;
        let (header, rest) = decode_header(payload)?;
        let (trees, rest): (Vec<Tree>, &[u8]) =
            postcard::take_from_bytes(rest).map_err(|e| corrupt(format!("trees: {e}")))?;
        if !rest.is_empty() {
            return Err(corrupt(format!("{} unexpected trailing bytes", rest.len())));
        }
        let n_features = header.feature_names.len();
        if n_features == 0 {
            return Err(corrupt("no feature names"));
        }
        header
            .params
            .validate(n_features)
            .map_err(|e| corrupt(format!("invalid parameters: {e}")))?;
        if trees.is_empty() || trees.len() as u64 != header.n_trees {
            return Err(corrupt(format!(
                "header announces {} trees, found {}",
                header.n_trees,
                trees.len()
            )));
        }
        for (i, tree) in trees.iter().enumerate() {
            tree.check(n_features)
                .map_err(|e| corrupt(format!("tree {i}: {e}")))?;
        }
        let train_rows = usize::try_from(header.train_rows)
            .map_err(|_| corrupt("training row count does not fit this platform"))?;
        Ok(Forest {
            params: header.params,
            feature_names: header.feature_names,
            train_rows,
            trees,
        })
    }
}

/// Reads only the header of a model file (checksum verified).
pub fn read_header(bytes: &[u8]) -> Result<ModelHeader, ForestError> {
    let payload = checked_payload(bytes)?;
    Ok(decode_header(payload)?.0)
}

fn corrupt(reason: impl Into<String>) -> ForestError {
    ForestError::Corrupt(reason.into())
}

fn decode_header(payload: &[u8]) -> Result<(ModelHeader, &[u8]), ForestError> {
    postcard::take_from_bytes(payload).map_err(|e| corrupt(format!("header: {e}")))
}

/// Checks magic, version, length and checksum; returns the payload.
fn checked_payload(bytes: &[u8]) -> Result<&[u8], ForestError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(ForestError::NotAModel);
    }
    if bytes.len() < PREFIX {
        return Err(ForestError::Truncated {
            expected: PREFIX as u64,
            found: bytes.len() as u64,
        });
    }
    let word = |at: usize| -> [u8; 4] { [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]] };
    let version = u32::from_le_bytes(word(8));
    if version != FORMAT_VERSION {
        return Err(ForestError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = u64::from_le_bytes([
        bytes[12], bytes[13], bytes[14], bytes[15], bytes[16], bytes[17], bytes[18], bytes[19],
    ]);
    let found = (bytes.len() - PREFIX) as u64;
    if len != found {
        return Err(ForestError::Truncated {
            expected: len,
            found,
        });
    }
    let payload = &bytes[PREFIX..];
    let crc = u32::from_le_bytes(word(20));
    let actual = crc32fast::hash(payload);
    if crc != actual {
        return Err(corrupt(format!(
            "checksum mismatch (stored {crc:08x}, computed {actual:08x})"
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Node;

    fn forest_with(nodes: Vec<Node>) -> Forest {
        Forest {
            params: ForestParams::with_max_features(1),
            feature_names: vec!["a".into(), "b".into()],
            train_rows: 10,
            trees: vec![Tree {
                offset: 0.0,
                nodes,
                drawn: Vec::new(),
            }],
        }
    }

    fn split(feature: u16, right: u32) -> Node {
        Node {
            feature,
            value: 0.5,
            aux: right,
        }
    }

    #[test]
    fn a_valid_tree_loads() {
        let f = forest_with(vec![split(1, 2), Node::leaf(1.0, 3), Node::leaf(2.0, 4)]);
        let loaded = Forest::from_bytes(&f.to_bytes().unwrap()).unwrap();
        assert_eq!(loaded.trees[0].nodes, f.trees[0].nodes);
    }

    #[test]
    fn malformed_trees_with_a_valid_checksum_are_rejected() {
        let bad = [
            // Right child out of range.
            vec![split(1, 7), Node::leaf(1.0, 3), Node::leaf(2.0, 4)],
            // Right child pointing back at the left one (would share a subtree).
            vec![split(1, 1), Node::leaf(1.0, 3), Node::leaf(2.0, 4)],
            // Split on a feature that does not exist.
            vec![split(3, 2), Node::leaf(1.0, 3), Node::leaf(2.0, 4)],
            // A node nobody reaches.
            vec![Node::leaf(1.0, 3), Node::leaf(2.0, 4)],
            // No nodes.
            vec![],
            // A split without children.
            vec![split(1, 2)],
            // A non-finite value.
            vec![Node::leaf(f32::NAN, 1)],
        ];
        for nodes in bad {
            let bytes = forest_with(nodes.clone()).to_bytes().unwrap();
            match Forest::from_bytes(&bytes) {
                Err(ForestError::Corrupt(_)) => {}
                other => panic!("{nodes:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_parameters_in_a_file_are_rejected() {
        let mut f = forest_with(vec![Node::leaf(1.0, 3)]);
        f.params.max_features = 5;
        let bytes = f.to_bytes().unwrap();
        assert!(matches!(
            Forest::from_bytes(&bytes),
            Err(ForestError::Corrupt(_))
        ));
    }
}
