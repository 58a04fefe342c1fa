//! What the loop's shell needs from the outside, as two small traits: [`ChainPort`] (the reads
//! the loop makes and the submission of a signed registration) and [`Host`] (the devices, the
//! reports, the wallet's keys). The daemon implements them over [`Chain`] and the [`Pool`]; the
//! simulation implements them over a seeded simulated chain and pool.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::exit::DaemonError;
use super::observe::Observer;
use super::report::{Event, Reporter};
use super::session::{SignerKey, Work};
use crate::chain::outcome::Outcome;
use crate::chain::state::RegistrationState;
use crate::chain::tx::{self, Registration, TxError};
use crate::chain::{BlockRef, Chain, ChainError};
use crate::pow::hotloop::HotLoop;
use crate::pow::ss58::encode_ss58;
use crate::pow::AccountId;
use crate::solver::pool::{JobId, Pool};
use crate::wallet::{Keypair, PasswordSource, Wallet};

/// How long a submission is watched before it is given up (it is mortal and will expire).
pub const WATCH_LIMIT: Duration = Duration::from_secs(120);

/// The connection is gone (or answered nothing usable): the shell reconnects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost(pub String);

impl From<ChainError> for Lost {
    fn from(err: ChainError) -> Self {
        Lost(err.to_string())
    }
}

impl From<TxError> for Lost {
    fn from(err: TxError) -> Self {
        Lost(err.to_string())
    }
}

/// The end of a watched submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    Ended { extrinsic: [u8; 32], outcome: Outcome },
    /// Watched for [`WATCH_LIMIT`] without an end.
    WatchTimeout { waited_s: u64 },
}

/// A `--dry-run` extrinsic: signed, never sent.
#[derive(Clone, Debug)]
pub struct Signed {
    pub bytes: Vec<u8>,
    pub extrinsic: [u8; 32],
    pub decoded: serde_json::Value,
}

/// The chain as the loop uses it.
pub trait ChainPort {
    /// The node's best block now.
    fn best_block(&self) -> impl Future<Output = Result<BlockRef, Lost>> + Send;
    /// The subnet's and the keys' registration state at `block`.
    fn registration_state(&self, block: BlockRef, netuid: u16, keys: Vec<AccountId>) -> impl Future<Output = Result<RegistrationState, Lost>> + Send;
    /// The key's UID at the best block.
    fn uid(&self, netuid: u16, key: AccountId) -> impl Future<Output = Result<Option<u16>, Lost>> + Send;
    /// Signs at `birth` and submits; the future ends with the outcome (it runs on its own).
    fn submit(&self, birth: BlockRef, registration: Registration, signer: Arc<Keypair>) -> BoxFuture<'static, Result<Submission, Lost>>;
    /// Signs at `birth` and decodes the extrinsic; sends nothing.
    fn sign_only(&self, birth: BlockRef, registration: Registration, signer: Arc<Keypair>) -> impl Future<Output = Result<Signed, Lost>> + Send;
}

/// The devices, the reports and the keys, as the loop uses them.
pub trait Host {
    /// Puts `hot` on every device; returns the pool's id for it.
    fn set_job(&mut self, work: &Work, hot: HotLoop) -> JobId;
    fn clear_job(&mut self);
    fn emit(&mut self, event: Event);
    /// The keypair that signs for `key` (decrypted once, when first needed).
    fn signer(&mut self, key: &SignerKey) -> Result<Arc<Keypair>, DaemonError>;
}

impl ChainPort for Chain {
    async fn best_block(&self) -> Result<BlockRef, Lost> {
        Ok(Chain::best_block(self).await?)
    }

    async fn registration_state(&self, block: BlockRef, netuid: u16, keys: Vec<AccountId>) -> Result<RegistrationState, Lost> {
        Ok(Chain::registration_state(self, &block, netuid, &keys).await?)
    }

    async fn uid(&self, netuid: u16, key: AccountId) -> Result<Option<u16>, Lost> {
        Ok(Chain::uid(self, netuid, &key).await?)
    }

