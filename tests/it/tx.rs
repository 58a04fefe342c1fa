//! Registration extrinsics against real runtimes: the legacy `register` on spec 218 under
//! chopsticks (registers and reads the UID; a bad seal and a second registration fail by name),
//! and `pow_register` and `register_limit` signed for mainnet's extension list against a real
//! runtime's metadata (spec 461's, with `pow_register` added: support/mainnet_metadata.rs),
//! checked byte by byte against PROTOCOL.md's encodings and decoded back field by field.

use crate::support::{self, chopsticks, mainnet_metadata};

use std::sync::Arc;
use std::time::Duration;

use mainnet_metadata::{DERIVED_SPEC, MAINNET_EXTENSIONS};
use regsolver::chain::burn::{BurnCall, BurnRegistration};
use regsolver::chain::config::{Mortality, OfflineRuntime, SubtensorConfig};
use regsolver::chain::outcome::{Outcome, Rejection};
use regsolver::chain::tx::{self, Registration, TxError};
use regsolver::pow::{ByteOrder, Challenge, Scheme, Target};
use regsolver::wallet::keypair::Keypair;
use subxt::backend::LegacyBackend;
use subxt::ext::codec::{Compact, Encode};
use subxt::rpcs::{rpc_params, RpcClient};
use subxt::utils::{AccountId32, H256};
use subxt::OnlineClient;

// ---------------------------------------------------------------------------------------------
// pow_register, offline, mainnet's extension list
// ---------------------------------------------------------------------------------------------

/// The `pow_register_v1` vector entries with netuid 7 (a real-looking block hash and keys).
fn pow_register_vector() -> serde_json::Value {
    let vectors = support::vectors();
    let entries = vectors["pow_register_v1"].as_array().expect("entries").clone();
    entries.into_iter().find(|e| e["netuid"] == 7 && e["nonce"] == 255).expect("netuid-7 entry")
}

/// sp_runtime's `Era::Mortal` encoding, written out here independently of subxt.
fn mortal_era_bytes(period: u64, birth: u64) -> [u8; 2] {
    let phase = birth % period;
    let encoded = (period.trailing_zeros() - 1).clamp(1, 15) as u16 | ((phase as u16) << 4);
    encoded.to_le_bytes()
}

fn blake2_256(bytes: &[u8]) -> [u8; 32] {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    Blake2b::<U32>::digest(bytes).into()
}

#[test]
fn derived_metadata_has_pow_register_and_mainnets_extension_list() {
    let metadata = mainnet_metadata::derived();
    let names: Vec<_> = metadata.extrinsic().transaction_extensions_to_use_for_encoding().map(|e| e.identifier().to_string()).collect();
    assert_eq!(names, MAINNET_EXTENSIONS);
    let pallet = metadata.pallet_by_name("SubtensorModule").expect("pallet");
    let call = pallet.call_variant_by_name("pow_register").expect("pow_register");
    let names: Vec<_> = call.fields.iter().map(|f| f.name.clone().unwrap_or_default()).collect();
    assert_eq!(names, ["netuid", "work_block", "nonce", "work", "hotkey"]);
    assert_eq!(call.index, 152);
}

