//! Fleet fan-out: the time from `Coordinator::publish` to the job reaching 1, 10 and 200
//! connected (simulated) workers on loopback, and the coordinator's memory and CPU at 200.
//!
//! `cargo bench --bench fanout`. The coordinator runs in a child process (this binary, re-run
//! with `coordinator-child`) so its resident memory is its own. Each published job's id is the
//! publish instant in Unix nanoseconds; a worker subtracts it from its own clock on arrival
//! (one machine, one clock).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonrpsee::ws_client::WsClientBuilder;
use regsolver::fleet::protocol::FleetApiClient;
use regsolver::fleet::{Coordinator, FleetJob, Limits, RemoteCandidate, PROTOCOL_VERSION};
use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::{ByteOrder, Challenge, Scheme, Target};
use tokio::sync::mpsc;

const ROUNDS: usize = 50;
const WORKER_COUNTS: [usize; 3] = [1, 10, 200];

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The child: a coordinator driven over stdin (`publish`, `stats`), answering on stdout.
async fn coordinator_child() {
    let (tx, _rx) = mpsc::unbounded_channel::<RemoteCandidate>();
    let limits = Limits { max_connections: 512, ..Limits::default() };
    let coordinator = Coordinator::serve("127.0.0.1:0".parse().unwrap(), None, limits, Arc::new(tx)).await.expect("bind");
    println!("{}", coordinator.local_addr());
    let hot = HotLoop::new(
        Challenge::pow_register(1, &[1; 32], &[2; 32], &[3; 32]).unwrap(),
        Target::from_difficulty(1 << 40).unwrap(),
        ByteOrder::Little,
    );
    // Commands arrive on stdin, read on a plain thread (tokio's stdin is not enabled here).
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        match line.as_str() {
            "publish" => coordinator.publish(FleetJob::new(unix_nanos(), Scheme::PowRegister, &hot, 0)),
            "workers" => println!("{}", coordinator.workers().len()),
            _ => break,
        }
    }
}

/// Resident memory (KiB) and CPU time (clock ticks) of a process, from /proc.
fn usage(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks =
        fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0) + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    (rss_kib, ticks)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "coordinator-child") {
        return coordinator_child().await;
    }
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe).arg("coordinator-child").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("child");
    let pid = child.id();
    let mut to_child = child.stdin.take().expect("stdin");
    let mut from_child = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    from_child.read_line(&mut line).expect("address");
    let url = format!("ws://{}", line.trim());
    let (idle_rss_kib, _) = usage(pid);
    println!("fleet fan-out on loopback, {ROUNDS} jobs per row; coordinator pid {pid}, idle RSS {idle_rss_kib} KiB");
    println!("{:>8} {:>12} {:>12} {:>12} {:>12}", "workers", "median ms", "p90 ms", "max ms", "mean/worker ms");

    // Every simulated worker sends (arrival - publish) in ns for each job it receives.
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel::<u64>();
    let mut connected = 0usize;
    let mut clients = Vec::new();
    for target in WORKER_COUNTS {
        while connected < target {
            let client = WsClientBuilder::default().build(&url).await.expect("connect");
            client.hello(PROTOCOL_VERSION, format!("sim-{connected}"), vec!["sim".into()]).await.expect("hello");
            let mut jobs = client.subscribe_jobs().await.expect("subscribe");
            let tx = arrivals_tx.clone();
            clients.push(client);
            tokio::spawn(async move {
                while let Some(Ok(job)) = jobs.next().await {
                    if let Some(job) = job {
                        let _ = tx.send(unix_nanos().saturating_sub(job.job_id));
                    }
                }
            });
            connected += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        while arrivals.try_recv().is_ok() {}
        let (_, ticks_before) = usage(pid);
        let started = std::time::Instant::now();
        let mut all_ms = Vec::new();
        let mut each_ms = Vec::new();
        for _ in 0..ROUNDS {
            writeln!(to_child, "publish").expect("publish");
            let mut latest = 0u64;
            for _ in 0..target {
                let ns =
                    tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await.expect("every worker gets the job").expect("open");
                latest = latest.max(ns);
                each_ms.push(ns as f64 / 1e6);
            }
            all_ms.push(latest as f64 / 1e6);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let wall_s = started.elapsed().as_secs_f64();
        let (rss_kib, ticks_after) = usage(pid);
        all_ms.sort_by(f64::total_cmp);
        let mean_each = each_ms.iter().sum::<f64>() / each_ms.len() as f64;
        println!(
            "{:>8} {:>12.3} {:>12.3} {:>12.3} {:>12.3}",
            target,
            percentile(&all_ms, 0.5),
            percentile(&all_ms, 0.9),
            percentile(&all_ms, 1.0),
            mean_each
        );
        if target == *WORKER_COUNTS.last().unwrap_or(&0) {
            // Linux reports CPU time in USER_HZ ticks, 100 per second on every target it supports.
            let cpu_s = (ticks_after - ticks_before) as f64 / 100.0;
            println!(
                "coordinator at {target} workers: RSS {rss_kib} KiB ({:.1} MiB), CPU {:.1}% of one core over {ROUNDS} jobs in {wall_s:.2} s",
                rss_kib as f64 / 1024.0,
                100.0 * cpu_s / wall_s
            );
        }
    }
    let _ = writeln!(to_child, "quit");
    drop(to_child);
    let _ = child.wait();
}
