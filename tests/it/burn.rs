//! The burn route end to end (`--burn-max`, `--burn-after`, `--burn-budget`, `--dry-run`): the
//! real `regsolver` binary, run as a user would, against real subtensor runtimes under
//! chopsticks. Every registration is read back from the chain, every balance from
//! `System.Account`, every submission counted through a proxy and the chain's blocks and pool,
//! and the burn ledger read from the state folder the test gives the daemon.

use crate::support::{chopsticks, daemon_run, process, proxy, test_wallet};

use std::path::PathBuf;

use chopsticks::{BlockMode, Chopsticks, Spec, FUND_RAO};
use daemon_run::{chain, registered_h0, regsolver_in, EASY};
use process::Finished;
use proxy::{Overrides, Proxy};
use serde_json::json;
use tempfile::TempDir;
use test_wallet::{coldkey_public, hotkey_public, password_env, wallet, PASSWORD};

const RAO_PER_TAO: u64 = 1_000_000_000;
/// Exit code when PoW is closed and no burn is possible (README's exit-code table).
const BURN_LIMIT: i32 = 15;
/// The ledger's file name in the state folder.
const LEDGER_FILE: &str = "burn-ledger.json";

/// One test's chain, wallet, state folder (the burn ledger's) and a proxy that counts every
/// submission the daemon makes.
struct Setup {
    node: Chopsticks,
    proxy: Proxy,
    wallet: TempDir,
    state: TempDir,
}

impl Setup {
    /// `spec` with a wallet of `hotkeys` hotkeys and the coldkey funded with [`FUND_RAO`].
    async fn new(spec: Spec, hotkeys: u8) -> Setup {
        let node = chain(spec, BlockMode::Instant).await;
        let wallet_dir = tempfile::tempdir().expect("temp dir");
        wallet(wallet_dir.path(), hotkeys);
        node.fund(&[coldkey_public()], FUND_RAO).await.unwrap();
        let proxy = Proxy::start(&node.url(), Overrides::default()).await;
        let setup = Setup { node, proxy, wallet: wallet_dir, state: tempfile::tempdir().expect("temp dir") };
        assert_eq!(setup.free_rao().await, FUND_RAO, "System.Account's free balance is read where it was set");
        setup
    }

    /// Opens burn registration on subnet 1 at `price_rao` (pinned by `MinBurn` and `MaxBurn` so
    /// no adjustment moves it) and closes PoW registration there.
    async fn burn_subnet(&self, price_rao: u64) {
        self.node.open_burn_subnet(1, price_rao).await.unwrap();
        // Chopsticks drops an entry given as JSON `false` (spec 293's default is true, so PoW
        // would stay open): the raw key with the encoded `false`, read back.
        let key = self.node.storage_key("SubtensorModule", "NetworkPowRegistrationAllowed", (1u16,)).await.unwrap();
        self.node.set_storage(json!([[format!("0x{}", hex::encode(&key)), "0x00"]])).await.unwrap();
        assert_eq!(self.node.storage(&key).await.unwrap(), Some(vec![0]), "PoW registration is closed on subnet 1");
    }

    /// The coldkey's free balance (none stored: 0).
    async fn free_rao(&self) -> u128 {
        self.node.free_balance(coldkey_public()).await.unwrap().unwrap_or(0)
    }

    fn ledger_path(&self) -> PathBuf {
        self.state.path().join(LEDGER_FILE)
    }