#[test]
fn pow_register_is_signed_by_the_coldkey_for_mainnets_extensions_and_decodes_back() {
    let metadata = Arc::new(mainnet_metadata::derived());
    let vector = pow_register_vector();
    let (netuid, nonce) = (vector["netuid"].as_u64().unwrap() as u16, support::u64_of(&vector["nonce"]));
    let (block_hash, hotkey, seal) =
        (support::hex32(&vector["block_hash"]), support::hex32(&vector["hotkey"]), support::hex32(&vector["seal"]));
    // The work bytes are a real seal: the reference seal of the vector's own inputs.
    let vector_coldkey = support::hex32(&vector["coldkey"]);
    assert_eq!(Challenge::pow_register(netuid, &block_hash, &hotkey, &vector_coldkey).unwrap().seal(nonce), seal);
    // The vectors' coldkeys have no secret key, so a test coldkey signs: this checks the
    // encoding and the signature, not admissibility.
    let coldkey = Keypair::from_seed(&[0x5c; 32]).unwrap();
    let work_block = 5_123_457u64;
    let registration = Registration { scheme: Scheme::PowRegister, netuid, work_block, nonce, seal, hotkey, coldkey: coldkey.public() };
    let genesis_hash = [0x2f; 32];
    let runtime = OfflineRuntime { metadata: metadata.clone(), genesis_hash, spec_version: DERIVED_SPEC, transaction_version: 1 };
    let mortality = Mortality { birth_number: work_block, birth_hash: block_hash, period_blocks: 64 };
    let account_nonce = 300u64;
    let bytes = tx::encode_signed(&runtime, &registration, &coldkey, account_nonce, mortality).expect("signs");

    // Decoded back through the same metadata: every field.
    let described = tx::describe_extrinsic(&metadata, &bytes).expect("decodes");
    assert_eq!(described["call"], "SubtensorModule.pow_register");
    let args = &described["arguments"];
    assert_eq!(args["netuid"], u64::from(netuid));
    assert_eq!(args["work_block"], work_block);
    assert_eq!(args["nonce"], nonce);
    assert_eq!(args["work"], format!("0x{}", hex::encode(seal)));
    assert_eq!(args["hotkey"], format!("0x{}", hex::encode(hotkey)));
    assert_eq!(described["signer"]["account"], format!("0x{}", hex::encode(coldkey.public())));
    assert_eq!(described["era"], serde_json::json!({ "period_blocks": 64, "phase": work_block % 64 }));
    assert_eq!(described["nonce"], account_nonce);
    assert_eq!(described["tip"], 0);
    assert_eq!(described["extensions"]["CheckMetadataHash"], serde_json::json!({ "mode": "Disabled" }));
    assert_eq!(described["extrinsic_hash"], format!("0x{}", hex::encode(blake2_256(&bytes))));

    // The same extrinsic written out by hand from PROTOCOL.md's encodings.
    let pallet = metadata.pallet_by_name("SubtensorModule").unwrap();
    let mut call = vec![pallet.call_index(), 152];
    call.extend(netuid.to_le_bytes());
    call.extend(work_block.to_le_bytes());
    call.extend(nonce.to_le_bytes());
    call.extend(seal);
    call.extend(hotkey);
    assert_signed_as_protocol_says(&bytes, &coldkey, &call, genesis_hash, account_nonce, mortality);
}

