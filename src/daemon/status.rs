//! `regsolver status`: read-only. What the runtime offers (scheme, or why none), the subnet's
//! registration state at the best block, each hotkey's UID, the burn price, and the expected time
//! to a seal on this machine's selected devices next to the block time: how a miner chooses
//! between proof of work and paying the burn.

use std::time::Duration;

use serde::Serialize;

use super::exit::DaemonError;
use super::report::format_duration;
use crate::chain::{choose_scheme, connect_within, Chain, Endpoint};
use crate::pow::ss58::encode_ss58;
use crate::pow::{AccountId, Scheme};
use crate::solver::hashrate::format_rate;

/// What `status` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub endpoint: String,
    pub genesis: String,
    pub best_block: u64,
    pub spec_version: u32,
    /// The scheme regsolver would use, or `None` with `refusal` saying why it would send nothing.
    pub scheme: Option<Scheme>,
    pub byte_order: Option<String>,
    pub refusal: Option<String>,
    pub netuid: u16,
    pub subnet_exists: bool,
    pub pow_registration_allowed: Option<bool>,
    pub burn_registration_allowed: Option<bool>,
    pub difficulty_raw: Option<u64>,
    /// What a seal must meet under the chosen scheme (clamped for `pow_register`).
    pub difficulty: Option<u64>,
    pub registrations_this_block: Option<u64>,
    pub max_registrations_per_block: Option<u64>,
    /// The price of a burn registration, in TAO.
    pub burn_tao: Option<f64>,
    pub hotkeys: Vec<HotkeyStatus>,
    /// Seals per second of the selected devices (a short measurement).
    pub seals_per_second: f64,
    /// `difficulty / seals_per_second`.
    pub expected_seconds_to_seal: Option<f64>,
    pub block_seconds: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HotkeyStatus {
    pub name: String,
    pub ss58: String,
    pub uid: Option<u16>,
}

/// Reads everything at the best block. `measure` returns the selected devices' seals per second
/// for a scheme (it runs while the chain is read).
pub async fn status(
    endpoint: &Endpoint,
    expected_genesis: Option<[u8; 32]>,
    deadline: Duration,
    netuid: u16,
    hotkeys: &[(String, AccountId)],
    byte_order: Option<crate::pow::ByteOrder>,
    measure: impl FnOnce(Scheme) -> f64 + Send + 'static,
) -> Result<Status, DaemonError> {
    let chain: Chain = connect_within(endpoint, expected_genesis, deadline, deadline, tokio::time::sleep).await?;
    let fail = |e: crate::chain::ChainError| DaemonError::Unreachable(e.to_string());
    let best = chain.best_block().await.map_err(fail)?;
    let runtime = chain.runtime_at(&best).await.map_err(fail)?;
    let choice = choose_scheme(&runtime, byte_order);
    let scheme = choice.as_ref().map(|c| c.scheme).unwrap_or(Scheme::PowRegister);
    let keys: Vec<AccountId> = hotkeys.iter().map(|(_, key)| *key).collect();
    let state = chain.registration_state(&best, netuid, &keys).await.map_err(fail)?;
    // A missing subnet's storage reads as defaults that look real: say it does not exist instead.
    if !state.subnet.exists {
        return Err(DaemonError::NoSuchSubnet { netuid });
    }
    let measured = tokio::task::spawn_blocking(move || measure(scheme));
    let block_seconds = chain.block_time(&best).await.map_err(fail)?.map(|d| d.as_secs_f64());
    let seals_per_second = measured.await.map_err(|e| DaemonError::Other(format!("measuring the devices failed: {e}")))?;
    let subnet = &state.subnet;
    let difficulty = choice.as_ref().ok().and_then(|c| subnet.difficulty_for(c.scheme));
    Ok(Status {
        endpoint: chain.endpoint().to_string(),
        genesis: crate::chain::network::hex_0x(&chain.genesis_hash()),
        best_block: best.number,
        spec_version: runtime.spec_version,
        scheme: choice.as_ref().ok().map(|c| c.scheme),
        byte_order: choice.as_ref().ok().map(|c| format!("{:?}", c.byte_order).to_lowercase()),
        refusal: choice.as_ref().err().map(|r| r.to_string()),
        netuid,
        subnet_exists: subnet.exists,
        pow_registration_allowed: subnet.pow_registration_allowed,
        burn_registration_allowed: subnet.registration_allowed,
        difficulty_raw: subnet.difficulty,
        difficulty,
        registrations_this_block: subnet.registrations_this_block,
        max_registrations_per_block: subnet.max_registrations_per_block,
        burn_tao: subnet.burn_rao.map(|rao| rao as f64 / 1e9),
        hotkeys: hotkeys
            .iter()
            .zip(&state.hotkeys)
            .map(|((name, key), s)| HotkeyStatus { name: name.clone(), ss58: encode_ss58(key), uid: s.uid })
            .collect(),
        seals_per_second,
        expected_seconds_to_seal: difficulty.filter(|_| seals_per_second > 0.0).map(|d| crate::pow::expected_seconds(d, seals_per_second)),
        block_seconds,
    })
}

/// The human form of [`Status`].
pub fn text(status: &Status) -> String {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut out = format!(
        "chain        {} (genesis {}), best block {}, runtime spec {}\n",
        status.endpoint, status.genesis, status.best_block, status.spec_version
    );
    match (&status.scheme, &status.refusal) {
        (Some(scheme), _) => out += &format!("scheme       {} (seal byte order {})\n", scheme.name(), or_dash(status.byte_order.clone())),
        (None, Some(refusal)) => out += &format!("scheme       none: {refusal}\n"),
        _ => {}
    }
    out += &format!(
        "subnet {:<5} {}; PoW registration {}; burn registration {}\n",
        status.netuid,
        if status.subnet_exists { "exists" } else { "does not exist" },
        yes_no(status.pow_registration_allowed),
        yes_no(status.burn_registration_allowed),
    );
    out += &format!(
        "difficulty   {} (raw {}); registrations this block {} of {}; burn price {}\n",
        or_dash(status.difficulty.map(|d| d.to_string())),
        or_dash(status.difficulty_raw.map(|d| d.to_string())),
        or_dash(status.registrations_this_block.map(|d| d.to_string())),
        or_dash(status.max_registrations_per_block.map(|d| d.to_string())),
        or_dash(status.burn_tao.map(|t| format!("{t:.4} TAO"))),
    );
    for hotkey in &status.hotkeys {
        let state = hotkey.uid.map_or("not registered".to_string(), |uid| format!("registered, UID {uid}"));
        out += &format!("hotkey       {} ({}): {state}\n", hotkey.name, hotkey.ss58);
    }
    out += &format!(
        "this machine {}/s on the selected devices: expected time to a seal {} (a block every {})\n",
        format_rate(status.seals_per_second),
        or_dash(status.expected_seconds_to_seal.map(format_duration)),
        or_dash(status.block_seconds.map(format_duration)),
    );
    out
}

fn yes_no(flag: Option<bool>) -> &'static str {
    match flag {
        Some(true) => "allowed",
        Some(false) => "disabled",
        None => "unknown (not in this runtime)",
    }
}
