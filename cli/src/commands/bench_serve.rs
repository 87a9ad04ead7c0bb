//! `groves bench serve`: load on a running `groves serve` (or any server of its API) from
//! 127.0.0.1 — requests per second, latency percentiles, single-row and batch latency. Pair
//! it with scripts/bench_serve.sh, which starts the server and reads its memory.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::BenchServeArgs;

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn> {
        let s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(s),
        })
    }

    /// Sends one request and reads the answer: (status, body).
    async fn call(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("not an HTTP answer: {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse()?;
                }
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, buf))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn prices(base: f64, i: usize) -> Vec<f64> {
    // A small walk around the base, different per request so nothing can be cached by value.
    (0..11)
        .map(|k| base + (((i * 7 + k * 3) % 11) as f64 - 5.0) * 0.05)
        .collect()
}

fn join(p: &[f64]) -> String {
    p.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
}

pub async fn bench_serve(args: &BenchServeArgs) -> Result<()> {
    let addr = args.addr.as_str();
    let get = |i: usize| {
        format!(
            "/predict?stock={}&prices={}",
            args.stock,
            join(&prices(args.price, i))
        )
    };
    // The first request loads the model (a cold server).
    let mut conn = Conn::open(addr).await?;
    let t = Instant::now();
    let (status, body) = conn.call("GET", &get(0), b"").await?;
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    if status != 200 {
        bail!(
            "the first request failed ({status}): {}",
            String::from_utf8_lossy(&body)
        );
    }
    println!("first request (model load included): {first_ms:.1} ms");

    // Single rows, one at a time.
    let mut single = Vec::with_capacity(500);
    for i in 0..500 {
        let t = Instant::now();
        let (status, _) = conn.call("GET", &get(i), b"").await?;
        single.push(t.elapsed());
        if status != 200 {
            bail!("single-row request answered {status}");
        }
    }
    single.sort();
    println!(
        "single row, one at a time: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&single, 0.5),
        percentile(&single, 0.99)
    );

    // Batches of `batch` rows, one at a time.
    let rows: Vec<serde_json::Value> = (0..args.batch)
        .map(|i| serde_json::json!({ "prices": prices(args.price, i) }))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "stock": args.stock, "rows": rows }))?;
    let mut batch = Vec::with_capacity(20);
    for _ in 0..20 {
        let t = Instant::now();
        let (status, answer) = conn.call("POST", "/predict", &body).await?;
        batch.push(t.elapsed());
        if status != 200 {
            bail!(
                "batch request answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
    batch.sort();
    println!(
        "batch of {} rows, one at a time: p50 {:.2} ms, p99 {:.2} ms",
        args.batch,
        percentile(&batch, 0.5),
        percentile(&batch, 0.99)
    );

    // The load: `requests` single-row GETs over `concurrency` keep-alive connections.
    let per = args.requests.div_ceil(args.concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.concurrency {
        let paths: Vec<String> = (0..per).map(|i| get(c * per + i)).collect();
        let addr = addr.to_string();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut lat = Vec::with_capacity(paths.len());
            for p in &paths {
                let t = Instant::now();
                let (status, _) = conn.call("GET", p, b"").await?;
                lat.push(t.elapsed());
                if status != 200 {
                    bail!("a request answered {status}");
                }
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::with_capacity(per * args.concurrency);
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "{} requests at concurrency {}: {:.0} requests/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        all.len(),
        args.concurrency,
        all.len() as f64 / wall,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 1.0)
    );
    Ok(())
}
