//! Load client for benches/server.sh: C concurrent clients send `POST {url}/search` with
//! `{"query", "k"}` for S seconds, cycling through a file of queries (one per line), and print one JSON
//! line: requests, errors, QPS, p50/p90/p99 latency in ms. The same client drives docvec and its peer.
//!
//!     load URL QUERIES.txt CONCURRENCY SECONDS [K]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err("usage: load URL QUERIES.txt CONCURRENCY SECONDS [K]".into());
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
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, queries, next) = (http.clone(), url.clone(), queries.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let q = &queries[next.fetch_add(1, Ordering::Relaxed) % queries.len()];
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .json(&serde_json::json!({"query": q, "k": k, "mode": "vector"}))
                    .send()
                    .await;
                let ok = match resp {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    Ok(r) => {
                        errors.push(format!("{}", r.status()));
                        false
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        false
                    }
                };
                if ok {
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if latencies.is_empty() {
            f64::NAN
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    let error_count = errors.len();
    errors.sort();
    errors.dedup();
    println!(
        "{}",
        serde_json::json!({
            "requests": latencies.len(),
            "errors": error_count,
            "error_kinds": errors.into_iter().take(5).collect::<Vec<_>>(),
            "seconds": elapsed,
            "qps": latencies.len() as f64 / elapsed,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "concurrency": concurrency,
        })
    );
    Ok(())
}
