//! What the user sees: one JSON event per line on stdout (`--json`, with a `hashrate` event every
//! few seconds), or log lines, plus a live status line on a terminal (network, subnet, scheme,
//! then the [`Glance`] systemd's `STATUS=` shows too, then the time elapsed).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tracing::info;

use super::HotkeyResult;
use crate::fleet::status as fleet_status;
use crate::fleet::WorkerInfo;
use crate::pow::{ByteOrder, Scheme};
use crate::solver::hashrate::format_rate;
use crate::solver::pool::DeviceSnapshot;
use crate::solver::search_loop::progress;
use crate::sync::lock;

/// Something the daemon did, in the order it happened. `block` is always the work block (the
/// block whose hash the seal binds); the block an extrinsic was included in is named as such in
/// the outcome's text.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `network`: the chain's name by its genesis (`finney`, `test`, or `custom`). `scheme` and
    /// `byte_order` are absent where the runtime offers no proof of work and only the burn route
    /// (`--burn-max`) is open.
    Connected {
        network: &'static str,
        endpoint: String,
        genesis: String,
        spec_version: u32,
        scheme: Option<Scheme>,
        byte_order: Option<ByteOrder>,
    },
    /// A new job on every device; `switch_ms`: from the node's new-head notification (before the
    /// block's runtime and registration state were read) to the job in the pool's slot.
    Job {
        hotkey: String,
        block: u64,
        difficulty: u64,
        switch_ms: f64,
    },
    Solution {
        block: u64,
        nonce: u64,
        seal: String,
        device: String,
    },
    Stale {
        block: u64,
        best: u64,
        nonce: u64,
    },
    Submitting {
        hotkey: String,
        block: u64,
        nonce: u64,
    },
    /// A burn registration sent (signed at `block`): the price read there, the fee, the cap.
    Burning {
        hotkey: String,
        block: u64,
        price_tao: String,
        fee_tao: String,
        max_tao: String,
    },
    /// `--dry-run`: the signed extrinsic that would have been sent, and its decoded fields.
    DryRun {
        hotkey: String,
        extrinsic: String,
        decoded: serde_json::Value,
    },
    Outcome {
        block: u64,
        extrinsic: String,
        outcome: String,
    },
    AlreadyRegistered {
        hotkey: String,
        ss58: String,
        uid: u16,
    },
    Registered(HotkeyResult),
    /// `--json`, every [`HASHRATE_EVERY_S`] seconds: positions searched since the devices started
    /// (monotonic: rates over any span are differences) and each device's 10-second rate.
    Hashrate {
        elapsed_s: f64,
        hashes: u64,
        seals_per_second: f64,
        devices: Vec<DeviceRate>,
    },
}

/// One device in a [`Event::Hashrate`].
#[derive(Clone, Debug, Serialize)]
pub struct DeviceRate {
    pub tag: String,
    pub hashes: u64,
    /// Over the last 10 s.
    pub seals_per_second: f64,
}

/// How often `--json` reports the devices' hashrate, in seconds (samples of the daemon's figures
/// are one a second: [`Reporter::sample`]).
pub const HASHRATE_EVERY_S: u64 = 5;

/// One sample of the daemon's figures, as both status lines show it (the terminal's and
/// systemd's `STATUS=`): `block 4521 | difficulty 10000000 | 13.10 M/s | expected 1 s`. The rate
/// is split by device where more than one kind searches (CPU threads summed under `cpu`:
/// `10.00 M/s: cpu 2.00 M/s, cuda:0 8.00 M/s`); a coordinator's line gives the total, then the
/// local devices' part and its fleet's.
pub struct Glance<'a> {
    /// The best block followed.
    pub block: Option<u64>,
    /// The difficulty of the job being searched.
    pub difficulty: Option<u64>,
    pub devices: &'a [DeviceSnapshot],
    /// A coordinator's remote workers.
    pub workers: Option<&'a [WorkerInfo]>,
    /// Once a burn was sent: its price and the RAO burned so far (`| burn 0.3 TAO, burned 0.3 TAO`).
    pub burn: Option<(u64, u64)>,
}

