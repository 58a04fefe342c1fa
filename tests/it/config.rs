//! Configuration layering, errors and `config check` output, against real files on disk and
//! explicit environment sets (the process environment is never changed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use regsolver::config::{self, Config, ConfigError, EnvOverrides, FlagOverrides, LogFormat, Network, ValueSource};

/// A file in a fresh folder under the system temp dir; removed when the test passes.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("regsolver-config-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempFile { dir, path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env(vars: &[(&str, &str)]) -> EnvOverrides {
    EnvOverrides::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/regsolver.toml")
}

fn issues(err: ConfigError) -> Vec<regsolver::config::ConfigIssue> {
    match err {
        ConfigError::Invalid(issues) => issues,
        other => panic!("expected invalid configuration, got {other}"),
    }
}

#[test]
fn shipped_example_loads_and_matches_the_defaults() {
    let loaded = config::load_from(&[example_path()], env(&[]), &FlagOverrides::default()).unwrap();
    assert_eq!(loaded.config, Config::default(), "the example's values must be the defaults it documents");
}

#[test]
fn every_commented_option_in_the_example_is_a_real_key() {
    // Uncomment every `# key = value` line: the result must still load, so the comments document
    // only keys that exist, with values of the right type.
    let text = std::fs::read_to_string(example_path()).unwrap();
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.contains("\nsubnet = 1"), "the uncommenting step did nothing");
    let file = TempFile::new("all.toml", &uncommented);
    let loaded = config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let c = &loaded.config;
    assert_eq!(c.subnet, Some(1));
    assert_eq!(c.devices.cuda.select.as_deref(), Some("0"));
    assert_eq!(c.devices.opencl.select.as_deref(), Some("0:0"));
    assert!(c.metrics.address.is_some() && c.max_difficulty.is_some() && c.seal_byte_order.is_some() && c.devices.cpu.simd.is_some());
    // And every key the example sets or documents shows in `config check` as coming from the file.
    let explained = config::explain_entries(&loaded);
    let from_default: Vec<&str> = explained.iter().filter(|e| e.source == "default").map(|e| e.key).collect();
    assert!(from_default.is_empty(), "keys the example does not document: {from_default:?}");
}

#[test]
fn precedence_is_flags_over_env_over_file_over_defaults() {
    let file = TempFile::new("p.toml", "subnet = 3\nwait = true\n[wallet]\nname = \"fromfile\"\nhotkey = \"hk-file\"\n");
    let vars = env(&[("REGSOLVER_SUBNET", "5"), ("BT_WALLET_NAME", "frombt"), ("REGSOLVER_WALLET__PATH", "/w")]);
    let flags = FlagOverrides { subnet: Some(7), ..Default::default() };
    let loaded = config::load_from(std::slice::from_ref(&file.path), vars, &flags).unwrap();
    let c = &loaded.config;
    assert_eq!(c.subnet, Some(7));
    assert_eq!(c.wallet.name, "frombt");
    assert_eq!(c.wallet.hotkey, "hk-file");
    assert_eq!(c.wallet.path, PathBuf::from("/w"));
    assert!(c.wait);
    assert_eq!(c.network, Network::Finney);

    let sources: std::collections::BTreeMap<&str, String> =
        config::explain_entries(&loaded).into_iter().map(|e| (e.key, e.source)).collect();
    assert_eq!(sources["subnet"], "flag subnet");
    assert_eq!(sources["wallet.name"], "env BT_WALLET_NAME");
    assert_eq!(sources["wallet.path"], "env REGSOLVER_WALLET__PATH");
    assert_eq!(sources["wallet.hotkey"], format!("file:{}", file.path.display()));
    assert_eq!(sources["network"], "default");
}

#[test]
fn regsolver_variable_beats_the_bittensor_one() {
    let vars = env(&[("BT_WALLET_HOTKEY", "bt"), ("REGSOLVER_WALLET__HOTKEY", "ours")]);
    let loaded = config::load_from(&[], vars, &FlagOverrides::default()).unwrap();
    assert_eq!(loaded.config.wallet.hotkey, "ours");
}