    /// What the ledger counts as burned (`spent_rao`); `None` when there is no ledger file.
    fn ledger_spent(&self) -> Option<u128> {
        let text = std::fs::read_to_string(self.ledger_path()).ok()?;
        let ledger: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("the ledger is not JSON ({e}): {text}"));
        Some(
            ledger["spent_rao"].as_str().unwrap_or_else(|| panic!("spent_rao is not a decimal string: {text}")).parse().expect("spent_rao"),
        )
    }

    /// The daemon on subnet 1 through the proxy, with two CPU threads, the coldkey's password
    /// (the wallet tools' variable) and the test's state folder for the ledger.
    async fn run(&self, args: &[&str]) -> Finished {
        let mut all = vec!["--threads", "2", "--subnet", "1"];
        all.extend_from_slice(args);
        let env = [
            password_env(&self.wallet.path().join("w").join("coldkey"), PASSWORD),
            ("STATE_DIRECTORY".into(), self.state.path().display().to_string()),
        ];
        regsolver_in(&[], &self.proxy.url, self.wallet.path(), &all, &env).await
    }

    /// Asserts nothing was sent since block `best`: no submission reached the proxy, no signed
    /// extrinsic is in a block or the pool.
    async fn nothing_sent(&self, best: u64, submissions_before: usize, run: &Finished) {
        assert_eq!(self.proxy.submissions(), submissions_before, "a submission reached the proxy\n{run}");
        let sent = self.node.sent_since(best).await.unwrap();
        assert!(sent.is_empty(), "something was sent: {sent:?}\n{run}");
    }

    /// The call bytes of `SubtensorModule.burned_register(netuid, hotkey)` as the runtime's
    /// metadata indexes it.
    async fn burned_register_call(&self, netuid: u16, hotkey: [u8; 32]) -> Vec<u8> {
        let metadata = self.node.metadata().await.unwrap();
        let pallet = metadata.pallet_by_name("SubtensorModule").expect("SubtensorModule");
        let variant = pallet.call_variant_by_name("burned_register").expect("burned_register");
        let mut call = vec![pallet.call_index(), variant.index];
        call.extend(netuid.to_le_bytes());
        call.extend(hotkey);
        call
    }
}

/// A signed extrinsic (hex) is signed by `account`: v4 signed, `MultiAddress::Id`, the account.
fn signed_by(extrinsic_hex: &str, account: [u8; 32]) -> bool {
    extrinsic_hex.contains(&format!("8400{}", hex::encode(account)))
}

fn tao(rao: u128) -> String {
    regsolver::burn::format_tao(rao)
}

