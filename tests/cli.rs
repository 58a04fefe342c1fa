//! The `regsolver` binary as a user runs it: `solve` for every scheme and byte order, clear
//! errors with non-zero exits for bad input, `bench --json` and `devices`.

mod common;

use std::process::{Command, Output};

use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::ss58::parse_account;
use regsolver::pow::{ByteOrder, Challenge, Target};
use serde_json::Value;

const BLOCK: &str = "f991813ca062ab9d090fa063cd042b6f7fb77e3aa15c4c668742f0b1b4ce8478";
const HOTKEY: &str = "e8485623dde364c184f05e9ab1f66f9939c5a28d479538f37fda36c49b6743ab";
const COLDKEY: &str = "0f1973c158752f2e8d4cc2acea64432f899120ba6cfb93fe37731592da565268";
const HOTKEY_SS58: &str = "5HKGTLKg2vsc";

fn regsolver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regsolver")).args(args).env("REGSOLVER_LOG", "warn").output().expect("run regsolver")
}

fn json_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}\nstdout: {stdout}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().expect("a line")).expect("JSON on the last line")
}

/// Runs `solve --json`, checks the report's shape and re-verifies the seal with the reference.
fn solve_and_verify(args: &[&str], challenge: Challenge, order: ByteOrder, difficulty: u64) -> Value {
    let mut all = vec!["solve", "--json", "--block-hash", BLOCK];
    all.extend_from_slice(args);
    let report = json_of(&regsolver(&all));
    for key in ["scheme", "nonce", "seal", "difficulty", "hashes", "seconds"] {
        assert!(report.get(key).is_some(), "missing {key} in {report}");
    }
    assert_eq!(report["difficulty"].as_u64(), Some(difficulty));
    let nonce = report["nonce"].as_u64().unwrap();
    let hot = HotLoop::new(challenge, Target::from_difficulty(difficulty).unwrap(), order);
    let seal = hot.verify(nonce).unwrap_or_else(|| panic!("reference rejects nonce {nonce}: {report}"));
    assert_eq!(report["seal"].as_str().unwrap(), hex::encode(seal));
    assert!(report["hashes"].as_u64().unwrap() > 0);
    report
}

fn key(text: &str) -> [u8; 32] {
    parse_account(text).unwrap()
}

#[test]
fn solve_pow_register_with_hex_and_ss58_keys() {
    let hot_ss58 = regsolver::pow::ss58::encode_ss58(&key(HOTKEY));
    assert!(hot_ss58.starts_with(HOTKEY_SS58));
    let challenge = Challenge::pow_register(7, &key(BLOCK), &key(HOTKEY), &key(COLDKEY)).unwrap();
    let report = solve_and_verify(
        &[
            "--scheme",
            "pow-register",
            "--netuid",
            "7",
            "--hotkey",
            &hot_ss58,
            "--coldkey",
            &format!("0x{COLDKEY}"),
            "--difficulty",
            "100000",
        ],
        challenge,
        ByteOrder::Little,
        100_000,
    );
    assert_eq!(report["scheme"], "pow-register");
}

#[test]
fn solve_legacy_both_byte_orders_finds_the_first_valid_nonce() {
    // From the reference vectors: first valid nonces from 0 at difficulty 1000.
    let (block, key_hex) = (
        "c444e4205857add79a0427401aa2518d11e85f32377eff9a946d180a54697459",
        "ba3189e99e75b6097cd94a5ecc771016b83c8432d35d14a03ab731b07112f559",
    );
    for (order, flag, first) in [(ByteOrder::Little, "le", 1055u64), (ByteOrder::Big, "be", 676)] {
        let args = [
            "solve",
            "--json",
            "--scheme",
            "legacy",
            "--block-hash",
            block,
            "--hotkey",
            key_hex,
            "--difficulty",
            "1000",
            "--byte-order",
            flag,
            "--start-nonce",
            "0",
            "--threads",
            "1",
        ];
        let report = json_of(&regsolver(&args));
        assert_eq!(report["nonce"].as_u64(), Some(first), "{flag}: {report}");
        let hot = HotLoop::new(Challenge::legacy(&self::key(block), &self::key(key_hex)), Target::from_difficulty(1000).unwrap(), order);
        assert!(hot.verify(first).is_some());
    }
}

#[test]
fn solve_faucet_defaults_to_its_fixed_difficulty() {
    let challenge = Challenge::legacy(&key(BLOCK), &key(COLDKEY));
    let report =
        solve_and_verify(&["--scheme", "faucet", "--coldkey", COLDKEY, "--byte-order", "le"], challenge, ByteOrder::Little, 1_000_000);
    assert_eq!(report["scheme"], "faucet");
}

