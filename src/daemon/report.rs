//! What the user sees: one JSON event per line on stdout (`--json`, with a `hashrate` event every
//! few seconds), or log lines, plus a live status line on a terminal (network, subnet, scheme,
//! difficulty, block, hashrates, expected time to a seal, elapsed).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::info;

use super::HotkeyResult;
use crate::pow::{ByteOrder, Scheme};
use crate::fleet::status as fleet_status;
use crate::fleet::{Coordinator, WorkerInfo};
use crate::solver::hashrate::format_rate;
use crate::solver::pool::Pool;

/// Something the daemon did, in the order it happened.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Connected { endpoint: String, genesis: String, spec_version: u32, scheme: Scheme, byte_order: ByteOrder },
    /// A new job on every device; `switch_ms`: from the node's new-head notification (before the
    /// block's runtime and registration state were read) to the job in the pool's slot.
    Job { hotkey: String, block: u64, difficulty: u64, switch_ms: f64 },
    Solution { block: u64, nonce: u64, seal: String, device: String },
    Stale { block: u64, best: u64, nonce: u64 },
    Submitting { hotkey: String, block: u64, nonce: u64 },
    /// `--dry-run`: the signed extrinsic that would have been sent, and its decoded fields.
    DryRun { hotkey: String, extrinsic: String, decoded: serde_json::Value },
    Outcome { block: u64, extrinsic: String, outcome: String },
    AlreadyRegistered { hotkey: String, ss58: String, uid: u16 },
    Registered(HotkeyResult),
    /// `--json`, every [`HASHRATE_INTERVAL`]: positions searched since the devices started
    /// (monotonic: rates over any span are differences) and each device's 10-second rate.
    Hashrate { elapsed_s: f64, hashes: u64, seals_per_second: f64, devices: Vec<DeviceRate> },
}

/// One device in a [`Event::Hashrate`].
#[derive(Clone, Debug, Serialize)]
pub struct DeviceRate {
    pub tag: String,
    pub hashes: u64,
    /// Over the last 10 s.
    pub seals_per_second: f64,
}

/// How often `--json` reports the devices' hashrate.
pub const HASHRATE_INTERVAL: Duration = Duration::from_secs(5);

/// Where events go. Cheap to clone; the status line shares it.
#[derive(Clone)]
pub struct Reporter {
    json: bool,
    live: Arc<Mutex<Live>>,
}

/// The figures of the live status line.
#[derive(Default)]
struct Live {
    scheme: Option<Scheme>,
    block: Option<u64>,
    difficulty: Option<u64>,
    /// Whether a status line is on screen (it is erased before anything else is printed).
    shown: bool,
}

impl Reporter {
    pub fn new(json: bool) -> Self {
        Reporter { json, live: Arc::new(Mutex::new(Live::default())) }
    }

    pub fn emit(&self, event: Event) {
        {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            match &event {
                Event::Connected { scheme, .. } => live.scheme = Some(*scheme),
                Event::Job { block, difficulty, .. } => {
                    live.block = Some(*block);
                    live.difficulty = Some(*difficulty);
                }
                _ => {}
            }
            if live.shown {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
                live.shown = false;
            }
        }
        if self.json {
            if let Ok(line) = serde_json::to_string(&event) {
                out(format_args!("{line}"));
            }
            return;
        }
        match event {
            Event::Connected { endpoint, genesis, spec_version, scheme, byte_order } => {
                info!(%endpoint, %genesis, spec_version, scheme = scheme.name(), byte_order = ?byte_order, "connected")
            }
            Event::Job { hotkey, block, difficulty, switch_ms } => info!(%hotkey, block, difficulty, "mining block {block} ({switch_ms:.1} ms to switch)"),
            Event::Solution { block, nonce, device, .. } => info!(block, nonce, device = %device, "solution found"),
            Event::Stale { block, best, nonce } => info!(block, best, nonce, "solution for block {block} is outside the window at best block {best}; dropped, not sent"),
            Event::Submitting { hotkey, block, nonce } => info!(%hotkey, block, nonce, "submitting"),
            Event::DryRun { hotkey, extrinsic, decoded } => out(format_args!(
                "{hotkey}: dry run, nothing sent. The extrinsic would be:\n{extrinsic}\n{}",
                serde_json::to_string_pretty(&decoded).unwrap_or_default()
            )),
            Event::Outcome { block, extrinsic, outcome } => info!(block, %extrinsic, "outcome: {outcome}"),
            Event::AlreadyRegistered { hotkey, ss58, uid } => out(format_args!("{hotkey} ({ss58}): already registered, UID {uid}")),
            Event::Hashrate { hashes, seals_per_second, .. } => info!(hashes, "{}/s", format_rate(seals_per_second)),
            Event::Registered(r) => out(format_args!(
                "{} ({}): registered UID {} at block {} nonce {} extrinsic {}",
                r.hotkey,
                r.ss58,
                r.uid.map_or("?".to_string(), |u| u.to_string()),
                r.block.map_or("?".to_string(), |b| b.to_string()),
                r.nonce.map_or("?".to_string(), |n| n.to_string()),
                r.extrinsic.as_deref().unwrap_or("?")
            )),
        }
    }

