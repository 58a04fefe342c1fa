//! The chain side: subxt connection (bundled light client or RPC), runtime era and scheme
//! detection, the state the runtime checks, transactions and their outcomes.
//!
//! Nothing here knows about devices.

pub mod config;
pub mod outcome;
pub mod signer;
pub mod tx;
