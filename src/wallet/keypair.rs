//! An sr25519 keypair (schnorrkel), built from either form a bittensor keyfile carries: the
//! 32-byte mini secret (`secretSeed`) or the 64-byte expanded secret (`privateKey`).

use schnorrkel::{signing_context, ExpansionMode, MiniSecretKey, SecretKey};

use crate::pow::AccountId;

/// Substrate's signing context for sr25519 transaction signatures.
const SIGNING_CONTEXT: &[u8] = b"substrate";

/// A signing keypair. schnorrkel zeroizes the secret when this is dropped; Debug shows only
/// the public key.
pub struct Keypair(schnorrkel::Keypair);

/// A secret of the wrong length or form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid sr25519 secret: {0}")]
pub struct BadSecret(String);

impl Keypair {
    /// From a 32-byte mini secret (`secretSeed`), expanded as Substrate does (Ed25519 mode).
    pub fn from_seed(seed: &[u8]) -> Result<Self, BadSecret> {
        let mini = MiniSecretKey::from_bytes(seed).map_err(|e| BadSecret(e.to_string()))?;
        Ok(Keypair(mini.expand_to_keypair(ExpansionMode::Ed25519)))
    }

    /// From a 64-byte expanded secret (`privateKey`: scalar ‖ nonce), as keyfiles made from a URI carry.
    pub fn from_private_key(bytes: &[u8]) -> Result<Self, BadSecret> {
        let secret = SecretKey::from_bytes(bytes).map_err(|e| BadSecret(e.to_string()))?;
        Ok(Keypair(secret.to_keypair()))
    }

    /// The public key: the account id.
    pub fn public(&self) -> AccountId {
        self.0.public.to_bytes()
    }

    /// The 64-byte `privateKey` form (scalar ‖ nonce) keyfiles carry, for writing keyfiles.
    pub(crate) fn private_key_bytes(&self) -> zeroize::Zeroizing<[u8; 64]> {
        zeroize::Zeroizing::new(self.0.secret.to_bytes())
    }

    /// An sr25519 signature of `message` in Substrate's signing context.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(signing_context(SIGNING_CONTEXT).bytes(message)).to_bytes()
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", hex::encode(self.public()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_under_the_public_key_and_seed_and_private_forms_agree() {
        let seed = [7u8; 32];
        let pair = Keypair::from_seed(&seed).unwrap();
        let expanded = MiniSecretKey::from_bytes(&seed).unwrap().expand(ExpansionMode::Ed25519).to_bytes();
        assert_eq!(Keypair::from_private_key(&expanded).unwrap().public(), pair.public());
        let signature = schnorrkel::Signature::from_bytes(&pair.sign(b"payload")).unwrap();
        let public = schnorrkel::PublicKey::from_bytes(&pair.public()).unwrap();
        assert!(public.verify(signing_context(SIGNING_CONTEXT).bytes(b"payload"), &signature).is_ok());
        assert!(public.verify(signing_context(SIGNING_CONTEXT).bytes(b"other"), &signature).is_err());
        assert!(Keypair::from_seed(&[0; 31]).is_err());
        assert!(Keypair::from_private_key(&[0; 32]).is_err());
    }
}
