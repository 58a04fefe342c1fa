//! The registration loop: best blocks -> jobs -> verified solutions -> submissions -> outcomes.
//!
//! One task follows the chain (tokio); the devices run on their own threads inside the
//! [`Pool`]. For every new best block the runtime's checks are read and the job for the current
//! hotkey is replaced at once. Every solution the pool hands over was verified on the CPU; it is
//! checked once more against a challenge rebuilt from the block and keys, and submitted only
//! while its work block is inside the runtime's window. Losing the connection means: stop the
//! devices, reconnect with backoff, re-read the runtime, resume on the new head.

pub mod exit;
pub mod observe;
pub mod plan;
pub mod report;
pub mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tracing::{info, warn};

use crate::chain::outcome::{FatalReason, Outcome, OutcomeClass};
use crate::chain::tx::{self, Registration, SignedRegistration, TxError};
use crate::chain::{choose_scheme, connect, connect_within, BestBlock, BlockRef, Chain, ChainError, Endpoint, RuntimeInfo, SchemeChoice};
use crate::pow::hotloop::HotLoop;
use crate::pow::ss58::encode_ss58;
use crate::pow::{AccountId, ByteOrder, Challenge, Scheme, Target, FAUCET_DIFFICULTY};
use crate::solver::pool::{JobId, Pool, Solution, Verdict, VerdictReceiver};
use crate::wallet::{Keypair, PasswordSource, Wallet};

pub use exit::{code, DaemonError};
use observe::Observer;
use plan::{in_window, plan, Plan};
use report::{Event, Reporter};

/// How long a submission is watched before it is given up (it is mortal and will expire).
const WATCH_LIMIT: Duration = Duration::from_secs(120);
/// Submissions refused or failed in a row before the daemon stops: seals verified on the CPU that
/// keep failing mean something systematic (a wrong era's byte order, a runtime regsolver misreads).
const MAX_FAILED_SUBMISSIONS: u32 = 5;
/// How often the loop beats (the watchdog and `/healthz` hear it) while it waits for blocks.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// Everything the loop needs, already validated (from flags, environment or a file).
pub struct DaemonOptions {
    pub endpoint: Endpoint,
    /// The genesis a named network must have (`None` for a plain URL).
    pub expected_genesis: Option<[u8; 32]>,
    /// How long connecting may take before giving up (light-client peers, RPC handshake).
    pub connect_deadline: Duration,
    pub netuid: u16,
    /// Run scheme C (`faucet`, signed by the coldkey) instead of registering hotkeys.
    pub faucet: bool,
    pub wallet: Wallet,
    /// Hotkey names to register, in order.
    pub hotkeys: Vec<String>,
    pub password: PasswordSource,
    /// Legacy runtimes only: how seals are read (required for specs 278-282).
    pub byte_order: Option<ByteOrder>,
    /// Do everything but submit: print the extrinsic that would be sent.
    pub dry_run: bool,
    /// Keep watching while registration is not possible (PoW disabled, difficulty above
    /// `max_difficulty`) instead of stopping.
    pub wait: bool,
    /// Never solve above this difficulty.
    pub max_difficulty: Option<u64>,
    /// After the last hotkey, keep following and register again any hotkey that loses its UID.
    pub keep_going: bool,
    /// Longest pause between reconnection attempts.
    pub max_backoff: Duration,
}

/// What happened to one hotkey (or the coldkey, for `faucet`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct HotkeyResult {
    pub hotkey: String,
    pub ss58: String,
    pub uid: Option<u16>,
    /// Registered in this run (false: it already held a UID, or a dry run).
    pub registered_now: bool,
    pub block: Option<u64>,
    pub nonce: Option<u64>,
    pub extrinsic: Option<String>,
}

/// The job the devices run, and what it was built from.
#[derive(Clone, Copy, Debug)]
struct Work {
    block: BlockRef,
    /// The key the seal binds: the hotkey, or the coldkey for `faucet`.
    key: AccountId,
    difficulty: u64,
}

