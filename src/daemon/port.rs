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
use super::session::{Extrinsic, SignerKey, Work};
use crate::burn::{BurnEntry, BurnLedger};
use crate::chain::burn::BurnRegistration;
use crate::chain::outcome::Outcome;
use crate::chain::state::RegistrationState;
use crate::chain::tx::{self, SignedRegistration, TxError};
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
    Ended {
        extrinsic: [u8; 32],
        outcome: Outcome,
    },
    /// Watched for [`WATCH_LIMIT`] without an end.
    WatchTimeout {
        waited_s: u64,
    },
}

/// A burn's price and the coldkey's free balance at a block, and the fee of the signed burn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub price_rao: u64,
    pub free_rao: u128,
    pub fee_rao: u128,
}

/// The chain as the loop uses it.
pub trait ChainPort {
    /// The node's best block now.
    fn best_block(&self) -> impl Future<Output = Result<BlockRef, Lost>> + Send;
    /// The subnet's and the keys' registration state at `block`.
    fn registration_state(
        &self,
        block: BlockRef,
        netuid: u16,
        keys: Vec<AccountId>,
    ) -> impl Future<Output = Result<RegistrationState, Lost>> + Send;
    /// The key's UID at the best block.
    fn uid(&self, netuid: u16, key: AccountId) -> impl Future<Output = Result<Option<u16>, Lost>> + Send;
    /// The burn's price, the payer's balance and the burn's fee at `block`.
    fn burn_quote(&self, block: BlockRef, burn: BurnRegistration, signer: Arc<Keypair>)
        -> impl Future<Output = Result<Quote, Lost>> + Send;
    /// Signs at `birth` (its runtime, the signer's nonce, the era's birth).
    fn sign(
        &self,
        birth: BlockRef,
        extrinsic: &Extrinsic,
        signer: Arc<Keypair>,
    ) -> impl Future<Output = Result<SignedRegistration, Lost>> + Send;
    /// Submits a signed extrinsic; the future ends with the outcome (it runs on its own).
    fn submit(&self, signed: SignedRegistration, extrinsic: Extrinsic) -> BoxFuture<'static, Result<Submission, Lost>>;
    /// Decodes a signed extrinsic through `birth`'s metadata (`--dry-run`); sends nothing.
    fn describe(&self, birth: BlockRef, signed: &SignedRegistration) -> impl Future<Output = Result<serde_json::Value, Lost>> + Send;
}

/// The devices, the reports, the keys and the burn ledger, as the loop uses them.
pub trait Host {
    /// Puts `hot` on every device; returns the pool's id for it.
    fn set_job(&mut self, work: &Work, hot: HotLoop) -> JobId;
    fn clear_job(&mut self);
    fn emit(&mut self, event: Event);
    /// The keypair that signs for `key` (decrypted once, when first needed).
    fn signer(&mut self, key: &SignerKey) -> Result<Arc<Keypair>, DaemonError>;
    /// What the ledger counts as burned (0 without one).
    fn burned_rao(&self) -> u128;
    /// Counts a burn at its worst case before it is sent; on disk before this returns.
    fn record_burn(&mut self, entry: BurnEntry) -> Result<(), DaemonError>;
    /// Settles a burn at what it cost once its outcome is known.
    fn settle_burn(&mut self, extrinsic: &str, cost_rao: u128);
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

    async fn burn_quote(&self, block: BlockRef, burn: BurnRegistration, signer: Arc<Keypair>) -> Result<Quote, Lost> {
        let quote = Chain::burn_quote(self, &block, burn.netuid, &burn.coldkey).await?;
        let signed = tx::sign(self.client(), block.hash, &burn, &signer).await?;
        let fee_rao = self.fee_rao(&block, &signed.bytes).await?;
        Ok(Quote { price_rao: quote.price_rao, free_rao: quote.free_rao, fee_rao })
    }

    async fn sign(&self, birth: BlockRef, extrinsic: &Extrinsic, signer: Arc<Keypair>) -> Result<SignedRegistration, Lost> {
        Ok(match extrinsic {
            Extrinsic::Seal(registration) => tx::sign(self.client(), birth.hash, registration, &signer).await?,
            Extrinsic::Burn { registration, .. } => tx::sign(self.client(), birth.hash, registration, &signer).await?,
        })
    }

    fn submit(&self, signed: SignedRegistration, extrinsic: Extrinsic) -> BoxFuture<'static, Result<Submission, Lost>> {
        let client = self.client().clone();
        let task = tokio::spawn(async move {
            let outcome = match &extrinsic {
                Extrinsic::Seal(registration) => tx::submit_signed(&client, &signed, registration, WATCH_LIMIT).await,
                Extrinsic::Burn { registration, .. } => tx::submit_signed(&client, &signed, registration, WATCH_LIMIT).await,
            };
            match outcome {
                Ok(outcome) => Ok(Submission::Ended { extrinsic: signed.extrinsic_hash, outcome }),
                Err(TxError::WatchTimeout { waited_s }) => Ok(Submission::WatchTimeout { waited_s }),
                Err(err) => Err(Lost::from(err)),
            }
        });
        Box::pin(async move { task.await.unwrap_or_else(|join| Err(Lost(format!("the submission task failed: {join}")))) })
    }

    async fn describe(&self, birth: BlockRef, signed: &SignedRegistration) -> Result<serde_json::Value, Lost> {
        let at = self.at(&birth).await?;
        Ok(tx::describe_extrinsic(at.metadata_ref(), &signed.bytes)?)
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
    /// The burn ledger (with `--burn-max`).
    ledger: Option<BurnLedger>,
}

impl DaemonHost {
    pub fn new(
        pool: Arc<Pool>,
        reporter: Reporter,
        observer: Arc<Observer>,
        wallet: Wallet,
        password: PasswordSource,
        coldkey: AccountId,
    ) -> Self {
        DaemonHost { pool, reporter, observer, wallet, password, coldkey, received: Instant::now(), coldkey_signer: None, ledger: None }
    }

    /// With the burn ledger (read now: a damaged one stops the daemon before anything is sent).
    pub fn with_ledger(mut self, ledger: BurnLedger) -> Self {
        self.ledger = Some(ledger);
        self
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

    fn burned_rao(&self) -> u128 {
        self.ledger.as_ref().map_or(0, BurnLedger::spent_rao)
    }

    fn record_burn(&mut self, entry: BurnEntry) -> Result<(), DaemonError> {
        let ledger = self.ledger.as_mut().ok_or_else(|| DaemonError::Other("a burn without the burn ledger".into()))?;
        ledger.record_sent(entry).map_err(|e| DaemonError::Other(e.to_string()))
    }

    fn settle_burn(&mut self, extrinsic: &str, cost_rao: u128) {
        if let Some(Err(err)) = self.ledger.as_mut().map(|ledger| ledger.settle(extrinsic, cost_rao)) {
            tracing::error!("{err}; the burn stays counted at its cap plus fee");
        }
    }
}

/// The `--dry-run` event for a signed extrinsic.
pub fn dry_run_event(hotkey: String, signed: &SignedRegistration, decoded: serde_json::Value) -> Event {
    Event::DryRun { hotkey, extrinsic: crate::chain::network::hex_0x(&signed.bytes), decoded }
}
