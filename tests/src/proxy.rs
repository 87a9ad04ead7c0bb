//! A fault proxy: an HTTP/1 proxy on 127.0.0.1 between groves and a server (the S3 server, or
//! the Lambda emulator's invoke API) that counts every request by kind and injects the faults a
//! real AWS account produces at scale: 500 InternalError (after the request took effect, so a
//! retried write meets its own earlier write), 503 SlowDown (before it), connections that hang,
//! 429 throttling of Lambda `Invoke` for a while, and duplicate deliveries of an invoke.
//!
//! Requests are forwarded unchanged, `Host` included, so SigV4 signatures still verify upstream.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpListener;

/// What the proxy injects. Probabilities are per request; `seed` makes a drill repeatable.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Answered 500 InternalError after the upstream handled the request.
    pub error_500: f64,
    /// Answered 503 SlowDown without forwarding.
    pub slow_down_503: f64,
    /// Held without an answer for `hang_for`, then the connection is closed.
    pub hang: f64,
    pub hang_for: Duration,
    /// Lambda `Invoke` answered 429 TooManyRequestsException from `throttle_after` after the
    /// proxy started, for `throttle_for`.
    pub throttle_after: Duration,
    pub throttle_for: Duration,
    /// Invokes delivered `duplicate_copies` extra times (in the background, answers dropped).
    pub duplicate: f64,
    pub duplicate_copies: usize,
    /// Deterministic faults: every Nth request (counting all) answered 500 / 503 / hung
    /// (0: never), on top of the probabilities, so a small test meets each fault for sure.
    pub every_500: u64,
    pub every_503: u64,
    pub every_hang: u64,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            error_500: 0.0,
            slow_down_503: 0.0,
            hang: 0.0,
            hang_for: Duration::from_secs(30),
            throttle_after: Duration::ZERO,
            throttle_for: Duration::ZERO,
            duplicate: 0.0,
            duplicate_copies: 1,
            every_500: 0,
            every_503: 0,
            every_hang: 0,
            seed: 1,
        }
    }
}

impl Faults {
    /// `500=0.01,503=0.02,hang=0.001,hang-s=30,429-after-s=5,429-for-s=20,dup=0.05,dup-copies=3,seed=7`,
    /// `500-every=23,503-every=17,hang-every=200`
    /// (any subset; empty: no faults).
    pub fn parse(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault {part:?}: expected name=value"))?;
            let num = |v: &str| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| format!("fault {k}: {v:?} is not a non-negative number"))
            };
            let prob = |v: &str| {
                num(v).and_then(|p| {
                    if p <= 1.0 {
                        Ok(p)
                    } else {
                        Err(format!("fault {k}: {p} is not a probability"))
                    }
                })
            };
            match k {
                "500" => f.error_500 = prob(v)?,
                "503" => f.slow_down_503 = prob(v)?,
                "hang" => f.hang = prob(v)?,
                "hang-s" => f.hang_for = Duration::from_secs_f64(num(v)?),
                "429-after-s" => f.throttle_after = Duration::from_secs_f64(num(v)?),
                "429-for-s" => f.throttle_for = Duration::from_secs_f64(num(v)?),
                "dup" => f.duplicate = prob(v)?,
                "dup-copies" => f.duplicate_copies = num(v)? as usize,
                "500-every" => f.every_500 = num(v)? as u64,
                "503-every" => f.every_503 = num(v)? as u64,
                "hang-every" => f.every_hang = num(v)? as u64,
                "seed" => f.seed = num(v)? as u64,
                other => {
                    return Err(format!(
                        "unknown fault {other:?} (known: 500, 503, hang, hang-s, 429-after-s, \
                         429-for-s, dup, dup-copies, 500-every, 503-every, hang-every, seed)"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// Requests and bytes of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KindCount {
    pub requests: u64,
    /// Request bodies (uploads).
    pub bytes_in: u64,
    /// Response bodies (downloads).
    pub bytes_out: u64,
}

/// An object moved through the proxy and its size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moved {
    pub bytes: u64,
    pub path: String,
}

/// What went through the proxy.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// By kind: GET, PUT, LIST, HEAD, DELETE, POST (multipart steps, Lambda `Invoke`), other.
    pub kinds: BTreeMap<&'static str, KindCount>,
    pub injected_500: u64,
    pub injected_503: u64,
    pub injected_hangs: u64,
    pub injected_429: u64,
    pub duplicates_sent: u64,
    /// The largest bodies written (PUT) and read (GET), biggest first.
    pub largest_written: Vec<Moved>,
    pub largest_read: Vec<Moved>,
    /// Successful PUTs of a key already written with other bytes: key → times.
    pub rewritten_differently: BTreeMap<String, u64>,
    /// Successful PUTs of a key already written with the same bytes.
    pub rewritten_same: u64,
    written: std::collections::HashMap<String, u64>,
}

const LARGEST_KEPT: usize = 8;

fn keep_largest(list: &mut Vec<Moved>, m: Moved) {
    if list.len() < LARGEST_KEPT || list.last().is_some_and(|l| m.bytes > l.bytes) {
        list.retain(|x| x.path != m.path || x.bytes > m.bytes);
        if list.iter().all(|x| x.path != m.path) {
            list.push(m);
        }
        list.sort_by(|a, b| b.cmp(a));
        list.truncate(LARGEST_KEPT);
    }
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.kinds.values().map(|k| k.requests).sum()
    }

    pub fn requests(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map_or(0, |k| k.requests)
    }

    pub fn injected(&self) -> u64 {
        self.injected_500 + self.injected_503 + self.injected_hangs + self.injected_429
    }
}

