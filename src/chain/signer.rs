//! Signing transactions with a wallet [`Keypair`], and which key each scheme must be signed by.

use subxt::tx::Signer;
use subxt::utils::{AccountId32, MultiSignature};

use crate::chain::config::SubtensorConfig;
use crate::pow::Scheme;
use crate::wallet::keypair::Keypair;

/// subxt signs with the keypair's sr25519 key in Substrate's signing context.
impl Signer<SubtensorConfig> for Keypair {
    fn account_id(&self) -> AccountId32 {
        AccountId32(self.public())
    }

    fn sign(&self, signer_payload: &[u8]) -> MultiSignature {
        MultiSignature::Sr25519(Keypair::sign(self, signer_payload))
    }
}

/// Which wallet key signs a scheme's extrinsic (docs/protocol.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerRole {
    /// Legacy `register` (the runtime rejects any other signer: `TransactorAccountShouldBeHotKey`).
    Hotkey,
    /// `pow_register` (the coldkey is bound into the proof) and `faucet`.
    Coldkey,
}

impl SignerRole {
    pub fn of(scheme: Scheme) -> Self {
        match scheme {
            Scheme::Legacy => SignerRole::Hotkey,
            Scheme::PowRegister | Scheme::Faucet => SignerRole::Coldkey,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SignerRole::Hotkey => "hotkey",
            SignerRole::Coldkey => "coldkey",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signer_account_is_the_public_key_and_signatures_verify_in_the_substrate_context() {
        let pair = Keypair::from_seed(&[9u8; 32]).unwrap();
        assert_eq!(Signer::<SubtensorConfig>::account_id(&pair).0, pair.public());
        let MultiSignature::Sr25519(signature) = Signer::<SubtensorConfig>::sign(&pair, b"payload") else {
            panic!("an sr25519 key must give an sr25519 signature");
        };
        let public = schnorrkel::PublicKey::from_bytes(&pair.public()).unwrap();
        let signature = schnorrkel::Signature::from_bytes(&signature).unwrap();
        assert!(public.verify_simple(b"substrate", b"payload", &signature).is_ok());
        assert!(public.verify_simple(b"substrate", b"other", &signature).is_err());
    }

    #[test]
    fn legacy_register_is_signed_by_the_hotkey_and_the_others_by_the_coldkey() {
        assert_eq!(SignerRole::of(Scheme::Legacy), SignerRole::Hotkey);
        assert_eq!(SignerRole::of(Scheme::PowRegister), SignerRole::Coldkey);
        assert_eq!(SignerRole::of(Scheme::Faucet), SignerRole::Coldkey);
    }
}
