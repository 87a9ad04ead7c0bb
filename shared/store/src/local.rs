//! A directory as the bucket: the embedded default.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use super::{validate_key, LocalFile, ObjectMeta, Store, StoreError};

/// Hidden directory inside the bucket where writes are staged before their atomic rename; on the
/// same file system as the objects, so the rename is atomic. Never listed.
const TMP_DIR: &str = groves_core::layout::TMP_PREFIX;

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens the directory as a bucket, creating it if needed.
    pub fn create(root: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(root.join(TMP_DIR)).map_err(|source| StoreError::Io {
            store: format!("file://{}", root.display()),
            op: "create bucket directory",
            key: String::new(),
            source,
        })?;
        let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Ok(LocalStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key` (whether or not it exists).
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn io_err(&self, op: &'static str, key: &str, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::NotFound && matches!(op, "get" | "read") {
            return StoreError::NotFound {
                store: self.describe(),
                key: key.to_string(),
            };
        }
        StoreError::Io {
            store: self.describe(),
            op,
            key: key.to_string(),
            source,
        }
    }

    fn tmp_path(&self) -> PathBuf {
        self.root
            .join(TMP_DIR)
            .join(format!("{}.tmp", uuid::Uuid::new_v4()))
    }

    /// Stages `write` into a temporary file, then publishes it under `key`: by rename
    /// (overwrite) or by hard link (create only if absent, atomic against racing writers).
    fn publish(
        &self,
        key: &str,
        overwrite: bool,
        write: impl FnOnce(&Path) -> io::Result<()>,
    ) -> Result<bool, StoreError> {
        let dest = self.path_of(key)?;
        let tmp = self.tmp_path();
        let result = (|| {
            if let Some(parent) = tmp.parent() {
                fs::create_dir_all(parent)?;
            }
            write(&tmp)?;
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)?;
            }
            if overwrite {
                fs::rename(&tmp, &dest)?;
                Ok(true)
            } else {
                let linked = match fs::hard_link(&tmp, &dest) {
                    Ok(()) => true,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                    Err(e) => return Err(e),
                };
                fs::remove_file(&tmp)?;
                Ok(linked)
            }
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io_err("put", key, e))
    }

    fn list_sync(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // Walk only the deepest directory the prefix names in full.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            validate_key(dir_part)?;
            self.root.join(dir_part)
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_err("list", prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.io_err("list", prefix, e))?;
                let path = entry.path();
                let Ok(rel) = path.strip_prefix(&self.root) else {
                    continue;
                };
                let Some(rel) = rel.to_str() else { continue };
                let key = rel.replace(std::path::MAIN_SEPARATOR, "/");
                if key.starts_with(TMP_DIR) {
                    continue;
                }
                let meta = entry.metadata().map_err(|e| self.io_err("list", &key, e))?;
                if meta.is_dir() {
                    if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                        stack.push(path);
                    }
                } else if key.starts_with(prefix) {
                    out.push(ObjectMeta {
                        key,
                        size: meta.len(),
                        last_modified: meta.modified().ok(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// Runs blocking file-system work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

#[async_trait]
impl Store for LocalStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let this = self.clone();
        let key = key.to_string();
        blocking(move || {
            let path = this.path_of(&key)?;
            fs::read(path)
                .map(Bytes::from)
                .map_err(|e| this.io_err("get", &key, e))
        })
        .await
    }

    async fn fetch_to_file(&self, key: &str) -> Result<LocalFile, StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(LocalFile::InPlace(path)),
            Ok(_) => Err(StoreError::NotFound {
                store: self.describe(),
                key: key.to_string(),
            }),
            Err(e) => Err(self.io_err("read", key, e)),
        }
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        let this = self.clone();
        let key = key.to_string();
        blocking(move || {
            this.publish(&key, true, |tmp| fs::write(tmp, &data))
                .map(|_| ())
        })
        .await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let this = self.clone();
        let key = key.to_string();
        let src = path.to_path_buf();
        blocking(move || {
            this.publish(&key, true, |tmp| fs::copy(&src, tmp).map(|_| ()))
                .map(|_| ())
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        let this = self.clone();
        let key = key.to_string();
        blocking(move || this.publish(&key, false, |tmp| fs::write(tmp, &data))).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(ObjectMeta {
                key: key.to_string(),
                size: m.len(),
                last_modified: m.modified().ok(),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_err("head", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let this = self.clone();
        let prefix = prefix.to_string();
        blocking(move || this.list_sync(&prefix)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_err("delete", key, e)),
        }
    }
}