/// The S3 (or Lambda) operation kind of a request, from its method and query.
pub fn kind_of(method: &hyper::Method, path: &str, query: Option<&str>) -> &'static str {
    let q = query.unwrap_or("");
    let has = |name: &str| {
        q.split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    // Path style: /bucket is the bucket, /bucket/key an object.
    let is_bucket = !path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .contains('/');
    match *method {
        hyper::Method::GET if has("list-type") || is_bucket => "LIST",
        hyper::Method::GET => "GET",
        hyper::Method::PUT => "PUT",
        hyper::Method::HEAD => "HEAD",
        hyper::Method::DELETE => "DELETE",
        hyper::Method::POST => "POST",
        _ => "other",
    }
}

struct State {
    upstream: String,
    faults: Mutex<Faults>,
    rng: Mutex<ChaCha8Rng>,
    counts: Mutex<Counts>,
    requests: std::sync::atomic::AtomicU64,
    started: Instant,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// The proxy, serving until dropped.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Copy)]
enum Decision {
    Forward,
    SlowDown,
    ErrorAfter,
    Hang,
    Throttle,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream` (`127.0.0.1:PORT`). Call
    /// from within a tokio runtime.
    pub async fn start(upstream: SocketAddr, faults: Faults) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let state = Arc::new(State {
            upstream: format!("http://{upstream}"),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(faults.seed)),
            faults: Mutex::new(faults),
            counts: Mutex::default(),
            requests: std::sync::atomic::AtomicU64::new(0),
            started: Instant::now(),
            client,
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { handle(state, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FaultProxy { port, state, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn counts(&self) -> Counts {
        lock(&self.state.counts).clone()
    }

    /// New faults from now on (the throttling window still counts from the proxy's start).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.state.faults) = faults;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn answer(status: StatusCode, headers: &[(&str, &str)], body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    answer(
        status,
        &[("content-type", "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
        ),
    )
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("request body: {e}")))?
        .to_bytes();
    let path = parts.uri.path().to_string();
    let kind = kind_of(&parts.method, &path, parts.uri.query());
    let is_part = parts.uri.query().is_some_and(|q| q.contains("uploadId"));
    let is_invoke = parts.method == hyper::Method::POST && path.ends_with("/invocations");
    let (decision, copies) = {
        let f = lock(&state.faults).clone();
        let mut rng = lock(&state.rng);
        let since = state.started.elapsed();
        let n = state
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let every = |k: u64| k > 0 && n.is_multiple_of(k);
        let throttled = is_invoke
            && f.throttle_for > Duration::ZERO
            && since >= f.throttle_after
            && since < f.throttle_after + f.throttle_for;
        let d = if throttled {
            Decision::Throttle
        } else if every(f.every_hang) || rng.random_bool(f.hang) {
            Decision::Hang
        } else if every(f.every_503) || rng.random_bool(f.slow_down_503) {
            Decision::SlowDown
        } else if every(f.every_500) || rng.random_bool(f.error_500) {
            Decision::ErrorAfter
        } else {
            Decision::Forward
        };
        let copies = if is_invoke && !throttled && rng.random_bool(f.duplicate) {
            f.duplicate_copies
        } else {
            0
        };
        (
            d,
            if matches!(d, Decision::Forward | Decision::ErrorAfter) {
                copies
            } else {
                0
            },
        )
    };
    {
        let mut c = lock(&state.counts);
        let k = c.kinds.entry(kind).or_default();
        k.requests += 1;
        k.bytes_in += body.len() as u64;
        if kind == "PUT" {
            keep_largest(
                &mut c.largest_written,
                Moved {
                    bytes: body.len() as u64,
                    path: path.clone(),
                },
            );
        }
        match decision {
            Decision::SlowDown => c.injected_503 += 1,
            Decision::ErrorAfter => c.injected_500 += 1,
            Decision::Hang => c.injected_hangs += 1,
            Decision::Throttle => c.injected_429 += 1,
            Decision::Forward => {}
        }
        c.duplicates_sent += copies as u64;
    }
    match decision {
        Decision::Throttle => {
            return Ok(answer(
                StatusCode::TOO_MANY_REQUESTS,
                &[
                    ("content-type", "application/json"),
                    ("x-amzn-errortype", "TooManyRequestsException"),
                ],
                r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#.into(),
            ))
        }
        Decision::SlowDown => {
            return Ok(s3_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ))
        }
        Decision::Hang => {
            let hang_for = lock(&state.faults).hang_for;
            tokio::time::sleep(hang_for).await;
            return Err(std::io::Error::other("hung connection closed"));
        }
        Decision::Forward | Decision::ErrorAfter => {}
    }
    let uri: hyper::Uri = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    )
    .parse()
    .map_err(|e| std::io::Error::other(format!("upstream uri: {e}")))?;
    let build = |body: Bytes| {
        let mut r = Request::new(Full::new(body));
        *r.method_mut() = parts.method.clone();
        *r.uri_mut() = uri.clone();
        *r.headers_mut() = parts.headers.clone();
        r
    };
    let sent = body.clone();
    for _ in 0..copies {
        let dup = state.client.request(build(body.clone()));
        tokio::spawn(async move {
            if let Ok(r) = dup.await {
                let _ = r.into_body().collect().await;
            }
        });
    }
    let upstream = state
        .client
        .request(build(body))
        .await
        .map_err(|e| std::io::Error::other(format!("upstream: {e}")))?;
    let (parts_out, body_out) = upstream.into_parts();
    let body_out = body_out
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("upstream body: {e}")))?
        .to_bytes();
    {
        let mut c = lock(&state.counts);
        let k = c.kinds.entry(kind).or_default();
        k.bytes_out += body_out.len() as u64;
        if kind == "PUT" && parts_out.status.is_success() && !is_part {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            sent.hash(&mut h);
            let hash = h.finish();
            match c.written.insert(path.clone(), hash) {
                Some(old) if old != hash => {
                    *c.rewritten_differently.entry(path.clone()).or_default() += 1
                }
                Some(_) => c.rewritten_same += 1,
                None => {}
            }
        }
        if kind == "GET" && parts_out.status.is_success() {
            keep_largest(
                &mut c.largest_read,
                Moved {
                    bytes: body_out.len() as u64,
                    path,
                },
            );
        }
    }
    if matches!(decision, Decision::ErrorAfter) {
        return Ok(s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ));
    }
    Ok(Response::from_parts(parts_out, Full::new(body_out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_refuse_by_name() {
        let f = Faults::parse("500=0.01,503=0.5,hang=0.001,hang-s=2,429-after-s=1,429-for-s=3,dup=0.1,dup-copies=4,seed=9").unwrap();
        assert_eq!(f.error_500, 0.01);
        assert_eq!(f.slow_down_503, 0.5);
        assert_eq!(f.hang_for, Duration::from_secs(2));
        assert_eq!(f.throttle_for, Duration::from_secs(3));
        assert_eq!(f.duplicate_copies, 4);
        assert_eq!(f.seed, 9);
        let e = Faults::parse("500-every=23,503-every=17,hang-every=200").unwrap();
        assert_eq!((e.every_500, e.every_503, e.every_hang), (23, 17, 200));
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
        assert!(Faults::parse("500=2").unwrap_err().contains("500"));
        assert!(Faults::parse("boom=1").unwrap_err().contains("boom"));
        assert!(Faults::parse("hang").unwrap_err().contains("hang"));
    }

    #[test]
    fn request_kinds() {
        use hyper::Method;
        assert_eq!(
            kind_of(&Method::GET, "/b", Some("list-type=2&prefix=x")),
            "LIST"
        );
        assert_eq!(kind_of(&Method::GET, "/b/", None), "LIST");
        assert_eq!(kind_of(&Method::GET, "/b/k/x.parquet", None), "GET");
        assert_eq!(kind_of(&Method::PUT, "/b/k", None), "PUT");
        assert_eq!(kind_of(&Method::HEAD, "/b/k", None), "HEAD");
        assert_eq!(kind_of(&Method::DELETE, "/b/k", None), "DELETE");
    }

    #[test]
    fn the_largest_are_kept_once_each() {
        let mut l = Vec::new();
        for (i, b) in [5u64, 1, 9, 5, 3, 12, 7, 8, 2, 11, 4].iter().enumerate() {
            keep_largest(
                &mut l,
                Moved {
                    bytes: *b,
                    path: format!("/k{}", i % 9),
                },
            );
        }
        assert_eq!(l.len(), LARGEST_KEPT);
        assert_eq!(l[0].bytes, 12);
        assert!(l.windows(2).all(|w| w[0].bytes >= w[1].bytes));
        let mut paths: Vec<_> = l.iter().map(|m| m.path.clone()).collect();
        paths.dedup();
        assert_eq!(paths.len(), l.len());
    }
}
