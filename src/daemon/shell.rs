//! The async shell around the [`Session`]: connects (with backoff), follows best blocks, hands
//! the session every block, verdict and submission end, and carries out its actions through a
//! [`ChainPort`] and a [`Host`] ([`Executor`]). It decides nothing the session decides.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::StreamExt;
use tracing::warn;

use super::exit::DaemonError;
use super::observe::Observer;
use super::port::{dry_run_event, ChainPort, DaemonHost, Host, Lost, Submission};
use super::session::{Action, Extrinsic, Input, Session, SignerKey, SubmissionId};
use super::{DaemonOptions, HotkeyResult};
use crate::burn::{BurnEntry, BurnState};
use crate::chain::outcome::Outcome;
use crate::chain::tx::SignedRegistration;
use crate::chain::{connect, connect_within, network::hex_0x, BestBlock, BlockRef, Chain, ChainError};
use crate::pow::ss58::encode_ss58;
use crate::solver::pool::VerdictReceiver;

/// How often the loop beats (the watchdog and `/healthz` hear it) while it waits for blocks.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// What feeding the session one input came to.
#[derive(Debug)]
pub enum Step {
    Continue,
    /// The connection is lost: reconnect and feed [`Input::Disconnected`].
    Lost(String),
    /// The session finished (or a signer could not be had).
    Finished(Result<Vec<HotkeyResult>, DaemonError>),
}

/// Carries out the session's actions; the answers of reads are fed back at once, before the
/// next outside input. Holds the one submission being watched.
pub struct Executor<C, H> {
    pub chain: C,
    pub host: H,
    netuid: u16,
    in_flight: Option<InFlight>,
}

/// The submission being watched; a burn's extrinsic hash, price and fee settle the ledger.
struct InFlight {
    id: SubmissionId,
    end: BoxFuture<'static, Result<Submission, Lost>>,
    burn: Option<(String, u64, u128)>,
}

impl<C: ChainPort, H: Host> Executor<C, H> {
    pub fn new(chain: C, host: H, netuid: u16) -> Self {
        Executor { chain, host, netuid, in_flight: None }
    }

    /// Hands `input` to the session, then every answer its actions produce.
    pub async fn feed(&mut self, session: &mut Session, input: Input) -> Step {
        if matches!(input, Input::Disconnected) {
            self.in_flight = None;
        }
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for action in session.handle(input) {
                match self.act(action).await {
                    Ok(Some(answer)) => inputs.push_back(answer),
                    Ok(None) => {}
                    Err(step) => return step,
                }
            }
        }
        Step::Continue
    }

    async fn act(&mut self, action: Action) -> Result<Option<Input>, Step> {
        let lost = |Lost(why)| Step::Lost(why);
        Ok(match action {
            Action::ReadState { block, keys } => {
                Some(Input::State(self.chain.registration_state(block, self.netuid, keys).await.map_err(lost)?))
            }
            Action::ReadNodeBest { work, solution } => {
                Some(Input::NodeBest { work, solution, best: self.chain.best_block().await.map_err(lost)? })
            }
            Action::ReadUid { key } => Some(Input::Uid(self.chain.uid(self.netuid, key).await.map_err(lost)?)),
            Action::QuoteBurn { block, burn } => {
                let signer = self.host.signer(&SignerKey::Coldkey).map_err(|err| Step::Finished(Err(err)))?;
                let quote = self.chain.burn_quote(block, burn, signer).await.map_err(lost)?;
                let spent_rao = self.host.burned_rao();
                Some(Input::BurnQuote { price_rao: quote.price_rao, free_rao: quote.free_rao, fee_rao: quote.fee_rao, spent_rao })
            }
            Action::PrepareSigner(key) => {
                self.host.signer(&key).map_err(|err| Step::Finished(Err(err)))?;
                None
            }
            Action::SetJob { work, hot } => Some(Input::JobSet { job: self.host.set_job(&work, *hot), work }),
            Action::ClearJob => {
                self.host.clear_job();
                None
            }
            Action::Submit { id, extrinsic, birth, signer } => {
                let signer = self.host.signer(&signer).map_err(|err| Step::Finished(Err(err)))?;
                let signed = self.chain.sign(birth, &extrinsic, signer).await.map_err(lost)?;
                let burn = self.record_burn(&extrinsic, &signed, birth).map_err(|err| Step::Finished(Err(err)))?;
                self.in_flight = Some(InFlight { id, end: self.chain.submit(signed, extrinsic), burn });
                None
            }
            Action::DryRun { extrinsic, birth, signer, hotkey } => {
                let signer = self.host.signer(&signer).map_err(|err| Step::Finished(Err(err)))?;
                let signed = self.chain.sign(birth, &extrinsic, signer).await.map_err(lost)?;
                let decoded = self.chain.describe(birth, &signed).await.map_err(lost)?;
                self.host.emit(dry_run_event(hotkey, &signed, decoded));
                Some(Input::DrySigned { extrinsic: signed.extrinsic_hash })
            }
            Action::Emit(event) => {
                self.host.emit(event);
                None
            }
            Action::Finish(result) => return Err(Step::Finished(result)),
        })
    }

    /// A burn is counted in the ledger at its worst case before it leaves.
    fn record_burn(
        &mut self,
        extrinsic: &Extrinsic,
        signed: &SignedRegistration,
        birth: BlockRef,
    ) -> Result<Option<(String, u64, u128)>, DaemonError> {
        let Extrinsic::Burn { registration, price_rao, fee_rao, counted_rao } = extrinsic else { return Ok(None) };
        let hash = hex_0x(&signed.extrinsic_hash);
        let entry = BurnEntry {
            netuid: registration.netuid,
            hotkey: encode_ss58(&registration.hotkey),
            extrinsic: hash.clone(),
            block: birth.number,
            state: BurnState::Sent,
            counted_rao: *counted_rao,
        };
        self.host.record_burn(entry)?;
        Ok(Some((hash, *price_rao, *fee_rao)))
    }

    /// Settles a burn's ledger entry at what its outcome cost: the price and fee when included
    /// and registered, the fee when included and failed, nothing when it never reached a block.
    /// Watched without an end, it stays counted at its worst case.
    fn settle(&mut self, burn: Option<(String, u64, u128)>, end: &Submission) {
        let (Some((hash, price_rao, fee_rao)), Submission::Ended { outcome, .. }) = (burn, end) else { return };
        let cost_rao = match outcome {
            Outcome::Registered { .. } => u128::from(price_rao) + fee_rao,
            Outcome::DispatchFailed { .. } => fee_rao,
            Outcome::PoolRejected(_) | Outcome::Dropped(_) | Outcome::Invalid(_) => 0,
        };
        self.host.settle_burn(&hash, cost_rao);
    }

    /// Whether a submission is being watched.
    pub fn submitting(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The end of the submission being watched (pending for ever when there is none).
    pub async fn submission_end(&mut self) -> Result<Input, Lost> {
        let Some(flight) = self.in_flight.as_mut() else { return futures::future::pending().await };
        let end = (&mut flight.end).await;
        self.finished_submission(end)
    }

    fn finished_submission(&mut self, end: Result<Submission, Lost>) -> Result<Input, Lost> {
        let flight = self.in_flight.take().ok_or_else(|| Lost("no submission was watched".into()))?;
        let end = end?;
        self.settle(flight.burn, &end);
        Ok(submission_input(flight.id, end))
    }

    /// The end of the submission being watched, if it has already come (the simulation polls).
    #[cfg(test)]
    pub fn submission_end_now(&mut self) -> Option<Result<Input, Lost>> {
        use futures::FutureExt;
        let end = self.in_flight.as_mut()?.end.as_mut().now_or_never()?;
        Some(self.finished_submission(end))
    }
}

