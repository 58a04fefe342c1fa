//! The fleet wire protocol, shared by coordinator and worker: JSON-RPC 2.0 over WebSocket
//! (jsonrpsee), protocol version [`PROTOCOL_VERSION`].
//!
//! The upgrade request carries `Authorization: Bearer TOKEN` when the coordinator has a token.
//! After the upgrade a worker calls, in order:
//!
//! | method | params | result |
//! |---|---|---|
//! | `fleet_hello` | `version: u32, name: string, devices: [string]` | [`Welcome`] `{session, slice_index}`; another version is refused with an error naming both |
//! | `fleet_subscribeJobs` (notifications `fleet_job`, unsubscribe `fleet_unsubscribeJobs`) | none | a [`FleetJob`] each time the coordinator builds one, `null` when there is no job |
//! | `fleet_submitCandidates` | `job_id: u64, nonces: [u64]` | [`SubmitReceipt`] |
//! | `fleet_reportHashrate` | `rates: [DeviceRate]` | `null` |
//!
//! Read-only, without hello (for `regsolver status --fleet`): `fleet_workers` -> [`WorkerStatus`]s
//! (a snapshot the coordinator builds at most once a second). Rates are finite, non-negative and
//! at most [`MAX_DEVICE_RATE`] per device; a reader takes anything else as 0 ([`rate`]).
//! Batches of more than [`MAX_BATCH`] calls are refused.
//! Methods added later are additive (an older worker never calls them); a change to an existing
//! method or message bumps [`PROTOCOL_VERSION`].
//!
//! A job is the pure description of the search, never a secret: scheme, challenge bytes (the
//! 123-byte `pow_register` prefix of public keys, or the 32-byte `keccak(block ‖ key)`), seal
//! byte order, difficulty, and the worker's own slice of the position ring
//! (`[start_position, start_position + 2^SLICE_BITS)`, see [`crate::pow::hotloop`]).
//! u64 values (job ids, positions, nonces) are JSON numbers and exact.

use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::pow::hotloop::HotLoop;
use crate::pow::{ByteOrder, Challenge, Scheme, Target, POW_REGISTER_PREFIX_LEN};

/// The protocol version a worker must speak; `fleet_hello` refuses any other.
pub const PROTOCOL_VERSION: u32 = 1;

/// log2 of the positions in one worker's slice: slice `i` starts at `base + i * 2^56`, so up to
/// 256 slices (slice 0 is the coordinator's own devices) never overlap.
pub const SLICE_BITS: u32 = 56;

/// Slices a coordinator can hand out: 1..=255 (0 is its own devices).
pub const MAX_SLICES: u32 = 1 << (64 - SLICE_BITS);

/// The most hashes per second one device can report (far above any chip: 10^13 is about a
/// thousand of today's fastest GPUs); higher reports are cut to it.
pub const MAX_DEVICE_RATE: f64 = 1e13;

/// Most calls in one JSON-RPC batch (workers and `status` send none).
pub const MAX_BATCH: u32 = 8;

/// A reported rate as it is kept: finite, at least 0, at most [`MAX_DEVICE_RATE`]; NaN, negative
/// and infinite reports are 0.
pub fn sane_rate(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate.min(MAX_DEVICE_RATE)
    } else {
        0.0
    }
}

/// Rates added without ever reaching infinity (each is finite; the sum stops at `f64::MAX`).
pub fn saturating_sum(rates: impl IntoIterator<Item = f64>) -> f64 {
    rates.into_iter().fold(0.0, |sum, rate| (sum + rate).min(f64::MAX))
}

/// Reads a rate whatever the other side wrote: a number is kept if finite and not negative,
/// anything else (`null`, a string, a negative) is 0. A coordinator of an older release sends
/// `null` for a sum that overflowed.
pub fn rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(value.as_f64().filter(|r| r.is_finite() && *r >= 0.0).unwrap_or(0.0))
}

