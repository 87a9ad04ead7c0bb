//! S3 (or any S3-compatible server) through `aws-sdk-s3`.

use std::path::Path;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{validate_key, LocalFile, ObjectMeta, Store, StoreError};

/// Objects at least this large are uploaded in parts: S3 caps a single PUT at 5 GB, and parts
/// let a large upload proceed in parallel without holding it in memory.
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Size of each part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_SIZE: u64 = 16 * 1024 * 1024;
/// Parts in flight at once.
const PART_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

/// Whether the environment points the SDK at a custom endpoint; such servers (moto, MinIO,
/// s3s) nearly always need path-style addressing.
fn custom_endpoint_configured() -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
}

/// The standard AWS environment and config files (endpoint, region — `us-east-1` when none is
/// set —, credentials), loaded once per process and shared by every client built from it.
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::new("us-east-1"));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

/// An S3 client from the standard AWS environment and config files. Build it once per process
/// (per Lambda cold start) and share it.
pub async fn client_from_env() -> Client {
    s3_client(&sdk_config_from_env().await)
}

/// Attempts per S3 request, unless `AWS_MAX_ATTEMPTS` says otherwise. The SDK's default is 3
/// (standard mode: jittered exponential backoff from 1 s, capped at 20 s). A run of thousands
/// of units meets S3's 500s one at a time and its 503 SlowDown in bursts: with
/// [`S3_INITIAL_BACKOFF_MS`], a lone error costs about 0.1 s instead of 0.5 s (the drill at
/// 100 stocks with 3 % of requests failing: 806 s with the SDK's backoff), and 8 attempts still
/// wait up to 32 s (0.25 + 0.5 + … + 16 s) before a unit fails and the parent retries it.
pub const S3_MAX_ATTEMPTS: u32 = 8;
/// The first retry's backoff ceiling (each retry waits a random time up to it, doubling).
pub const S3_INITIAL_BACKOFF_MS: u64 = 250;
/// Seconds an S3 request may wait for its response (sending the body included) before the
/// attempt is abandoned and retried, unless `GROVES_S3_READ_TIMEOUT_S` says otherwise. The SDK
/// sets no such limit: a connection that hangs would hold a unit, or the parent, until Lambda
/// ends it. The largest object groves writes in one request takes seconds.
pub const S3_READ_TIMEOUT_S: u64 = 60;

/// An S3 client from a loaded config. Path-style addressing when `AWS_S3_FORCE_PATH_STYLE=true`
/// or a custom endpoint is set; retries and timeouts as [`S3_MAX_ATTEMPTS`] and
/// [`S3_READ_TIMEOUT_S`] say.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> Client {
    let path_style = match std::env::var("AWS_S3_FORCE_PATH_STYLE") {
        Ok(v) => v.eq_ignore_ascii_case("true") || v == "1",
        Err(_) => custom_endpoint_configured(),
    };
    let env_u64 = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let mut conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style);
    if env_u64("AWS_MAX_ATTEMPTS").is_none() {
        let retry = sdk
            .retry_config()
            .cloned()
            .unwrap_or_else(aws_sdk_s3::config::retry::RetryConfig::standard)
            .with_max_attempts(S3_MAX_ATTEMPTS)
            .with_initial_backoff(std::time::Duration::from_millis(S3_INITIAL_BACKOFF_MS));
        conf = conf.retry_config(retry);
    }
    let read = std::time::Duration::from_secs(
        env_u64("GROVES_S3_READ_TIMEOUT_S").unwrap_or(S3_READ_TIMEOUT_S),
    );
    let mut timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder().read_timeout(read);
    if let Some(connect) = sdk.timeout_config().and_then(|t| t.connect_timeout()) {
        timeouts = timeouts.connect_timeout(connect);
    }
    Client::from_conf(conf.timeout_config(timeouts.build()).build())
}

