//! Wallets on disk: the real wallets the official tool wrote (tests/data/wallets) load and give
//! expected.json's addresses; every password source; every error path; create_wallet round-trips;
//! nothing printed carries a secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use regsolver::pow::ss58::encode_ss58;
use regsolver::wallet::password::env_var_name;
use regsolver::wallet::{create_wallet, PasswordOrigin, PasswordSource, Wallet, WalletError};

use crate::support;

const PASSWORD: &str = "regsolver-test-password";

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wallets")
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(data_root().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("regsolver-wallet-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the real wallet `name` under a fresh temp root.
fn copy_of(name: &str) -> (TempDir, Wallet) {
    let tmp = TempDir::new(name);
    copy_dir(&data_root().join(name), &tmp.path().join(name));
    let wallet = Wallet::open(tmp.path(), name).unwrap();
    (tmp, wallet)
}

fn password_file(dir: &Path, contents: &str) -> PathBuf {
    let path = dir.join("password");
    std::fs::write(&path, contents).unwrap();
    path
}

fn hex32(text: &str) -> [u8; 32] {
    regsolver::pow::ss58::parse_hex::<32>(text).unwrap()
}

#[test]
fn real_wallets_give_expected_addresses_without_secrets() {
    let expected = expected();
    for name in ["vector", "mnemonic"] {
        let want = &expected[name];
        let wallet = Wallet::open(&data_root(), name).unwrap();
        let coldkey_public = wallet.coldkey_public().unwrap();
        assert_eq!(coldkey_public, hex32(want["coldkey_public"].as_str().unwrap()), "{name}");
        assert_eq!(encode_ss58(&coldkey_public), want["coldkey_ss58"].as_str().unwrap(), "{name}");
        assert_eq!(wallet.hotkey_names().unwrap(), vec!["default".to_string()], "{name}");
        let hotkey_public = wallet.hotkey_public("default").unwrap();
        assert_eq!(hotkey_public, hex32(want["hotkey_public"].as_str().unwrap()), "{name}");
        assert_eq!(encode_ss58(&hotkey_public), want["hotkey_ss58"].as_str().unwrap(), "{name}");
        // The hotkey's secret: secretSeed for `mnemonic`, only the 64-byte privateKey for `vector`.
        let hotkey = wallet.hotkey("default", &PasswordSource::default().without_prompt()).unwrap();
        assert_eq!(hotkey.public(), hotkey_public, "{name}");
        let file: serde_json::Value = serde_json::from_slice(&std::fs::read(wallet.hotkey_path("default").unwrap()).unwrap()).unwrap();
        let shown = format!("{hotkey:?} {wallet:?}");
        for secret in ["privateKey", "secretSeed"].iter().filter_map(|field| file[*field].as_str()) {
            assert!(!shown.contains(secret.trim_start_matches("0x")), "{name}: {shown}");
        }
    }
}

#[test]
fn real_coldkeys_decrypt_with_the_password_from_a_file() {
    let expected = expected();
    for name in ["vector", "mnemonic"] {
        let (tmp, wallet) = copy_of(name);
        let started = std::time::Instant::now();
        // A password file as systemd's LoadCredential= writes it, with a trailing newline.
        let file = password_file(tmp.path(), &format!("{PASSWORD}\n"));
        let coldkey = wallet.coldkey(&PasswordSource::default().with_file(&file).without_prompt()).unwrap();
        eprintln!("{name}: coldkey decrypted in {:?}", started.elapsed());
        assert_eq!(encode_ss58(&coldkey.public()), expected[name]["coldkey_ss58"].as_str().unwrap());
        // The key signs verifiably (it is the whole key, not just the public half).
        let signature = coldkey.sign(b"regsolver");
        let public = schnorrkel::PublicKey::from_bytes(&coldkey.public()).unwrap();
        let signature = schnorrkel::Signature::from_bytes(&signature).unwrap();
        assert!(public.verify_simple(b"substrate", b"regsolver", &signature).is_ok());
    }
}

#[test]
fn bt_pw_environment_variable_decodes_to_the_password() {
    let expected = expected();
    let example = &expected["vector"]["env_example"];
    // expected.json's worked example, for the path it names.
    assert_eq!(env_var_name(Path::new(example["keyfile_path"].as_str().unwrap())), example["variable"].as_str().unwrap());
    let decoded =
        regsolver::wallet::password::decode_env_password(example["variable"].as_str().unwrap(), example["value"].as_str().unwrap())
            .unwrap();
    assert_eq!(decoded.as_slice(), PASSWORD.as_bytes());

    // The same encoding for a wallet under a temp root: the variable is named from that path.
    let (_tmp, wallet) = copy_of("vector");
    let name = env_var_name(&wallet.coldkey_path());
    assert!(name.starts_with("BT_PW_") && name.ends_with("_VECTOR_COLDKEY"), "{name}");
    let xored: Vec<u8> = PASSWORD.bytes().zip(name.bytes().cycle()).map(|(p, k)| p ^ k).collect();
    use base64::Engine;
    let value = base64::engine::general_purpose::STANDARD.encode(xored);
    // The password is read from the process environment, which no test may change in this
    // process: the coldkey is opened in a child process with the variable set.
    let tmp_file = password_file(wallet.dir(), "not-the-password\n");
    support::run_child_test("wallet::bt_pw_child", |child| {
        child.env(&name, &value).env(CHILD_WALLET, wallet.dir()).env(CHILD_PASSWORD_FILE, &tmp_file);
    });
}

/// The folders [`bt_pw_child`] is given.
const CHILD_WALLET: &str = "REGSOLVER_TEST_CHILD_WALLET";
const CHILD_PASSWORD_FILE: &str = "REGSOLVER_TEST_CHILD_PASSWORD_FILE";

/// Runs in a child process whose environment holds the wallet's `BT_PW_…` variable.
#[test]
#[ignore = "child process of bt_pw_environment_variable_decodes_to_the_password"]
fn bt_pw_child() {
    let dir = PathBuf::from(std::env::var_os(CHILD_WALLET).expect("the wallet folder"));
    let wallet = Wallet::open(dir.parent().expect("a root"), dir.file_name().and_then(|n| n.to_str()).expect("a name")).unwrap();
    let file = PathBuf::from(std::env::var_os(CHILD_PASSWORD_FILE).expect("the password file"));
    // The environment wins over a (wrong) password file, as the brief's order says.
    let result = wallet.coldkey(&PasswordSource::default().with_file(&file).without_prompt());
    assert_eq!(encode_ss58(&result.unwrap().public()), expected()["vector"]["coldkey_ss58"].as_str().unwrap());
}

#[test]
fn wrong_password_is_reported_with_its_origin_and_without_the_password() {
    let (tmp, wallet) = copy_of("mnemonic");
    let file = password_file(tmp.path(), "a-wrong-password-123\n");
    let err = wallet.coldkey(&PasswordSource::default().with_file(&file).without_prompt()).unwrap_err();
    match &err {
        WalletError::WrongPassword { path, origin } => {
            assert_eq!(path, &wallet.coldkey_path());
            assert_eq!(origin, &PasswordOrigin::File(file.clone()));
        }
        other => panic!("expected WrongPassword, got {other:?}"),
    }
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("wrong password") && shown.contains(&file.display().to_string()), "{shown}");
    assert!(!shown.contains("a-wrong-password-123"), "{shown}");

    // No password anywhere and no terminal: the error says how to give one.
    let err = wallet.coldkey(&PasswordSource::default().without_prompt()).unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, WalletError::PasswordNeeded { .. }), "{err:?}");
    assert!(shown.contains(&env_var_name(&wallet.coldkey_path())) && shown.contains("coldkey_password_file"), "{shown}");

    // An empty or unreadable password file is its own error.
    let empty = password_file(tmp.path(), "\n");
    assert!(matches!(wallet.coldkey(&PasswordSource::default().with_file(&empty)), Err(WalletError::PasswordFile { .. })));
    let missing = tmp.path().join("no-such-password");
    assert!(matches!(wallet.coldkey(&PasswordSource::default().with_file(&missing)), Err(WalletError::PasswordFile { .. })));
}

