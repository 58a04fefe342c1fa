//! The CPU backend: run-time SIMD dispatch (AVX-512, AVX2, SHA-NI, scalar) over one inner loop,
//! the path chosen by measuring each one this CPU supports.
// Hot path: a truncating cast here once wrapped a run of 2^32 nonces to none (issue 10).
#![warn(clippy::cast_possible_truncation)]

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub(crate) mod choice;
pub(crate) mod features;
mod lanes;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod sha_ni;

use super::{Backend, Device, DeviceError, WorkerSpec};
use crate::pow::hotloop::{HotLoop, Unit};
pub use choice::measure_paths;
use features::Features;

/// The SIMD paths, slowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SimdLevel {
    /// Portable u32/u64 code, one nonce at a time.
    Scalar,
    /// One nonce at a time, SHA-256 on the SHA extensions.
    #[serde(rename = "sha-ni")]
    ShaNi,
    /// 8 SHA-256 lanes, 4 Keccak lanes.
    Avx2,
    /// AVX2 Keccak lanes with SHA-256 on the SHA extensions.
    #[serde(rename = "avx2-sha-ni")]
    Avx2ShaNi,
    /// 16 SHA-256 lanes, 8 Keccak lanes.
    Avx512,
}

impl SimdLevel {
    /// Every level, slowest first.
    pub const ALL: [SimdLevel; 5] = [SimdLevel::Scalar, SimdLevel::ShaNi, SimdLevel::Avx2, SimdLevel::Avx2ShaNi, SimdLevel::Avx512];

    /// Every level this CPU runs ([`Features::current`]), slowest first.
    pub fn available() -> Vec<SimdLevel> {
        Self::available_with(Features::current())
    }

    /// Every level a CPU with `features` runs, slowest first.
    pub fn available_with(features: Features) -> Vec<SimdLevel> {
        Self::ALL.into_iter().filter(|&level| features.run(level)).collect()
    }

    /// The level the CPU backend runs by default: the fastest measured on this CPU (measured
    /// once per process, see [`choice::measured_best`]).
    pub fn best() -> SimdLevel {
        choice::measured_best()
    }

    /// `requested` if this CPU runs it, else a clear error; the measured fastest when `None`.
    pub fn choose(requested: Option<SimdLevel>) -> Result<SimdLevel, DeviceError> {
        match requested {
            None => Ok(Self::best()),
            Some(level) => Self::choose_with(level, Features::current()),
        }
    }

