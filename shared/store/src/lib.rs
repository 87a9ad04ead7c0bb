//! Object storage: one interface, three implementations.
//!
//! [`LocalStore`] (the embedded default) treats a directory as the bucket; [`S3Store`] talks to
//! S3 or any S3-compatible server through `aws-sdk-s3`; [`MemoryStore`] keeps objects in memory
//! (for tests of logic that must not touch a disk or a server). Stage code only sees
//! `dyn Store`. [`CountingStore`] wraps any of them and counts the requests by kind.

mod counting;
mod local;
mod memory;
mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

pub use counting::{CountingStore, RequestCounts};
use groves_core::layout::KeyError;
pub use local::LocalStore;
pub use memory::MemoryStore;
pub use s3::{client_from_env, s3_client, sdk_config_from_env, S3Store};

/// Failures of a store operation. Each names the store and the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{store}: object {key:?} does not exist")]
    NotFound { store: String, key: String },
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("{store}: {op} {key:?}: {source}")]
    Io {
        store: String,
        op: &'static str,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{store}: {op} {key:?}: {message}")]
    Remote {
        store: String,
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("store {spec:?}: {message}")]
    Config { spec: String, message: String },
}

/// What a listing or a head request tells about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<SystemTime>,
}

/// A readable local file holding an object's bytes: the object itself for a local store, or a
/// temporary download (deleted on drop) for a remote one. Lets large objects be parsed from disk
/// (read a block at a time) instead of being held in memory.
#[derive(Debug)]
pub enum LocalFile {
    InPlace(PathBuf),
    Downloaded(tempfile::TempPath),
}

impl LocalFile {
    pub fn path(&self) -> &Path {
        match self {
            LocalFile::InPlace(p) => p,
            LocalFile::Downloaded(t) => t,
        }
    }
}

/// The operations every stage needs. Keys are `/`-separated, relative, without `..`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `file:///abs/dir` or `s3://bucket`: for messages and reports.
    fn describe(&self) -> String;

    /// Whole object into memory (for small objects: tables of one stock, records).
    async fn get(&self, key: &str) -> Result<Bytes, StoreError>;

    /// The object as a local file, streamed to disk if it is remote.
    async fn fetch_to_file(&self, key: &str) -> Result<LocalFile, StoreError>;

    /// Atomic write: a reader sees the old object or the whole new one, never a part.
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError>;

    /// Atomic write streamed from a local file (multipart on S3 for large files).
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError>;

    /// Writes only if no object exists under `key`; returns whether it wrote. Atomic: of two
    /// racing writers exactly one wins.
    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError>;

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError>;

    /// Every object whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;

    /// The objects under `prefix` whose keys sort after `after`, sorted by key: what is new
    /// since a key already seen, without listing the older ones (S3's `StartAfter`).
    async fn list_after(&self, prefix: &str, after: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut all = self.list(prefix).await?;
        all.retain(|o| o.key.as_str() > after);
        Ok(all)
    }

    /// Removes the object; removing a missing object is not an error (as on S3).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// Refuses keys that could escape the bucket (the rules are [`groves_core::layout::validate_key`]).
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    groves_core::layout::validate_key(key).map_err(StoreError::from)
}

impl From<KeyError> for StoreError {
    fn from(e: KeyError) -> Self {
        StoreError::InvalidKey {
            key: e.key,
            reason: e.reason,
        }
    }
}

/// Where the data lives, as a user writes it: a directory, or `s3://bucket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Local(PathBuf),
    S3 { bucket: String },
}

impl StoreSpec {
    pub fn parse(spec: &str) -> Result<Self, StoreError> {
        let err = |message: &str| StoreError::Config {
            spec: spec.to_string(),
            message: message.to_string(),
        };
        if let Some(rest) = spec.strip_prefix("s3://") {
            let bucket = rest.trim_end_matches('/');
            if bucket.is_empty() {
                return Err(err("no bucket name after s3://"));
            }
            if bucket.contains('/') {
                return Err(err(
                    "a key prefix inside the bucket is not supported; give s3://bucket",
                ));
            }
            return Ok(StoreSpec::S3 {
                bucket: bucket.to_string(),
            });
        }
        if spec.contains("://") {
            return Err(err("unknown scheme; use a directory or s3://bucket"));
        }
        if spec.is_empty() {
            return Err(err("empty store"));
        }
        Ok(StoreSpec::Local(PathBuf::from(spec)))
    }

    /// Opens the store; S3 settings (endpoint, region, credentials) come from the standard AWS
    /// environment and config files.
    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            StoreSpec::Local(dir) => Arc::new(LocalStore::create(dir)?),
            StoreSpec::S3 { bucket } => Arc::new(S3Store::from_env(bucket).await),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_specs_parse() {
        assert_eq!(
            StoreSpec::parse("s3://bkt/").unwrap(),
            StoreSpec::S3 {
                bucket: "bkt".into()
            }
        );
        assert_eq!(
            StoreSpec::parse("data").unwrap(),
            StoreSpec::Local("data".into())
        );
        assert!(StoreSpec::parse("s3://").is_err());
        assert!(StoreSpec::parse("s3://b/prefix").is_err());
        assert!(StoreSpec::parse("gs://b").is_err());
    }
}