#[test]
fn solve_respects_the_start_nonce_across_the_wrap() {
    // Position space wraps at 2^64: a start near the end must still find a seal.
    let challenge = Challenge::legacy(&key(BLOCK), &key(HOTKEY));
    let start = (u64::MAX - 100).to_string();
    solve_and_verify(
        &["--scheme", "legacy", "--hotkey", HOTKEY, "--difficulty", "5000", "--start-nonce", &start, "--threads", "2"],
        challenge,
        ByteOrder::Little,
        5000,
    );
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let out = regsolver(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn bad_input_gives_clear_errors_and_exit_code_2() {
    let base = ["solve", "--scheme", "pow-register", "--netuid", "7", "--hotkey", HOTKEY, "--coldkey", COLDKEY];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    assert_usage_error(&with(&["--block-hash", "abcd", "--difficulty", "10"]), "--block-hash: expected 32 bytes");
    assert_usage_error(&with(&["--block-hash", BLOCK, "--difficulty", "0"]), "difficulty must be at least 1");
    assert_usage_error(&with(&["--block-hash", BLOCK]), "needs --difficulty");
    assert_usage_error(
        &[
            "solve",
            "--scheme",
            "pow-register",
            "--netuid",
            "0",
            "--hotkey",
            HOTKEY,
            "--coldkey",
            COLDKEY,
            "--block-hash",
            BLOCK,
            "--difficulty",
            "10",
        ],
        "root network",
    );
    assert_usage_error(
        &["solve", "--scheme", "pow-register", "--hotkey", HOTKEY, "--coldkey", COLDKEY, "--block-hash", BLOCK, "--difficulty", "10"],
        "needs --netuid",
    );
    assert_usage_error(&["solve", "--scheme", "nope", "--block-hash", BLOCK], "invalid value 'nope'");
    assert_usage_error(
        &["solve", "--scheme", "legacy", "--hotkey", HOTKEY, "--coldkey", COLDKEY, "--block-hash", BLOCK, "--difficulty", "10"],
        "does not take --coldkey",
    );
    assert_usage_error(
        &["solve", "--scheme", "faucet", "--hotkey", HOTKEY, "--coldkey", COLDKEY, "--block-hash", BLOCK],
        "does not take --hotkey",
    );
    // A valid SS58 address with its last character changed fails the checksum.
    let good = regsolver::pow::ss58::encode_ss58(&key(HOTKEY));
    let bad = format!("{}{}", &good[..good.len() - 1], if good.ends_with('2') { '3' } else { '2' });
    let args = ["solve", "--scheme", "legacy", "--hotkey", bad.as_str(), "--block-hash", BLOCK, "--difficulty", "10"];
    assert_usage_error(&args, "--hotkey");
    assert_usage_error(&["solve", "--scheme", "legacy", "--hotkey", "zz", "--block-hash", BLOCK, "--difficulty", "10"], "--hotkey");
    assert_usage_error(&["bench", "--seconds", "0"], "--seconds must be a positive number");
    assert_usage_error(&["frobnicate"], "unrecognized subcommand");
    // A device that does not exist is a bad flag, not a reason to fall back to the CPU.
    let opencl_missing =
        ["solve", "--scheme", "legacy", "--hotkey", HOTKEY, "--block-hash", BLOCK, "--difficulty", "10", "--opencl", "9:9"];
    match regsolver::solver::opencl::list() {
        Ok(list) if !list.is_empty() => {
            assert_usage_error(&opencl_missing, "--opencl 9:9: no such device");
            assert_usage_error(&["bench", "--backend", "opencl", "--opencl", "9:9"], "--opencl 9:9: no such device");
        }
        _ => common::skip_or_fail("REGSOLVER_REQUIRE_OPENCL", "no OpenCL device for the --opencl selection check"),
    }
}

#[test]
fn solve_timeout_exits_3() {
    let out = regsolver(&[
        "solve",
        "--scheme",
        "legacy",
        "--hotkey",
        HOTKEY,
        "--block-hash",
        BLOCK,
        "--difficulty",
        "18446744073709551615",
        "--timeout",
        "0.5",
        "--threads",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no solution found within 0.5 s"));
}

#[test]
fn bench_json_reports_cpu_hashrate() {
    let report = json_of(&regsolver(&["bench", "--backend", "cpu", "--threads", "1", "--seconds", "0.5", "--json"]));
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["backend"], "cpu");
    assert_eq!(r["scheme"], "pow-register");
    assert_eq!(r["threads"], 1);
    assert!(r["device"].as_str().unwrap().starts_with("cpu ("));
    assert!(r["seals_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_all_measures_what_exists_and_names_what_is_missing() {
    let report = json_of(&regsolver(&["bench", "--backend", "all", "--threads", "1", "--seconds", "0.3", "--json", "--scheme", "legacy"]));
    let mut backends: Vec<String> =
        report["results"].as_array().unwrap().iter().map(|r| r["backend"].as_str().unwrap().to_string()).collect();
    backends.extend(report["unavailable"].as_array().unwrap().iter().map(|u| u["backend"].as_str().unwrap().to_string()));
    backends.sort();
    backends.dedup();
    assert_eq!(backends, ["cpu", "cuda", "opencl"], "{report}");
}

#[test]
fn devices_lists_the_simd_choice_and_each_gpu_backend() {
    let listing = json_of(&regsolver(&["devices", "--json"]));
    let selected = listing["cpu"]["simd_selected"].as_str().unwrap();
    assert!(listing["cpu"]["simd_available"].as_array().unwrap().iter().any(|v| v == selected));
    for backend in ["cuda", "opencl"] {
        assert!(listing[backend].get("devices").is_some() || listing[backend].get("unavailable").is_some(), "{listing}");
    }
    let text = regsolver(&["devices"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("SIMD paths:") && text.contains("CUDA:") && text.contains("OpenCL:"), "{text}");
}

#[test]
fn simd_paths_are_selectable_and_an_absent_one_is_refused_clearly() {
    for level in regsolver::solver::cpu::SimdLevel::available() {
        let report = json_of(&regsolver(&["bench", "--simd", level.name(), "--threads", "1", "--seconds", "0.2", "--json"]));
        assert_eq!(report["results"][0]["device"], format!("cpu ({})", level.name()));
    }
    let missing = ["avx2", "avx512"].into_iter().find(|n| !regsolver::solver::cpu::SimdLevel::available().iter().any(|l| l.name() == *n));
    if let Some(name) = missing {
        let out = regsolver(&["bench", "--simd", name, "--threads", "1", "--seconds", "0.2"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("does not support"));
    }
}
