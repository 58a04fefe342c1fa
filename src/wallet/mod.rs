//! Bittensor wallets as the official tools write them: keyfiles, `coldkeypub.txt`, the `$NACL`
//! coldkey, and the sr25519 keypairs they hold.

pub mod keypair;

pub use keypair::Keypair;