/// `bytes` is the signed v4 extrinsic PROTOCOL.md describes for mainnet's extension list: signer
/// `signer` (MultiAddress::Id), an sr25519 signature that verifies over the signing payload, the
/// extra data (era, nonce, tip 0, metadata-hash mode 0), then `call`; written out by hand here.
fn assert_signed_as_protocol_says(
    bytes: &[u8],
    signer: &Keypair,
    call: &[u8],
    genesis_hash: [u8; 32],
    account_nonce: u64,
    mortality: Mortality,
) {
    // Extra (in the extrinsic and the payload): era, nonce, tip, metadata-hash mode.
    let mut extra = mortal_era_bytes(mortality.period_blocks, mortality.birth_number).to_vec();
    extra.extend(Compact(account_nonce).encode());
    extra.push(0); // ChargeTransactionPayment: Compact(0) tip (subtensor's wrapper type, the same bytes)
    extra.push(0); // CheckMetadataHash: mode Disabled
                   // Implicit (payload only): spec version, transaction version, genesis, era birth hash, no metadata hash.
    let mut implicit = DERIVED_SPEC.to_le_bytes().to_vec();
    implicit.extend(1u32.to_le_bytes());
    implicit.extend(genesis_hash);
    implicit.extend(mortality.birth_hash);
    implicit.push(0);

    let mut body = vec![0x84, 0x00]; // signed v4; MultiAddress::Id
    body.extend(signer.public());
    body.push(0x01); // MultiSignature::Sr25519
    let mut expected_body = body.clone();
    expected_body.extend([0u8; 64]);
    expected_body.extend(&extra);
    expected_body.extend(call);
    let expected_prefix = Compact(expected_body.len() as u32).encode();
    assert_eq!(bytes.len(), expected_prefix.len() + expected_body.len(), "extrinsic length");
    let signature_start = expected_prefix.len() + body.len();
    let signature: [u8; 64] = bytes[signature_start..signature_start + 64].try_into().unwrap();
    let mut without_signature = bytes.to_vec();
    without_signature[signature_start..signature_start + 64].fill(0);
    assert_eq!(without_signature, [expected_prefix, expected_body].concat(), "bytes as PROTOCOL.md encodes them");

    // The signer's sr25519 signature over the signing payload (hashed when over 256 bytes).
    let payload = [call.to_vec(), extra, implicit].concat();
    let signed = if payload.len() > 256 { blake2_256(&payload).to_vec() } else { payload };
    let public = schnorrkel::PublicKey::from_bytes(&signer.public()).unwrap();
    let signature = schnorrkel::Signature::from_bytes(&signature).unwrap();
    assert!(public.verify_simple(b"substrate", &signed, &signature).is_ok(), "the signature verifies");
    let mut tampered = signed.clone();
    tampered[0] ^= 1;
    assert!(public.verify_simple(b"substrate", &tampered, &signature).is_err());
}

#[test]
fn register_limit_is_signed_by_the_coldkey_for_mainnets_extensions_and_decodes_back() {
    let metadata = Arc::new(mainnet_metadata::derived());
    assert_eq!(BurnCall::of(&metadata), Some(BurnCall::RegisterLimit), "spec 461 has register_limit natively");
    let coldkey = Keypair::from_seed(&[0x5d; 32]).unwrap();
    let hotkey = Keypair::from_seed(&[0x6e; 32]).unwrap();
    let burn = BurnRegistration { netuid: 3, hotkey: hotkey.public(), coldkey: coldkey.public(), limit_rao: 1_250_000_000 };
    let genesis_hash = [0x2f; 32];
    let runtime = OfflineRuntime { metadata: metadata.clone(), genesis_hash, spec_version: DERIVED_SPEC, transaction_version: 1 };
    let mortality = Mortality { birth_number: 9_240_388, birth_hash: [0x44; 32], period_blocks: 64 };
    let account_nonce = 12u64;
    let bytes = tx::encode_signed(&runtime, &burn, &coldkey, account_nonce, mortality).expect("signs");

    let described = tx::describe_extrinsic(&metadata, &bytes).expect("decodes");
    assert_eq!(described["call"], "SubtensorModule.register_limit");
    assert_eq!(
        described["arguments"],
        serde_json::json!({ "netuid": 3, "hotkey": format!("0x{}", hex::encode(hotkey.public())), "limit_price": 1_250_000_000u64 })
    );
    assert_eq!(described["signer"]["account"], format!("0x{}", hex::encode(coldkey.public())));
    assert_eq!(described["nonce"], account_nonce);
    assert_eq!(described["tip"], 0);
    assert_eq!(described["era"], serde_json::json!({ "period_blocks": 64, "phase": mortality.birth_number % 64 }));
    let extensions: Vec<&String> = described["extensions"].as_object().expect("extensions").keys().collect();
    assert!(extensions.iter().all(|name| MAINNET_EXTENSIONS.contains(&name.as_str())), "{extensions:?}");
    assert!(extensions.iter().any(|name| *name == "ChargeTransactionPayment"), "{extensions:?}");

    let pallet = metadata.pallet_by_name("SubtensorModule").unwrap();
    let variant = pallet.call_variant_by_name("register_limit").unwrap();
    eprintln!("spec 461: SubtensorModule = pallet {}, register_limit = call {}", pallet.call_index(), variant.index);
    let mut call = vec![pallet.call_index(), variant.index];
    call.extend(3u16.to_le_bytes());
    call.extend(hotkey.public());
    call.extend(1_250_000_000u64.to_le_bytes());
    assert_signed_as_protocol_says(&bytes, &coldkey, &call, genesis_hash, account_nonce, mortality);

    // The coldkey pays: the hotkey's signature is refused before anything is built.
    let refused = tx::encode_signed(&runtime, &burn, &hotkey, account_nonce, mortality);
    assert!(matches!(&refused, Err(TxError::WrongSigner { role: "coldkey", scheme: "register_limit", .. })), "{refused:?}");
}