#[test]
fn environment_values_that_look_like_numbers_stay_names() {
    let vars = env(&[("REGSOLVER_DEVICES__CUDA__SELECT", "0"), ("BT_WALLET_HOTKEY", "7"), ("REGSOLVER_WALLET__HOTKEYS", "a,b,3")]);
    let loaded = config::load_from(&[], vars, &FlagOverrides::default()).unwrap();
    assert_eq!(loaded.config.devices.cuda.select.as_deref(), Some("0"));
    assert_eq!(loaded.config.wallet.hotkey, "7");
    assert_eq!(loaded.config.wallet.hotkeys, vec!["a", "b", "3"]);
}

#[test]
fn unrelated_regsolver_variables_are_left_alone() {
    let vars = env(&[("REGSOLVER_LOG", "debug"), ("REGSOLVER_CACHE_DIR", "/c"), ("REGSOLVER_BENCH_ARGS", "--seconds 3")]);
    assert!(config::load_from(&[], vars, &FlagOverrides::default()).is_ok());
}

#[test]
fn flags_fill_both_gpu_backends_and_booleans() {
    let flags = FlagOverrides {
        gpu: Some("0,1".into()),
        gpu_threads: Some(4096),
        gpu_nonces_per_thread: Some(16),
        backends: Some(vec!["cuda".into()]),
        simd: Some("avx2".into()),
        log_format: Some("json".into()),
        metrics: Some("127.0.0.1:19401".into()),
        keep_going: Some(true),
        max_difficulty: Some(1_000_000),
        network: Some("ws://127.0.0.1:19402".into()),
        ..Default::default()
    };
    let c = config::load_from(&[], env(&[]), &flags).unwrap().config;
    assert_eq!(c.devices.cuda.select.as_deref(), Some("0,1"));
    assert_eq!(c.devices.cuda.gpu_threads, Some(4096));
    assert_eq!(c.devices.opencl.gpu_threads, Some(4096));
    assert_eq!(c.devices.opencl.gpu_nonces_per_thread, 16);
    assert_eq!(c.devices.backends, vec![regsolver::solver::Backend::Cuda]);
    assert_eq!(c.devices.cpu.simd, Some(regsolver::solver::cpu::SimdLevel::Avx2));
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.metrics.address, Some("127.0.0.1:19401".parse().unwrap()));
    assert!(c.keep_going);
    assert_eq!(c.max_difficulty, Some(1_000_000));
    assert_eq!(c.network, Network::Url("ws://127.0.0.1:19402".into()));
}

#[test]
fn unknown_key_names_the_key_the_file_and_the_line() {
    let file = TempFile::new("typo.toml", "subnet = 1\n\n[devices.cuda]\nselect = \"0\"\ngpu_thread = 128\n");
    let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "devices.cuda.gpu_thread");
    assert_eq!(found[0].source, ValueSource::File(file.path.clone()));
    assert_eq!(found[0].line, Some(5));
    let shown = found[0].to_string();
    assert!(shown.contains("typo.toml, line 5") && shown.contains("unknown key") && shown.contains("gpu_threads"), "{shown}");
}

#[test]
fn unknown_top_level_key_is_found_too() {
    let file = TempFile::new("top.toml", "# comment\nsubnett = 1\n");
    let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
    assert_eq!((found[0].key.as_str(), found[0].line), ("subnett", Some(2)), "{found:?}");
}

#[test]
fn invalid_values_name_key_file_and_line() {
    // serde stops at the first invalid value, so one file per case.
    for (text, key, line, words) in [
        ("wait = false\nnetwork = \"mainnet\"\n", "network", 2, "mainnet"),
        ("[wallet]\nname = \"a\"\n[devices.cpu]\nsimd = \"avx9\"\n", "devices.cpu.simd", 4, "avx512"),
        ("[metrics]\n\naddress = \"nowhere\"\n", "metrics.address", 3, "address"),
        ("[wallet]\nhotkeys = [\"a\", \"all\"]\n", "wallet.hotkeys", 2, "all"),
        ("[wallet]\nname = \"../x\"\n", "wallet.name", 2, "plain file name"),
        ("chain_endpoint = \"https://node\"\n", "chain_endpoint", 1, "ws://"),
    ] {
        let file = TempFile::new("bad.toml", text);
        let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
        assert_eq!((found[0].key.as_str(), found[0].line), (key, Some(line)), "{text}: {found:?}");
        let shown = ConfigError::Invalid(found).to_string();
        assert!(shown.contains(words) && shown.contains("bad.toml"), "{shown}");
    }
}

