//! subxt configuration for subtensor.

/// The subxt `Config` regsolver talks to subtensor with.
pub type SubtensorConfig = subxt::PolkadotConfig;