    fn submit(&self, birth: BlockRef, registration: Registration, signer: Arc<Keypair>) -> BoxFuture<'static, Result<Submission, Lost>> {
        let client = self.client().clone();
        let task = tokio::spawn(async move {
            match tx::submit(&client, birth.hash, &registration, &signer, WATCH_LIMIT).await {
                Ok((signed, outcome)) => Ok(Submission::Ended { extrinsic: signed.extrinsic_hash, outcome }),
                Err(TxError::WatchTimeout { waited_s }) => Ok(Submission::WatchTimeout { waited_s }),
                Err(err) => Err(Lost::from(err)),
            }
        });
        Box::pin(async move { task.await.unwrap_or_else(|join| Err(Lost(format!("the submission task failed: {join}")))) })
    }

    async fn sign_only(&self, birth: BlockRef, registration: Registration, signer: Arc<Keypair>) -> Result<Signed, Lost> {
        let signed = tx::sign(self.client(), birth.hash, &registration, &signer).await?;
        let at = self.at(&birth).await?;
        let decoded = tx::describe_extrinsic(at.metadata_ref(), &signed.bytes)?;
        Ok(Signed { bytes: signed.bytes, extrinsic: signed.extrinsic_hash, decoded })
    }
}

/// The daemon's [`Host`]: the worker pool, the reporter and observer, the wallet.
pub struct DaemonHost {
    pub pool: Arc<Pool>,
    pub reporter: Reporter,
    pub observer: Arc<Observer>,
    pub wallet: Wallet,
    pub password: PasswordSource,
    /// The public coldkey (coldkeypub.txt) the decrypted one must match.
    pub coldkey: AccountId,
    /// When the node announced the block being handled (a job's `switch_ms` counts from it).
    pub received: Instant,
    coldkey_signer: Option<Arc<Keypair>>,
}

impl DaemonHost {
    pub fn new(pool: Arc<Pool>, reporter: Reporter, observer: Arc<Observer>, wallet: Wallet, password: PasswordSource, coldkey: AccountId) -> Self {
        DaemonHost { pool, reporter, observer, wallet, password, coldkey, received: Instant::now(), coldkey_signer: None }
    }
}

impl Host for DaemonHost {
    fn set_job(&mut self, work: &Work, hot: HotLoop) -> JobId {
        let job = self.pool.set_job(hot, rand::random());
        let switch_ms = self.received.elapsed().as_secs_f64() * 1e3;
        self.emit(Event::Job { hotkey: encode_ss58(&work.key), block: work.block.number, difficulty: work.difficulty, switch_ms });
        job
    }

    fn clear_job(&mut self) {
        self.pool.clear_job();
    }

    fn emit(&mut self, event: Event) {
        self.observer.event(&event, &self.pool);
        self.reporter.emit(event);
    }

    /// The hotkey for legacy `register`; the coldkey for `pow_register` and `faucet` (decrypted
    /// once, and checked against coldkeypub.txt).
    fn signer(&mut self, key: &SignerKey) -> Result<Arc<Keypair>, DaemonError> {
        if let SignerKey::Hotkey(name) = key {
            return Ok(Arc::new(self.wallet.hotkey(name, &self.password)?));
        }
        if let Some(signer) = &self.coldkey_signer {
            return Ok(signer.clone());
        }
        let coldkey = Arc::new(self.wallet.coldkey(&self.password)?);
        if coldkey.public() != self.coldkey {
            return Err(DaemonError::Usage("the decrypted coldkey does not match coldkeypub.txt: the wallet's files disagree".into()));
        }
        self.coldkey_signer = Some(coldkey.clone());
        Ok(coldkey)
    }
}

/// The `--dry-run` event for a signed extrinsic.
pub fn dry_run_event(hotkey: String, signed: &Signed) -> Event {
    Event::DryRun { hotkey, extrinsic: format!("0x{}", hex::encode(&signed.bytes)), decoded: signed.decoded.clone() }
}
