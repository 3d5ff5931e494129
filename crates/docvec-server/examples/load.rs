//! Load client for benches/server.sh: C concurrent clients send `POST {url}/search` with
//! `{"query", "k", "mode": "vector"}` for S seconds, cycling through a file of queries (one per line),
//! and print one JSON line: requests, errors, QPS, p50/p90/p99 latency in ms. The same client drives
//! docvec and its peer.
//!
//!     load URL QUERIES.txt CONCURRENCY SECONDS [K] [HEAVY_CLIENTS HEAVY_QUERY.txt]
//!
//! With HEAVY_CLIENTS, that many more clients send the whole of HEAVY_QUERY.txt as one query, over and
//! over, in the costliest shape docvec accepts (hybrid, with highlights) alongside the others (issue
//! 24); the figures at the top are the normal clients' alone, and `heavy` holds theirs. `errors`
//! counts every request not answered 2xx; `refused` says how many of those were 4xx.
//!
//! With `LOAD_RATE=R` in the environment the normal clients become one open-loop client instead: a
//! request is sent every 1/R seconds whether or not earlier ones were answered, and each latency runs
//! from when its request was due, so queueing in the server shows in the figures (a closed loop only
//! finds the saturation rate; this finds where, below it, latency starts to climb).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What one group of clients saw: latencies of the answered requests, and each other outcome.
#[derive(Default)]
struct Seen {
    latencies: Vec<f64>,
    refused: usize,
    errors: Vec<String>,
}

impl Seen {
    fn merge(&mut self, other: Seen) {
        self.latencies.extend(other.latencies);
        self.refused += other.refused;
        self.errors.extend(other.errors);
    }

    fn summary(mut self, elapsed: f64, concurrency: usize) -> Value {
        self.latencies.sort_by(f64::total_cmp);
        let l = &self.latencies;
        let pct = |p: f64| {
            if l.is_empty() {
                f64::NAN
            } else {
                l[((l.len() - 1) as f64 * p).round() as usize]
            }
        };
        let error_count = self.errors.len();
        self.errors.sort();
        self.errors.dedup();
        json!({
            "requests": l.len(),
            "refused": self.refused,
            "errors": error_count,
            "error_kinds": self.errors.iter().take(5).collect::<Vec<_>>(),
            "seconds": elapsed,
            "qps": l.len() as f64 / elapsed,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "concurrency": concurrency,
        })
    }
}

/// Send one request and add its outcome to `seen`; its latency counts from `since`.
async fn send(
    http: &reqwest::Client,
    url: &str,
    body: reqwest::Body,
    since: Instant,
    seen: &mut Seen,
) {
    let request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    match request.send().await {
        Ok(r) if r.status().is_success() => {
            if r.bytes().await.is_ok() {
                seen.latencies.push(since.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(r) if r.status().is_client_error() => {
            seen.refused += 1;
            seen.errors.push(r.status().to_string());
        }
        Ok(r) => seen.errors.push(r.status().to_string()),
        Err(e) => seen.errors.push(e.to_string()),
    }
}

/// One client: send `body()` until `deadline`, one request at a time.
async fn client(
    http: reqwest::Client,
    url: String,
    body: impl Fn() -> reqwest::Body,
    deadline: Instant,
) -> Seen {
    let mut seen = Seen::default();
    while Instant::now() < deadline {
        send(&http, &url, body(), Instant::now(), &mut seen).await;
    }
    seen
}

/// The open-loop client: a request due every 1/`rate` seconds until `deadline`, each on a task of
/// its own, its latency counted from when it was due (not when a busy client got round to it).
async fn open_loop(
    http: reqwest::Client,
    url: String,
    body: impl Fn() -> reqwest::Body,
    rate: f64,
    deadline: Instant,
) -> Seen {
    let every = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0u32.. {
        let due = start + every * n;
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let (http, url, body) = (http.clone(), url.clone(), body());
        tasks.spawn(async move {
            let mut seen = Seen::default();
            send(&http, &url, body, due, &mut seen).await;
            seen
        });
    }
    let mut seen = Seen::default();
    while let Some(one) = tasks.join_next().await {
        seen.merge(one.expect("a request task"));
    }
    seen
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 || args.len() == 7 {
        return Err(
            "usage: load URL QUERIES.txt CONCURRENCY SECONDS [K] [HEAVY_CLIENTS HEAVY_QUERY.txt]"
                .into(),
        );
    }
    let url = format!("{}/search", args[1].trim_end_matches('/'));
    let queries: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&args[2])?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    );
    let concurrency: usize = args[3].parse()?;
    let seconds: f64 = args[4].parse()?;
    let k: usize = args.get(5).map_or(Ok(10), |s| s.parse())?;
    let heavy_clients: usize = args.get(6).map_or(Ok(0), |s| s.parse())?;
    let heavy_query = match args.get(7) {
        Some(path) => std::fs::read_to_string(path)?.trim().to_string(),
        None => String::new(),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    // The heavy clients are other applications: their own connections, so a connection the server
    // closes after refusing an oversized body is never handed to a normal client.
    let heavy_http = reqwest::Client::builder()
        .pool_max_idle_per_host(heavy_clients.max(1))
        .timeout(Duration::from_secs(10))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let body = move || {
        let (queries, next) = (queries.clone(), next.clone());
        move || {
            let q = &queries[next.fetch_add(1, Ordering::Relaxed) % queries.len()];
            reqwest::Body::from(json!({"query": q, "k": k, "mode": "vector"}).to_string())
        }
    };
    let rate: Option<f64> = std::env::var("LOAD_RATE")
        .ok()
        .map(|r| r.parse())
        .transpose()?;
    let normal: Vec<_> = match rate {
        Some(rate) => vec![tokio::spawn(open_loop(
            http.clone(),
            url.clone(),
            body(),
            rate,
            deadline,
        ))],
        None => (0..concurrency)
            .map(|_| tokio::spawn(client(http.clone(), url.clone(), body(), deadline)))
            .collect(),
    };
    // Serialised once: a client rebuilding a 1 MB body per request would take the cores it shares
    // with the server, and the figures would be the client's.
    let heavy_body = String::from_utf8(serde_json::to_vec(
        &json!({"query": heavy_query, "k": k, "mode": "hybrid", "highlight": true}),
    )?)?;
    let heavy_body: &'static str = Box::leak(heavy_body.into_boxed_str());
    let heavy: Vec<_> = (0..heavy_clients)
        .map(|_| {
            tokio::spawn(client(
                heavy_http.clone(),
                url.clone(),
                move || reqwest::Body::from(heavy_body),
                deadline,
            ))
        })
        .collect();
    let mut ours = Seen::default();
    for t in normal {
        ours.merge(t.await?);
    }
    // Each group's rate over its own run: a heavy request the server stopped reading may hang until
    // its timeout, long after the normal clients are done.
    let elapsed = started.elapsed().as_secs_f64();
    let mut theirs = Seen::default();
    for t in heavy {
        theirs.merge(t.await?);
    }
    let mut out = ours.summary(elapsed, concurrency);
    if let Some(rate) = rate {
        out["offered_qps"] = json!(rate);
    }
    if heavy_clients > 0 {
        let mut h = theirs.summary(started.elapsed().as_secs_f64(), heavy_clients);
        h["query_bytes"] = json!(heavy_query.len());
        out["heavy"] = h;
    }
    println!("{out}");
    Ok(())
}