/// JSON-RPC error codes of the fleet methods (application range).
pub mod codes {
    /// `fleet_hello` with another protocol version.
    pub const VERSION_MISMATCH: i32 = -32001;
    /// A method other than `fleet_hello` before `fleet_hello`.
    pub const NO_HELLO: i32 = -32002;
    /// Every slice of the position ring is taken.
    pub const FLEET_FULL: i32 = -32003;
    /// More candidates than the per-worker rate allows; the call's nonces were dropped.
    pub const RATE_LIMITED: i32 = -32004;
    /// Too many candidates failed verification; the connection is closed.
    pub const TOO_MANY_COMPUTE_ERRORS: i32 = -32005;
}

/// The fleet's JSON-RPC interface; the macro generates `FleetApiServer` (coordinator) and
/// `FleetApiClient` (worker, on jsonrpsee's WebSocket client).
#[rpc(server, client, namespace = "fleet")]
pub trait FleetApi {
    /// Introduces a worker; must come first on a connection.
    #[method(name = "hello", with_extensions)]
    fn hello(&self, version: u32, name: String, devices: Vec<String>) -> Result<Welcome, ErrorObjectOwned>;

    /// The current job at once, then every new one; `null` while there is none.
    #[subscription(name = "subscribeJobs" => "job", unsubscribe = "unsubscribeJobs", item = Option<FleetJob>, with_extensions)]
    async fn subscribe_jobs(&self) -> SubscriptionResult;

    /// Nonces found for `job_id`; the coordinator re-verifies every one.
    #[method(name = "submitCandidates", with_extensions)]
    fn submit_candidates(&self, job_id: u64, nonces: Vec<u64>) -> Result<SubmitReceipt, ErrorObjectOwned>;

    /// The worker's per-device hashrate, every few seconds.
    #[method(name = "reportHashrate", with_extensions)]
    fn report_hashrate(&self, rates: Vec<DeviceRate>) -> Result<(), ErrorObjectOwned>;

    /// Read-only: the connected workers (a JSON array of [`WorkerStatus`], built at most once a
    /// second), for `regsolver status --fleet`; needs no hello. Raw JSON both ways: the
    /// coordinator answers from its snapshot, the reader parses each row on its own.
    #[method(name = "workers")]
    fn workers(&self) -> Result<Box<RawValue>, ErrorObjectOwned>;
}

/// One connected worker as `fleet_workers` reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    pub name: String,
    /// The worker's address as the coordinator sees it (`ip:port`).
    pub address: String,
    pub devices: Vec<String>,
    /// The worker's latest per-device report.
    pub hashrate: Vec<DeviceRate>,
    /// Their sum.
    #[serde(deserialize_with = "rate")]
    pub hashes_per_second: f64,
    /// Milliseconds since the worker's last call.
    pub last_seen_ms: u64,
    /// Candidates the coordinator's CPU rejected.
    pub compute_errors: u64,
    /// Candidates passed on to the daemon's verification.
    pub candidates_forwarded: u64,
    pub slice_index: u32,
}

/// `fleet_hello`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The coordinator's id for this connection (for logs).
    pub session: u64,
    /// Which slice of the position ring this worker searches (1..=255).
    pub slice_index: u32,
}

/// `fleet_submitCandidates`' answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReceipt {
    /// Passed on to the coordinator's own verification (valid for a job it published).
    pub forwarded: u32,
    /// For a job id the coordinator no longer (or never) published: dropped.
    pub stale: u32,
    /// Whose seal the coordinator's CPU rejects: counted as compute errors.
    pub invalid: u32,
}

/// One device's hashrate, as a worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRate {
    /// The device's tag on the worker (`cpu`, `cuda:0`).
    pub device: String,
    #[serde(deserialize_with = "rate")]
    pub hashes_per_second: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Scheme", rename_all = "kebab-case")]
enum SchemeWire {
    PowRegister,
    Legacy,
    Faucet,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "ByteOrder")]
enum ByteOrderWire {
    #[serde(rename = "le")]
    Little,
    #[serde(rename = "be")]
    Big,
}

/// One job as it travels: what to search, never how to sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetJob {
    /// The coordinator's job id; candidates name it.
    pub job_id: u64,
    #[serde(with = "SchemeWire")]
    pub scheme: Scheme,
    /// Hex: the 123-byte prefix (`pow-register`) or the 32-byte `keccak(block ‖ key)` (`legacy`, `faucet`).
    pub challenge: String,
    #[serde(with = "ByteOrderWire")]
    pub byte_order: ByteOrder,
    pub difficulty: u64,
    /// Where this worker's slice starts on the position ring (the coordinator publishes the
    /// job's base; each worker receives its own slice's start).
    pub start_position: u64,
}