#[test]
fn register_wrong_signers_and_the_faucet_are_refused_where_pow_register_exists() {
    let metadata = mainnet_metadata::derived();
    let runtime =
        OfflineRuntime { metadata: Arc::new(metadata), genesis_hash: [1; 32], spec_version: DERIVED_SPEC, transaction_version: 1 };
    let hotkey = Keypair::from_seed(&[1; 32]).unwrap();
    let coldkey = Keypair::from_seed(&[2; 32]).unwrap();
    let mortality = Mortality { birth_number: 10, birth_hash: [3; 32], period_blocks: 64 };
    let legacy = Registration {
        scheme: Scheme::Legacy,
        netuid: 1,
        work_block: 10,
        nonce: 1,
        seal: [4; 32],
        hotkey: hotkey.public(),
        coldkey: coldkey.public(),
    };
    // There, register is the burn registration: never built, whatever the signer.
    assert!(matches!(tx::encode_signed(&runtime, &legacy, &hotkey, 0, mortality), Err(TxError::RegisterIsBurn)));
    let pow = Registration { scheme: Scheme::PowRegister, ..legacy.clone() };
    let refused = tx::encode_signed(&runtime, &pow, &hotkey, 0, mortality);
    assert!(matches!(&refused, Err(TxError::WrongSigner { role: "coldkey", .. })), "{refused:?}");
    // Mainnet has no faucet (PROTOCOL.md), nor has the spec-461 node: nothing is built.
    let faucet = Registration { scheme: Scheme::Faucet, ..legacy };
    let missing = tx::encode_signed(&runtime, &faucet, &coldkey, 0, mortality);
    assert!(matches!(&missing, Err(TxError::CallMissing { call: "faucet", .. })), "{missing:?}");
}

// ---------------------------------------------------------------------------------------------
// Legacy register on the spec-218 runtime under chopsticks
// ---------------------------------------------------------------------------------------------

/// A chopsticks process this test started, on a free loopback port; killed on drop.
/// A client over the legacy JSON-RPC backend (subxt's default chainHead backend breaks with chopsticks).
async fn legacy_client(rpc: &RpcClient) -> OnlineClient<SubtensorConfig> {
    let backend = LegacyBackend::builder().build(rpc.clone());
    OnlineClient::from_backend_with_config(SubtensorConfig::new(), Arc::new(backend)).await.expect("client")
}

/// The best block: number and hash.
async fn best_block(rpc: &RpcClient) -> (u64, [u8; 32]) {
    let header: serde_json::Value = rpc.request("chain_getHeader", rpc_params![]).await.expect("header");
    let number = u64::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let hash: String = rpc.request("chain_getBlockHash", rpc_params![number]).await.expect("hash");
    (number, regsolver::pow::ss58::parse_hex::<32>(&hash).unwrap())
}

async fn uid_on_chain(client: &OnlineClient<SubtensorConfig>, rpc: &RpcClient, netuid: u16, hotkey: [u8; 32]) -> Option<u16> {
    let (_, best) = best_block(rpc).await;
    let at = client.at_block(H256(best)).await.expect("at block");
    let address = subxt::dynamic::storage::<(u16, AccountId32), u16>("SubtensorModule", "Uids");
    at.storage().try_fetch(address, (netuid, AccountId32(hotkey))).await.expect("Uids").map(|v| v.decode().expect("u16"))
}

