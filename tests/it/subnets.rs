//! `regsolver subnets`, the real binary against the real spec-293 runtime under chopsticks: 128
//! subnets created with `dev_setStorage` (PoW on for a third of them, two of the wallet's
//! hotkeys holding UIDs), every row of `--json` checked against the storage it was set from (read
//! back key by key through the harness, independently of the command's paged reads), the order,
//! `--pow`, and the time the reads took (printed: the README's figure).

use crate::support::{chopsticks, daemon_run, process, test_wallet};

use chopsticks::{BlockMode, Chopsticks, Spec};
use daemon_run::{chain, regsolver_in};
use serde_json::{json, Value};
use test_wallet::{hotkey_public, wallet};

/// Subnets 1..=SUBNETS are (re)written; root (0) is the genesis's own.
const SUBNETS: u16 = 128;
/// Kept below 2^53: chopsticks takes JSON numbers.
const HIGH: u64 = 1 << 52;

fn pow_on(netuid: u16) -> bool {
    netuid.is_multiple_of(3)
}

/// Every item the table shows, set for `netuid` from its number (so rows differ item by item).
fn subnet_storage(netuid: u16, block: u64) -> Vec<(&'static str, Value)> {
    let n = u64::from(netuid);
    vec![
        ("NetworksAdded", json!(true)),
        ("NetworkPowRegistrationAllowed", json!(pow_on(netuid))),
        ("NetworkRegistrationAllowed", json!(n.is_multiple_of(2))),
        ("Difficulty", json!(10_000 + n * 1000)),
        ("MinDifficulty", json!(if n.is_multiple_of(4) { 50_000 } else { 1 })),
        ("MaxDifficulty", json!(if n.is_multiple_of(5) { 100_000 } else { HIGH })),
        ("Burn", json!(n * 10_000_000 + 1)),
        ("RegistrationsThisBlock", json!(n % 2)),
        ("MaxRegistrationsPerBlock", json!(3)),
        ("RegistrationsThisInterval", json!(n % 7)),
        ("TargetRegistrationsPerInterval", json!(4 + n % 3)),
        ("LastAdjustmentBlock", json!(block)),
        ("AdjustmentInterval", json!(100 + n)),
        ("SubnetworkN", json!(n % 50)),
        ("MaxAllowedUids", json!(256)),
    ]
}

/// (hotkey index, netuid, uid): the wallet's hotkeys that hold a UID.
const MEMBERS: [(u8, u16, u16); 2] = [(0, 6, 5), (1, 9, 2)];

async fn create_subnets(node: &Chopsticks) -> u64 {
    let block = node.best_number().await.unwrap();
    let mut items = serde_json::Map::new();
    for netuid in 1..=SUBNETS {
        for (item, value) in subnet_storage(netuid, block) {
            let entries = items.entry(item).or_insert_with(|| json!([]));
            entries.as_array_mut().unwrap().push(json!([[netuid], value]));
        }
    }
    let hex = |i: u8| format!("0x{}", hex::encode(hotkey_public(i)));
    items.insert("IsNetworkMember".into(), MEMBERS.iter().map(|(i, netuid, _)| json!([[hex(*i), netuid], true])).collect());
    items.insert("Uids".into(), MEMBERS.iter().map(|(i, netuid, uid)| json!([[netuid, hex(*i)], uid])).collect());
    node.set_storage(json!({ "SubtensorModule": items })).await.unwrap();
    // chopsticks deletes a key given a falsy value (`false`, 0), and these flags default to true
    // before spec 475: their `false` is written as raw bytes.
    let mut raw = Vec::new();
    for netuid in 1..=SUBNETS {
        for (item, value) in subnet_storage(netuid, block) {
            if value == json!(false) {
                let key = node.storage_key("SubtensorModule", item, (netuid,)).await.unwrap();
                raw.push(json!([format!("0x{}", hex::encode(key)), "0x00"]));
            }
        }
    }
    node.set_storage(Value::Array(raw)).await.unwrap();
    block
}