/// A job a worker cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JobError {
    #[error("job {job_id}: challenge is not hex: {reason}")]
    NotHex { job_id: u64, reason: String },
    #[error("job {job_id}: a {scheme} challenge is {expected} bytes, got {got}")]
    ChallengeLength { job_id: u64, scheme: &'static str, expected: usize, got: usize },
    #[error("job {job_id}: difficulty must be at least 1")]
    ZeroDifficulty { job_id: u64 },
}

impl FleetJob {
    /// Describes `hot` (the job the coordinator's own pool runs) for workers.
    pub fn new(job_id: u64, scheme: Scheme, hot: &HotLoop, base_position: u64) -> Self {
        let challenge = match &hot.challenge {
            Challenge::PowRegister { prefix } => hex::encode(prefix),
            Challenge::Legacy { block_and_key_hash } => hex::encode(block_and_key_hash),
        };
        FleetJob { job_id, scheme, challenge, byte_order: hot.order, difficulty: hot.target.difficulty, start_position: base_position }
    }

    /// The same job for the worker that holds `slice_index`.
    pub fn for_slice(&self, slice_index: u32) -> FleetJob {
        let offset = u64::from(slice_index).checked_shl(SLICE_BITS).unwrap_or(0);
        FleetJob { start_position: self.start_position.wrapping_add(offset), ..self.clone() }
    }

    /// The hot loop a worker runs (and the coordinator re-verifies with).
    pub fn hot_loop(&self) -> Result<HotLoop, JobError> {
        let job_id = self.job_id;
        let bytes = hex::decode(&self.challenge).map_err(|e| JobError::NotHex { job_id, reason: e.to_string() })?;
        let length = |expected: usize| JobError::ChallengeLength { job_id, scheme: self.scheme.name(), expected, got: bytes.len() };
        let challenge = match self.scheme {
            Scheme::PowRegister => {
                let prefix: [u8; POW_REGISTER_PREFIX_LEN] = bytes.as_slice().try_into().map_err(|_| length(POW_REGISTER_PREFIX_LEN))?;
                Challenge::PowRegister { prefix }
            }
            Scheme::Legacy | Scheme::Faucet => {
                let block_and_key_hash: [u8; 32] = bytes.as_slice().try_into().map_err(|_| length(32))?;
                Challenge::Legacy { block_and_key_hash }
            }
        };
        let target = Target::from_difficulty(self.difficulty).map_err(|_| JobError::ZeroDifficulty { job_id })?;
        Ok(HotLoop::new(challenge, target, self.byte_order))
    }
}