impl S3Store {
    /// Every object under `prefix` (after `after`, if given), sorted by key.
    async fn list_from(
        &self,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(after.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.remote("list", prefix, e))?;
            for obj in page.contents() {
                if let Some(key) = obj.key() {
                    out.push(ObjectMeta {
                        key: key.to_string(),
                        size: obj.size().unwrap_or(0).max(0) as u64,
                        last_modified: to_system_time(obj.last_modified()),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(after) = after {
            // A server that ignores StartAfter still gives the right answer.
            out.retain(|o| o.key.as_str() > after);
        }
        Ok(out)
    }

    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
        }
    }

    pub async fn from_env(bucket: &str) -> Self {
        S3Store::new(client_from_env().await, bucket)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn remote<E, R>(&self, op: &'static str, key: &str, err: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StoreError::Remote {
            store: self.describe(),
            op,
            key: key.to_string(),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    /// A GET of `key`, its absence told apart from other failures.
    async fn get_object(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, StoreError> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_no_such_key() => self.not_found(key),
                _ => self.remote("get", key, e),
            })
    }

    fn not_found(&self, key: &str) -> StoreError {
        StoreError::NotFound {
            store: self.describe(),
            key: key.to_string(),
        }
    }

    async fn put_single(&self, key: &str, body: ByteStream) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| self.remote("put", key, e))?;
        Ok(())
    }