/// The key being registered now: a hotkey by name, or the coldkey for `faucet`.
struct Registrant {
    name: String,
    key: AccountId,
}

/// A submission being watched, and what it carries.
struct InFlight {
    handle: tokio::task::JoinHandle<Result<(SignedRegistration, Outcome), TxError>>,
    work: Work,
    solution: Solution,
}

/// Runs until every hotkey holds a UID (with `keep_going`, until interrupted), or a reason to stop.
pub async fn run(opts: DaemonOptions, pool: Arc<Pool>, reporter: Reporter, observer: Arc<Observer>) -> Result<Vec<HotkeyResult>, DaemonError> {
    let coldkey = opts.wallet.coldkey_public()?;
    let mut queue = Vec::new();
    if opts.faucet {
        queue.push(Registrant { name: "coldkey".into(), key: coldkey });
    } else {
        for name in &opts.hotkeys {
            queue.push(Registrant { name: name.clone(), key: opts.wallet.hotkey_public(name)? });
        }
    }
    let verdicts = pool.verdicts();
    let mut daemon = Daemon { opts, pool, reporter, observer, coldkey, verdicts, coldkey_signer: None, connections: 0, genesis: None };
    let mut results = Vec::new();
    let mut backoff = Duration::from_secs(1);
    let mut next = 0;
    loop {
        let step = match queue.get(next) {
            Some(key) => daemon.follow(key).await.map(Some),
            None if daemon.opts.keep_going => daemon.watch(&queue).await.map(|deregistered| {
                next = deregistered;
                None
            }),
            None => break,
        };
        match step {
            Ok(Some(result)) => {
                results.push(result);
                next += 1;
                backoff = Duration::from_secs(1);
            }
            Ok(None) => backoff = Duration::from_secs(1),
            Err(Interrupted::Lost(why)) => {
                daemon.pool.clear_job();
                daemon.observer.connection(false);
                warn!("chain connection lost ({why}); reconnecting in {} s", backoff.as_secs());
                daemon.pause(backoff).await;
                daemon.observer.reconnecting();
                backoff = (backoff * 2).min(daemon.opts.max_backoff);
            }
            Err(Interrupted::Stop(err)) => {
                daemon.pool.clear_job();
                return Err(err);
            }
        }
    }
    daemon.pool.clear_job();
    Ok(results)
}

/// Why following the chain stopped before the current key was done.
enum Interrupted {
    /// The connection went away: reconnect and resume on the new head.
    Lost(String),
    /// A reason to stop the daemon.
    Stop(DaemonError),
}

impl From<DaemonError> for Interrupted {
    fn from(err: DaemonError) -> Self {
        Interrupted::Stop(err)
    }
}

fn lost(err: impl std::fmt::Display) -> Interrupted {
    Interrupted::Lost(err.to_string())
}

struct Daemon {
    opts: DaemonOptions,
    pool: Arc<Pool>,
    reporter: Reporter,
    observer: Arc<Observer>,
    coldkey: AccountId,
    verdicts: VerdictReceiver,
    /// The decrypted coldkey, once a scheme needed it (never before).
    coldkey_signer: Option<Arc<Keypair>>,
    /// Connections made: until the first, failures are retried up to the connect deadline and
    /// then stop the daemon; after it, a lost connection is retried for ever.
    connections: u32,
    /// The genesis of the chain last followed (a different one means the chain was replaced).
    genesis: Option<[u8; 32]>,
}

impl Daemon {
    /// Connects. At start, an unreachable chain is retried within the connect deadline
    /// ([`connect_within`]), then stops the daemon; later (a lost connection) one failure goes
    /// back to [`run`], which retries for ever. A named network's wrong genesis always stops it.
    async fn connect(&mut self) -> Result<Chain, Interrupted> {
        let (endpoint, genesis, deadline) = (&self.opts.endpoint, self.opts.expected_genesis, self.opts.connect_deadline);
        let result = match self.connections {
            0 => connect_within(endpoint, genesis, deadline, self.opts.max_backoff, |wait| self.pause(wait)).await,
            _ => connect(endpoint, genesis, deadline).await,
        };
        match result {
            Ok(chain) => {
                self.connected(&chain);
                Ok(chain)
            }
            Err(err) if self.connections > 0 && !err.is_configuration() => Err(lost(err)),
            Err(err) => Err(DaemonError::from(err).into()),
        }
    }

