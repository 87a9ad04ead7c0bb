//! The model file: round trips, and rejection of corrupt, truncated or foreign files.

mod common;

use common::{params, prices};
use forest::{read_header, Forest, ForestError, ForestParams, FORMAT_VERSION};

fn model() -> (Forest, forest::Matrix) {
    let (x, y) = prices(1500, 10, 21);
    let p = ForestParams {
        min_samples_split: 15,
        ..params(6, 7, 5)
    };
    (Forest::fit(&x, &y, &p).unwrap(), x)
}

#[test]
fn save_load_gives_identical_predictions_and_bytes() {
    let (forest, x) = model();
    let bytes = forest.to_bytes().unwrap();
    let loaded = Forest::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.predict(&x).unwrap(), forest.predict(&x).unwrap());
    assert_eq!(loaded.to_bytes().unwrap(), bytes);
    assert_eq!(loaded.params(), forest.params());
    assert_eq!(loaded.feature_names(), forest.feature_names());
    assert_eq!(loaded.train_rows(), 1500);
    assert_eq!(loaded.n_trees(), 6);
    // The training-time diagnostic is not persisted.
    assert!(loaded.tree(0).unwrap().features_drawn().is_none());
    assert!(forest.tree(0).unwrap().features_drawn().is_some());
}

#[test]
fn header_is_readable_on_its_own() {
    let (forest, x) = model();
    let header = read_header(&forest.to_bytes().unwrap()).unwrap();
    assert_eq!(header.params, *forest.params());
    assert_eq!(header.feature_names, x.feature_names());
    assert_eq!(header.train_rows, 1500);
    assert_eq!(header.n_trees, 6);
}

#[test]
fn a_tree_is_compact() {
    let (forest, _) = model();
    let nodes: usize = forest.trees().map(|t| t.n_nodes()).sum();
    let bytes = forest.to_bytes().unwrap().len();
    // Nodes are a varint feature, an f32 and a varint index: well under 10 bytes each.
    assert!(bytes < nodes * 10, "{bytes} bytes for {nodes} nodes");
}

#[test]
fn every_flipped_byte_is_detected() {
    let (forest, _) = model();
    let bytes = forest.to_bytes().unwrap();
    let step = (bytes.len() / 400).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x10;
        assert!(
            Forest::from_bytes(&bad).is_err(),
            "flip at byte {i} not detected"
        );
    }
}

#[test]
fn corrupt_payload_is_a_checksum_error() {
    let (forest, _) = model();
    let mut bytes = forest.to_bytes().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    match Forest::from_bytes(&bytes) {
        Err(ForestError::Corrupt(reason)) => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn wrong_version_is_rejected() {
    let (forest, _) = model();
    let mut bytes = forest.to_bytes().unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        Forest::from_bytes(&bytes).unwrap_err(),
        ForestError::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
    assert!(read_header(&bytes).is_err());
}

#[test]
fn truncated_or_extended_files_are_rejected() {
    let (forest, _) = model();
    let bytes = forest.to_bytes().unwrap();
    for len in [0, 4, 8, 12, 23, 24, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(Forest::from_bytes(&bytes[..len]).is_err(), "length {len}");
    }
    assert!(matches!(
        Forest::from_bytes(&bytes[..bytes.len() - 1]),
        Err(ForestError::Truncated { .. })
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Forest::from_bytes(&longer),
        Err(ForestError::Truncated { .. })
    ));
}

#[test]
fn foreign_bytes_are_not_a_model() {
    assert_eq!(Forest::from_bytes(b"").unwrap_err(), ForestError::NotAModel);
    assert_eq!(
        Forest::from_bytes(b"PAR1\x00\x00\x00\x00 not a forest at all").unwrap_err(),
        ForestError::NotAModel
    );
}
