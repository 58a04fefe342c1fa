//! Tests of the chopsticks harness itself (tests/it/support/chopsticks.rs): both real runtimes start,
//! build blocks, take storage, restart on the same port, report what was sent, and fail cleanly.

use crate::support::{chopsticks, process};

use std::process::Command;
use std::time::{Duration, Instant};

use chopsticks::{is_bare_extrinsic, BlockMode, Chopsticks, HarnessError, Spec, FUND_RAO};
use serde_json::json;

/// Subnet 1 exists in both runtimes' genesis with the all-zero account registered as UID 0.
const NETUID: u16 = 1;
const GENESIS_HOTKEY: [u8; 32] = [0; 32];
const GENESIS_DIFFICULTY: u64 = 10_000_000;

async fn start(spec: Spec, mode: BlockMode) -> Chopsticks {
    let started = Instant::now();
    let chain = Chopsticks::start_with(spec, mode).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("spec {} ready on {} after {:.1} s", spec.version(), chain.url(), started.elapsed().as_secs_f64());
    chain
}

async fn u64_at(chain: &Chopsticks, entry: &str, netuid: u16) -> Option<u64> {
    let value = chain.storage_value("SubtensorModule", entry, (netuid,)).await.unwrap();
    value.map(|bytes| u64::from_le_bytes(bytes.try_into().expect("u64 value")))
}

/// `NetworkPowRegistrationAllowed`: absent at genesis in both runtimes, so this also proves the
/// metadata default is read (false in spec 218, true in spec 293).
async fn pow_allowed(chain: &Chopsticks, netuid: u16) -> Option<bool> {
    let value = chain.storage_value("SubtensorModule", "NetworkPowRegistrationAllowed", (netuid,)).await.unwrap();
    value.map(|bytes| bytes == [1])
}

async fn free_balance(chain: &Chopsticks, account: [u8; 32]) -> Option<u128> {
    chain.free_balance(account).await.unwrap()
}

/// Spec 218 (plain runtime, PoW off on subnet 1 at genesis): blocks, storage, reads, a clean
/// error for unknown storage, and a restart on the same port back to genesis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_218_builds_blocks_takes_storage_and_restarts_on_the_same_port() {
    let mut chain = start(Spec::S218, BlockMode::Manual).await;
    let port = chain.port();
    let first = chain.best_number().await.unwrap();
    assert_eq!(chain.new_block().await.unwrap(), first + 1);
    assert_eq!(chain.best_number().await.unwrap(), first + 1);
    assert!(chain.sent_since(first).await.unwrap().is_empty(), "an empty block holds only inherents");

    assert_eq!(chain.registered_uid(NETUID, GENESIS_HOTKEY).await.unwrap(), Some(0));
    assert_eq!(chain.registered_uid(NETUID, [7; 32]).await.unwrap(), None);
    assert_eq!(pow_allowed(&chain, NETUID).await, Some(false));
    assert_eq!(u64_at(&chain, "Difficulty", NETUID).await, Some(GENESIS_DIFFICULTY));

    let hotkey = [0x42; 32];
    assert_eq!(free_balance(&chain, hotkey).await, None);
    chain.prepare_pow_subnet(NETUID, 1000, &[hotkey]).await.unwrap();
    assert_eq!(pow_allowed(&chain, NETUID).await, Some(true));
    assert_eq!(u64_at(&chain, "Difficulty", NETUID).await, Some(1000));
    assert_eq!(u64_at(&chain, "MaxDifficulty", NETUID).await, Some(1000));
    assert_eq!(free_balance(&chain, hotkey).await, Some(FUND_RAO));
    chain.new_block().await.unwrap();
    assert_eq!(u64_at(&chain, "Difficulty", NETUID).await, Some(1000), "storage survives the next block");

    let error = chain
        .set_storage(json!({"SubtensorModule": {"NoSuchStorage": [[[NETUID], 1]]}}))
        .await
        .expect_err("unknown storage must be refused");
    assert!(matches!(error, HarnessError::Rpc { .. }), "{error}");
    assert!(error.to_string().contains("NoSuchStorage"), "{error}");
    assert_eq!(chain.best_number().await.unwrap(), first + 2, "chopsticks still answers after the error");

    let restarted = Instant::now();
    chain.restart().await.unwrap();
    eprintln!("spec 218 restarted on port {port} after {:.1} s", restarted.elapsed().as_secs_f64());
    assert_eq!(chain.port(), port);
    assert_eq!(chain.best_number().await.unwrap(), first, "a restart starts again from genesis");
    assert_eq!(u64_at(&chain, "Difficulty", NETUID).await, Some(GENESIS_DIFFICULTY));

    chain.kill();
    assert!(matches!(chain.best_number().await, Err(HarnessError::NotRunning)));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the killed chopsticks left port {port} open");
}

/// Spec 293 (needs both wrapper fixes): blocks build, and `sent_since` sees a real signed
/// extrinsic first in the pool, then in a block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_293_builds_blocks_and_sent_since_sees_a_real_extrinsic() {
    let chain = start(Spec::S293, BlockMode::Manual).await;
    let mark = chain.best_number().await.unwrap();
    assert_eq!(chain.new_block().await.unwrap(), mark + 1);
    assert_eq!(chain.registered_uid(NETUID, GENESIS_HOTKEY).await.unwrap(), Some(0));
    assert_eq!(pow_allowed(&chain, NETUID).await, Some(true));
    chain.set_storage(json!({"SubtensorModule": {"Difficulty": [[[NETUID], 1234]]}})).await.unwrap();
    assert_eq!(u64_at(&chain, "Difficulty", NETUID).await, Some(1234));
    assert!(chain.sent_since(mark).await.unwrap().is_empty());

    let mut submit = Command::new(chopsticks::node_binary());
    submit.arg(chopsticks::chopsticks_dir().join("submit-remark.mjs")).arg(chain.url()).stdin(std::process::Stdio::null());
    let submitted = process::output_within(submit, Duration::from_secs(120));
    assert!(submitted.status.success(), "submit-remark.mjs: {}", String::from_utf8_lossy(&submitted.stderr));

    let pooled = chain.sent_since(mark).await.unwrap();
    assert_eq!((pooled.in_blocks.len(), pooled.pending.len()), (0, 1), "{pooled:?}");
    assert!(!is_bare_extrinsic(&pooled.pending[0]), "a signed remark is not bare");
    let included_in = chain.new_block().await.unwrap();
    let included = chain.sent_since(mark).await.unwrap();
    assert_eq!(included.in_blocks.len(), 1, "{included:?}\n{}", chain.output_tail());
    assert_eq!(included.in_blocks[0], (included_in, pooled.pending[0].clone()));
    assert!(included.pending.is_empty());
    assert!(chain.sent_since(included_in).await.unwrap().is_empty(), "nothing after the block that included it");
}

#[test]
fn bare_and_signed_extrinsics_are_told_apart() {
    // A timestamp inherent from a spec-293 block (bare, v4) and the same bytes marked signed.
    assert!(is_bare_extrinsic("0x280402000b20e9a2d39a01"));
    assert!(!is_bare_extrinsic("0x280402000b20e9a2d39a01".replacen("0x2804", "0x2884", 1).as_str()));
    assert!(!is_bare_extrinsic("0x"), "unreadable counts as sent");
    assert!(!is_bare_extrinsic("zz"));
}