    /// On a terminal (and not `--json`), redraws one status line every second until the pool
    /// stops. With `--json`, emits a `hashrate` event every [`HASHRATE_INTERVAL`] instead.
    /// Elsewhere it does nothing: log lines say the same at each event.
    pub fn spawn_status_line(&self, pool: Arc<Pool>, network: String, netuid: u16, fleet: Option<Arc<Coordinator>>) {
        if self.json {
            self.spawn_hashrate_events(pool);
            return;
        }
        if !std::io::stderr().is_terminal() {
            return;
        }
        let live = self.live.clone();
        let started = Instant::now();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let devices = pool.snapshot();
                let workers = fleet.as_ref().map(|c| c.workers());
                let fleet_rate: f64 = workers.iter().flatten().map(WorkerInfo::hashes_per_second).sum();
                let total: f64 = devices.iter().map(|d| d.rate_10s).sum::<f64>() + fleet_rate;
                let mut each: Vec<String> = devices.iter().filter(|d| d.rate_10s > 0.0).map(|d| format!("{} {}", d.tag, format_rate(d.rate_10s))).collect();
                if let Some(workers) = &workers {
                    each.push(fleet_status::status_line(workers));
                }
                let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
                let expected = match (live.difficulty, total > 0.0) {
                    (Some(d), true) => format_duration(d as f64 / total),
                    _ => "-".into(),
                };
                let line = format!(
                    "{network} subnet {netuid} {} | block {} | difficulty {} | {}/s ({}) | expected {} | {}",
                    live.scheme.map_or("-", |s| s.name()),
                    live.block.map_or("-".into(), |b| b.to_string()),
                    live.difficulty.map_or("-".into(), |d| d.to_string()),
                    format_rate(total),
                    each.join(", "),
                    expected,
                    format_duration(started.elapsed().as_secs_f64()),
                );
                let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
                live.shown = true;
            }
        });
    }

    fn spawn_hashrate_events(&self, pool: Arc<Pool>) {
        let reporter = self.clone();
        let started = Instant::now();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + HASHRATE_INTERVAL, HASHRATE_INTERVAL);
            loop {
                tick.tick().await;
                let devices: Vec<DeviceRate> =
                    pool.snapshot().into_iter().map(|d| DeviceRate { tag: d.tag, hashes: d.hashes, seals_per_second: d.rate_10s }).collect();
                reporter.emit(Event::Hashrate {
                    elapsed_s: started.elapsed().as_secs_f64(),
                    hashes: devices.iter().map(|d| d.hashes).sum(),
                    seals_per_second: devices.iter().map(|d| d.seals_per_second).sum(),
                    devices,
                });
            }
        });
    }
}

/// One line on stdout. A closed or full stdout (a reader that went away, a full disk) loses the
/// line, never the daemon: `println!` would panic.
fn out(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(line).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
}

/// `42 s`, `3 min 20 s`, `5 h 12 min`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_a_person_expects() {
        assert_eq!(format_duration(42.4), "42 s");
        assert_eq!(format_duration(200.0), "3 min 20 s");
        assert_eq!(format_duration(18_720.0), "5 h 12 min");
    }
}