fn submission_input(id: SubmissionId, end: Submission) -> Input {
    match end {
        Submission::Ended { extrinsic, outcome } => Input::Submitted { id, extrinsic, outcome },
        Submission::WatchTimeout { waited_s } => Input::WatchTimeout { id, waited_s },
    }
}

/// The daemon's shell: the session over the real chain, the pool and the wallet.
pub struct Shell {
    pub opts: DaemonOptions,
    pub observer: Arc<Observer>,
    pub verdicts: VerdictReceiver,
    /// Connections made: until the first, failures are retried up to the connect deadline and
    /// then stop the daemon; after it, a lost connection is retried for ever.
    connections: u32,
    /// The genesis of the chain last followed (a different one means the chain was replaced).
    genesis: Option<[u8; 32]>,
    /// The clock the session's time comes from.
    started: Instant,
}

/// Why a connection attempt did not give a chain.
enum NoChain {
    Lost(String),
    Stop(DaemonError),
}

impl Shell {
    pub fn new(opts: DaemonOptions, observer: Arc<Observer>, verdicts: VerdictReceiver) -> Self {
        Shell { opts, observer, verdicts, connections: 0, genesis: None, started: Instant::now() }
    }

    /// Runs the session until it finishes: connects, follows, and on a lost connection clears
    /// the devices, waits (doubling up to `--max-backoff`) and connects again.
    pub async fn run(mut self, mut session: Session, mut host: DaemonHost) -> Result<Vec<HotkeyResult>, DaemonError> {
        let mut backoff = Duration::from_secs(1);
        loop {
            let why = match self.connect().await {
                Err(NoChain::Stop(err)) => return Err(err),
                Err(NoChain::Lost(why)) => why,
                Ok(chain) => {
                    let mut exec = Executor::new(chain, host, self.opts.netuid);
                    let (step, followed) = self.follow(&mut exec, &mut session).await;
                    host = exec.host;
                    match step {
                        Step::Finished(result) => return result,
                        Step::Continue => continue,
                        Step::Lost(why) => {
                            if followed {
                                backoff = Duration::from_secs(1);
                            }
                            why
                        }
                    }
                }
            };
            session.handle(Input::Disconnected);
            host.clear_job();
            self.observer.connection(false);
            warn!("chain connection lost ({why}); reconnecting in {} s", backoff.as_secs());
            pause(self.observer.clone(), backoff).await;
            self.observer.reconnecting();
            backoff = (backoff * 2).min(self.opts.max_backoff);
        }
    }