/// The value of `SubtensorModule.<item>[netuid]` as the runtime sees it (stored or default),
/// read by the harness's own key, as a little-endian number.
async fn stored(node: &Chopsticks, item: &str, netuid: u16) -> u64 {
    let bytes =
        node.storage_value("SubtensorModule", item, (netuid,)).await.unwrap().unwrap_or_else(|| panic!("{item}[{netuid}] has no value"));
    assert!(bytes.len() <= 8, "{item} is not a number: {bytes:?}");
    bytes.iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// One row of `--json` against the storage.
async fn check_row(node: &Chopsticks, row: &Value, block: u64) {
    let netuid = row["netuid"].as_u64().unwrap() as u16;
    let numbers = [
        ("difficulty_raw", "Difficulty"),
        ("burn_rao", "Burn"),
        ("registrations_this_block", "RegistrationsThisBlock"),
        ("max_registrations_per_block", "MaxRegistrationsPerBlock"),
        ("registrations_this_interval", "RegistrationsThisInterval"),
        ("target_registrations_per_interval", "TargetRegistrationsPerInterval"),
        ("uids", "SubnetworkN"),
        ("max_uids", "MaxAllowedUids"),
    ];
    for (field, item) in numbers {
        assert_eq!(row[field], stored(node, item, netuid).await, "subnet {netuid}: {field} ({item})\n{row}");
    }
    for (field, item) in
        [("pow_registration_allowed", "NetworkPowRegistrationAllowed"), ("burn_registration_allowed", "NetworkRegistrationAllowed")]
    {
        assert_eq!(row[field], stored(node, item, netuid).await == 1, "subnet {netuid}: {field}\n{row}");
    }
    let (raw, min, max) = (
        stored(node, "Difficulty", netuid).await,
        stored(node, "MinDifficulty", netuid).await,
        stored(node, "MaxDifficulty", netuid).await,
    );
    let low = min.max(1);
    assert_eq!(row["difficulty_clamped"], raw.clamp(low, max.max(low)), "subnet {netuid}\n{row}");
    let next = stored(node, "LastAdjustmentBlock", netuid).await + stored(node, "AdjustmentInterval", netuid).await;
    assert_eq!(row["blocks_to_adjustment"], next.saturating_sub(block), "subnet {netuid}\n{row}");
    assert_eq!(row["burn_tao"], regsolver::burn::format_tao(u128::from(stored(node, "Burn", netuid).await)), "{row}");
    let holders: Vec<Value> = MEMBERS
        .iter()
        .filter(|(_, m, _)| *m == netuid)
        .map(|(i, _, uid)| json!({ "name": format!("h{i}"), "ss58": regsolver::pow::ss58::encode_ss58(&hotkey_public(*i)), "uid": uid }))
        .collect();
    assert_eq!(row["hotkeys"], Value::Array(holders), "subnet {netuid}\n{row}");
}

#[tokio::test]
async fn subnets_lists_every_subnet_as_stored_sorted_with_pow_first() {
    let node = chain(Spec::S293, BlockMode::Manual).await;
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 2);
    let set_at = create_subnets(&node).await;
    let block = node.new_block().await.unwrap();
    let args = ["--threads", "1", "--measure-seconds", "0.5"];
    let run = regsolver_in(&["subnets"], &node.url(), dir.path(), &args, &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let report: Value = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("--json does not parse: {e}\n{run}"));
    assert_eq!(report["block"], block, "{run}");
    assert_eq!(node.best_number().await.unwrap(), block, "the chain did not move while it was read");
    let rows = report["subnets"].as_array().expect("subnets");
    let netuids: Vec<u64> = rows.iter().map(|r| r["netuid"].as_u64().unwrap()).collect();
    for netuid in 1..=u64::from(SUBNETS) {
        assert!(netuids.contains(&netuid), "subnet {netuid} is missing: {netuids:?}");
    }
    for row in rows {
        check_row(&node, row, block).await;
    }
    // What was set, for the subnets set here (the storage reads above are the harness's own).
    let row = |netuid: u64| rows.iter().find(|r| r["netuid"] == netuid).unwrap();
    for netuid in 1..=SUBNETS {
        for (item, value) in subnet_storage(netuid, set_at) {
            let field = match item {
                "Difficulty" => "difficulty_raw",
                "Burn" => "burn_rao",
                "NetworkPowRegistrationAllowed" => "pow_registration_allowed",
                "NetworkRegistrationAllowed" => "burn_registration_allowed",
                "MaxAllowedUids" => "max_uids",
                _ => continue,
            };
            assert_eq!(row(u64::from(netuid))[field], value, "subnet {netuid}: {field}");
        }
    }

    // PoW subnets first, quickest seal (lowest difficulty) first; then by burn price.
    let pow = |r: &Value| r["pow_registration_allowed"] == true;
    let first_closed = rows.iter().position(|r| !pow(r)).unwrap_or(rows.len());
    assert!(rows[first_closed..].iter().all(|r| !pow(r)), "PoW subnets are listed first");
    let difficulties: Vec<u64> = rows[..first_closed].iter().map(|r| r["difficulty"].as_u64().unwrap()).collect();
    assert!(difficulties.windows(2).all(|w| w[0] <= w[1]), "{difficulties:?}");
    let prices: Vec<u64> = rows[first_closed..].iter().map(|r| r["burn_rao"].as_u64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let rate = report["seals_per_second"].as_f64().unwrap();
    assert!(rate > 0.0, "the devices were measured\n{run}");
    let expected = rows[0]["difficulty"].as_f64().unwrap() / rate;
    assert!((rows[0]["expected_seconds"].as_f64().unwrap() - expected).abs() < 1e-6 * expected, "{}", rows[0]);

    // --pow: only those.
    let args = ["--threads", "1", "--measure-seconds", "0", "--pow"];
    let only = regsolver_in(&["subnets"], &node.url(), dir.path(), &args, &[]).await;
    assert_eq!(only.code, 0, "{only}");
    let only: Value = serde_json::from_str(only.stdout.trim()).expect("--json parses");
    let pow_rows = only["subnets"].as_array().unwrap();
    assert_eq!(pow_rows.len(), first_closed);
    assert!(pow_rows.iter().all(pow));
    assert!(pow_rows.iter().all(|r| r["expected_seconds"].is_null()), "no measurement, no expected time");
    // Text: a header and one line per subnet, the hotkeys named on their rows.
    let root = dir.path().display().to_string();
    let url = node.url();
    let text_args =
        ["subnets", "--network", "local", "--chain-endpoint", &url, "--wallet.path", &root, "--wallet.name", "w", "--measure-seconds", "0"];
    let text = process::run(process::regsolver(&text_args)).await;
    assert_eq!(text.code, 0, "{text}");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[1].contains("netuid") && lines[1].contains("burn TAO") && lines[1].contains("hotkeys"), "{text}");
    assert_eq!(lines.len(), 2 + rows.len(), "{text}");
    assert!(lines.iter().any(|l| l.trim_start().starts_with("6 ") && l.contains("h0 (UID 5)")), "{text}");
    eprintln!(
        "subnets: {} rows read over RPC in {:.3} s, then {:.3} s (chopsticks, spec 293, {SUBNETS} subnets set)",
        rows.len(),
        report["read_seconds"].as_f64().unwrap(),
        only["read_seconds"].as_f64().unwrap()
    );
}
