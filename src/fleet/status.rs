//! What the operator sees of a fleet: the coordinator's status-line text and metrics figures
//! (from [`super::Coordinator::workers`]), and `regsolver status --fleet URL`, which asks a
//! coordinator's read-only `fleet_workers` and prints a table.

use std::time::Duration;

use super::protocol::{saturating_sum, FleetApiClient, WorkerStatus};
use super::worker::connect;
use super::{FleetError, Token, WorkerInfo};
use crate::solver::hashrate::format_rate;
use crate::telemetry::metrics::WorkerFigures;

/// The fleet's part of the daemon's status line: `fleet 3 workers 1.20 M/s (rig-a 600.00 k,
/// rig-b 600.00 k, rig-c 0, 2 errors)`; `fleet 0 workers` when none is connected.
pub fn status_line(workers: &[WorkerInfo]) -> String {
    let total = saturating_sum(workers.iter().map(WorkerInfo::hashes_per_second));
    let plural = if workers.len() == 1 { "" } else { "s" };
    if workers.is_empty() {
        return "fleet 0 workers".into();
    }
    let each: Vec<String> = workers
        .iter()
        .map(|w| match w.compute_errors {
            0 => format!("{} {}", w.name, format_rate(w.hashes_per_second())),
            n => format!("{} {}, {n} errors", w.name, format_rate(w.hashes_per_second())),
        })
        .collect();
    format!("fleet {} worker{plural} {}/s ({})", workers.len(), format_rate(total), each.join("; "))
}

/// Each worker's hashrate for [`crate::telemetry::metrics::Metrics::on_workers`].
pub fn figures(workers: &[WorkerInfo]) -> Vec<WorkerFigures> {
    workers.iter().map(|w| WorkerFigures { worker: w.name.clone(), rate_60s: w.hashes_per_second() }).collect()
}

/// Asks the coordinator at `url` for its workers (`fleet_workers`), within `timeout`. Rows that
/// do not read as a [`WorkerStatus`] are skipped (and counted in a warning): nothing a worker
/// said, and nothing an older coordinator passes on, fails the query.
pub async fn query_workers(
    url: &str,
    token: Option<&Token>,
    tls: Option<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<Vec<WorkerStatus>, FleetError> {
    let client = connect(url, token, tls, timeout).await?;
    let failed = |reason: String| FleetError::Connect { url: url.to_string(), reason };
    let raw = client.workers().await.map_err(|e| failed(e.to_string()))?;
    let (workers, skipped) = read_rows(raw.get()).map_err(failed)?;
    if skipped > 0 {
        tracing::warn!(skipped, "fleet_workers: rows that are not a worker's status were skipped");
    }
    Ok(workers)
}

/// `fleet_workers`' answer: the rows that read as a [`WorkerStatus`], and how many did not.
fn read_rows(json: &str) -> Result<(Vec<WorkerStatus>, usize), String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| format!("fleet_workers did not answer a list: {e}"))?;
    let total = rows.len();
    let workers: Vec<WorkerStatus> = rows.into_iter().filter_map(|row| serde_json::from_value(row).ok()).collect();
    let skipped = total - workers.len();
    Ok((workers, skipped))
}

/// The workers as a table for people, with the fleet's total.
pub fn workers_text(url: &str, workers: &[WorkerStatus]) -> String {
    let mut text = format!("fleet {url}: {} worker{}", workers.len(), if workers.len() == 1 { "" } else { "s" });
    let total = saturating_sum(workers.iter().map(|w| w.hashes_per_second));
    text.push_str(&format!(", {}/s in all\n", format_rate(total)));
    for w in workers {
        text.push_str(&format!(
            "  {:<20} {:<22} {:>12}/s  seen {:>5.1} s ago  errors {:<4} candidates {:<6} slice {:<3} devices {}\n",
            w.name,
            w.address,
            format_rate(w.hashes_per_second),
            w.last_seen_ms as f64 / 1e3,
            w.compute_errors,
            w.candidates_forwarded,
            w.slice_index,
            w.devices.join(",")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::DeviceRate;
    use std::time::Instant;

    fn worker(name: &str, rate: f64, errors: u64) -> WorkerInfo {
        WorkerInfo {
            name: name.into(),
            address: "127.0.0.1:5000".parse().unwrap(),
            devices: vec!["cpu:0".into()],
            hashrate: vec![DeviceRate { device: "cpu:0".into(), hashes_per_second: rate }],
            last_seen: Instant::now(),
            compute_errors: errors,
            candidates_forwarded: 0,
            slice_index: 1,
        }
    }

    #[test]
    fn the_status_line_names_each_worker_and_the_total() {
        assert_eq!(status_line(&[]), "fleet 0 workers");
        let line = status_line(&[worker("rig-a", 600_000.0, 0), worker("rig-b", 600_000.0, 2)]);
        assert_eq!(line, "fleet 2 workers 1.20 M/s (rig-a 600.00 k; rig-b 600.00 k, 2 errors)");
        assert_eq!(figures(&[worker("rig-a", 5.0, 0)]), vec![WorkerFigures { worker: "rig-a".into(), rate_60s: 5.0 }]);
    }

    #[test]
    fn absurd_or_broken_rows_never_fail_the_table() {
        let json = r#"[{"name":"x","address":"a","devices":[],"hashrate":[],"hashes_per_second":null,"last_seen_ms":0,
            "compute_errors":0,"candidates_forwarded":0,"slice_index":1}, {"name": 5}, 7]"#;
        let (rows, skipped) = read_rows(json).unwrap();
        assert_eq!((rows.len(), skipped, rows[0].hashes_per_second), (1, 2, 0.0));
        assert!(read_rows("{}").is_err());
        let mut huge = worker("big", 0.0, 0).status(Instant::now());
        huge.hashes_per_second = f64::MAX;
        let text = workers_text("ws://c:7733", &[huge.clone(), huge]);
        assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
    }

    #[test]
    fn the_table_lists_every_worker() {
        let now = Instant::now();
        let rows = [worker("rig-a", 2_000.0, 0).status(now), worker("rig-b", 1_000.0, 3).status(now)];
        let text = workers_text("ws://c:7733", &rows);
        assert!(text.starts_with("fleet ws://c:7733: 2 workers, 3.00 k/s in all\n"), "{text}");
        assert!(text.contains("rig-b") && text.contains("errors 3"), "{text}");
    }
}