    /// Follows one connection until the session finishes or the connection is lost; says too
    /// whether any block arrived on it (a connection that worked resets the backoff).
    async fn follow(&mut self, exec: &mut Executor<Chain, DaemonHost>, session: &mut Session) -> (Step, bool) {
        let connected = Input::Connected {
            network: exec.chain.network_name(),
            endpoint: exec.chain.endpoint().to_string(),
            genesis: exec.chain.genesis_hash(),
        };
        let step = exec.feed(session, connected).await;
        let mut blocks = match exec.chain.best_blocks().await {
            Ok(blocks) => blocks,
            Err(err) => return (Step::Lost(err.to_string()), false),
        };
        let (mut heartbeat, mut followed) = (tokio::time::interval(HEARTBEAT_EVERY), false);
        let mut step = step;
        while matches!(step, Step::Continue) {
            step = tokio::select! {
                _ = heartbeat.tick() => {
                    self.observer.heartbeat();
                    Step::Continue
                }
                item = blocks.next() => match next_block(item) {
                    Ok(BestBlock { block, runtime, runtime_changed, received }) => {
                        followed = true;
                        self.observer.block(block.number);
                        self.observer.heartbeat();
                        exec.host.received = received;
                        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        exec.feed(session, Input::Block { block, runtime, runtime_changed, now_ms }).await
                    }
                    Err(why) => Step::Lost(why),
                },
                verdict = self.verdicts.recv() => match verdict {
                    Some(verdict) => exec.feed(session, Input::Verdict(verdict)).await,
                    None => Step::Finished(Err(DaemonError::Other("the worker pool stopped".into()))),
                },
                end = exec.submission_end(), if exec.submitting() => match end {
                    Ok(input) => {
                        self.observer.submission(submission_class(&input).as_ref());
                        exec.feed(session, input).await
                    }
                    Err(Lost(why)) => Step::Lost(why),
                },
            };
        }
        (step, followed)
    }

    /// Connects. At start, an unreachable chain is retried within the connect deadline
    /// ([`connect_within`]), then stops the daemon; later (a lost connection) one failure goes
    /// back to [`Shell::run`], which retries for ever. A configuration error (a named network's
    /// wrong genesis) always stops it.
    async fn connect(&mut self) -> Result<Chain, NoChain> {
        let (endpoint, genesis, deadline) = (&self.opts.endpoint, self.opts.expected_genesis, self.opts.connect_deadline);
        let observer = self.observer.clone();
        let result = match self.connections {
            0 => connect_within(endpoint, genesis, deadline, self.opts.max_backoff, |wait| pause(observer.clone(), wait)).await,
            _ => connect(endpoint, genesis, deadline).await,
        };
        match result {
            Ok(chain) => {
                self.connected(&chain);
                Ok(chain)
            }
            Err(err) if self.connections > 0 && !err.is_configuration() => Err(NoChain::Lost(err.to_string())),
            Err(err) => Err(NoChain::Stop(DaemonError::from(err))),
        }
    }

    /// Notes a new connection; a chain with another genesis than the last one was restarted or
    /// replaced: nothing of the old one is kept (the session dropped the old connection's jobs,
    /// seals and submissions) and its state is read afresh.
    fn connected(&mut self, chain: &Chain) {
        self.connections += 1;
        let genesis = chain.genesis_hash();
        if let Some(old) = self.genesis.filter(|old| *old != genesis) {
            warn!(
                old = %hex_0x(&old),
                new = %hex_0x(&genesis),
                "the chain at {} has a new genesis: it was restarted or replaced; reading its state afresh",
                chain.endpoint()
            );
        }
        self.genesis = Some(genesis);
        self.observer.connection(true);
        self.observer.heartbeat();
    }
}

/// Sleeps, beating the heartbeat (the loop is waiting on purpose, not stuck).
async fn pause(observer: Arc<Observer>, duration: Duration) {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        observer.heartbeat();
        tokio::time::sleep(until.saturating_duration_since(Instant::now()).min(HEARTBEAT_EVERY)).await;
    }
    observer.heartbeat();
}

/// The next item of a best-block subscription, or why the connection is lost.
fn next_block(item: Option<Result<BestBlock, ChainError>>) -> Result<BestBlock, String> {
    match item {
        Some(Ok(block)) => Ok(block),
        Some(Err(err)) => Err(err.to_string()),
        None => Err("the block subscription ended".into()),
    }
}

/// The outcome's class for the `outcome` series (`None`: watched without an end).
fn submission_class(input: &Input) -> Option<crate::chain::outcome::OutcomeClass> {
    match input {
        Input::Submitted { outcome, .. } => Some(outcome.class()),
        _ => None,
    }
}
