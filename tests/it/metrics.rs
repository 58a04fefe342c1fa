//! The metrics endpoint, scraped over real HTTP on loopback: every series with its labels,
//! `/healthz` turning 503 when the heartbeat goes stale, 404 elsewhere.

use std::net::SocketAddr;
use std::time::Duration;

use regsolver::telemetry::health::HealthLimits;
use regsolver::telemetry::metrics::{DeviceFigures, Telemetry, WorkerFigures};

use crate::support::process::sample;

/// `GET path` from the endpoint (bounded): status and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    crate::support::process::get(&addr.to_string(), path).await.unwrap_or_else(|| panic!("no answer to GET {path} from {addr}"))
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn device(tag: &str, up: bool, hashes: u64) -> DeviceFigures {
    DeviceFigures {
        tag: tag.into(),
        up,
        hashes_total: hashes,
        rate_10s: 1.5e9,
        rate_60s: 1.4e9,
        rate_15m: 1.3e9,
        compute_errors: 2,
        candidates: 9,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_shows_every_series_with_labels() {
    let limits = HealthLimits { heartbeat_stale: Duration::from_secs(3600), block_stale: Duration::from_secs(3600) };
    let t = Telemetry::install(loopback(), limits).await.unwrap();
    let addr = t.local_addr().unwrap();
    assert_ne!(addr.port(), 0);

    t.heartbeat();
    t.on_connection(true);
    t.on_reconnect();
    t.on_block(4_200_000);
    t.on_job(18_446_744, 12.5, 93.0);
    t.on_devices(&[device("cuda:0", true, 1_000_000), device("cl:0:1", false, 5)]);
    t.on_devices(&[device("cuda:0", true, 3_000_000)]);
    t.on_workers(&[WorkerFigures { worker: "rig-7".into(), rate_60s: 2.0e9 }]);
    t.on_solution();
    t.on_submission("stale");
    t.on_submission("registered");
    t.on_submission("registered");
    t.on_registration("pow", 0);
    t.on_registration("burn", 500_000_123);

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    let s = |name: &str, labels: &[(&str, &str)]| {
        sample(&body, name, labels).unwrap_or_else(|| panic!("missing {name} {labels:?} in:\n{body}"))
    };

    for (window, rate) in [("10s", 1.5e9), ("60s", 1.4e9), ("15m", 1.3e9)] {
        assert_eq!(s("regsolver_hashrate_hashes_per_second", &[("device", "cuda:0"), ("window", window)]), rate);
    }
    assert_eq!(s("regsolver_seals_tried_total", &[("device", "cuda:0")]), 3_000_000.0, "totals are absolute, not summed");
    assert_eq!(s("regsolver_seals_tried_total", &[("device", "cl:0:1")]), 5.0);
    assert_eq!(s("regsolver_candidates_total", &[("device", "cuda:0")]), 9.0);
    assert_eq!(s("regsolver_compute_errors_total", &[("device", "cuda:0")]), 2.0);
    assert_eq!(s("regsolver_device_up", &[("device", "cuda:0")]), 1.0);
    assert_eq!(s("regsolver_device_up", &[("device", "cl:0:1")]), 0.0);
    assert_eq!(s("regsolver_solutions_total", &[]), 1.0);
    assert_eq!(s("regsolver_submissions_total", &[("outcome", "registered")]), 2.0);
    assert_eq!(s("regsolver_submissions_total", &[("outcome", "stale")]), 1.0);
    assert_eq!(s("regsolver_registrations_total", &[("route", "pow")]), 1.0);
    assert_eq!(s("regsolver_registrations_total", &[("route", "burn")]), 1.0);
    assert_eq!(s("regsolver_burned_rao_total", &[]), 500_000_123.0);
    assert_eq!(s("regsolver_block_number", &[]), 4_200_000.0);
    assert!(s("regsolver_block_age_seconds", &[]) >= 0.0);
    assert!(s("regsolver_heartbeat_age_seconds", &[]) >= 0.0);
    assert_eq!(s("regsolver_difficulty", &[]), 18_446_744.0);
    assert_eq!(s("regsolver_expected_seconds_to_seal", &[]), 93.0);
    assert_eq!(s("regsolver_job_switch_milliseconds_count", &[]), 1.0);
    assert_eq!(s("regsolver_job_switch_milliseconds_bucket", &[("le", "20")]), 1.0);
    assert_eq!(s("regsolver_job_switch_milliseconds_bucket", &[("le", "10")]), 0.0);
    assert_eq!(s("regsolver_chain_connected", &[]), 1.0);
    assert_eq!(s("regsolver_reconnects_total", &[]), 1.0);
    assert_eq!(s("regsolver_worker_hashrate_hashes_per_second", &[("worker", "rig-7")]), 2.0e9);
    assert!(body.contains("# HELP regsolver_compute_errors_total"), "{body}");
    assert!(body.contains("# TYPE regsolver_job_switch_milliseconds histogram"), "{body}");

    t.on_connection(false);
    let (_, body) = get(addr, "/metrics").await;
    assert_eq!(sample(&body, "regsolver_chain_connected", &[]), Some(0.0));
    let (status, _) = get(addr, "/nope").await;
    assert_eq!(status, 404);
    t.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_until_following_then_503_when_the_heartbeat_goes_stale() {
    let limits = HealthLimits { heartbeat_stale: Duration::from_millis(300), block_stale: Duration::from_secs(3600) };
    let t = Telemetry::install(loopback(), limits).await.unwrap();
    let addr = t.local_addr().unwrap();
    let healthz = move || get(addr, "/healthz");

    let (status, body) = healthz().await;
    assert_eq!(status, 503, "no heartbeat yet: {body}");
    t.heartbeat();
    let (status, body) = healthz().await;
    assert_eq!((status, body.contains("no block")), (503, true), "{body}");

    t.heartbeat();
    t.on_block(1);
    let (status, body) = healthz().await;
    assert_eq!(status, 200, "{body}");

    // No more heartbeats: wait until it is stale. Polling with a bound, asserting the state
    // change, never a duration.
    let mut last = (status, body);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = healthz().await;
        if last.0 == 503 {
            break;
        }
    }
    assert_eq!(last.0, 503, "the heartbeat never went stale: {}", last.1);
    assert!(last.1.contains("heartbeat"), "{}", last.1);

    t.heartbeat();
    let (status, _) = healthz().await;
    assert_eq!(status, 200, "a fresh heartbeat makes it healthy again");
    t.shutdown();
}

#[tokio::test]
async fn busy_port_is_an_error_naming_the_address() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap();
    let err = Telemetry::install(taken, HealthLimits::default()).await.unwrap_err();
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
}

#[test]
fn two_telemetries_in_one_process_keep_their_own_series() {
    let a = Telemetry::new(HealthLimits::default()).unwrap();
    let b = Telemetry::new(HealthLimits::default()).unwrap();
    a.on_block(10);
    b.on_block(20);
    assert_eq!(sample(&a.render(), "regsolver_block_number", &[]), Some(10.0));
    assert_eq!(sample(&b.render(), "regsolver_block_number", &[]), Some(20.0));
}

/// Every series the Grafana dashboard queries is one the daemon exports (and the dashboard
/// covers hashrate per device, block age, submissions by outcome, compute errors, connection).
#[test]
fn grafana_dashboard_queries_only_exported_series() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let t = Telemetry::new(HealthLimits::default()).unwrap();
    t.on_block(1);
    t.heartbeat();
    t.on_job(1, 1.0, 1.0);
    t.on_devices(&[device("cpu", true, 1)]);
    t.on_workers(&[WorkerFigures { worker: "w".into(), rate_60s: 1.0 }]);
    t.on_solution();
    t.on_submission("registered");
    t.on_registration("burn", 1);
    t.on_connection(true);
    t.on_reconnect();
    let exported = t.render();
    let mut queried = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("regsolver_") {
                let name: String = expr[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                assert!(
                    exported.lines().any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
                    "dashboard queries {name}, not exported"
                );
                queried.push(name);
            }
        }
    }
    for needed in [
        "regsolver_hashrate_hashes_per_second",
        "regsolver_block_age_seconds",
        "regsolver_submissions_total",
        "regsolver_compute_errors_total",
        "regsolver_chain_connected",
    ] {
        assert!(queried.iter().any(|q| q == needed), "dashboard lacks {needed}");
    }
}
