//! A store that counts the requests it passes on, by kind, as S3 would bill them: what a
//! command or a benchmark costs in requests, measured rather than estimated.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{LocalFile, ObjectMeta, Store, StoreError};

/// Requests by kind. A listing counts one LIST per page of up to 1,000 keys, as S3 pages it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestCounts {
    pub get: u64,
    pub put: u64,
    pub list: u64,
    pub head: u64,
    pub delete: u64,
}

#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn Store>,
    counts: [AtomicU64; 5],
}

const GET: usize = 0;
const PUT: usize = 1;
const LIST: usize = 2;
const HEAD: usize = 3;
const DELETE: usize = 4;

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        CountingStore {
            inner,
            counts: Default::default(),
        }
    }

    pub fn counts(&self) -> RequestCounts {
        let c = |i: usize| self.counts[i].load(Ordering::Relaxed);
        RequestCounts {
            get: c(GET),
            put: c(PUT),
            list: c(LIST),
            head: c(HEAD),
            delete: c(DELETE),
        }
    }

    fn add(&self, kind: usize, n: u64) {
        self.counts[kind].fetch_add(n, Ordering::Relaxed);
    }

    fn add_list(&self, listed: &[ObjectMeta]) {
        self.add(LIST, (listed.len() as u64).div_ceil(1000).max(1));
    }
}

#[async_trait]
impl Store for CountingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.add(GET, 1);
        self.inner.get(key).await
    }

    async fn fetch_to_file(&self, key: &str) -> Result<LocalFile, StoreError> {
        self.add(GET, 1);
        self.inner.fetch_to_file(key).await
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        self.add(PUT, 1);
        self.inner.put(key, data).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        self.add(PUT, 1);
        self.inner.put_file(key, path).await
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        // One conditional PUT on S3 (If-None-Match), whether or not it writes.
        self.add(PUT, 1);
        self.inner.put_if_absent(key, data).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.add(HEAD, 1);
        self.inner.head(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let out = self.inner.list(prefix).await?;
        self.add_list(&out);
        Ok(out)
    }

    async fn list_after(&self, prefix: &str, after: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let out = self.inner.list_after(prefix, after).await?;
        self.add_list(&out);
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.add(DELETE, 1);
        self.inner.delete(key).await
    }
}