fn malformed_problem(result: Result<impl std::fmt::Debug, WalletError>, path: &Path) -> String {
    match result {
        Err(WalletError::Malformed { path: at, problem }) => {
            assert_eq!(at, path);
            problem
        }
        other => panic!("expected Malformed for {}, got {other:?}", path.display()),
    }
}

#[test]
fn broken_and_legacy_keyfiles_get_their_own_errors() {
    let (_tmp, wallet) = copy_of("mnemonic");
    let hotkey_path = wallet.hotkey_path("default").unwrap();
    let cold_path = wallet.coldkey_path();
    let no_prompt = PasswordSource::default().without_prompt();
    let real_hotkey = std::fs::read_to_string(&hotkey_path).unwrap();
    let secret_seed = real_hotkey.split("\"secretSeed\":\"0x").nth(1).unwrap()[..64].to_string();

    // Malformed JSON, cut in the middle of the secret: the message says where, never the content.
    std::fs::write(&hotkey_path, &real_hotkey[..real_hotkey.find(&secret_seed).unwrap() + 20]).unwrap();
    let err = wallet.hotkey("default", &no_prompt).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(&secret_seed[..20]));
    let problem = malformed_problem(Err::<(), _>(err), &hotkey_path);
    assert!(problem.contains("truncated"), "{problem}");

    std::fs::write(&hotkey_path, "{\"secretSeed\": 12345678}").unwrap();
    let err = wallet.hotkey("default", &no_prompt).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("12345678"), "{err}");

    std::fs::write(&hotkey_path, format!("{{\"secretSeed\":\"0x{}zz\"}}", &secret_seed[..62])).unwrap();
    let err = wallet.hotkey("default", &no_prompt).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(&secret_seed[..62]), "{err}");
    assert!(malformed_problem(Err::<(), _>(err), &hotkey_path).contains("secretSeed"));

    std::fs::write(&hotkey_path, "{\"accountId\":\"0x00\"}").unwrap();
    assert!(malformed_problem(wallet.hotkey("default", &no_prompt), &hotkey_path).contains("no secret"));

    // A secret whose public key is not the one the file records.
    let other = real_hotkey.replace(&secret_seed, &"11".repeat(32));
    std::fs::write(&hotkey_path, other).unwrap();
    assert!(matches!(wallet.hotkey("default", &no_prompt), Err(WalletError::KeyMismatch { .. })));

    // A truncated $NACL coldkey.
    let sealed = std::fs::read(&cold_path).unwrap();
    std::fs::write(&cold_path, &sealed[..30]).unwrap();
    let problem =
        malformed_problem(wallet.coldkey(&PasswordSource::default().with_file(password_file(wallet.dir(), PASSWORD))), &cold_path);
    assert!(problem.contains("cut short"), "{problem}");

    // Legacy encryptions are named, not guessed at.
    for (header, scheme) in [("$ANSIBLE_VAULT;1.1;AES256\n6162", "Ansible Vault"), ("gAAAAABkZmVybmV0", "Fernet")] {
        std::fs::write(&cold_path, header).unwrap();
        let err = wallet.coldkey(&no_prompt).unwrap_err();
        assert!(matches!(err, WalletError::UnsupportedEncryption { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(shown.contains(scheme) && shown.contains(&cold_path.display().to_string()), "{shown}");
    }
}

#[test]
fn missing_wallet_and_unknown_hotkey_say_where_and_what_exists() {
    let (tmp, wallet) = copy_of("vector");
    let err = Wallet::open(tmp.path(), "nosuch").unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, WalletError::MissingWallet { .. }));
    assert!(shown.contains(&tmp.path().join("nosuch").display().to_string()), "{shown}");
    assert!(shown.contains("wallet.path") && shown.contains("BT_WALLET_PATH") && shown.contains("wallet.name"), "{shown}");
    assert!(shown.contains("vector"), "lists the wallets that exist: {shown}");

    let no_prompt = PasswordSource::default().without_prompt();
    for err in [wallet.hotkey("miner9", &no_prompt).unwrap_err(), wallet.hotkey_public("miner9").unwrap_err()] {
        assert!(matches!(err, WalletError::UnknownHotkey { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(shown.contains("miner9") && shown.contains("hotkeys there: default"), "{shown}");
    }
    assert!(matches!(wallet.hotkey("../coldkey", &no_prompt), Err(WalletError::InvalidName { .. })));

    // coldkeypub.txt missing: the encrypted coldkey cannot stand in for it.
    std::fs::remove_file(wallet.coldkeypub_path()).unwrap();
    let err = wallet.coldkey_public().unwrap_err();
    assert!(matches!(err, WalletError::MissingFile { .. }));
    assert!(err.to_string().contains("coldkeypub.txt"), "{err}");

    // hotkey_public falls back to <name>pub.txt, and reads only public data.
    let hotkey_public = wallet.hotkey_public("default").unwrap();
    std::fs::remove_file(wallet.hotkey_path("default").unwrap()).unwrap();
    assert_eq!(wallet.hotkey_public("default").unwrap(), hotkey_public);
    assert!(wallet.hotkey_names().unwrap().is_empty());
}

#[test]
fn keyfiles_readable_by_others_are_reported() {
    let (_tmp, wallet) = copy_of("vector");
    for path in [wallet.coldkey_path(), wallet.hotkey_path("default").unwrap()] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let loose = wallet.loose_keyfiles().unwrap();
    assert_eq!(
        loose.iter().map(|l| (l.path.clone(), l.mode)).collect::<Vec<_>>(),
        vec![(wallet.coldkey_path(), 0o644), (wallet.hotkey_path("default").unwrap(), 0o644)]
    );
    for path in [wallet.coldkey_path(), wallet.hotkey_path("default").unwrap()] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(wallet.loose_keyfiles().unwrap().is_empty());
}

#[test]
fn created_wallets_round_trip_and_never_show_secrets() {
    let tmp = TempDir::new("create");
    let cold_seed = [0x5au8; 32];
    let hot_seeds = [("alpha", [0x11u8; 32]), ("beta", [0x22u8; 32])];
    let expected_cold = regsolver::wallet::Keypair::from_seed(&cold_seed).unwrap().public();

    // In the clear, then encrypted.
    create_wallet(tmp.path(), "clear", &cold_seed, None, &hot_seeds).unwrap();
    let started = std::time::Instant::now();
    create_wallet(tmp.path(), "sealed", &cold_seed, Some(PASSWORD), &hot_seeds).unwrap();
    eprintln!("create_wallet with a $NACL coldkey took {:?}", started.elapsed());

    let no_prompt = PasswordSource::default().without_prompt();
    let file = password_file(tmp.path(), PASSWORD);
    for name in ["clear", "sealed"] {
        let wallet = Wallet::open(tmp.path(), name).unwrap();
        assert!(wallet.loose_keyfiles().unwrap().is_empty(), "files are 0600");
        for file in [wallet.coldkeypub_path(), wallet.hotkeys_dir().join("alphapub.txt")] {
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(wallet.coldkey_public().unwrap(), expected_cold);
        let source = if name == "sealed" { no_prompt.clone().with_file(&file) } else { no_prompt.clone() };
        let coldkey = wallet.coldkey(&source).unwrap();
        assert_eq!(coldkey.public(), expected_cold);
        assert_eq!(wallet.hotkey_names().unwrap(), vec!["alpha".to_string(), "beta".to_string()]);
        for (hotkey, seed) in &hot_seeds {
            let want = regsolver::wallet::Keypair::from_seed(seed).unwrap().public();
            assert_eq!(wallet.hotkey(hotkey, &no_prompt).unwrap().public(), want);
            assert_eq!(wallet.hotkey_public(hotkey).unwrap(), want);
        }
        // The fields the official tools write, with privateKey agreeing with secretSeed.
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(wallet.hotkey_path("alpha").unwrap()).unwrap()).unwrap();
        for field in ["accountId", "publicKey", "privateKey", "secretSeed", "ss58Address", "cryptoType"] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
        let private = regsolver::pow::ss58::parse_hex::<64>(json["privateKey"].as_str().unwrap()).unwrap();
        let alpha_public = regsolver::wallet::Keypair::from_seed(&hot_seeds[0].1).unwrap().public();
        assert_eq!(regsolver::wallet::Keypair::from_private_key(&private).unwrap().public(), alpha_public);
        assert_eq!(json["secretSeed"].as_str().unwrap(), format!("0x{}", hex::encode(hot_seeds[0].1)));
        assert_eq!(json["cryptoType"].as_u64(), Some(1));

        // Debug of keypairs and wallets shows public data only.
        let shown = format!("{coldkey:?} {wallet:?}");
        assert!(!shown.contains(&hex::encode(cold_seed)), "{shown}");
        assert!(!shown.contains(&hex::encode(&private[..32])), "{shown}");
    }

    // The encrypted coldkey holds no readable secret (a wrong password is tested on the real wallets).
    let sealed = Wallet::open(tmp.path(), "sealed").unwrap();
    let bytes = std::fs::read(sealed.coldkey_path()).unwrap();
    assert!(bytes.starts_with(b"$NACL"));
    assert!(!String::from_utf8_lossy(&bytes).contains(&hex::encode(cold_seed)));
    assert!(!String::from_utf8_lossy(&bytes).contains("secretSeed"));

    // Never over an existing wallet.
    let err = create_wallet(tmp.path(), "clear", &cold_seed, None, &[]).unwrap_err();
    assert!(matches!(err, WalletError::AlreadyExists { .. }), "{err:?}");
}

#[test]
fn coldkey_not_matching_coldkeypub_is_refused() {
    let tmp = TempDir::new("mismatch");
    create_wallet(tmp.path(), "a", &[1u8; 32], None, &[]).unwrap();
    create_wallet(tmp.path(), "b", &[2u8; 32], None, &[]).unwrap();
    let a = Wallet::open(tmp.path(), "a").unwrap();
    let b = Wallet::open(tmp.path(), "b").unwrap();
    std::fs::remove_file(a.coldkeypub_path()).unwrap();
    std::fs::copy(b.coldkeypub_path(), a.coldkeypub_path()).unwrap();
    let err = a.coldkey(&PasswordSource::default().without_prompt()).unwrap_err();
    assert!(matches!(err, WalletError::KeyMismatch { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("coldkeypub.txt") && !shown.contains(&hex::encode([1u8; 32])), "{shown}");
}