const DIFFICULTY: u64 = 1000;

fn solve_legacy(block_hash: &[u8; 32], hotkey: &[u8; 32]) -> (u64, [u8; 32]) {
    let challenge = Challenge::legacy(block_hash, hotkey);
    let target = Target::from_difficulty(DIFFICULTY).unwrap();
    // Spec 218 reads seals big-endian.
    let nonce = challenge.first_valid(&target, ByteOrder::Big, 0, 100 * DIFFICULTY).expect("a seal within 100 D");
    (nonce, challenge.seal(nonce))
}

#[tokio::test(flavor = "current_thread")]
async fn legacy_register_on_spec_218_registers_then_fails_by_name() {
    let chain = chopsticks::Chopsticks::start(chopsticks::Spec::S218).await.unwrap_or_else(|e| panic!("{e}"));
    let rpc = RpcClient::from_insecure_url(chain.url()).await.expect("connects");
    let storage = serde_json::json!({ "SubtensorModule": {
        "Difficulty": [[[1], DIFFICULTY]],
        "NetworkPowRegistrationAllowed": [[[1], true]],
        "MaxRegistrationsPerBlock": [[[1], 10]],
        "TargetRegistrationsPerInterval": [[[1], 10]],
    }});
    let _: serde_json::Value = rpc.request("dev_setStorage", rpc_params![storage]).await.expect("dev_setStorage");
    let _: serde_json::Value = rpc.request("dev_newBlock", rpc_params![]).await.expect("dev_newBlock");
    let client = legacy_client(&rpc).await;
    let deadline = Duration::from_secs(60);
    let coldkey = Keypair::from_seed(&[0xc0; 32]).unwrap().public();

    // A real seal, signed by the hotkey: registered, with the UID the chain stores.
    let hotkey = Keypair::from_seed(&[0xa1; 32]).unwrap();
    let (work_block, block_hash) = best_block(&rpc).await;
    let (nonce, seal) = solve_legacy(&block_hash, &hotkey.public());
    let registration = Registration { scheme: Scheme::Legacy, netuid: 1, work_block, nonce, seal, hotkey: hotkey.public(), coldkey };
    let (signed, outcome) = tx::submit(&client, block_hash, &registration, &hotkey, deadline).await.expect("submitted");
    let Outcome::Registered { block_number, uid: Some(uid), .. } = outcome else { panic!("not registered: {outcome:?}") };
    assert_eq!(block_number, work_block + 1);
    assert_eq!(uid_on_chain(&client, &rpc, 1, hotkey.public()).await, Some(uid));
    assert_eq!(signed.mortality.birth_number, work_block);

    // The same seal again (signed at the new best block, with the next account nonce): already registered.
    let (_, best_hash) = best_block(&rpc).await;
    let (_, again) = tx::submit(&client, best_hash, &registration, &hotkey, deadline).await.expect("submitted");
    assert!(
        matches!(&again, Outcome::DispatchFailed { pallet, error, .. } if pallet == "SubtensorModule" && error == "HotKeyAlreadyRegisteredInSubNet"),
        "{again:?}"
    );

    // One wrong byte that still meets the difficulty: InvalidSeal, decoded by name.
    let other = Keypair::from_seed(&[0xa2; 32]).unwrap();
    let (work_block, block_hash) = best_block(&rpc).await;
    let (nonce, mut seal) = solve_legacy(&block_hash, &other.public());
    seal[31] ^= 0x01;
    assert!(Target::from_difficulty(DIFFICULTY).unwrap().is_met_by(&seal, ByteOrder::Big));
    let bad = Registration { scheme: Scheme::Legacy, netuid: 1, work_block, nonce, seal, hotkey: other.public(), coldkey };
    let (_, outcome) = tx::submit(&client, block_hash, &bad, &other, deadline).await.expect("submitted");
    assert!(
        matches!(&outcome, Outcome::DispatchFailed { pallet, error, .. } if pallet == "SubtensorModule" && error == "InvalidSeal"),
        "{outcome:?}"
    );
    assert_eq!(uid_on_chain(&client, &rpc, 1, other.public()).await, None);

    // Signed for another chain (wrong genesis hash): the pool refuses it, BadProof.
    let at = client.at_block(H256(block_hash)).await.expect("at block");
    let runtime = OfflineRuntime {
        metadata: at.metadata(),
        genesis_hash: [9; 32],
        spec_version: at.spec_version(),
        transaction_version: at.transaction_version(),
    };
    let mortality = Mortality { birth_number: work_block, birth_hash: block_hash, period_blocks: 64 };
    let bytes = tx::encode_signed(&runtime, &bad, &other, 1, mortality).expect("signs");
    let signed = tx::SignedRegistration { extrinsic_hash: blake2_256(&bytes), bytes, account_nonce: 1, mortality };
    let outcome = tx::submit_signed(&client, &signed, &bad, deadline).await.expect("submitted");
    assert_eq!(outcome, Outcome::PoolRejected(Rejection::BadProof));

    // A signature by the coldkey would be refused by the runtime: regsolver refuses to build it.
    let coldkey_pair = Keypair::from_seed(&[0xc0; 32]).unwrap();
    let refused = tx::submit(&client, block_hash, &bad, &coldkey_pair, deadline).await;
    assert!(matches!(refused, Err(TxError::WrongSigner { role: "hotkey", .. })), "{refused:?}");
    // pow_register does not exist on spec 218.
    let pow = Registration { scheme: Scheme::PowRegister, ..bad };
    let missing = tx::submit(&client, block_hash, &pow, &coldkey_pair, deadline).await;
    assert!(matches!(missing, Err(TxError::CallMissing { call: "pow_register", .. })), "{missing:?}");
}