impl Glance<'_> {
    /// Local devices and remote workers, over the last 10 s.
    pub fn total_rate(&self) -> f64 {
        let fleet: f64 = self.workers.iter().flat_map(|w| w.iter()).map(WorkerInfo::hashes_per_second).sum();
        self.devices.iter().map(|d| d.rate_10s).sum::<f64>() + fleet
    }

    pub fn text(&self) -> String {
        let dash = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
        let (total, local) = (self.total_rate(), progress(self.devices).1);
        let rates = match self.workers {
            None => local,
            Some(workers) if self.devices.is_empty() => format!("{}/s | {}", format_rate(total), fleet_status::status_line(workers)),
            Some(workers) => format!("{}/s | local {local} | {}", format_rate(total), fleet_status::status_line(workers)),
        };
        let line = format!("block {} | difficulty {} | {rates}", dash(self.block), dash(self.difficulty));
        let expected = match self.difficulty.map(|d| crate::pow::expected_seconds(d, total)) {
            Some(s) if s > 0.0 => format_duration(s),
            _ => "-".into(),
        };
        let burn = self.burn.map_or(String::new(), |(price, burned)| {
            format!(
                " | burn {} TAO, burned {} TAO",
                crate::burn::format_tao(u128::from(price)),
                crate::burn::format_tao(u128::from(burned))
            )
        });
        format!("{line} | expected {expected}{burn}")
    }
}

/// Where events go. Cheap to clone.
#[derive(Clone)]
pub struct Reporter {
    json: bool,
    /// `finney subnet 1`: what the terminal's status line starts with.
    title: Arc<str>,
    /// Whether a status line is drawn (not `--json`, stderr a terminal).
    terminal: bool,
    started: Instant,
    live: Arc<Mutex<Live>>,
}

/// What the terminal's status line keeps between samples.
#[derive(Default)]
struct Live {
    scheme: Option<Scheme>,
    /// Whether a status line is on screen (it is erased before anything else is printed).
    shown: bool,
}

impl Reporter {
    pub fn new(json: bool, title: &str) -> Self {
        let terminal = !json && std::io::stderr().is_terminal();
        Reporter { json, title: title.into(), terminal, started: Instant::now(), live: Arc::new(Mutex::new(Live::default())) }
    }

    pub fn emit(&self, event: Event) {
        {
            let mut live = lock(&self.live);
            if let Event::Connected { scheme, .. } = &event {
                live.scheme = *scheme;
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
            Event::Connected { network, endpoint, genesis, spec_version, scheme, byte_order } => {
                info!(network, %endpoint, %genesis, spec_version, scheme = scheme.map_or("burn only", |s| s.name()), byte_order = ?byte_order, "connected")
            }
            Event::Job { hotkey, block, difficulty, switch_ms } => {
                info!(%hotkey, work_block = block, difficulty, "mining work block {block} ({switch_ms:.1} ms to switch)")
            }
            Event::Solution { block, nonce, device, .. } => info!(work_block = block, nonce, device = %device, "solution found"),
            Event::Stale { block, best, nonce } => info!(
                work_block = block,
                best, nonce, "solution for work block {block} is outside the window at best block {best}; dropped, not sent"
            ),
            Event::Submitting { hotkey, block, nonce } => info!(%hotkey, work_block = block, nonce, "submitting"),
            Event::Burning { hotkey, block, price_tao, fee_tao, max_tao } => {
                info!(%hotkey, block, "registering by burn: price {price_tao} TAO + fee {fee_tao} TAO (cap {max_tao} TAO)")
            }
            Event::DryRun { hotkey, extrinsic, decoded } => out(format_args!(
                "{hotkey}: dry run, nothing sent. The extrinsic would be:\n{extrinsic}\n{}",
                serde_json::to_string_pretty(&decoded).unwrap_or_default()
            )),
            Event::Outcome { block, extrinsic, outcome } => info!(work_block = block, %extrinsic, "outcome: {outcome}"),
            Event::AlreadyRegistered { hotkey, ss58, uid } => out(format_args!("{hotkey} ({ss58}): already registered, UID {uid}")),
            Event::Hashrate { hashes, seals_per_second, .. } => info!(hashes, "{}/s", format_rate(seals_per_second)),
            Event::Registered(r) if r.burned_tao.is_some() => out(format_args!(
                "{} ({}): registered UID {} by burn ({} TAO, signed at block {}) extrinsic {}",
                r.hotkey,
                r.ss58,
                r.uid.map_or("?".to_string(), |u| u.to_string()),
                r.burned_tao.as_deref().unwrap_or("?"),
                r.block.map_or("?".to_string(), |b| b.to_string()),
                r.extrinsic.as_deref().unwrap_or("?")
            )),
            Event::Registered(r) => out(format_args!(
                "{} ({}): registered UID {} with a seal on work block {}, nonce {}, extrinsic {}",
                r.hotkey,
                r.ss58,
                r.uid.map_or("?".to_string(), |u| u.to_string()),
                r.block.map_or("?".to_string(), |b| b.to_string()),
                r.nonce.map_or("?".to_string(), |n| n.to_string()),
                r.extrinsic.as_deref().unwrap_or("?")
            )),
        }
    }

    /// The sample of the daemon's figures taken `second` seconds after the first (one a second).
    /// On a terminal it redraws the status line; with `--json` every [`HASHRATE_EVERY_S`] seconds
    /// (not at 0) is a `hashrate` event. Elsewhere it does nothing: log lines say the same at each
    /// event.
    pub fn sample(&self, glance: &Glance<'_>, second: u64) {
        if self.json && second > 0 && second.is_multiple_of(HASHRATE_EVERY_S) {
            let devices: Vec<DeviceRate> =
                glance.devices.iter().map(|d| DeviceRate { tag: d.tag.clone(), hashes: d.hashes, seals_per_second: d.rate_10s }).collect();
            self.emit(Event::Hashrate {
                elapsed_s: self.started.elapsed().as_secs_f64(),
                hashes: devices.iter().map(|d| d.hashes).sum(),
                seals_per_second: devices.iter().map(|d| d.seals_per_second).sum(),
                devices,
            });
        }
        if !self.terminal {
            return;
        }
        let mut live = lock(&self.live);
        let scheme = live.scheme.map_or("-", |s| s.name());
        let line = format!("{} {scheme} | {} | {}", self.title, glance.text(), format_duration(self.started.elapsed().as_secs_f64()));
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        let _ = std::io::stderr().flush();
        live.shown = true;
    }
}

/// One line on stdout. A closed or full stdout (a reader that went away, a full disk) loses the
/// line, never the daemon: `println!` would panic.
fn out(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(line).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
}

/// `under 1 s` (anything that rounds to 0), `42 s`, `3 min 20 s`, `5 h 12 min`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0 => "under 1 s".to_string(),
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(tag: &str, backend: crate::solver::Backend, rate_10s: f64) -> DeviceSnapshot {
        DeviceSnapshot {
            tag: tag.into(),
            name: tag.into(),
            backend,
            state: crate::solver::pool::DeviceState::Running,
            idle: false,
            hashes: 0,
            rate_10s,
            rate_60s: rate_10s,
            rate_15m: rate_10s,
            compute_errors: 0,
            solutions: 0,
            stale: 0,
        }
    }