#[test]
fn out_of_range_numbers_are_errors() {
    let file = TempFile::new("range.toml", "subnet = 70000\n[retry]\nmax_backoff_s = 0\n");
    let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
    assert_eq!(found[0].key, "subnet");
    assert_eq!(found[0].line, Some(1));
    let file = TempFile::new("zero.toml", "[retry]\n\nmax_backoff_s = 0\n");
    let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
    assert_eq!((found[0].key.as_str(), found[0].line), ("retry.max_backoff_s", Some(3)), "{found:?}");
}

#[test]
fn invalid_environment_value_names_the_variable() {
    let found = issues(config::load_from(&[], env(&[("REGSOLVER_SUBNET", "one")]), &FlagOverrides::default()).unwrap_err());
    assert_eq!(found[0].source, ValueSource::Env("REGSOLVER_SUBNET".into()), "{found:?}");
    assert!(found[0].to_string().contains("REGSOLVER_SUBNET"));
}

#[test]
fn invalid_flag_names_the_flag() {
    let flags = FlagOverrides { log_format: Some("xml".into()), ..Default::default() };
    let found = issues(config::load_from(&[], env(&[]), &flags).unwrap_err());
    assert_eq!(found[0].source, ValueSource::Flag("log_format".into()), "{found:?}");
}

#[test]
fn toml_syntax_error_gives_the_line() {
    let file = TempFile::new("syntax.toml", "subnet = 1\nwait = \n");
    let found = issues(config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap_err());
    assert_eq!(found[0].line, Some(2), "{found:?}");
    assert!(found[0].to_string().contains("not valid TOML"));
}

#[test]
fn named_config_file_must_exist() {
    let missing = std::env::temp_dir().join("regsolver-config-does-not-exist.toml");
    let err = config::load(Some(&missing), &FlagOverrides::default()).unwrap_err();
    assert!(matches!(err, ConfigError::Missing(ref p) if p == &missing), "{err}");
}

#[test]
fn explain_redacts_endpoint_secrets_and_shows_sources() {
    let file = TempFile::new(
        "secret.toml",
        "chain_endpoint = \"wss://user:hunter2@rpc.example:443/k3y?apikey=s3cr3t\"\ncoldkey_password_file = \"/run/pw\"\n",
    );
    let loaded = config::load_from(std::slice::from_ref(&file.path), env(&[]), &FlagOverrides::default()).unwrap();
    let text = config::explain(&loaded);
    let json = config::explain_json(&loaded).to_string();
    for out in [&text, &json] {
        assert!(!out.contains("hunter2") && !out.contains("s3cr3t") && !out.contains("k3y"), "secret shown: {out}");
        assert!(out.contains("wss://rpc.example:443/<redacted>"), "{out}");
        assert!(out.contains("/run/pw"), "the password file path is not a secret: {out}");
    }
    let line = text.lines().find(|l| l.starts_with("chain_endpoint")).unwrap();
    assert!(line.ends_with(&format!("# file:{}:1", file.path.display())), "{line}");
    assert!(text.lines().any(|l| l.starts_with("subnet") && l.contains("(unset)") && l.ends_with("# default")), "{text}");
}

#[test]
fn credential_directory_supplies_the_password_file() {
    let cred = TempFile::new(config::COLDKEY_CREDENTIAL, "pw\n");
    let c = Config::default();
    assert_eq!(c.coldkey_password_path(Some(&cred.dir)), Some(cred.path.clone()));
    assert_eq!(c.coldkey_password_path(Some(Path::new("/nonexistent"))), None);
    let explicit = Config { coldkey_password_file: Some("/x".into()), ..Config::default() };
    assert_eq!(explicit.coldkey_password_path(Some(&cred.dir)), Some(PathBuf::from("/x")));
}

#[test]
fn later_default_file_overrides_earlier() {
    let system = TempFile::new("system.toml", "subnet = 1\nwait = true\n");
    let user = TempFile::new("user.toml", "subnet = 2\n");
    let loaded = config::load_from(&[system.path.clone(), user.path.clone()], env(&[]), &FlagOverrides::default()).unwrap();
    assert_eq!(loaded.config.subnet, Some(2));
    assert!(loaded.config.wait);
    let home = user.dir.clone();
    assert!(config::default_files(Some(&home)).iter().all(|p| p.is_file()));
}