// ---------------------------------------------------------------------------------------------
// burned_register on the spec-293 runtime under chopsticks
// ---------------------------------------------------------------------------------------------

/// The burn price set on the test subnet: 1.5 TAO, pinned by `MinBurn` and `MaxBurn`.
const BURN_PRICE_RAO: u64 = 1_500_000_000;

/// The free balance of `account` at the best block, as regsolver reads it.
async fn free_rao(chain: &regsolver::chain::Chain, netuid: u16, account: &[u8; 32]) -> u128 {
    let best = chain.best_block().await.expect("best block");
    chain.burn_quote(&best, netuid, account).await.expect("quote").free_rao
}

#[tokio::test(flavor = "current_thread")]
async fn burned_register_on_spec_293_registers_and_costs_the_price_plus_the_fee() {
    burned_register_registers_and_costs_the_price_plus_the_fee(chopsticks::Spec::S293).await;
}

#[tokio::test(flavor = "current_thread")]
async fn burned_register_on_spec_218_registers_and_costs_the_price_plus_the_fee() {
    burned_register_registers_and_costs_the_price_plus_the_fee(chopsticks::Spec::S218).await;
}

/// A `burned_register` built, signed by the coldkey, priced and checked by regsolver's code, then
/// sent: the hotkey holds a UID and the coldkey's free balance dropped by the price plus the fee.
async fn burned_register_registers_and_costs_the_price_plus_the_fee(spec: chopsticks::Spec) {
    use regsolver::chain::{connect, Endpoint};
    let node = chopsticks::Chopsticks::start(spec).await.unwrap_or_else(|e| panic!("{e}"));
    let coldkey = Keypair::from_seed(&[0xb0; 32]).unwrap();
    let hotkey = Keypair::from_seed(&[0xb1; 32]).unwrap().public();
    let price = BURN_PRICE_RAO;
    node.open_burn_subnet(1, price).await.unwrap();
    node.fund(&[coldkey.public()], chopsticks::FUND_RAO).await.unwrap();
    node.new_block().await.unwrap();
    let chain = connect(&Endpoint::Rpc(node.url()), None, Duration::from_secs(60)).await.expect("connects");

    // What the loop reads before deciding: the price and the coldkey's balance at the best block.
    let best = chain.best_block().await.expect("best block");
    let quote = chain.burn_quote(&best, 1, &coldkey.public()).await.expect("quote");
    assert_eq!((quote.price_rao, quote.free_rao), (price, chopsticks::FUND_RAO), "the storage set is what is read");
    let at = chain.client().at_block(H256(best.hash)).await.expect("at block");
    assert_eq!(BurnCall::of(at.metadata_ref()), Some(BurnCall::BurnedRegister), "the test runtimes have no register_limit");

    // Built, signed by the coldkey, priced by the runtime, checked by the rule, sent.
    let burn = BurnRegistration { netuid: 1, hotkey, coldkey: coldkey.public(), limit_rao: price };
    let signed = tx::sign(chain.client(), best.hash, &burn, &coldkey).await.expect("signs");
    let described = tx::describe_extrinsic(at.metadata_ref(), &signed.bytes).expect("decodes");
    assert_eq!(described["call"], "SubtensorModule.burned_register");
    assert_eq!(described["arguments"], serde_json::json!({ "netuid": 1, "hotkey": format!("0x{}", hex::encode(hotkey)) }));
    assert_eq!(described["signer"]["account"], format!("0x{}", hex::encode(coldkey.public())));
    let fee = chain.fee_rao(&best, &signed.bytes).await.expect("fee");
    let options = regsolver::burn::BurnOptions { max_rao: price, after: None, budget_rao: None, ledger: "unused".into() };
    let cost = regsolver::burn::check(&options, quote.price_rao, fee, quote.free_rao, 0).expect("within the cap");
    let outcome = tx::submit_signed(chain.client(), &signed, &burn, Duration::from_secs(60)).await.expect("submitted");
    let Outcome::Registered { uid: Some(uid), .. } = outcome else { panic!("not registered: {outcome:?}") };
    assert_eq!(node.registered_uid(1, hotkey).await.unwrap(), Some(uid));

    let after = free_rao(&chain, 1, &coldkey.public()).await;
    eprintln!(
        "burned_register on spec {}: price {price} RAO, fee {fee} RAO (payment_queryInfo), balance {} -> {after} RAO",
        spec.version(),
        quote.free_rao
    );
    assert_eq!(quote.free_rao - after, cost, "the balance drops by the price plus the fee");

    // burned_register pays no fee on these runtimes; a call that pays shows the fee read is the
    // one the chain takes: System.remark, signed by the coldkey, costs exactly its queried fee.
    let best = chain.best_block().await.expect("best block");
    let at = chain.client().at_block(H256(best.hash)).await.expect("at block");
    let nonce = at.tx().account_nonce(&AccountId32(coldkey.public())).await.expect("nonce");
    let remark = subxt::dynamic::tx("System", "remark", vec![subxt::dynamic::Value::from_bytes(b"regsolver fee check")]);
    let mortality = Mortality { birth_number: best.number, birth_hash: best.hash, period_blocks: 64 };
    let params = regsolver::chain::config::transaction_params(nonce, mortality);
    let bytes = at.tx().create_signable_offline(&remark, params).expect("signable").sign(&coldkey).expect("signs").into_encoded();
    let remark_fee = chain.fee_rao(&best, &bytes).await.expect("fee");
    assert!(remark_fee > 0, "System.remark pays a fee");
    at.tx().from_bytes(bytes).submit().await.expect("submitted");
    for _ in 0..100 {
        if node.best_number().await.unwrap() > best.number {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = free_rao(&chain, 1, &coldkey.public()).await;
    eprintln!("System.remark on spec {}: fee {remark_fee} RAO (payment_queryInfo), balance {after} -> {end} RAO", spec.version());
    assert_eq!(after - end, remark_fee, "the queried fee is what the chain charged");
}
