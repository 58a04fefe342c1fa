//! The `regsolver` binary as a user runs it: `solve` for every scheme and byte order, clear
//! errors with non-zero exits for bad input (every flag of every command, table-driven), the
//! device fallback rule, JSON on every exit, `bench --json` and `devices`.

use crate::support::{self, process};

use std::process::Output;
use std::time::Duration;

use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::ss58::parse_account;
use regsolver::pow::{ByteOrder, Challenge, Target};
use serde_json::Value;

const BLOCK: &str = "f991813ca062ab9d090fa063cd042b6f7fb77e3aa15c4c668742f0b1b4ce8478";
const HOTKEY: &str = "e8485623dde364c184f05e9ab1f66f9939c5a28d479538f37fda36c49b6743ab";
const COLDKEY: &str = "0f1973c158752f2e8d4cc2acea64432f899120ba6cfb93fe37731592da565268";
const HOTKEY_SS58: &str = "5HKGTLKg2vsc";

/// The longest any one run of the binary may take before the test fails (and kills it).
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn regsolver(args: &[&str]) -> Output {
    run_bounded(args, RUN_LIMIT)
}

/// Runs the binary (warnings and errors logged only), killing it and failing if it outlives `limit`.
fn run_bounded(args: &[&str], limit: Duration) -> Output {
    let mut command = process::regsolver(args);
    command.env("REGSOLVER_LOG", "warn");
    process::output_within(command.into_std(), limit)
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
    assert_usage_error(&["status", "--wallet.path", "/nonexistent"], "--subnet N is required");
    // A device that does not exist is a bad flag, not a reason to fall back to the CPU.
    let opencl_missing =
        ["solve", "--scheme", "legacy", "--hotkey", HOTKEY, "--block-hash", BLOCK, "--difficulty", "10", "--opencl", "9:9"];
    match regsolver::solver::opencl::list() {
        Ok(list) if !list.is_empty() => {
            assert_usage_error(&opencl_missing, "--opencl 9:9: no such device");
            assert_usage_error(&["bench", "--backend", "opencl", "--opencl", "9:9"], "--opencl 9:9: no such device");
        }
        _ => {
            // Without OpenCL the named device is refused all the same, as unavailable.
            assert_device_unavailable(&opencl_missing, "--opencl 9:9: unavailable on this machine");
            support::skip_or_fail("REGSOLVER_REQUIRE_OPENCL", "no OpenCL device for the --opencl selection check")
        }
    }
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_device_unavailable(args: &[&str], needle: &str) {
    let out = regsolver(args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
}

const POW_ARGS: [&str; 11] =
    ["solve", "--scheme", "pow-register", "--netuid", "7", "--hotkey", HOTKEY, "--coldkey", COLDKEY, "--block-hash", BLOCK];

/// `solve` for pow-register at difficulty 1000 with `extra` flags (on one thread, unless
/// `extra` sets `--threads`).
fn pow_solve(extra: &[&'static str]) -> Vec<&'static str> {
    let threads: &[&str] = if extra.contains(&"--threads") { &[] } else { &["--threads", "1"] };
    POW_ARGS.iter().copied().chain(["--difficulty", "1000"]).chain(threads.iter().copied()).chain(extra.iter().copied()).collect()
}

#[test]
fn issue_10_inputs_are_refused_with_exit_2() {
    for threads in ["100000", "18446744073709551615"] {
        assert_usage_error(&pow_solve(&["--threads", threads]), &format!("--threads {threads} is more than"));
        assert_usage_error(&["bench", "--threads", threads, "--seconds", "0.1"], &format!("--threads {threads} is more than"));
    }
    assert_usage_error(&pow_solve(&["--threads", "0"]), "--threads must be at least 1");
    assert_usage_error(&["bench", "--threads", "0"], "--threads must be at least 1");
    assert_usage_error(&pow_solve(&["--threads", "100000"]), "per core on this machine");
    for backend in ["opencl", "cuda"] {
        for (flag, needle) in
            [("--gpu-threads", "--gpu-threads must be between 1"), ("--gpu-nonces-per-thread", "--gpu-nonces-per-thread must be between 1")]
        {
            assert_usage_error(&pow_solve(&["--backend", backend, flag, "0"]), needle);
            assert_usage_error(&["bench", "--backend", backend, flag, "0", "--seconds", "0.1"], needle);
        }
    }
    assert_usage_error(&pow_solve(&["--byte-order", "be"]), "--scheme pow-register does not take --byte-order be");
    let legacy = ["solve", "--scheme", "legacy", "--hotkey", HOTKEY, "--block-hash", BLOCK, "--difficulty", "10"];
    assert_usage_error(&[&legacy[..], &["--netuid", "7"][..]].concat(), "--scheme legacy does not take --netuid");
    let faucet = ["solve", "--scheme", "faucet", "--coldkey", COLDKEY, "--block-hash", BLOCK, "--netuid", "7"];
    assert_usage_error(&faucet, "--scheme faucet does not take --netuid");
    assert_usage_error(&pow_solve(&["--simd", "all"]), "--simd all is for `bench` only");
}

/// The rule: a device named by id must be usable (exit 2 if the backend lacks it, exit 4 if the
/// backend is unavailable here); `all` takes what there is and falls back to the CPU, loudly.
#[test]
fn named_gpus_must_exist_and_all_falls_back_to_the_cpu_loudly() {
    match regsolver::solver::cuda::list() {
        Ok(list) if !list.is_empty() => {
            assert_usage_error(&pow_solve(&["--gpu", "65535"]), "--gpu 65535: no such device");
        }
        _ => {
            assert_device_unavailable(&pow_solve(&["--gpu", "5"]), "--gpu 5: unavailable on this machine");
            assert_device_unavailable(&["bench", "--backend", "cuda", "--seconds", "0.1"], "--backend cuda: unavailable on this machine");
            let out = regsolver(&pow_solve(&["--backend", "cuda", "--gpu", "all", "--json"]));
            let stderr = stderr_of(&out);
            assert!(out.status.success(), "{stderr}");
            assert!(stderr.contains("NO GPU BACKEND IS AVAILABLE") && stderr.contains("falling back to the CPU"), "{stderr}");
            assert!(json_of(&out)["device"].as_str().unwrap().starts_with("cpu:"));
        }
    }
}

/// With `--json`, a failing run prints exactly one JSON object on stdout, with its exit code.
fn assert_json_error(args: &[&str], code: i32) -> Value {
    let out = regsolver(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr_of(&out));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: one JSON line on stdout, got {stdout:?}");
    let value: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(value["code"], code, "{value}");
    assert!(!value["error"].as_str().unwrap().is_empty());
    value
}

#[test]
fn json_runs_print_one_json_object_on_every_exit() {
    let timeout = ["--difficulty", "18446744073709551615", "--timeout", "0.3", "--json"];
    let legacy = ["solve", "--scheme", "legacy", "--hotkey", HOTKEY, "--block-hash", BLOCK, "--threads", "1"];
    let value = assert_json_error(&[&legacy[..], &timeout[..]].concat(), 3);
    assert_eq!(value["error"], "no solution found within 0.3 s");
    assert_json_error(&pow_solve(&["--threads", "0", "--json"]), 2);
    assert_json_error(&pow_solve(&["--threads", "abc", "--json"]), 2);
    assert_json_error(&["bench", "--seconds", "-5", "--json"], 2);
    if regsolver::solver::cuda::list().map(|l| l.is_empty()).unwrap_or(true) {
        assert_json_error(&pow_solve(&["--gpu", "5", "--json"]), 4);
    }
}

/// Every flag of every command, with values out of range, zero, negative, absurd or malformed:
/// each run is bounded, exits 2 with one line on stderr (and one JSON object on stdout with
/// `--json`), and never panics. A flag missing from the table fails the test, so the next
/// flag added gets the same treatment. Zero is listed where it is not a valid value.
#[test]
fn every_flag_refuses_bad_values_with_one_line_and_exit_2() {
    let absurd = "9".repeat(40);
    let not_hex = "zz".repeat(32);
    let solve_base: Vec<&str> = pow_solve(&["--timeout", "20"]);
    let bench_base: Vec<&str> = vec!["bench", "--threads", "1", "--seconds", "0.1"];
    let table: Vec<(&str, &[&str], &str, Vec<&str>)> = vec![
        ("solve", &solve_base[..], "--scheme", vec!["", "nope", "0", "-1", &absurd]),
        ("solve", &solve_base[..], "--netuid", vec!["0", "-1", "65536", &absurd, "x"]),
        ("solve", &solve_base[..], "--block-hash", vec!["", "0", "-1", "abcd", &absurd, &not_hex]),
        ("solve", &solve_base[..], "--hotkey", vec!["", "0", "-1", "zz", &absurd]),
        ("solve", &solve_base[..], "--coldkey", vec!["", "0", "-1", "zz", &absurd]),
        ("solve", &solve_base[..], "--difficulty", vec!["0", "-1", "18446744073709551616", &absurd, "x"]),
        ("solve", &solve_base[..], "--byte-order", vec!["", "0", "-1", "middle", "be"]),
        // Every u64 is a start nonce, 0 included.
        ("solve", &solve_base[..], "--start-nonce", vec!["-1", "18446744073709551616", &absurd, "x"]),
        ("solve", &solve_base[..], "--backend", vec!["", "0", "-1", "gpu", "cpu,nope"]),
        ("solve", &solve_base[..], "--threads", vec!["0", "-1", "100000", "18446744073709551615", &absurd, "x"]),
        ("solve", &solve_base[..], "--simd", vec!["", "0", "-1", "avx9", "all"]),
        ("solve", &solve_base[..], "--gpu", vec!["", "-1", "x", "0:0", "0,,1", &absurd]),
        ("solve", &solve_base[..], "--opencl", vec!["", "0", "-1:0", "a:b", "0:0:0", &absurd]),
        ("solve", &solve_base[..], "--gpu-threads", vec!["0", "-1", "4294967295", "4294967296", &absurd]),
        ("solve", &solve_base[..], "--gpu-nonces-per-thread", vec!["0", "-1", "4294967295", "4294967296", &absurd]),
        ("solve", &solve_base[..], "--timeout", vec!["0", "-1", "nan", "inf", "1e300", "x"]),
        ("solve", &solve_base[..], "--json", vec!["x"]),
        ("solve", &solve_base[..], "--verbose", vec!["x"]),
        ("bench", &bench_base[..], "--backend", vec!["", "0", "-1", "gpu"]),
        ("bench", &bench_base[..], "--scheme", vec!["", "0", "-1", "nope"]),
        ("bench", &bench_base[..], "--seconds", vec!["0", "-1", "nan", "inf", "1e300", &absurd, "x"]),
        ("bench", &bench_base[..], "--threads", vec!["0", "-1", "100000", "18446744073709551615", &absurd, "x"]),
        ("bench", &bench_base[..], "--simd", vec!["", "0", "-1", "avx9"]),
        ("bench", &bench_base[..], "--gpu", vec!["", "-1", "x", "0:0", &absurd]),
        ("bench", &bench_base[..], "--opencl", vec!["", "0", "-1:0", "a:b", &absurd]),
        ("bench", &bench_base[..], "--gpu-threads", vec!["0", "-1", "4294967295", &absurd]),
        ("bench", &bench_base[..], "--gpu-nonces-per-thread", vec!["0", "-1", "4294967295", &absurd]),
        ("bench", &bench_base[..], "--json", vec!["x"]),
        ("bench", &bench_base[..], "--verbose", vec!["x"]),
        ("devices", &["devices"][..], "--json", vec!["x"]),
        ("devices", &["devices"][..], "--verbose", vec!["x"]),
    ];
    // The table covers every flag each command's --help lists.
    for command in ["solve", "bench", "devices"] {
        let help = String::from_utf8_lossy(&regsolver(&[command, "--help"]).stdout).into_owned();
        for flag in help.split_whitespace().filter(|w| w.starts_with("--")).map(|w| w.trim_end_matches(',')) {
            if flag == "--help" || flag == "--version" {
                continue;
            }
            assert!(table.iter().any(|(c, _, f, _)| *c == command && *f == flag), "{command} {flag} has no row in the table");
        }
    }
    for (_, base, flag, values) in &table {
        for value in values {
            // Switches take no value: `--json=x`. Others: the base with this flag's value replaced.
            let mut args: Vec<String> = Vec::new();
            let mut i = 0;
            while i < base.len() {
                if base[i] == *flag {
                    i += 2;
                    continue;
                }
                args.push(base[i].to_string());
                i += 1;
            }
            let switch = matches!(*flag, "--json" | "--verbose");
            if switch {
                args.push(format!("{flag}={value}"));
            } else {
                args.extend([flag.to_string(), value.to_string()]);
                args.push("--json".into());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_bounded(&args, Duration::from_secs(60));
            let stderr = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{flag} {value:?}: exit {:?}, stderr {stderr}", out.status);
            assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{flag} {value:?}: {stderr}");
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{flag} {value:?}: one line on stderr, got {stderr:?}");
            assert!(lines[0].starts_with("error: "), "{flag} {value:?}: {stderr}");
            if !switch {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{flag} {value:?}: {e}: {stdout:?}"));
                assert_eq!(json["code"], 2, "{flag} {value:?}: {json}");
            }
        }
    }
}

#[test]
fn bench_simd_all_measures_every_path_this_cpu_runs() {
    let report = json_of(&regsolver(&["bench", "--simd", "all", "--threads", "1", "--seconds", "0.2", "--json"]));
    let devices: Vec<&str> = report["results"].as_array().unwrap().iter().map(|r| r["device"].as_str().unwrap()).collect();
    let expected: Vec<String> = regsolver::solver::cpu::SimdLevel::available().iter().map(|l| format!("cpu ({})", l.name())).collect();
    assert_eq!(devices, expected, "{report}");
    assert!(report["results"].as_array().unwrap().iter().all(|r| r["seals_per_second"].as_f64().unwrap() > 0.0));
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
        if let Some(why) = listing[backend]["unavailable"].as_str() {
            assert!(!why.to_lowercase().starts_with("unavailable"), "the word once: {listing}");
        }
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

#[test]
fn burn_options_are_exact_and_bad_ones_exit_2_naming_the_option() {
    let daemon = |extra: &[&'static str]| -> Vec<&'static str> { [&["--subnet", "1", "--threads", "1"][..], extra].concat() };
    let cases: [(&[&str], &str); 10] = [
        (&["--burn-max", "NaN"], "--burn-max (burn_max): `NaN` is not an amount of TAO"),
        (&["--burn-max", "-1"], "`-1` is negative"),
        (&["--burn-max", "1e-3"], "`1e-3` has an exponent"),
        (&["--burn-max", "0.0000000001"], "more than 9 decimals"),
        (&["--burn-max", "18446744073.709551616"], "is too large"),
        (&["--burn-max", "0"], "--burn-max (burn_max) must be more than 0 TAO"),
        (&["--burn-max", "1", "--burn-budget", "inf"], "--burn-budget (burn_budget): `inf` is not an amount"),
        (&["--burn-after", "30m"], "--burn-after (burn_after) applies only with --burn-max"),
        (&["--burn-budget", "5"], "--burn-budget (burn_budget) applies only with --burn-max"),
        (&["--burn-max", "1", "--burn-after", "soon"], "`soon` is not a duration"),
    ];
    for (extra, needle) in cases {
        assert_usage_error(&daemon(extra), needle);
    }
    // Valid amounts are shown as given: exact, no float in between.
    let out = regsolver(&["config", "check", "--burn-max", "0.1", "--burn-budget", "18446744073.709551615", "--burn-after", "2h"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", stderr_of(&out));
    for shown in ["0.1", "18446744073.709551615", "2h"] {
        assert!(stdout.contains(shown), "{shown} in {stdout}");
    }
    // In the file, a TOML float is refused (it is not exact), naming the key, file and line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("burn.toml");
    std::fs::write(&file, "subnet = 1\nburn_max = 0.5\n").unwrap();
    let out = regsolver(&["config", "check", "--config", file.to_str().unwrap()]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("burn_max") && stderr.contains("burn.toml") && stderr.contains("line 2"), "{stderr}");
}
