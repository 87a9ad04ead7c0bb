//! Objects in memory: a bucket for tests of logic (the parent's loop, the stages' records) that
//! must run in milliseconds, touching neither a disk nor a server.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use super::{validate_key, LocalFile, ObjectMeta, Store, StoreError};

/// Requests of each kind a store has answered, as S3 would bill them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub get: u64,
    pub put: u64,
    pub list: u64,
    pub head: u64,
    pub delete: u64,
}

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<String, (Bytes, SystemTime)>,
    requests: Requests,
}

/// A bucket in memory. Clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The requests answered so far.
    pub fn requests(&self) -> Requests {
        self.lock().requests
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().objects.keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking test thread leaves the map as it was: every change is one insert/remove.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn not_found(&self, key: &str) -> StoreError {
        StoreError::NotFound {
            store: self.describe(),
            key: key.to_string(),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory://".into()
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        validate_key(key)?;
        let mut inner = self.lock();
        inner.requests.get += 1;
        let found = inner.objects.get(key).map(|(b, _)| b.clone());
        drop(inner);
        found.ok_or_else(|| self.not_found(key))
    }

    async fn fetch_to_file(&self, key: &str) -> Result<LocalFile, StoreError> {
        let bytes = self.get(key).await?;
        let io = |source| StoreError::Io {
            store: self.describe(),
            op: "fetch",
            key: key.to_string(),
            source,
        };
        let file = tempfile::NamedTempFile::new().map_err(io)?;
        std::fs::write(file.path(), &bytes).map_err(io)?;
        Ok(LocalFile::Downloaded(file.into_temp_path()))
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        validate_key(key)?;
        let mut inner = self.lock();
        inner.requests.put += 1;
        inner
            .objects
            .insert(key.to_string(), (data, SystemTime::now()));
        Ok(())
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let data = std::fs::read(path).map_err(|source| StoreError::Io {
            store: self.describe(),
            op: "put",
            key: key.to_string(),
            source,
        })?;
        self.put(key, Bytes::from(data)).await
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        validate_key(key)?;
        let mut inner = self.lock();
        inner.requests.put += 1;
        if inner.objects.contains_key(key) {
            return Ok(false);
        }
        inner
            .objects
            .insert(key.to_string(), (data, SystemTime::now()));
        Ok(true)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        validate_key(key)?;
        let mut inner = self.lock();
        inner.requests.head += 1;
        Ok(inner.objects.get(key).map(|(b, t)| ObjectMeta {
            key: key.to_string(),
            size: b.len() as u64,
            last_modified: Some(*t),
        }))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut inner = self.lock();
        inner.requests.list += 1;
        Ok(inner
            .objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (b, t))| ObjectMeta {
                key: k.clone(),
                size: b.len() as u64,
                last_modified: Some(*t),
            })
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let mut inner = self.lock();
        inner.requests.delete += 1;
        inner.objects.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn behaves_as_a_bucket() {
        let s = MemoryStore::new();
        s.put("a/1", Bytes::from_static(b"x")).await.unwrap();
        s.put("a/2", Bytes::from_static(b"yy")).await.unwrap();
        s.put("b/1", Bytes::from_static(b"z")).await.unwrap();
        assert!(!s.put_if_absent("a/1", Bytes::new()).await.unwrap());
        assert!(s.put_if_absent("c", Bytes::new()).await.unwrap());
        let listed: Vec<String> = s
            .list("a/")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(listed, ["a/1", "a/2"]);
        assert_eq!(s.head("a/2").await.unwrap().unwrap().size, 2);
        assert!(matches!(
            s.get("nope").await,
            Err(StoreError::NotFound { .. })
        ));
        s.delete("a/1").await.unwrap();
        s.delete("a/1").await.unwrap();
        assert_eq!(s.keys(), ["a/2", "b/1", "c"]);
        let f = s.fetch_to_file("a/2").await.unwrap();
        assert_eq!(std::fs::read(f.path()).unwrap(), b"yy");
        assert!(s.put("../x", Bytes::new()).await.is_err());
        let r = s.requests();
        assert_eq!((r.list, r.delete, r.head), (1, 2, 1));
    }
}