    /// Notes a new connection; a chain with another genesis than the last one was restarted or
    /// replaced: nothing of the old one is kept (jobs, seals and submissions belong to a
    /// connection) and its state is read afresh.
    fn connected(&mut self, chain: &Chain) {
        self.connections += 1;
        let genesis = chain.genesis_hash();
        if let Some(old) = self.genesis.filter(|old| *old != genesis) {
            warn!(
                old = %format!("0x{}", hex::encode(old)),
                new = %format!("0x{}", hex::encode(genesis)),
                "the chain at {} has a new genesis: it was restarted or replaced; reading its state afresh",
                chain.endpoint()
            );
        }
        self.genesis = Some(genesis);
        self.observer.connection(true);
        self.observer.heartbeat();
    }

    /// Sleeps, beating the heartbeat (the loop is waiting on purpose, not stuck).
    async fn pause(&self, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.observer.heartbeat();
            tokio::time::sleep(until.saturating_duration_since(Instant::now()).min(HEARTBEAT_EVERY)).await;
        }
        self.observer.heartbeat();
    }

    /// Prints an event and records its figures.
    fn emit(&self, event: Event) {
        self.observer.event(&event, &self.pool);
        self.reporter.emit(event);
    }

    /// The scheme for a runtime; `faucet` replaces it where the runtime has the call.
    fn scheme(&self, runtime: &RuntimeInfo) -> Result<SchemeChoice, DaemonError> {
        if self.opts.faucet {
            if !runtime.has_faucet {
                return Err(DaemonError::NoPowRegistration(format!(
                    "runtime spec {} has no `faucet` call (it exists only on local networks built with the pow-faucet feature)",
                    runtime.spec_version
                )));
            }
            // The faucet's seal is checked like `register`'s: in the runtime era's byte order.
            let era = choose_scheme(runtime, self.opts.byte_order).ok().map(|c| c.byte_order);
            return Ok(SchemeChoice { scheme: Scheme::Faucet, byte_order: self.opts.byte_order.or(era).unwrap_or(ByteOrder::Little) });
        }
        choose_scheme(runtime, self.opts.byte_order).map_err(|refusal| DaemonError::NoPowRegistration(refusal.to_string()))
    }

    /// The signer a scheme needs: the coldkey for `pow_register` and `faucet` (decrypted once,
    /// when first needed), the hotkey for legacy `register`.
    fn signer(&mut self, scheme: Scheme, key: &Registrant) -> Result<Arc<Keypair>, DaemonError> {
        if scheme == Scheme::Legacy {
            return Ok(Arc::new(self.opts.wallet.hotkey(&key.name, &self.opts.password)?));
        }
        if let Some(signer) = &self.coldkey_signer {
            return Ok(signer.clone());
        }
        let coldkey = Arc::new(self.opts.wallet.coldkey(&self.opts.password)?);
        if coldkey.public() != self.coldkey {
            return Err(DaemonError::Usage("the decrypted coldkey does not match coldkeypub.txt: the wallet's files disagree".into()));
        }
        self.coldkey_signer = Some(coldkey.clone());
        Ok(coldkey)
    }

    /// Follows one connection until `key` is done, the connection drops, or a reason to stop.
    async fn follow(&mut self, key: &Registrant) -> Result<HotkeyResult, Interrupted> {
        let chain = self.connect().await?;
        let mut blocks = chain.best_blocks().await.map_err(lost)?;
        let mut choice: Option<(SchemeChoice, Arc<Keypair>)> = None;
        let mut jobs: HashMap<JobId, Work> = HashMap::new();
        let mut best: Option<BlockRef> = None;
        let mut in_flight: Option<InFlight> = None;
        let mut queued: Option<(Work, Solution)> = None;
        let mut failed_in_a_row = 0;
        // Seen registered on chain while our own submission was in flight: its outcome decides
        // whether this run registered it.
        let mut registered_on_chain: Option<HotkeyResult> = None;
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => self.observer.heartbeat(),
                block = blocks.next() => {
                    let BestBlock { block, runtime, runtime_changed, received: notified } = next_block(block)?;
                    self.observer.block(block.number);
                    self.observer.heartbeat();
                    if choice.is_none() || runtime_changed {
                        let scheme = self.scheme(&runtime)?;
                        let signer = self.signer(scheme.scheme, key)?;
                        if runtime_changed {
                            info!(block = block.number, spec_version = runtime.spec_version, "runtime upgraded; scheme chosen again");
                            jobs.clear();
                            queued = None;
                        }
                        self.emit(Event::Connected {
                            network: chain.network_name(),
                            endpoint: chain.endpoint().to_string(),
                            genesis: format!("0x{}", hex::encode(chain.genesis_hash())),
                            spec_version: runtime.spec_version,
                            scheme: scheme.scheme,
                            byte_order: scheme.byte_order,
                        });
                        choice = Some((scheme, signer));
                    }
                    let Some((scheme, signer)) = choice.clone() else { continue };
                    best = Some(block);
                    match self.on_block(&chain, scheme, key, block).await? {
                        Step::Mine(work, hot) => {
                            let job = self.pool.set_job(*hot, rand::random());
                            jobs.retain(|_, w| in_window(scheme.scheme, w.block.number, block.number));
                            jobs.insert(job, work);
                            self.emit(Event::Job { hotkey: encode_ss58(&key.key), block: block.number, difficulty: work.difficulty, switch_ms: notified.elapsed().as_secs_f64() * 1e3 });
                        }
                        Step::Done(result) if in_flight.is_none() => {
                            self.emit(Event::AlreadyRegistered { hotkey: key.name.clone(), ss58: result.ss58.clone(), uid: result.uid.unwrap_or_default() });
                            return Ok(result);
                        }
                        Step::Done(result) => {
                            self.pool.clear_job();
                            registered_on_chain = Some(result);
                        }
                        Step::Idle(why) => {
                            self.pool.clear_job();
                            info!(block = block.number, "not mining this block: {why}");
                        }
                    }
                    if in_flight.is_none() {
                        if let Some((work, solution)) = queued.take().filter(|(w, _)| in_window(scheme.scheme, w.block.number, block.number)) {
                            in_flight = Some(self.submit(&chain, scheme.scheme, &signer, key, work, solution, block));
                        }
                    }
                }
                verdict = self.verdicts.recv() => {
                    let solution = match verdict {
                        Some(Verdict::Solution(solution)) => solution,
                        Some(Verdict::ComputeError { device, nonce, .. }) => {
                            warn!(device = %device, nonce, "compute error: the CPU rejects a nonce this device reported");
                            continue;
                        }
                        Some(Verdict::Stale { .. }) => continue,
                        None => return Err(DaemonError::Other("the worker pool stopped".into()).into()),
                    };
                    // The first seal of a job is the one used: the job leaves the map and the
                    // devices stop on that block; its other seals are dropped.
                    let (Some((scheme, signer)), Some(work), Some(best)) = (choice.clone(), jobs.remove(&solution.job), best) else { continue };
                    if self.pool.current_job() == Some(solution.job) {
                        self.pool.clear_job();
                    }
                    // The subscription may lag the node (a delayed notification, a busy
                    // connection): the window is judged at the best block the node reports now.
                    let best = match chain.best_block().await.map_err(lost)? {
                        now if now.number > best.number => now,
                        _ => best,
                    };
                    if !in_window(scheme.scheme, work.block.number, best.number) {
                        self.emit(Event::Stale { block: work.block.number, best: best.number, nonce: solution.nonce });
                        continue;
                    }
                    if !seal_is_right(scheme, self.opts.netuid, &work, &self.coldkey, &solution) {
                        warn!(device = %solution.device, nonce = solution.nonce, "a solution failed the independent re-check; not submitted");
                        continue;
                    }
                    self.emit(Event::Solution { block: work.block.number, nonce: solution.nonce, seal: hex::encode(solution.seal), device: solution.device.clone() });
                    if self.opts.dry_run {
                        return self.dry_run(&chain, scheme.scheme, &signer, key, work, solution, best).await;
                    }
                    if in_flight.is_some() {
                        queued = Some((work, solution));
                    } else {
                        in_flight = Some(self.submit(&chain, scheme.scheme, &signer, key, work, solution, best));
                    }
                }
                finished = async { (&mut in_flight.as_mut().expect("guarded by the branch condition").handle).await }, if in_flight.is_some() => {
                    let InFlight { work, solution, .. } = in_flight.take().expect("guarded by the branch condition");
                    let (signed, outcome) = match finished {
                        Ok(Ok(done)) => done,
                        Ok(Err(err @ TxError::WatchTimeout { .. })) => {
                            self.observer.submission(None);
                            warn!("{err}; mining on");
                            continue;
                        }
                        Ok(Err(err)) => return Err(lost(err)),
                        Err(join) => return Err(DaemonError::Other(format!("the submission task failed: {join}")).into()),
                    };
                    self.observer.submission(Some(&outcome.class()));
                    let extrinsic = format!("0x{}", hex::encode(signed.extrinsic_hash));
                    self.emit(Event::Outcome { block: work.block.number, extrinsic: extrinsic.clone(), outcome: outcome.to_string() });
                    match outcome.class() {
                        OutcomeClass::Registered => {
                            let uid = match outcome_uid(&outcome) {
                                Some(uid) => Some(uid),
                                None if self.opts.faucet => None,
                                None => chain.uid(self.opts.netuid, &key.key).await.map_err(lost)?,
                            };
                            return Ok(self.registered(key, uid, &work, &solution, Some(extrinsic)));
                        }
                        OutcomeClass::AlreadyRegistered => {
                            let uid = chain.uid(self.opts.netuid, &key.key).await.map_err(lost)?;
                            self.emit(Event::AlreadyRegistered { hotkey: key.name.clone(), ss58: encode_ss58(&key.key), uid: uid.unwrap_or_default() });
                            return Ok(already(key, uid));
                        }
                        _ if registered_on_chain.is_some() => {
                            let result = registered_on_chain.take().expect("checked");
                            self.emit(Event::AlreadyRegistered { hotkey: key.name.clone(), ss58: result.ss58.clone(), uid: result.uid.unwrap_or_default() });
                            return Ok(result);
                        }
                        OutcomeClass::RetryNextBlock => {
                            failed_in_a_row += 1;
                            if failed_in_a_row >= MAX_FAILED_SUBMISSIONS {
                                return Err(DaemonError::Other(format!("{failed_in_a_row} submissions in a row did not register (the last: {outcome}); stopping rather than sending more")).into());
                            }
                            info!("{outcome}; mining the next block");
                        }
                        OutcomeClass::Fatal(FatalReason::PowDisabled) if self.opts.wait => {
                            info!("{outcome}; waiting until it is enabled again (--wait)");
                        }
                        OutcomeClass::Fatal(reason) => return Err(self.fatal(reason, key).into()),
                    }
                }
            }
        }
    }

    /// With `keep_going`, once every hotkey holds a UID: follows the chain with the devices idle
    /// and returns the first hotkey found without a UID (pruned or deregistered), to register
    /// it again.
    async fn watch(&mut self, queue: &[Registrant]) -> Result<usize, Interrupted> {
        self.pool.clear_job();
        let chain = self.connect().await?;
        let mut blocks = chain.best_blocks().await.map_err(lost)?;
        let keys: Vec<AccountId> = queue.iter().map(|r| r.key).collect();
        info!(subnet = self.opts.netuid, "every hotkey holds a UID; watching for deregistrations (--keep-going)");
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => self.observer.heartbeat(),
                block = blocks.next() => {
                    let block = next_block(block)?.block;
                    self.observer.block(block.number);
                    self.observer.heartbeat();
                    let state = chain.registration_state(&block, self.opts.netuid, &keys).await.map_err(lost)?;
                    if let Some(index) = state.hotkeys.iter().position(|h| h.uid.is_none()) {
                        let name = queue.get(index).map_or("?", |r| r.name.as_str());
                        warn!(block = block.number, hotkey = %name, "hotkey {name} no longer holds a UID on subnet {}; registering it again", self.opts.netuid);
                        return Ok(index);
                    }
                }
            }
        }
    }

    /// Reads what the runtime checks at `block` and decides what the devices do.
    async fn on_block(&mut self, chain: &Chain, choice: SchemeChoice, key: &Registrant, block: BlockRef) -> Result<Step, Interrupted> {
        if choice.scheme == Scheme::Faucet {
            let hot = job(Challenge::legacy(&block.hash, &key.key), FAUCET_DIFFICULTY, choice.byte_order)?;
            return Ok(Step::Mine(Work { block, key: key.key, difficulty: FAUCET_DIFFICULTY }, Box::new(hot)));
        }
        let state = chain.registration_state(&block, self.opts.netuid, &[key.key]).await.map_err(lost)?;
        let hotkey = state.hotkeys.first().ok_or_else(|| DaemonError::Other("the chain returned no state for the hotkey".into()))?;
        let planned = match plan(choice.scheme, &state.subnet, hotkey, &self.coldkey, block.number) {
            Err(DaemonError::PowDisabled { .. }) if self.opts.wait => Plan::Wait("proof-of-work registration is disabled on the subnet; waiting (--wait)"),
            Ok(Plan::Mine { difficulty }) if self.opts.max_difficulty.is_some_and(|max| difficulty > max) => {
                let max = self.opts.max_difficulty.unwrap_or_default();
                if !self.opts.wait {
                    return Err(DaemonError::TooDifficult { difficulty, max }.into());
                }
                Plan::Wait("the difficulty is above --max-difficulty; waiting (--wait)")
            }
            other => other?,
        };
        match planned {
            Plan::Registered { uid } => Ok(Step::Done(already(key, Some(uid)))),
            Plan::Wait(why) => Ok(Step::Idle(why)),
            Plan::Mine { difficulty } => {
                let challenge = match choice.scheme {
                    Scheme::PowRegister => Challenge::pow_register(self.opts.netuid, &block.hash, &key.key, &self.coldkey).map_err(|e| DaemonError::Usage(e.to_string()))?,
                    _ => Challenge::legacy(&block.hash, &key.key),
                };
                Ok(Step::Mine(Work { block, key: key.key, difficulty }, Box::new(job(challenge, difficulty, choice.byte_order)?)))
            }
        }
    }

    fn registration(&self, scheme: Scheme, work: &Work, solution: &Solution) -> Registration {
        Registration {
            scheme,
            netuid: self.opts.netuid,
            work_block: work.block.number,
            nonce: solution.nonce,
            seal: solution.seal,
            hotkey: work.key,
            coldkey: self.coldkey,
        }
    }

    /// Signs at the best block (its runtime, the signer's nonce as the pool sees it, the era's
    /// birth) and submits in a task; the loop watches the task.
    #[allow(clippy::too_many_arguments)] // the loop's state at one moment; grouping it only renames it
    fn submit(&self, chain: &Chain, scheme: Scheme, signer: &Arc<Keypair>, key: &Registrant, work: Work, solution: Solution, best: BlockRef) -> InFlight {
        let registration = self.registration(scheme, &work, &solution);
        self.emit(Event::Submitting { hotkey: key.name.clone(), block: work.block.number, nonce: solution.nonce });
        let (client, signer) = (chain.client().clone(), signer.clone());
        let birth = best.hash;
        let handle = tokio::spawn(async move { tx::submit(&client, birth, &registration, &signer, WATCH_LIMIT).await });
        InFlight { handle, work, solution }
    }

    #[allow(clippy::too_many_arguments)] // as submit
    async fn dry_run(&self, chain: &Chain, scheme: Scheme, signer: &Keypair, key: &Registrant, work: Work, solution: Solution, best: BlockRef) -> Result<HotkeyResult, Interrupted> {
        let registration = self.registration(scheme, &work, &solution);
        let signed = tx::sign(chain.client(), best.hash, &registration, signer).await.map_err(lost)?;
        let at = chain.at(&best).await.map_err(lost)?;
        let decoded = tx::describe_extrinsic(at.metadata_ref(), &signed.bytes).map_err(lost)?;
        self.emit(Event::DryRun { hotkey: key.name.clone(), extrinsic: format!("0x{}", hex::encode(&signed.bytes)), decoded });
        Ok(HotkeyResult {
            hotkey: key.name.clone(),
            ss58: encode_ss58(&key.key),
            uid: None,
            registered_now: false,
            block: Some(work.block.number),
            nonce: Some(solution.nonce),
            extrinsic: Some(format!("0x{}", hex::encode(signed.extrinsic_hash))),
        })
    }

    fn registered(&self, key: &Registrant, uid: Option<u16>, work: &Work, solution: &Solution, extrinsic: Option<String>) -> HotkeyResult {
        let result = HotkeyResult {
            hotkey: key.name.clone(),
            ss58: encode_ss58(&key.key),
            uid,
            registered_now: true,
            block: Some(work.block.number),
            nonce: Some(solution.nonce),
            extrinsic,
        };
        self.emit(Event::Registered(result.clone()));
        result
    }

    fn fatal(&self, reason: FatalReason, key: &Registrant) -> DaemonError {
        let netuid = self.opts.netuid;
        match reason {
            FatalReason::PowDisabled => DaemonError::PowDisabled { netuid },
            FatalReason::SubnetMissing => DaemonError::NoSuchSubnet { netuid },
            FatalReason::ColdkeyMismatch => DaemonError::ColdkeyMismatch { hotkey: encode_ss58(&key.key), owner: "another coldkey".into() },
            other => DaemonError::Other(other.to_string()),
        }
    }
}