    #[test]
    fn the_glance_shows_block_difficulty_rates_and_the_expected_time() {
        use crate::solver::Backend;
        let devices = [device("cpu:0", Backend::Cpu, 1e6), device("cpu:1", Backend::Cpu, 1e6), device("cuda:0", Backend::Cuda, 8e6)];
        let glance = Glance { block: Some(4521), difficulty: Some(600_000_000), devices: &devices, workers: None, burn: None };
        assert_eq!(glance.total_rate(), 10e6);
        assert_eq!(glance.text(), "block 4521 | difficulty 600000000 | 10.00 M/s: cpu 2.00 M/s, cuda:0 8.00 M/s | expected 1 min 0 s");
        let unknown = Glance { block: None, difficulty: None, devices: &[], workers: None, burn: None };
        assert_eq!(unknown.text(), "block - | difficulty - | 0/s | expected -");
        let burning = Glance { burn: Some((300_000_000, 1_300_054_238)), ..unknown };
        assert_eq!(burning.text(), "block - | difficulty - | 0/s | expected - | burn 0.3 TAO, burned 1.300054238 TAO");
    }

    #[test]
    fn a_coordinators_glance_counts_its_fleet_in_the_total_and_the_expected_time() {
        use crate::fleet::DeviceRate;
        let worker = WorkerInfo {
            name: "rig-a".into(),
            address: "127.0.0.1:5000".parse().unwrap(),
            devices: vec!["cuda:0".into()],
            hashrate: vec![DeviceRate { device: "cuda:0".into(), hashes_per_second: 9e6 }],
            last_seen: Instant::now(),
            compute_errors: 0,
            candidates_forwarded: 0,
            slice_index: 1,
        };
        let workers = [worker];
        let devices = [device("cpu:0", crate::solver::Backend::Cpu, 1e6)];
        let both = Glance { block: Some(7), difficulty: Some(100_000_000), devices: &devices, workers: Some(&workers), burn: None };
        assert_eq!(
            both.text(),
            "block 7 | difficulty 100000000 | 10.00 M/s | local 1.00 M/s | fleet 1 worker 9.00 M/s (rig-a 9.00 M) | expected 10 s"
        );
        let fleet_only = Glance { devices: &[], ..both };
        assert_eq!(fleet_only.text(), "block 7 | difficulty 100000000 | 9.00 M/s | fleet 1 worker 9.00 M/s (rig-a 9.00 M) | expected 11 s");
    }

    #[test]
    fn figures_read_as_a_person_expects() {
        assert_eq!(format_duration(0.004), "under 1 s");
        assert_eq!(format_duration(0.6), "1 s");
        assert_eq!(format_duration(42.4), "42 s");
        assert_eq!(format_duration(200.0), "3 min 20 s");
        assert_eq!(format_duration(18_720.0), "5 h 12 min");
    }
}