    /// Uploads `size` bytes in parts; `part(offset, len)` yields each part's body. The object
    /// appears only when the upload completes, so readers never see a partial object; a failed
    /// upload is aborted so no parts linger.
    async fn put_multipart<F, Fut>(&self, key: &str, size: u64, part: F) -> Result<(), StoreError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<ByteStream, StoreError>> + Send + 'static,
    {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.remote("start multipart upload", key, e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self.upload_parts(key, &upload_id, size, part).await;
        match result {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| self.remote("complete multipart upload", key, e))?;
                Ok(())
            }
            Err(e) => {
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    async fn upload_parts<F, Fut>(
        &self,
        key: &str,
        upload_id: &str,
        size: u64,
        part: F,
    ) -> Result<Vec<CompletedPart>, StoreError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<ByteStream, StoreError>> + Send + 'static,
    {
        let n_parts = size.div_ceil(PART_SIZE).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        let mut done: Vec<CompletedPart> = Vec::with_capacity(n_parts as usize);
        for i in 0..n_parts {
            if tasks.len() >= PART_CONCURRENCY {
                if let Some(joined) = tasks.join_next().await {
                    done.push(joined.map_err(|e| self.join_err(key, e))??);
                }
            }
            let offset = i * PART_SIZE;
            let len = PART_SIZE.min(size - offset);
            let body = part(offset, len);
            let client = self.client.clone();
            let (bucket, key_s, id, store) = (
                self.bucket.clone(),
                key.to_string(),
                upload_id.to_string(),
                self.describe(),
            );
            let number = i as i32 + 1;
            tasks.spawn(async move {
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(&key_s)
                    .upload_id(id)
                    .part_number(number)
                    .body(body.await?)
                    .send()
                    .await
                    .map_err(|e| StoreError::Remote {
                        store,
                        op: "upload part",
                        key: key_s.clone(),
                        message: DisplayErrorContext(&e).to_string(),
                    })?;
                Ok::<_, StoreError>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .build(),
                )
            });
        }
        while let Some(joined) = tasks.join_next().await {
            done.push(joined.map_err(|e| self.join_err(key, e))??);
        }
        done.sort_by_key(|p| p.part_number());
        Ok(done)
    }

    fn join_err(&self, key: &str, e: tokio::task::JoinError) -> StoreError {
        StoreError::Remote {
            store: self.describe(),
            op: "upload part",
            key: key.to_string(),
            message: format!("upload task failed: {e}"),
        }
    }
}

fn to_system_time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

#[async_trait]
impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        validate_key(key)?;
        let out = self.get_object(key).await?;
        let data = out.body.collect().await.map_err(|e| StoreError::Remote {
            store: self.describe(),
            op: "get (read body)",
            key: key.to_string(),
            // The cause (a timeout, a reset, a stalled stream) is in the error's sources.
            message: DisplayErrorContext(&e).to_string(),
        })?;
        Ok(data.into_bytes())
    }

    async fn fetch_to_file(&self, key: &str) -> Result<LocalFile, StoreError> {
        validate_key(key)?;
        let io_err = |source| StoreError::Io {
            store: self.describe(),
            op: "download to temporary file",
            key: key.to_string(),
            source,
        };
        let out = self.get_object(key).await?;
        let tmp = tempfile::Builder::new()
            .prefix("groves-")
            .tempfile()
            .map_err(io_err)?;
        let (std_file, path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut body = out.body;
        // Chunk by chunk: a 650 MB raw file never sits in memory.
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StoreError::Remote {
                store: self.describe(),
                op: "download",
                key: key.to_string(),
                message: e.to_string(),
            })?;
            file.write_all(&chunk).await.map_err(io_err)?;
        }
        file.flush().await.map_err(io_err)?;
        Ok(LocalFile::Downloaded(path))
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        validate_key(key)?;
        let size = data.len() as u64;
        if size < MULTIPART_THRESHOLD {
            return self.put_single(key, ByteStream::from(data)).await;
        }
        self.put_multipart(key, size, |offset, len| {
            let part = data.slice(offset as usize..(offset + len) as usize);
            async move { Ok(ByteStream::from(part)) }
        })
        .await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        validate_key(key)?;
        let io_err = |source| StoreError::Io {
            store: self.describe(),
            op: "upload from file",
            key: key.to_string(),
            source,
        };
        let size = tokio::fs::metadata(path).await.map_err(io_err)?.len();
        if size < MULTIPART_THRESHOLD {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| StoreError::Remote {
                    store: self.describe(),
                    op: "upload from file",
                    key: key.to_string(),
                    message: e.to_string(),
                })?;
            return self.put_single(key, body).await;
        }
        let store = self.describe();
        self.put_multipart(key, size, |offset, len| {
            let path = path.to_path_buf();
            let (store, key) = (store.clone(), key.to_string());
            async move {
                ByteStream::read_from()
                    .path(path)
                    .offset(offset)
                    .length(Length::Exact(len))
                    .build()
                    .await
                    .map_err(|e| StoreError::Remote {
                        store,
                        op: "read part from file",
                        key,
                        message: e.to_string(),
                    })
            }
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        validate_key(key)?;
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(data))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.as_service_error().and_then(|se| se.code());
                // 412: the object exists; 409: a concurrent conditional write won the race.
                if matches!(status, Some(412) | Some(409))
                    || matches!(code, Some("PreconditionFailed"))
                {
                    Ok(false)
                } else {
                    Err(self.remote("put if absent", key, e))
                }
            }
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.to_string(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                last_modified: to_system_time(out.last_modified()),
            })),
            Err(e) => match e.as_service_error() {
                Some(se) if se.is_not_found() => Ok(None),
                _ => Err(self.remote("head", key, e)),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.list_from(prefix, None).await
    }

    async fn list_after(&self, prefix: &str, after: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.list_from(prefix, Some(after)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.remote("delete", key, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_on_not_waited_for_forever() {
        // Accepts connections and holds them without a byte of answer.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming().flatten() {
                held.push(c);
            }
        });
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("a", "b", None, None, "test"),
            ))
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .build();
        let client = s3_client(&sdk);
        let conf = client.config();
        assert_eq!(
            conf.retry_config().map(|r| r.max_attempts()),
            Some(S3_MAX_ATTEMPTS),
            "the SDK's retry settings, with groves' attempts"
        );
        assert_eq!(
            conf.retry_config().map(|r| r.initial_backoff()),
            Some(Duration::from_millis(S3_INITIAL_BACKOFF_MS))
        );
        assert_eq!(
            conf.timeout_config().and_then(|t| t.read_timeout()),
            Some(Duration::from_secs(S3_READ_TIMEOUT_S))
        );
        // With a short read timeout, a GET against the silent server fails after its
        // attempts instead of hanging.
        let short = conf
            .to_builder()
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_max_attempts(S3_MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .read_timeout(Duration::from_millis(200))
                    .build(),
            )
            .build();
        let store = S3Store::new(Client::from_conf(short), "b");
        let t0 = Instant::now();
        let e = store.get("k").await.unwrap_err().to_string();
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(10), "{took:?}");
        assert!(
            took >= Duration::from_millis(200 * u64::from(S3_MAX_ATTEMPTS)),
            "{took:?}: {e}"
        );
        assert!(
            e.to_lowercase().contains("timeout") || e.contains("timed out"),
            "{e}"
        );
    }
}