/// The error `fleet_hello` answers a worker of another version with.
pub fn version_mismatch(worker_version: u32) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        codes::VERSION_MISMATCH,
        format!("fleet protocol version mismatch: worker speaks version {worker_version}, this coordinator speaks version {PROTOCOL_VERSION}; run the same regsolver release on both"),
        None::<()>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hot(challenge: Challenge, order: ByteOrder) -> HotLoop {
        HotLoop::new(challenge, Target::from_difficulty(12345).unwrap(), order)
    }

    #[test]
    fn a_job_survives_the_wire_for_every_scheme() {
        let cases = [
            (Scheme::PowRegister, hot(Challenge::pow_register(3, &[1; 32], &[2; 32], &[3; 32]).unwrap(), ByteOrder::Little)),
            (Scheme::Legacy, hot(Challenge::legacy(&[4; 32], &[5; 32]), ByteOrder::Big)),
            (Scheme::Faucet, hot(Challenge::legacy(&[6; 32], &[7; 32]), ByteOrder::Little)),
        ];
        for (scheme, hot) in cases {
            let job = FleetJob::new(9, scheme, &hot, 77);
            let text = serde_json::to_string(&job).unwrap();
            let back: FleetJob = serde_json::from_str(&text).unwrap();
            assert_eq!(back, job);
            let rebuilt = back.hot_loop().unwrap();
            assert_eq!(rebuilt.challenge, hot.challenge);
            assert_eq!(rebuilt.order, hot.order);
            assert_eq!(rebuilt.target, hot.target);
            assert_eq!(rebuilt.layout, hot.layout);
        }
    }

    #[test]
    fn the_wire_names_scheme_and_byte_order_as_the_cli_does() {
        let job = FleetJob::new(
            1,
            Scheme::PowRegister,
            &hot(Challenge::pow_register(3, &[1; 32], &[2; 32], &[3; 32]).unwrap(), ByteOrder::Little),
            0,
        );
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(value["scheme"], "pow-register");
        assert_eq!(value["byte_order"], "le");
        assert_eq!(value["challenge"].as_str().unwrap().len(), 2 * POW_REGISTER_PREFIX_LEN);
    }

    #[test]
    fn slices_do_not_overlap_and_wrap_on_the_ring() {
        let job = FleetJob::new(1, Scheme::Legacy, &hot(Challenge::legacy(&[4; 32], &[5; 32]), ByteOrder::Little), u64::MAX - 1);
        assert_eq!(job.for_slice(0).start_position, u64::MAX - 1);
        assert_eq!(job.for_slice(1).start_position, (1u64 << SLICE_BITS) - 2);
        let starts: std::collections::HashSet<u64> = (0..MAX_SLICES).map(|i| job.for_slice(i).start_position >> SLICE_BITS).collect();
        assert_eq!(starts.len(), MAX_SLICES as usize);
    }

    #[test]
    fn malformed_jobs_are_clear_errors() {
        let good = FleetJob::new(5, Scheme::Legacy, &hot(Challenge::legacy(&[4; 32], &[5; 32]), ByteOrder::Little), 0);
        let short = FleetJob { challenge: "abcd".into(), ..good.clone() };
        assert_eq!(short.hot_loop().unwrap_err(), JobError::ChallengeLength { job_id: 5, scheme: "legacy", expected: 32, got: 2 });
        let pow = FleetJob { scheme: Scheme::PowRegister, ..good.clone() };
        assert!(matches!(pow.hot_loop().unwrap_err(), JobError::ChallengeLength { expected: 123, .. }));
        let not_hex = FleetJob { challenge: "zz".into(), ..good.clone() };
        assert!(matches!(not_hex.hot_loop().unwrap_err(), JobError::NotHex { .. }));
        let zero = FleetJob { difficulty: 0, ..good };
        assert_eq!(zero.hot_loop().unwrap_err(), JobError::ZeroDifficulty { job_id: 5 });
    }

    #[test]
    fn rates_are_read_and_kept_finite_and_bounded() {
        let row = r#"{"name":"x","address":"a","devices":[],"hashrate":[{"device":"d","hashes_per_second":null}],
            "hashes_per_second":null,"last_seen_ms":0,"compute_errors":0,"candidates_forwarded":0,"slice_index":1}"#;
        let status: WorkerStatus = serde_json::from_str(row).expect("null rates are read as 0");
        assert_eq!((status.hashes_per_second, status.hashrate[0].hashes_per_second), (0.0, 0.0));
        let device: DeviceRate = serde_json::from_str(r#"{"device":"d","hashes_per_second":-5}"#).unwrap();
        assert_eq!(device.hashes_per_second, 0.0);
        assert_eq!(sane_rate(1.7e308), MAX_DEVICE_RATE);
        assert_eq!((sane_rate(f64::NAN), sane_rate(-1.0), sane_rate(f64::INFINITY), sane_rate(5.0)), (0.0, 0.0, 0.0, 5.0));
        assert_eq!(saturating_sum([1.7e308, 1.7e308]), f64::MAX);
        assert_eq!(saturating_sum([1.0, 2.0]), 3.0);
    }

    #[test]
    fn a_version_mismatch_names_both_versions() {
        let err = version_mismatch(PROTOCOL_VERSION + 1);
        assert_eq!(err.code(), codes::VERSION_MISMATCH);
        assert!(err.message().contains(&format!("version {}", PROTOCOL_VERSION + 1)));
        assert!(err.message().contains(&format!("version {PROTOCOL_VERSION}")));
    }
}