/// The TAO amount in an event field (`"0.75"`) in RAO.
fn rao_of(value: &serde_json::Value) -> u128 {
    let text = value.as_str().unwrap_or_else(|| panic!("not a TAO string: {value}"));
    u128::from(regsolver::burn::parse_tao(text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

// ---------------------------------------------------------------------------------------------
// PoW closed: the cap, the price, the balance
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn price_above_the_cap_with_pow_closed_exits_15_naming_both_and_sends_nothing() {
    let setup = Setup::new(Spec::S218, 1).await;
    setup.burn_subnet(3 * RAO_PER_TAO / 2).await;
    let (best, before) = (setup.node.best_number().await.unwrap(), setup.free_rao().await);
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1"]).await;
    assert_eq!(run.code, BURN_LIMIT, "{run}");
    assert!(run.stderr.contains("the burn price 1.5 TAO is above --burn-max 1 TAO"), "the message names the price and the cap\n{run}");
    assert!(run.events("burning").is_empty(), "{run}");
    setup.nothing_sent(best, 0, &run).await;
    assert_eq!(setup.free_rao().await, before, "the coldkey's balance moved\n{run}");
    assert_eq!(setup.node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
    assert_eq!(setup.ledger_spent(), None, "a ledger entry for a burn never sent\n{run}");
}

/// With PoW closed, the price set under the cap: `burned_register` signed by the coldkey, the
/// UID on chain, the balance down by exactly the price plus the fee, the ledger settled at that.
async fn registers_by_burn_under_the_cap(spec: Spec) {
    let setup = Setup::new(spec, 1).await;
    // Above the cap first (1.5 TAO against 1): refused; then lowered under it.
    setup.burn_subnet(3 * RAO_PER_TAO / 2).await;
    let refused = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1"]).await;
    assert_eq!(refused.code, BURN_LIMIT, "{refused}");
    let price = 3 * RAO_PER_TAO / 4;
    setup.burn_subnet(price).await;
    let (best, before) = (setup.node.best_number().await.unwrap(), setup.free_rao().await);
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1"]).await;
    assert_eq!(run.code, 0, "{run}");

    let registered = registered_h0(&setup.node, &run).await;
    let burning = run.events("burning");
    assert_eq!(burning.len(), 1, "{run}");
    assert_eq!(rao_of(&burning[0]["price_tao"]), u128::from(price), "the price read is the one set\n{run}");
    assert_eq!(rao_of(&burning[0]["max_tao"]), u128::from(RAO_PER_TAO), "{run}");
    let fee = rao_of(&burning[0]["fee_tao"]);
    assert_eq!(registered["route"], "burn", "{run}");
    assert_eq!(rao_of(&registered["burned_tao"]), u128::from(price) + fee, "{run}");

    // One extrinsic: burned_register(1, h0), signed by the coldkey, the only thing sent.
    assert_eq!(setup.proxy.submissions(), 1, "{run}");
    let sent = setup.node.sent_since(best).await.unwrap();
    assert_eq!(sent.in_blocks.len(), 1, "{sent:?}\n{run}");
    assert!(sent.pending.is_empty(), "{sent:?}");
    let extrinsic = &sent.in_blocks[0].1;
    assert!(signed_by(extrinsic, coldkey_public()), "the burn is signed by the coldkey: {extrinsic}");
    let call = hex::encode(setup.burned_register_call(1, hotkey_public(0)).await);
    assert!(extrinsic.ends_with(&call), "the extrinsic is burned_register(1, h0): {extrinsic} does not end with {call}");

    let after = setup.free_rao().await;
    eprintln!("spec {}: price {price} RAO, fee {fee} RAO, balance {before} -> {after} RAO", spec.version());
    assert_eq!(before - after, u128::from(price) + fee, "the balance drops by exactly the price plus the fee\n{run}");
    assert_eq!(setup.ledger_spent(), Some(u128::from(price) + fee), "the ledger settles at what the burn cost\n{run}");
    let ledger: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(setup.ledger_path()).unwrap()).unwrap();
    let burns = ledger["burns"].as_array().expect("burns");
    assert_eq!(burns.len(), 1, "{ledger}");
    assert_eq!(burns[0]["state"], "settled", "{ledger}");
    assert_eq!(burns[0]["hotkey"], registered["ss58"], "{ledger}");
    assert_eq!(burns[0]["extrinsic"], registered["extrinsic"], "{ledger}");
}

#[tokio::test]
async fn price_lowered_under_the_cap_registers_by_burned_register_on_spec_218() {
    registers_by_burn_under_the_cap(Spec::S218).await;
}

#[tokio::test]
async fn price_lowered_under_the_cap_registers_by_burned_register_on_spec_293() {
    registers_by_burn_under_the_cap(Spec::S293).await;
}

#[tokio::test]
async fn too_little_balance_for_price_and_fee_exits_15_and_sends_nothing() {
    let setup = Setup::new(Spec::S218, 1).await;
    let price = RAO_PER_TAO / 2;
    setup.burn_subnet(price).await;
    // One RAO short of the price alone: short of price plus fee whatever the fee.
    let free = u128::from(price) - 1;
    setup.node.fund(&[coldkey_public()], free).await.unwrap();
    assert_eq!(setup.free_rao().await, free);
    let best = setup.node.best_number().await.unwrap();
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1"]).await;
    assert_eq!(run.code, BURN_LIMIT, "{run}");
    let says = format!("the coldkey holds {} TAO free, less than the price and fee", tao(free));
    assert!(run.stderr.contains(&says), "expected '{says}'\n{run}");
    assert!(run.events("burning").is_empty(), "{run}");
    setup.nothing_sent(best, 0, &run).await;
    assert_eq!(setup.free_rao().await, free, "the coldkey's balance moved\n{run}");
    assert_eq!(setup.node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
    assert_eq!(setup.ledger_spent(), None, "{run}");
}

// ---------------------------------------------------------------------------------------------
// The budget across restarts, and a damaged ledger
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_budget_stops_a_second_burn_across_a_restart_and_a_damaged_ledger_stops_the_daemon() {
    let setup = Setup::new(Spec::S218, 2).await;
    let price = RAO_PER_TAO;
    setup.burn_subnet(price).await;
    // One burn (1 TAO and its fee) fits 1.5 TAO; two do not.
    let limits = ["--burn-max", "1", "--burn-budget", "1.5"];

    let first = setup.run(&[&["--wallet.hotkey", "h0"][..], &limits].concat()).await;
    assert_eq!(first.code, 0, "{first}");
    assert_eq!(first.events("registered").first().map(|e| e["route"].clone()), Some(json!("burn")), "{first}");
    assert!(setup.node.registered_uid(1, hotkey_public(0)).await.unwrap().is_some(), "{first}");
    let spent = setup.ledger_spent().unwrap_or_else(|| panic!("no ledger after a burn\n{first}"));
    let fee = rao_of(&first.events("burning")[0]["fee_tao"]);
    assert_eq!(spent, u128::from(price) + fee, "{first}");

    // A new process (a restart), same state folder, another hotkey: the budget is spent.
    let (best, submissions, before) = (setup.node.best_number().await.unwrap(), setup.proxy.submissions(), setup.free_rao().await);
    let second = setup.run(&[&["--wallet.hotkey", "h1"][..], &limits].concat()).await;
    assert_eq!(second.code, BURN_LIMIT, "{second}");
    let says = format!("--burn-budget 1.5 TAO is spent ({} TAO in the ledger)", tao(spent));
    assert!(second.stderr.contains(&says), "expected '{says}'\n{second}");
    setup.nothing_sent(best, submissions, &second).await;
    assert_eq!(setup.free_rao().await, before, "{second}");
    assert_eq!(setup.node.registered_uid(1, hotkey_public(1)).await.unwrap(), None, "{second}");
    assert_eq!(setup.ledger_spent(), Some(spent), "the refusal changed the ledger\n{second}");

    // A damaged ledger: a clear error (exit 2), nothing sent, the file left as it was.
    let garbage = "{\"version\": 1, \"spent_rao\": \"0\", \"burns\": [tr";
    std::fs::write(setup.ledger_path(), garbage).unwrap();
    let (best, submissions) = (setup.node.best_number().await.unwrap(), setup.proxy.submissions());
    let damaged = setup.run(&[&["--wallet.hotkey", "h1"][..], &limits].concat()).await;
    assert_eq!(damaged.code, 2, "{damaged}");
    let says = format!("the burn ledger {} is damaged", setup.ledger_path().display());
    assert!(damaged.stderr.contains(&says), "expected '{says}'\n{damaged}");
    setup.nothing_sent(best, submissions, &damaged).await;
    assert_eq!(std::fs::read_to_string(setup.ledger_path()).unwrap(), garbage, "the damaged ledger was rewritten");
    assert_eq!(setup.free_rao().await, before, "{damaged}");
}

// ---------------------------------------------------------------------------------------------
// PoW and burn both open
// ---------------------------------------------------------------------------------------------

/// Subnet 1 open to PoW at [`EASY`] and to burns at `price_rao` (under a 1 TAO cap); the hotkey
/// funded as the PoW route needs (legacy `register` is signed by the hotkey).
async fn both_routes_open(setup: &Setup, price_rao: u64) {
    setup.node.prepare_pow_subnet(1, EASY, &[hotkey_public(0)]).await.unwrap();
    setup
        .node
        .set_storage(json!({ "SubtensorModule": {
            "Burn": [[[1], price_rao]],
            "MinBurn": [[[1], price_rao]],
            "MaxBurn": [[[1], price_rao]],
        }}))
        .await
        .unwrap();
}

#[tokio::test]
async fn burn_after_lets_a_pow_seal_win_first_and_nothing_is_burned() {
    let setup = Setup::new(Spec::S293, 1).await;
    both_routes_open(&setup, RAO_PER_TAO / 2).await;
    let (best, before) = (setup.node.best_number().await.unwrap(), setup.free_rao().await);
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1", "--burn-after", "1h"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(registered_h0(&setup.node, &run).await["route"], "pow", "{run}");
    assert!(run.events("burning").is_empty(), "a burn was started inside --burn-after\n{run}");
    // One extrinsic, the legacy register signed by the hotkey; the coldkey paid nothing.
    assert_eq!(setup.proxy.submissions(), 1, "{run}");
    let sent = setup.node.sent_since(best).await.unwrap();
    assert_eq!(sent.in_blocks.len(), 1, "{sent:?}\n{run}");
    assert!(signed_by(&sent.in_blocks[0].1, hotkey_public(0)), "the PoW registration is signed by the hotkey: {sent:?}");
    assert_eq!(setup.free_rao().await, before, "the coldkey's balance moved\n{run}");
    assert_eq!(setup.ledger_spent().unwrap_or(0), 0, "{run}");
}

#[tokio::test]
async fn pow_and_burn_both_possible_register_the_hotkey_exactly_once() {
    let setup = Setup::new(Spec::S293, 1).await;
    let price = RAO_PER_TAO / 2;
    both_routes_open(&setup, price).await;
    let (best, before) = (setup.node.best_number().await.unwrap(), setup.free_rao().await);
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1"]).await;
    assert_eq!(run.code, 0, "{run}");
    let registered = registered_h0(&setup.node, &run).await;
    // Exactly one submission, one extrinsic in a block, nothing left in the pool.
    assert_eq!(setup.proxy.submissions(), 1, "{run}");
    let sent = setup.node.sent_since(best).await.unwrap();
    assert_eq!(sent.in_blocks.len(), 1, "{sent:?}\n{run}");
    assert!(sent.pending.is_empty(), "{sent:?}");
    let extrinsic = &sent.in_blocks[0].1;
    let after = setup.free_rao().await;
    let route = registered["route"].as_str().unwrap_or_default().to_owned();
    eprintln!("both routes open: registered by {route}");
    match route.as_str() {
        "burn" => {
            assert!(signed_by(extrinsic, coldkey_public()), "{extrinsic}");
            assert!(extrinsic.ends_with(&hex::encode(setup.burned_register_call(1, hotkey_public(0)).await)), "{extrinsic}");
            let cost = rao_of(&registered["burned_tao"]);
            assert_eq!(cost, u128::from(price) + rao_of(&run.events("burning")[0]["fee_tao"]), "{run}");
            assert_eq!(before - after, cost, "{run}");
            assert_eq!(setup.ledger_spent(), Some(cost), "{run}");
        }
        "pow" => {
            assert!(signed_by(extrinsic, hotkey_public(0)), "{extrinsic}");
            assert_eq!(after, before, "PoW won, yet the coldkey paid\n{run}");
            assert_eq!(setup.ledger_spent().unwrap_or(0), 0, "PoW won, yet the ledger counts a burn\n{run}");
        }
        other => panic!("route {other:?}\n{run}"),
    }
}

// ---------------------------------------------------------------------------------------------
// --dry-run
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn dry_run_prints_the_burn_extrinsic_decoded_and_sends_nothing() {
    let setup = Setup::new(Spec::S218, 1).await;
    setup.burn_subnet(RAO_PER_TAO / 2).await;
    let (best, before) = (setup.node.best_number().await.unwrap(), setup.free_rao().await);
    let run = setup.run(&["--wallet.hotkey", "h0", "--burn-max", "1", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{run}");
    let dry = run.events("dry_run");
    assert_eq!(dry.len(), 1, "{run}");
    let extrinsic = dry[0]["extrinsic"].as_str().expect("extrinsic hex");
    let decoded = &dry[0]["decoded"];
    assert_eq!(decoded["call"], "SubtensorModule.burned_register", "{run}");
    assert_eq!(decoded["arguments"], json!({ "netuid": 1, "hotkey": format!("0x{}", hex::encode(hotkey_public(0))) }), "{run}");
    assert_eq!(decoded["signer"]["account"], format!("0x{}", hex::encode(coldkey_public())), "the coldkey signs the burn\n{run}");
    // The bytes printed are that call, signed by the coldkey.
    let call = hex::encode(setup.burned_register_call(1, hotkey_public(0)).await);
    assert!(signed_by(extrinsic, coldkey_public()) && extrinsic.ends_with(&call), "{extrinsic}");
    assert!(run.events("burning").is_empty() && run.events("submitting").is_empty(), "{run}");
    setup.nothing_sent(best, 0, &run).await;
    assert_eq!(setup.free_rao().await, before, "{run}");
    assert_eq!(setup.node.registered_uid(1, hotkey_public(0)).await.unwrap(), None);
    assert_eq!(setup.ledger_spent(), None, "a dry run wrote the ledger\n{run}");
}