    /// `requested` if a CPU with `features` runs it, else [`DeviceError::Unsupported`] (the
    /// user asked for it) naming the levels it does run.
    pub fn choose_with(requested: SimdLevel, features: Features) -> Result<SimdLevel, DeviceError> {
        choice::check(requested, features).map_err(DeviceError::Unsupported)
    }

    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::ShaNi => "sha-ni",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx2ShaNi => "avx2-sha-ni",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// Searches one run of a unit on this path (see `lanes::search_run`).
    pub fn search_run(self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) {
        match self {
            SimdLevel::Scalar => lanes::search_dispatch(scalar::Scalar::PORTABLE, hot, unit, first, count, out),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::ShaNi => {
                let l = scalar::Scalar::<true>::detect().expect("checked by SimdLevel::choose");
                // SAFETY: the token proves SHA and SSE4.1 are present.
                unsafe { search_sha_ni(l, hot, unit, first, count, out) }
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                let l = avx2::Avx2::<false>::detect().expect("checked by SimdLevel::choose");
                // SAFETY: the token proves AVX2 is present.
                unsafe { search_avx2(l, hot, unit, first, count, out) }
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2ShaNi => {
                let l = avx2::Avx2::<true>::detect().expect("checked by SimdLevel::choose");
                // SAFETY: the token proves AVX2, SHA and SSE4.1 are present.
                unsafe { search_avx2_sha_ni(l, hot, unit, first, count, out) }
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                let l = avx512::Avx512::detect().expect("checked by SimdLevel::choose");
                // SAFETY: the token proves AVX-512F/BW are present.
                unsafe { search_avx512(l, hot, unit, first, count, out) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only scalar is available off x86-64"),
        }
    }
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses every path's name, whether or not this CPU runs it ([`SimdLevel::choose`] checks that).
impl std::str::FromStr for SimdLevel {
    type Err = crate::pow::UnknownName;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let all = [SimdLevel::Scalar, SimdLevel::ShaNi, SimdLevel::Avx2, SimdLevel::Avx2ShaNi, SimdLevel::Avx512];
        crate::pow::parse_name("SIMD path", text, &all.map(|level| (level.name(), level)))
    }
}

/// Defines a path's `#[target_feature]` entry point into the generic loop (and, for tests, its
/// full-seal twin): the features are enabled for everything the generic code inlines.
macro_rules! x86_path {
    ($search:ident, $seals:ident, $token:ty, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $search(l: $token, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) {
            lanes::search_dispatch(l, hot, unit, first, count, out)
        }
        #[cfg(all(test, target_arch = "x86_64"))]
        #[target_feature(enable = $features)]
        unsafe fn $seals(l: $token, pow: bool, unit: &Unit, first: u32) -> Vec<[u8; 32]> {
            lanes::seals(l, pow, unit, first)
        }
    };
}

x86_path!(search_sha_ni, sha_ni_seals, scalar::Scalar<true>, "sha,sse4.1");
x86_path!(search_avx2, avx2_seals, avx2::Avx2<false>, "avx2");
x86_path!(search_avx2_sha_ni, avx2_sha_ni_seals, avx2::Avx2<true>, "avx2,sha,sse4.1");
x86_path!(search_avx512, avx512_seals, avx512::Avx512, "avx512f,avx512bw");

/// One CPU worker thread's device.
pub struct CpuDevice {
    level: SimdLevel,
    thread: usize,
}

impl CpuDevice {
    pub fn new(level: SimdLevel, thread: usize) -> Self {
        CpuDevice { level, thread }
    }
}

/// CPU cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// This CPU as `regsolver devices` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CpuInfo {
    pub arch: &'static str,
    pub cores: usize,
    pub simd_available: Vec<SimdLevel>,
    /// The path the backend runs unless told otherwise ([`SimdLevel::best`]).
    pub simd_selected: SimdLevel,
}

/// Lists this CPU: its cores and the SIMD paths it runs.
pub fn list() -> CpuInfo {
    CpuInfo { arch: std::env::consts::ARCH, cores: cores(), simd_available: SimdLevel::available(), simd_selected: SimdLevel::best() }
}

/// A worker for CPU thread `thread` on `level` (checked by [`SimdLevel::choose`]).
pub fn worker_spec(level: SimdLevel, thread: usize) -> WorkerSpec {
    WorkerSpec {
        backend: Backend::Cpu,
        name: format!("cpu ({})", level.name()),
        build: Box::new(move || Ok(Box::new(CpuDevice::new(level, thread)) as _)),
    }
}

/// Positions per CPU batch: ~1-2 ms on one core, so new jobs are picked up quickly.
pub const CPU_BATCH_POSITIONS: u64 = 1 << 14;

impl Device for CpuDevice {
    fn tag(&self) -> String {
        format!("cpu:{}", self.thread)
    }
    fn batch_positions(&self) -> u64 {
        CPU_BATCH_POSITIONS
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        self.level.search_run(hot, unit, first, count, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::hotloop::Layout;
    use crate::pow::{ByteOrder, Challenge, Target};
    use proptest::prelude::*;

    fn seals_at(level: SimdLevel, pow: bool, unit: &Unit, first: u32) -> Vec<[u8; 32]> {
        match level {
            SimdLevel::Scalar => lanes::seals(scalar::Scalar::PORTABLE, pow, unit, first),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::ShaNi => unsafe { super::sha_ni_seals(scalar::Scalar::<true>::detect().unwrap(), pow, unit, first) },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => unsafe { super::avx2_seals(avx2::Avx2::<false>::detect().unwrap(), pow, unit, first) },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2ShaNi => unsafe { super::avx2_sha_ni_seals(avx2::Avx2::<true>::detect().unwrap(), pow, unit, first) },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => unsafe { super::avx512_seals(avx512::Avx512::detect().unwrap(), pow, unit, first) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!(),
        }
    }

    /// Every lane of every path equals the reference seal.
    fn check_lanes(hot: &HotLoop, position: u64) {
        let (unit, index) = hot.unit_at(position);
        // Keep all 16 lanes inside the unit.
        let first = index.min(u32::try_from(hot.unit_len() - 16).unwrap());
        for level in SimdLevel::available() {
            let seals = seals_at(level, hot.layout == Layout::PowRegister, &unit, first);
            for (j, seal) in seals.iter().enumerate() {
                let nonce = unit.nonce(first + u32::try_from(j).unwrap());
                assert_eq!(*seal, hot.challenge.seal(nonce), "{} lane {j} nonce {nonce:#x}", level.name());
            }
        }
    }

    fn job(pow: bool, bytes: [u8; 32], order: ByteOrder, difficulty: u64) -> HotLoop {
        let challenge = if pow {
            Challenge::pow_register(u16::from_le_bytes([bytes[0], bytes[1] | 1]), &bytes, &[bytes[2]; 32], &[bytes[3]; 32]).unwrap()
        } else {
            Challenge::legacy(&bytes, &[bytes[4]; 32])
        };
        HotLoop::new(challenge, Target::from_difficulty(difficulty).unwrap(), order)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn lanes_match_reference(pow: bool, bytes: [u8; 32], position: u64) {
            check_lanes(&job(pow, bytes, ByteOrder::Little, 1), position);
        }

        /// The search reports exactly the indices whose seal's top limb is within the target,
        /// for every path, layout and byte order, across a unit boundary.
        #[test]
        fn search_reports_exactly_the_reference_candidates(pow: bool, big: bool, bytes: [u8; 32], count in 1u32..200) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let hot = job(pow, bytes, order, 8);
            let first = hot.unit_len() - 100;
            let expected = hot.reference_candidates(first, u64::from(count));
            for level in SimdLevel::available() {
                let mut dev = CpuDevice::new(level, 0);
                let found = crate::solver::search(&mut dev, &hot, first, u64::from(count)).unwrap();
                prop_assert_eq!(&found, &expected, "{}", level.name());
            }
        }
    }

    /// The full seal of one reference vector from every path, with the vector's nonce in each
    /// lane of a step in turn.
    fn check_vector(challenge: Challenge, nonce: u64, seal: [u8; 32]) {
        let hot = HotLoop::new(challenge, Target::from_difficulty(1).unwrap(), ByteOrder::Little);
        let pow = hot.layout == Layout::PowRegister;
        let (unit, index) = hot.unit_at(hot.layout.position_of(nonce));
        for level in SimdLevel::available() {
            let lanes = u32::try_from(seals_at(level, pow, &unit, index).len()).unwrap();
            for lane in 0..lanes.min(index.saturating_add(1)) {
                let seals = seals_at(level, pow, &unit, index - lane);
                assert_eq!(seals[lane as usize], seal, "{} nonce {nonce} in lane {lane}", level.name());
            }
        }
    }

    #[test]
    fn every_path_reproduces_every_reference_seal() {
        let vectors: serde_json::Value = serde_json::from_str(include_str!("../../../tests/data/seal-vectors.json")).unwrap();
        let hex32 = |v: &serde_json::Value| crate::pow::ss58::parse_hex::<32>(v.as_str().unwrap()).unwrap();
        let nonce = |e: &serde_json::Value| e["nonce"].as_u64().unwrap();
        let mut checked = 0;
        for e in vectors["pow_register_v1"].as_array().unwrap() {
            let netuid = u16::try_from(e["netuid"].as_u64().unwrap()).unwrap();
            let challenge = Challenge::pow_register(netuid, &hex32(&e["block_hash"]), &hex32(&e["hotkey"]), &hex32(&e["coldkey"])).unwrap();
            check_vector(challenge, nonce(e), hex32(&e["seal"]));
            checked += 1;
        }
        for e in vectors["legacy_register"].as_array().unwrap() {
            check_vector(Challenge::legacy(&hex32(&e["block_hash"]), &hex32(&e["key"])), nonce(e), hex32(&e["seal"]));
            checked += 1;
        }
        assert_eq!(checked, 38);
    }

    #[test]
    fn lanes_match_reference_at_edges() {
        for pow in [true, false] {
            for position in [0, 15, (1 << 24) - 16, (1 << 32) - 16, u64::MAX - 15] {
                check_lanes(&job(pow, [9; 32], ByteOrder::Little, 1), position);
            }
        }
    }

    #[test]
    fn choose_rejects_what_the_cpu_lacks_and_defaults_to_best() {
        assert_eq!(SimdLevel::choose(None).unwrap(), SimdLevel::best());
        assert_eq!(SimdLevel::choose(Some(SimdLevel::Scalar)).unwrap(), SimdLevel::Scalar);
        for level in [SimdLevel::ShaNi, SimdLevel::Avx2, SimdLevel::Avx2ShaNi, SimdLevel::Avx512] {
            assert_eq!(SimdLevel::choose(Some(level)).is_ok(), SimdLevel::available().contains(&level));
        }
    }

    /// The refusal of a path the CPU lacks, on any CPU: the feature set is forced.
    #[test]
    fn a_path_the_features_lack_is_refused_as_user_input() {
        let sse_only = Features { sha: true, avx2: false, avx512: false };
        assert_eq!(SimdLevel::available_with(sse_only), [SimdLevel::Scalar, SimdLevel::ShaNi]);
        for level in [SimdLevel::Avx2, SimdLevel::Avx2ShaNi, SimdLevel::Avx512] {
            match SimdLevel::choose_with(level, sse_only) {
                Err(DeviceError::Unsupported(why)) => {
                    assert_eq!(why, format!("this CPU does not support the {} path (available: scalar, sha-ni)", level.name()))
                }
                other => panic!("{level:?}: {other:?}"),
            }
        }
        assert_eq!(SimdLevel::choose_with(SimdLevel::ShaNi, sse_only).unwrap(), SimdLevel::ShaNi);
        let none = Features::default();
        assert_eq!(SimdLevel::available_with(none), [SimdLevel::Scalar]);
        assert!(SimdLevel::choose_with(SimdLevel::ShaNi, none).is_err());
        let avx512_no_sha = Features { sha: false, avx2: true, avx512: true };
        assert_eq!(SimdLevel::available_with(avx512_no_sha), [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512]);
    }
}
