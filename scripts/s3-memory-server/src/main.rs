//! `s3-memory-server --port P [--access-key K --secret-key S]`: S3 on 127.0.0.1 with every
//! object in memory. Buckets, PUT (with `If-None-Match: *`), GET (ranges), HEAD, DELETE,
//! DeleteObjects and ListObjectsV2 (prefix, start-after, continuation, delimiter), which is
//! what groves uses below its multipart threshold.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;
use std::time::SystemTime;

use bytes::Bytes;
use futures::TryStreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::crypto::{Checksum, Md5};
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

struct Object {
    data: Bytes,
    e_tag: String,
    modified: SystemTime,
}

#[derive(Default)]
struct Memory {
    buckets: RwLock<BTreeMap<String, BTreeMap<String, Object>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

#[async_trait::async_trait]
impl S3 for Memory {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let mut b = write(&self.buckets);
        if b.contains_key(&req.input.bucket) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        b.insert(req.input.bucket, BTreeMap::new());
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if !read(&self.buckets).contains_key(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let Some(body) = input.body else {
            return Err(s3_error!(IncompleteBody));
        };
        let chunks: Vec<Bytes> = body
            .try_collect()
            .await
            .map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
        let data = Bytes::from(chunks.concat());
        let mut md5 = Md5::new();
        md5.update(&data);
        let e_tag = hex(&md5.finalize());
        let mut buckets = write(&self.buckets);
        let bucket = buckets
            .get_mut(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        if input.if_none_match.as_ref().is_some_and(|c| c.is_any())
            && bucket.contains_key(&input.key)
        {
            return Err(s3_error!(PreconditionFailed, "Object already exists"));
        }
        bucket.insert(
            input.key,
            Object {
                data,
                e_tag: e_tag.clone(),
                modified: SystemTime::now(),
            },
        );
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (data, e_tag, modified) = {
            let buckets = read(&self.buckets);
            let bucket = buckets
                .get(&input.bucket)
                .ok_or_else(|| s3_error!(NoSuchBucket))?;
            let o = bucket.get(&input.key).ok_or_else(|| s3_error!(NoSuchKey))?;
            (o.data.clone(), o.e_tag.clone(), o.modified)
        };
        let len = data.len() as u64;
        let (body, content_range) = match input.range {
            None => (data, None),
            Some(r) => {
                let r = r.check(len)?;
                let range = format!("bytes {}-{}/{len}", r.start, r.end - 1);
                (data.slice(r.start as usize..r.end as usize), Some(range))
            }
        };
        let content_length = body.len() as i64;
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::from(s3s::Body::from(body))),
            content_length: Some(content_length),
            content_range,
            e_tag: Some(ETag::Strong(e_tag)),
            last_modified: Some(Timestamp::from(modified)),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let buckets = read(&self.buckets);
        let bucket = buckets
            .get(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let o = bucket.get(&input.key).ok_or_else(|| s3_error!(NoSuchKey))?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(o.data.len() as i64),
            e_tag: Some(ETag::Strong(o.e_tag.clone())),
            last_modified: Some(Timestamp::from(o.modified)),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let mut buckets = write(&self.buckets);
        let bucket = buckets
            .get_mut(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        bucket.remove(&input.key);
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let mut buckets = write(&self.buckets);
        let bucket = buckets
            .get_mut(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let deleted = input
            .delete
            .objects
            .into_iter()
            .map(|o| {
                bucket.remove(&o.key);
                DeletedObject {
                    key: Some(o.key),
                    ..Default::default()
                }
            })
            .collect();
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let buckets = read(&self.buckets);
        let bucket = buckets
            .get(&input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        // Resume after the later of the continuation token and start-after.
        let after = [input.continuation_token.clone(), input.start_after.clone()]
            .into_iter()
            .flatten()
            .max();
        let lower = match &after {
            Some(a) if a.as_str() >= prefix.as_str() => Bound::Excluded(a.clone()),
            _ => Bound::Included(prefix.clone()),
        };
        let mut contents = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut last = None;
        let mut truncated = false;
        for (key, o) in bucket.range((lower, Bound::Unbounded)) {
            if !key.starts_with(&prefix) {
                break;
            }
            if let Some(d) = input.delimiter.as_deref().filter(|d| !d.is_empty()) {
                if let Some(i) = key[prefix.len()..].find(d) {
                    let common = key[..prefix.len() + i + d.len()].to_string();
                    if prefixes.last() == Some(&common) {
                        continue;
                    }
                    if contents.len() + prefixes.len() == max_keys {
                        truncated = true;
                        break;
                    }
                    last = Some(common.clone());
                    prefixes.push(common);
                    continue;
                }
            }
            if contents.len() + prefixes.len() == max_keys {
                truncated = true;
                break;
            }
            last = Some(key.clone());
            contents.push(Object_ {
                key: key.clone(),
                size: o.data.len() as i64,
                e_tag: o.e_tag.clone(),
                modified: o.modified,
            });
        }
        let key_count = (contents.len() + prefixes.len()) as i32;
        let contents: Vec<s3s::dto::Object> = contents
            .into_iter()
            .map(|o| s3s::dto::Object {
                key: Some(o.key),
                size: Some(o.size),
                e_tag: Some(ETag::Strong(o.e_tag)),
                last_modified: Some(Timestamp::from(o.modified)),
                ..Default::default()
            })
            .collect();
        // A common prefix as token: resume after every key under it.
        let next = truncated.then(|| {
            let l = last.unwrap_or_default();
            if input
                .delimiter
                .as_deref()
                .is_some_and(|d| !d.is_empty() && l.ends_with(d))
            {
                format!("{l}\u{10FFFF}")
            } else {
                l
            }
        });
        Ok(S3Response::new(ListObjectsV2Output {
            key_count: Some(key_count),
            max_keys: Some(max_keys as i32),
            is_truncated: Some(truncated),
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!prefixes.is_empty()).then(|| {
                prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect()
            }),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            delimiter: input.delimiter,
            name: Some(input.bucket),
            prefix: input.prefix,
            start_after: input.start_after,
            ..Default::default()
        }))
    }
}

struct Object_ {
    key: String,
    size: i64,
    e_tag: String,
    modified: SystemTime,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port")
        .ok_or("--port P is required")?
        .parse()?;
    let memory = Memory::default();
    // A bucket to start with (`--bucket NAME`), so a client need not create it.
    if let Some(b) = arg(&args, "--bucket") {
        write(&memory.buckets).insert(b, BTreeMap::new());
    }
    let mut builder = S3ServiceBuilder::new(memory);
    if let (Some(ak), Some(sk)) = (arg(&args, "--access-key"), arg(&args, "--secret-key")) {
        builder.set_auth(SimpleAuth::from_single(ak, sk));
    }
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let (socket, _) = listener.accept().await?;
        // Responses leave at once: without this, a GET's body waits ~40 ms for the client's
        // delayed ACK of its headers (Nagle), as it does with s3s-fs.
        socket.set_nodelay(true)?;
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
