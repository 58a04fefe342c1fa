//! The daemon tests' wallet: `w` with an encrypted coldkey (fixed seed, [`PASSWORD`]) and hotkeys
//! `h0..hN` from fixed seeds, written with the crate's own wallet writer.

use std::path::Path;

use regsolver::wallet::{create_wallet, Keypair};

pub const PASSWORD: &str = "correct horse battery staple";
pub const COLDKEY_SEED: [u8; 32] = [0x11; 32];

pub fn hotkey_seed(i: u8) -> [u8; 32] {
    [0x40 + i; 32]
}

pub fn hotkey_public(i: u8) -> [u8; 32] {
    Keypair::from_seed(&hotkey_seed(i)).expect("seed").public()
}

pub fn coldkey_public() -> [u8; 32] {
    Keypair::from_seed(&COLDKEY_SEED).expect("seed").public()
}

/// A wallet `w` under `root` with an encrypted coldkey and hotkeys `h0..hN`.
pub fn wallet(root: &Path, hotkeys: u8) {
    let seeds: Vec<(String, [u8; 32])> = (0..hotkeys).map(|i| (format!("h{i}"), hotkey_seed(i))).collect();
    let named: Vec<(&str, [u8; 32])> = seeds.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    create_wallet(root, "w", &COLDKEY_SEED, Some(PASSWORD), &named).expect("write the test wallet");
}

/// The `BT_PW_…` variable (name, value) that gives `password` for `keyfile`, encoded as the
/// bittensor wallet tools encode it: base64 of the password XORed with the name repeated.
pub fn password_env(keyfile: &Path, password: &str) -> (String, String) {
    use base64::Engine;
    let name = regsolver::wallet::password::env_var_name(keyfile);
    let xored: Vec<u8> = password.bytes().zip(name.bytes().cycle()).map(|(p, k)| p ^ k).collect();
    (name, base64::engine::general_purpose::STANDARD.encode(xored))
}