/// The next item of a best-block subscription, or why the connection is lost.
fn next_block(item: Option<Result<BestBlock, ChainError>>) -> Result<BestBlock, Interrupted> {
    match item {
        Some(Ok(block)) => Ok(block),
        Some(Err(err)) => Err(lost(err)),
        None => Err(Interrupted::Lost("the block subscription ended".into())),
    }
}

/// What one block asks of the devices.
enum Step {
    Mine(Work, Box<HotLoop>),
    Done(HotkeyResult),
    Idle(&'static str),
}

fn already(key: &Registrant, uid: Option<u16>) -> HotkeyResult {
    HotkeyResult { hotkey: key.name.clone(), ss58: encode_ss58(&key.key), uid, registered_now: false, block: None, nonce: None, extrinsic: None }
}

fn outcome_uid(outcome: &Outcome) -> Option<u16> {
    match outcome {
        Outcome::Registered { uid, .. } => *uid,
        _ => None,
    }
}

fn job(challenge: Challenge, difficulty: u64, order: ByteOrder) -> Result<HotLoop, DaemonError> {
    let target = Target::from_difficulty(difficulty).map_err(|e| DaemonError::Other(format!("the chain's difficulty: {e}")))?;
    Ok(HotLoop::new(challenge, target, order))
}

/// Rebuilds the challenge from the block and keys (not from the job the pool held) and checks
/// the seal: a solution reaches the chain only if this agrees.
fn seal_is_right(choice: SchemeChoice, netuid: u16, work: &Work, coldkey: &AccountId, solution: &Solution) -> bool {
    let challenge = match choice.scheme {
        Scheme::PowRegister => match Challenge::pow_register(netuid, &work.block.hash, &work.key, coldkey) {
            Ok(challenge) => challenge,
            Err(_) => return false,
        },
        Scheme::Legacy | Scheme::Faucet => Challenge::legacy(&work.block.hash, &work.key),
    };
    let seal = challenge.seal(solution.nonce);
    seal == solution.seal && Target::from_difficulty(work.difficulty).is_ok_and(|t| t.is_met_by(&seal, choice.byte_order))
}
