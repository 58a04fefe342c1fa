//! The registration loop's rules as a state machine with no I/O, clock or randomness of its own:
//! [`Session::handle`] takes one [`Input`] (a best block and the state read at it, a verdict, a
//! submission's end, a lost connection) and returns the [`Action`]s the shell carries out (read,
//! set or clear the job, submit, emit an event, finish). Every rule that keeps a miner safe lives
//! here: the submission window, one extrinsic in flight, nothing sent on a refusal, nothing kept
//! across a reconnect or a runtime upgrade. The shell ([`super::shell`]) runs it against the real
//! chain; the simulation (`sim` tests) runs it against seeded fault schedules.

use std::collections::{HashMap, HashSet};

use tracing::{info, warn};

use super::exit::DaemonError;
use super::plan::{in_window, plan, Plan};
use super::report::Event;
use super::HotkeyResult;
use crate::burn::{format_tao, BurnOptions, BurnRefusal};
use crate::chain::burn::BurnRegistration;
use crate::chain::outcome::{FatalReason, Outcome, OutcomeClass};
use crate::chain::state::RegistrationState;
use crate::chain::tx::Registration;
use crate::chain::{choose_scheme, network::hex_0x, BlockRef, RuntimeInfo, SchemeChoice};
use crate::pow::hotloop::HotLoop;
use crate::pow::ss58::encode_ss58;
use crate::pow::{AccountId, ByteOrder, Challenge, Scheme, Target, FAUCET_DIFFICULTY};
use crate::settings::Key;
use crate::solver::pool::{JobId, Solution, Verdict};

/// Submissions refused or failed in a row before the daemon stops: seals verified on the CPU that
/// keep failing mean something systematic (a wrong era's byte order, a runtime regsolver misreads).
pub const MAX_FAILED_SUBMISSIONS: u32 = 5;

/// The rules the user chose (validated flags, environment or file).
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub netuid: u16,
    /// Scheme C (`faucet`, signed by the coldkey) instead of registering hotkeys.
    pub faucet: bool,
    /// Legacy runtimes only: how seals are read (required for specs 278-282).
    pub byte_order: Option<ByteOrder>,
    /// Sign the first seal, describe it, send nothing.
    pub dry_run: bool,
    /// Keep following while registration is not possible instead of stopping.
    pub wait: bool,
    /// Never solve above this difficulty.
    pub max_difficulty: Option<u64>,
    /// After the last hotkey, keep following and register again any hotkey that loses its UID.
    pub keep_going: bool,
    /// The burn route's cap, delay and budget; `None`: never burn.
    pub burn: Option<BurnOptions>,
}

/// A key being registered: a hotkey by name, or the coldkey for `faucet`.
#[derive(Clone, Debug)]
pub struct Registrant {
    pub name: String,
    pub key: AccountId,
}

/// The job the devices run, and what it was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Work {
    pub block: BlockRef,
    /// The key the seal binds: the hotkey, or the coldkey for `faucet`.
    pub key: AccountId,
    pub difficulty: u64,
}

/// Names one submission, so that the end of one from an earlier connection is not mistaken for
/// the current one's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubmissionId(pub u64);

/// How a key was registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Pow,
    Burn,
}

/// An extrinsic the session sends.
#[derive(Clone, Debug)]
pub enum Extrinsic {
    /// A seal: `pow_register`, `register` or `faucet`.
    Seal(Registration),
    /// A burn under the cap (`register_limit` or `burned_register`), signed by the coldkey.
    /// `counted_rao` (the cap plus the fee) goes into the ledger before it is sent.
    Burn { registration: BurnRegistration, price_rao: u64, fee_rao: u128, counted_rao: u128 },
}

/// Which key signs an extrinsic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerKey {
    /// Legacy `register`: the hotkey of this name.
    Hotkey(String),
    /// `pow_register` and `faucet`: the wallet's coldkey.
    Coldkey,
}

/// What happens to the loop. Answers to [`Action`]s that read (`State`, `NodeBest`, `Uid`,
/// `JobSet`, `DrySigned`) are fed back before the next outside input.
#[derive(Debug)]
pub enum Input {
    /// A connection was made (after a start, a loss or a replaced chain); `network`: the chain's
    /// name by its genesis.
    Connected { network: &'static str, endpoint: String, genesis: [u8; 32] },
    /// A new best block from the subscription, and the runtime in force there; `now_ms`: the
    /// shell's clock (milliseconds since it started).
    Block { block: BlockRef, runtime: RuntimeInfo, runtime_changed: bool, now_ms: u64 },
    /// The state asked for by [`Action::ReadState`].
    State(RegistrationState),
    /// The node's best block now, asked for by [`Action::ReadNodeBest`] for a solution.
    NodeBest { work: Work, solution: Solution, best: BlockRef },
    /// The key's UID at the best block, asked for by [`Action::ReadUid`].
    Uid(Option<u16>),
    /// What a burn costs now, asked for by [`Action::QuoteBurn`]: the price and the coldkey's
    /// free balance at the block, the fee of the signed burn, and the TAO the ledger counts.
    BurnQuote { price_rao: u64, free_rao: u128, fee_rao: u128, spent_rao: u128 },
    /// The pool's id for the job of [`Action::SetJob`].
    JobSet { job: JobId, work: Work },
    /// A verdict from the pool (every solution was already verified on the CPU).
    Verdict(Verdict),
    /// The end of a submission: its extrinsic hash and outcome.
    Submitted { id: SubmissionId, extrinsic: [u8; 32], outcome: Outcome },
    /// A submission watched for its whole limit without an end.
    WatchTimeout { id: SubmissionId, waited_s: u64 },
    /// `--dry-run`: the extrinsic of [`Action::DryRun`] was signed (and shown).
    DrySigned { extrinsic: [u8; 32] },
    /// The connection was lost; the shell reconnects.
    Disconnected,
}

/// What the shell does for the session, in order.
#[derive(Debug)]
pub enum Action {
    /// Read the subnet's and these keys' registration state at `block`.
    ReadState { block: BlockRef, keys: Vec<AccountId> },
    /// Read the node's best block (the subscription may lag it) for this solution.
    ReadNodeBest { work: Work, solution: Solution },
    /// Read the key's UID at the best block.
    ReadUid { key: AccountId },
    /// Read the burn price, the coldkey's balance and the burn's fee at `block`.
    QuoteBurn { block: BlockRef, burn: BurnRegistration },
    /// Have this signer ready (decrypted) before any seal needs it; failing stops the daemon.
    PrepareSigner(SignerKey),
    /// Replace every device's job.
    SetJob { work: Work, hot: Box<HotLoop> },
    /// Stop the devices searching.
    ClearJob,
    /// Sign at `birth` (the best block) and submit (a burn counted in the ledger first); the
    /// end comes back as an input.
    Submit { id: SubmissionId, extrinsic: Extrinsic, birth: BlockRef, signer: SignerKey },
    /// Sign at `birth`, show the extrinsic, send nothing.
    DryRun { extrinsic: Extrinsic, birth: BlockRef, signer: SignerKey, hotkey: String },
    /// Report something that happened.
    Emit(Event),
    /// The daemon is done: every key's result, or why it stopped.
    Finish(Result<Vec<HotkeyResult>, DaemonError>),
}

/// Where the session is in its list of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Registering the key at this index.
    Registering(usize),
    /// `--keep-going`: every key holds a UID; watching for one to lose it.
    Watching,
    Finished,
}

/// A submission being watched, and what it carries.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    id: SubmissionId,
    sent: Sent,
}

/// What a submission sent.
#[derive(Clone, Copy, Debug)]
enum Sent {
    Seal { work: Work, nonce: u64 },
    Burn { block: BlockRef, cost_rao: u128 },
}

/// An outcome whose UID is being read before the key's result is known.
#[derive(Clone, Debug)]
enum Resolving {
    Registered { sent: Sent, extrinsic: String },
    Already,
}

/// What belongs to one connection: dropped whole when it is lost.
#[derive(Debug, Default)]
struct Link {
    connected: bool,
    network: &'static str,
    /// A runtime was read on this connection (the scheme is chosen on its first block).
    runtime_seen: bool,
    /// Why this runtime offers no proof of work, when only the burn route is open.
    pow_refused: Option<String>,
    endpoint: String,
    genesis: [u8; 32],
    choice: Option<SchemeChoice>,
    /// Jobs whose seals may still be used, by the pool's id.
    jobs: HashMap<JobId, Work>,
    /// The job the devices run now.
    current_job: Option<JobId>,
    /// The best block from the subscription.
    best: Option<BlockRef>,
    /// The highest block number heard of (the subscription or the node's own answer): every
    /// window is judged there.
    known_best: u64,
    in_flight: Option<InFlight>,
    /// A verified seal waiting for the submission in flight to end.
    queued: Option<(Work, Solution)>,
    /// Seen registered on chain while our own submission was in flight: its outcome decides
    /// whether this run registered it.
    registered_on_chain: Option<HotkeyResult>,
    resolving: Option<Resolving>,
    /// A burn quote asked for: whether proof of work was closed when it was.
    quoting: Option<bool>,
}

/// A deliberate fault, one per invariant the simulation checks: set only by the simulation's
/// own tests, to show each invariant is caught when broken (never set otherwise).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// 1: a seal is sent whatever its work block's distance to the best block.
    IgnoreWindow,
    /// 2: a seal is sent while another submission is watched.
    IgnoreInFlight,
    /// 3: a subnet with proof-of-work disabled is mined as if it were open.
    MineWhenDisabled,
    /// 3: seals found before a refusal are still sent after it.
    SendAfterRefusal,
    /// 4: the independent re-check of a seal is skipped.
    SkipRecheck,
    /// 5: jobs and queued seals survive a lost connection.
    KeepAcrossDisconnect,
    /// 6: a registration is reported twice.
    ReportTwice,
    /// 7: failed submissions never stop the daemon.
    NeverStopFailing,
    /// 8: a burn is sent whatever its price, budget and balance.
    IgnoreBurnLimits,
}

/// The loop's state: see the module's text.
#[derive(Debug)]
pub struct Session {
    rules: Rules,
    coldkey: AccountId,
    registrants: Vec<Registrant>,
    phase: Phase,
    results: Vec<HotkeyResult>,
    failed_in_a_row: u32,
    /// (key, work block hash) of every registration submitted: never two for the same.
    submitted: HashSet<(AccountId, [u8; 32])>,
    next_submission: u64,
    link: Link,
    /// The shell's clock at the last block, and when the current key was first mined.
    now_ms: u64,
    key_since_ms: Option<u64>,
    /// The last reason a burn was not sent (logged once per change, not every block).
    burn_held: Option<String>,
    mutation: Option<Mutation>,
}

impl Session {
    pub fn new(rules: Rules, coldkey: AccountId, registrants: Vec<Registrant>) -> Self {
        let phase = if registrants.is_empty() { Phase::Finished } else { Phase::Registering(0) };
        Session {
            rules,
            coldkey,
            registrants,
            phase,
            results: Vec::new(),
            failed_in_a_row: 0,
            submitted: HashSet::new(),
            next_submission: 0,
            link: Link::default(),
            now_ms: 0,
            key_since_ms: None,
            burn_held: None,
            mutation: None,
        }
    }

    /// The same session with a deliberate fault (the simulation's own tests).
    #[cfg(test)]
    pub fn with_mutation(mut self, mutation: Option<Mutation>) -> Self {
        self.mutation = mutation;
        self
    }

    fn mutated(&self, mutation: Mutation) -> bool {
        self.mutation == Some(mutation)
    }

    /// Whether [`Action::Finish`] was given (every later input is ignored).
    pub fn finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// The one entry point: what `input` asks the shell to do.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        if self.finished() {
            return out;
        }
        match input {
            Input::Connected { network, endpoint, genesis } if self.mutated(Mutation::KeepAcrossDisconnect) => {
                self.link = Link { connected: true, network, endpoint, genesis, ..std::mem::take(&mut self.link) };
            }
            Input::Connected { network, endpoint, genesis } => {
                self.link = Link { connected: true, network, endpoint, genesis, ..Link::default() }
            }
            Input::Disconnected if self.mutated(Mutation::KeepAcrossDisconnect) => self.link.connected = false,
            Input::Disconnected => {
                self.link = Link::default();
                out.push(Action::ClearJob);
            }
            _ if !self.link.connected => {}
            Input::Block { block, runtime, runtime_changed, now_ms } => {
                self.now_ms = now_ms;
                self.on_block(block, runtime, runtime_changed, &mut out);
            }
            Input::State(state) => self.on_state(state, &mut out),
            Input::JobSet { job, work } => self.on_job_set(job, work),
            Input::Verdict(verdict) => self.on_verdict(verdict, &mut out),
            Input::NodeBest { work, solution, best } => self.on_node_best(work, solution, best, &mut out),
            Input::Submitted { id, extrinsic, outcome } => self.on_outcome(id, extrinsic, outcome, &mut out),
            Input::WatchTimeout { id, waited_s } => {
                if self.link.in_flight.is_some_and(|f| f.id == id) {
                    self.link.in_flight = None;
                    warn!("the submission was watched for {waited_s} s without an end; mining on");
                }
            }
            Input::Uid(uid) => self.on_uid(uid, &mut out),
            Input::BurnQuote { price_rao, free_rao, fee_rao, spent_rao } => {
                self.on_burn_quote(price_rao, free_rao, fee_rao, spent_rao, &mut out)
            }
            Input::DrySigned { extrinsic } => self.on_dry_signed(extrinsic, &mut out),
        }
        out
    }

    fn current(&self) -> Option<&Registrant> {
        match self.phase {
            Phase::Registering(index) => self.registrants.get(index),
            Phase::Watching | Phase::Finished => None,
        }
    }

    fn finish(&mut self, result: Result<Vec<HotkeyResult>, DaemonError>, out: &mut Vec<Action>) {
        self.phase = Phase::Finished;
        self.link.queued = None;
        out.push(Action::ClearJob);
        out.push(Action::Finish(result));
    }

    fn stop(&mut self, err: DaemonError, out: &mut Vec<Action>) {
        self.finish(Err(err), out);
    }

    fn signer_key(&self, scheme: Scheme) -> SignerKey {
        match (scheme, self.current()) {
            (Scheme::Legacy, Some(key)) => SignerKey::Hotkey(key.name.clone()),
            _ => SignerKey::Coldkey,
        }
    }

    /// A new best block: the scheme is chosen on the first one and after a runtime upgrade
    /// (nothing prepared under the old runtime survives it), then the state is read.
    fn on_block(&mut self, block: BlockRef, runtime: RuntimeInfo, runtime_changed: bool, out: &mut Vec<Action>) {
        if !self.link.runtime_seen || runtime_changed {
            self.link.runtime_seen = true;
            let choice = match self.scheme(&runtime) {
                Ok(choice) => Some(choice),
                Err(err) if self.rules.burn.is_some() && !self.rules.faucet => {
                    info!("{err}; the burn route stays open ({})", Key::BurnMax);
                    self.link.pow_refused = Some(err.to_string());
                    None
                }
                Err(err) => return self.stop(err, out),
            };
            if runtime_changed {
                info!(block = block.number, spec_version = runtime.spec_version, "runtime upgraded; scheme chosen again");
                self.link.jobs.clear();
                self.link.queued = None;
            }
            out.push(Action::Emit(Event::Connected {
                network: self.link.network,
                endpoint: self.link.endpoint.clone(),
                genesis: hex_0x(&self.link.genesis),
                spec_version: runtime.spec_version,
                scheme: choice.map(|c| c.scheme),
                byte_order: choice.map(|c| c.byte_order),
            }));
            self.link.choice = choice;
            self.prepare_signers(out);
        }
        self.link.best = Some(block);
        self.link.known_best = self.link.known_best.max(block.number);
        self.read_or_mine(block, out);
    }

    /// The keys the current key's routes sign with, decrypted now rather than when a seal or a
    /// burn is ready (a wrong password stops the daemon before any work).
    fn prepare_signers(&self, out: &mut Vec<Action>) {
        if self.current().is_none() {
            return;
        }
        if let Some(choice) = self.link.choice {
            out.push(Action::PrepareSigner(self.signer_key(choice.scheme)));
        }
        if self.rules.burn.is_some() && self.link.choice.is_none_or(|c| c.scheme == Scheme::Legacy) {
            out.push(Action::PrepareSigner(SignerKey::Coldkey));
        }
    }

    /// Asks for the state the current phase needs at `block` (the faucet needs none).
    fn read_or_mine(&mut self, block: BlockRef, out: &mut Vec<Action>) {
        match (self.phase, self.current()) {
            (Phase::Watching, _) => out.push(Action::ReadState { block, keys: self.registrants.iter().map(|r| r.key).collect() }),
            (_, Some(key)) if self.rules.faucet => {
                let work = Work { block, key: key.key, difficulty: FAUCET_DIFFICULTY };
                self.mine(work, out);
                self.send_queued(out);
            }
            (_, Some(key)) => out.push(Action::ReadState { block, keys: vec![key.key] }),
            _ => {}
        }
    }

    /// The scheme for a runtime; `faucet` replaces it where the runtime has the call.
    fn scheme(&self, runtime: &RuntimeInfo) -> Result<SchemeChoice, DaemonError> {
        if self.rules.faucet {
            if !runtime.has_faucet {
                return Err(DaemonError::NoPowRegistration(format!(
                    "runtime spec {} has no `faucet` call (it exists only on local networks built with the pow-faucet feature)",
                    runtime.spec_version
                )));
            }
            // The faucet's seal is checked like `register`'s: in the runtime era's byte order.
            let era = choose_scheme(runtime, self.rules.byte_order).ok().map(|c| c.byte_order);
            return Ok(SchemeChoice { scheme: Scheme::Faucet, byte_order: self.rules.byte_order.or(era).unwrap_or(ByteOrder::Little) });
        }
        choose_scheme(runtime, self.rules.byte_order).map_err(|refusal| DaemonError::NoPowRegistration(refusal.to_string()))
    }

    fn on_state(&mut self, state: RegistrationState, out: &mut Vec<Action>) {
        if self.link.best.is_some_and(|best| best.number > state.block.number) {
            return; // an answer for a block already replaced
        }
        match self.phase {
            Phase::Watching => self.on_watched_state(&state, out),
            Phase::Registering(_) => self.on_registrant_state(&state, out),
            Phase::Finished => {}
        }
    }

    /// `--keep-going`: the first key found without a UID is registered again, from this block.
    fn on_watched_state(&mut self, state: &RegistrationState, out: &mut Vec<Action>) {
        let lost = self.registrants.iter().position(|r| state.hotkeys.iter().any(|h| h.hotkey == r.key && h.uid.is_none()));
        let Some(index) = lost else { return };
        warn!(block = state.block.number, hotkey = %self.registrants[index].name, "hotkey {} no longer holds a UID on subnet {}; registering it again", self.registrants[index].name, self.rules.netuid);
        self.start_registrant(index, out);
        let keyed = RegistrationState {
            hotkeys: state.hotkeys.iter().filter(|h| h.hotkey == self.registrants[index].key).cloned().collect(),
            ..state.clone()
        };
        self.on_registrant_state(&keyed, out);
    }

    fn on_registrant_state(&mut self, state: &RegistrationState, out: &mut Vec<Action>) {
        let Some(key) = self.current().cloned() else { return };
        let Some(hotkey) = state.hotkeys.iter().find(|h| h.hotkey == key.key) else {
            return self.stop(DaemonError::Other("the chain returned no state for the hotkey".into()), out);
        };
        let pow = match self.link.choice {
            Some(choice) => self.pow_plan(choice, state, hotkey),
            None => self.burn_only_plan(state, hotkey),
        };
        match pow {
            Ok(Plan::Mine { difficulty }) => {
                self.key_since_ms.get_or_insert(self.now_ms);
                self.mine(Work { block: state.block, key: key.key, difficulty }, out);
                self.send_queued(out);
                self.consider_burn(state, hotkey, true, out);
            }
            Ok(Plan::Registered { uid }) if self.link.in_flight.is_none() => {
                let result = already(&key, Some(uid));
                out.push(Action::Emit(Event::AlreadyRegistered { hotkey: key.name.clone(), ss58: result.ss58.clone(), uid }));
                self.complete(result, out);
            }
            Ok(Plan::Registered { uid }) => {
                self.stand_down(out);
                self.link.registered_on_chain = Some(already(&key, Some(uid)));
            }
            Ok(Plan::Wait(why)) => {
                self.stand_down(out);
                info!(block = state.block.number, "not mining this block: {why}");
                self.consider_burn(state, hotkey, false, out);
            }
            Err(err) if self.rules.burn.is_some() && pow_closed(&err) && self.rules.netuid != 0 => {
                self.stand_down(out);
                self.consider_burn(state, hotkey, false, out);
            }
            Err(err) => self.stop(err, out),
        }
    }

    /// Where the runtime offers no proof of work (only the burn route is open): the checks that
    /// come before any route, then the refusal the burn route may override.
    fn burn_only_plan(&self, state: &RegistrationState, hotkey: &crate::chain::HotkeyState) -> Result<Plan, DaemonError> {
        let netuid = state.subnet.netuid;
        if netuid == 0 {
            return Err(DaemonError::NoPowRegistration("subnet 0 is the root network".into()));
        }
        if !state.subnet.exists {
            return Err(DaemonError::NoSuchSubnet { netuid });
        }
        match hotkey.uid {
            Some(uid) => Ok(Plan::Registered { uid }),
            None => Err(DaemonError::NoPowRegistration(self.link.pow_refused.clone().unwrap_or_default())),
        }
    }

    /// The proof-of-work route at this state: `--wait` turns a closed subnet or a difficulty
    /// above `--max-difficulty` into a wait.
    fn pow_plan(&self, choice: SchemeChoice, state: &RegistrationState, hotkey: &crate::chain::HotkeyState) -> Result<Plan, DaemonError> {
        match plan(choice.scheme, &state.subnet, hotkey, &self.coldkey, state.block.number) {
            Err(DaemonError::PowDisabled { .. }) if self.mutated(Mutation::MineWhenDisabled) => {
                Ok(Plan::Mine { difficulty: state.subnet.difficulty_for(choice.scheme).unwrap_or(1).max(1) })
            }
            Err(DaemonError::PowDisabled { .. }) if self.rules.wait => {
                Ok(Plan::Wait(format!("proof-of-work registration is disabled on the subnet; waiting ({})", Key::Wait)))
            }
            Ok(Plan::Mine { difficulty }) if self.rules.max_difficulty.is_some_and(|max| difficulty > max) => {
                let max = self.rules.max_difficulty.unwrap_or_default();
                if !self.rules.wait {
                    return Err(DaemonError::TooDifficult { difficulty, max });
                }
                Ok(Plan::Wait(format!("the difficulty is above {}; waiting ({})", Key::MaxDifficulty, Key::Wait)))
            }
            other => other,
        }
    }

    /// The burn route (`--burn-max`): asks for a quote when the price read at this block is
    /// within the cap and nothing is in flight; with proof of work open, only after
    /// `--burn-after`. With proof of work closed and no burn possible: wait (`--wait`) or stop.
    fn consider_burn(&mut self, state: &RegistrationState, hotkey: &crate::chain::HotkeyState, pow_open: bool, out: &mut Vec<Action>) {
        let Some(burn) = self.rules.burn.clone() else { return };
        if self.link.in_flight.is_some() || self.link.quoting.is_some() || self.finished() {
            return;
        }
        let since = self.key_since_ms.unwrap_or(self.now_ms);
        if pow_open
            && burn.after.is_some_and(|after| self.now_ms.saturating_sub(since) < u64::try_from(after.as_millis()).unwrap_or(u64::MAX))
        {
            return;
        }
        if hotkey.owner.is_some_and(|owner| owner != self.coldkey) {
            let owner = hotkey.owner.map(|o| encode_ss58(&o)).unwrap_or_default();
            return self.stop(DaemonError::ColdkeyMismatch { hotkey: encode_ss58(&hotkey.hotkey), owner }, out);
        }
        let netuid = self.rules.netuid;
        let price_rao = match state.subnet.burn_rao {
            Some(price) if state.subnet.registration_allowed != Some(false) => price,
            _ => {
                let why = format!("burn registration is closed on subnet {netuid}");
                return self.burn_held(
                    why,
                    DaemonError::NoPowRegistration(format!("no registration is open on subnet {netuid}")),
                    pow_open,
                    out,
                );
            }
        };
        if price_rao > burn.max_rao && !self.mutated(Mutation::IgnoreBurnLimits) {
            let refusal = BurnRefusal::AboveCap { price_rao, max_rao: burn.max_rao };
            let err = self.burn_error(&refusal);
            return self.burn_held(refusal.to_string(), err, pow_open, out);
        }
        self.link.quoting = Some(pow_open);
        let registration = BurnRegistration { netuid, hotkey: hotkey.hotkey, coldkey: self.coldkey, limit_rao: burn.max_rao };
        out.push(Action::QuoteBurn { block: state.block, burn: registration });
    }

    /// A burn not sent now: logged once per reason; with proof of work closed, the daemon waits
    /// (`--wait`) or stops with `err`.
    fn burn_held(&mut self, why: String, err: DaemonError, pow_open: bool, out: &mut Vec<Action>) {
        if !pow_open && !self.rules.wait {
            return self.stop(err, out);
        }
        if self.burn_held.as_ref() != Some(&why) {
            let next = if pow_open { "mining on".to_string() } else { format!("waiting ({})", Key::Wait) };
            info!("not burning: {why}; {next}");
            self.burn_held = Some(why);
        }
    }

    fn burn_error(&self, refusal: &BurnRefusal) -> DaemonError {
        let netuid = self.rules.netuid;
        match refusal {
            BurnRefusal::AboveCap { price_rao, max_rao } => DaemonError::BurnAboveCap {
                netuid,
                price_tao: format_tao(u128::from(*price_rao)),
                max_tao: format_tao(u128::from(*max_rao)),
            },
            BurnRefusal::OverBudget { spent_rao, budget_rao, .. } => {
                DaemonError::BurnBudgetSpent { netuid, spent_tao: format_tao(*spent_rao), budget_tao: format_tao(u128::from(*budget_rao)) }
            }
            BurnRefusal::Balance { .. } => DaemonError::BurnBalance { netuid, why: refusal.to_string() },
        }
    }

    fn on_burn_quote(&mut self, price_rao: u64, free_rao: u128, fee_rao: u128, spent_rao: u128, out: &mut Vec<Action>) {
        let (Some(pow_open), Some(burn)) = (self.link.quoting.take(), self.rules.burn.clone()) else { return };
        let (Some(key), Some(best)) = (self.current().cloned(), self.link.best) else { return };
        if self.link.in_flight.is_some() {
            return;
        }
        let verdict = match self.mutated(Mutation::IgnoreBurnLimits) {
            true => Ok(0),
            false => crate::burn::check(&burn, price_rao, fee_rao, free_rao, spent_rao),
        };
        if let Err(refusal) = verdict {
            let err = self.burn_error(&refusal);
            return self.burn_held(refusal.to_string(), err, pow_open, out);
        }
        let counted_rao = u128::from(burn.max_rao) + fee_rao;
        let registration = BurnRegistration { netuid: self.rules.netuid, hotkey: key.key, coldkey: self.coldkey, limit_rao: burn.max_rao };
        let extrinsic = Extrinsic::Burn { registration, price_rao, fee_rao, counted_rao };
        let sent = Sent::Burn { block: best, cost_rao: u128::from(price_rao) + fee_rao };
        if self.rules.dry_run {
            self.link.in_flight = Some(InFlight { id: SubmissionId(u64::MAX), sent });
            return out.push(Action::DryRun { extrinsic, birth: best, signer: SignerKey::Coldkey, hotkey: key.name });
        }
        let id = self.next_id();
        self.link.in_flight = Some(InFlight { id, sent });
        out.push(Action::Emit(Event::Burning {
            hotkey: key.name,
            block: best.number,
            price_tao: format_tao(u128::from(price_rao)),
            fee_tao: format_tao(fee_rao),
            max_tao: format_tao(u128::from(burn.max_rao)),
        }));
        out.push(Action::Submit { id, extrinsic, birth: best, signer: SignerKey::Coldkey });
    }

    fn next_id(&mut self) -> SubmissionId {
        let id = SubmissionId(self.next_submission);
        self.next_submission += 1;
        id
    }

    fn clear_job(&mut self, out: &mut Vec<Action>) {
        self.link.current_job = None;
        out.push(Action::ClearJob);
    }

    /// The latest state says not to register now: the devices stop, and no seal found before
    /// (a job's late seal, a queued one) is sent.
    fn stand_down(&mut self, out: &mut Vec<Action>) {
        if self.mutated(Mutation::SendAfterRefusal) {
            return self.clear_job(out);
        }
        self.link.jobs.clear();
        self.link.queued = None;
        self.clear_job(out);
    }

    /// Builds the job for `work` (the challenge from the block and keys, the target from the
    /// difficulty); the pool's id comes back as [`Input::JobSet`].
    fn mine(&mut self, work: Work, out: &mut Vec<Action>) {
        let Some(choice) = self.link.choice else { return };
        let hot = Challenge::for_scheme(choice.scheme, self.rules.netuid, &work.block.hash, &work.key, &self.coldkey)
            .map_err(|e| DaemonError::Usage(e.to_string()))
            .and_then(|challenge| {
                let target =
                    Target::from_difficulty(work.difficulty).map_err(|e| DaemonError::Other(format!("the chain's difficulty: {e}")))?;
                Ok(HotLoop::new(challenge, target, choice.byte_order))
            });
        match hot {
            Ok(hot) => out.push(Action::SetJob { work, hot: Box::new(hot) }),
            Err(err) => self.stop(err, out),
        }
    }

    fn on_job_set(&mut self, job: JobId, work: Work) {
        let Some(choice) = self.link.choice else { return };
        self.link.jobs.retain(|_, w| in_window(choice.scheme, w.block.number, work.block.number));
        self.link.jobs.insert(job, work);
        self.link.current_job = Some(job);
    }

    /// The first seal of a job is the one used: the job leaves the map and the devices stop on
    /// that block; its other seals are dropped. The window is judged at the node's best block.
    fn on_verdict(&mut self, verdict: Verdict, out: &mut Vec<Action>) {
        let solution = match verdict {
            Verdict::Solution(solution) => solution,
            Verdict::ComputeError { device, nonce, .. } => {
                warn!(device = %device, nonce, "compute error: the CPU rejects a nonce this device reported");
                return;
            }
            Verdict::Stale { .. } => return,
        };
        let Some(work) = self.link.jobs.remove(&solution.job) else { return };
        if self.link.current_job == Some(solution.job) {
            self.clear_job(out);
        }
        out.push(Action::ReadNodeBest { work, solution });
    }

    fn on_node_best(&mut self, work: Work, solution: Solution, node_best: BlockRef, out: &mut Vec<Action>) {
        let (Some(choice), Some(best)) = (self.link.choice, self.link.best) else { return };
        let best = if node_best.number > best.number { node_best } else { best };
        self.link.known_best = self.link.known_best.max(best.number);
        let known = self.link.known_best;
        if !in_window(choice.scheme, work.block.number, known) && !self.mutated(Mutation::IgnoreWindow) {
            out.push(Action::Emit(Event::Stale { block: work.block.number, best: known, nonce: solution.nonce }));
            return;
        }
        if !seal_is_right(choice, self.rules.netuid, &work, &self.coldkey, &solution) && !self.mutated(Mutation::SkipRecheck) {
            warn!(device = %solution.device, nonce = solution.nonce, "a solution failed the independent re-check; not submitted");
            return;
        }
        out.push(Action::Emit(Event::Solution {
            block: work.block.number,
            nonce: solution.nonce,
            seal: hex::encode(solution.seal),
            device: solution.device.clone(),
        }));
        if self.rules.dry_run {
            let hotkey = self.current().map(|k| k.name.clone()).unwrap_or_default();
            let registration = self.registration(choice.scheme, &work, &solution);
            self.link.in_flight = Some(InFlight { id: SubmissionId(u64::MAX), sent: Sent::Seal { work, nonce: solution.nonce } });
            out.push(Action::DryRun {
                extrinsic: Extrinsic::Seal(registration),
                birth: best,
                signer: self.signer_key(choice.scheme),
                hotkey,
            });
        } else if self.link.in_flight.is_some() && !self.mutated(Mutation::IgnoreInFlight) {
            self.link.queued = Some((work, solution));
        } else {
            // The newest seal goes; a seal still queued for an older block is superseded.
            let newest = match self.link.queued.take() {
                Some(queued) if queued.0.block.number > work.block.number && in_window(choice.scheme, queued.0.block.number, known) => {
                    queued
                }
                _ => (work, solution),
            };
            self.submit(newest.0, newest.1, best, out);
        }
    }

    /// A seal kept while another submission was watched goes out once that one ended, if its
    /// work block is still inside the window at the best block.
    fn send_queued(&mut self, out: &mut Vec<Action>) {
        if self.link.in_flight.is_some() {
            return;
        }
        let (Some(choice), Some(best)) = (self.link.choice, self.link.best) else { return };
        let known = self.link.known_best;
        if let Some((work, solution)) = self.link.queued.take().filter(|(w, _)| in_window(choice.scheme, w.block.number, known)) {
            self.submit(work, solution, best, out);
        }
    }

    fn registration(&self, scheme: Scheme, work: &Work, solution: &Solution) -> Registration {
        Registration {
            scheme,
            netuid: self.rules.netuid,
            work_block: work.block.number,
            nonce: solution.nonce,
            seal: solution.seal,
            hotkey: work.key,
            coldkey: self.coldkey,
        }
    }

    /// Sends at the best block (its runtime, the signer's nonce, the era's birth); never twice
    /// for one key and work block.
    fn submit(&mut self, work: Work, solution: Solution, best: BlockRef, out: &mut Vec<Action>) {
        let (Some(choice), Some(name)) = (self.link.choice, self.current().map(|key| key.name.clone())) else { return };
        if !self.submitted.insert((work.key, work.block.hash)) {
            return;
        }
        let id = self.next_id();
        let registration = self.registration(choice.scheme, &work, &solution);
        self.link.in_flight = Some(InFlight { id, sent: Sent::Seal { work, nonce: solution.nonce } });
        out.push(Action::Emit(Event::Submitting { hotkey: name, block: work.block.number, nonce: solution.nonce }));
        out.push(Action::Submit { id, extrinsic: Extrinsic::Seal(registration), birth: best, signer: self.signer_key(choice.scheme) });
    }

    fn on_outcome(&mut self, id: SubmissionId, extrinsic: [u8; 32], outcome: Outcome, out: &mut Vec<Action>) {
        let Some(flight) = self.link.in_flight.filter(|f| f.id == id) else { return };
        self.link.in_flight = None;
        let extrinsic = hex_0x(&extrinsic);
        out.push(Action::Emit(Event::Outcome {
            block: flight.sent.block_number(),
            extrinsic: extrinsic.clone(),
            outcome: outcome.to_string(),
        }));
        let Some(key) = self.current().cloned() else { return };
        match outcome.class() {
            OutcomeClass::Registered => {
                let resolving = Resolving::Registered { sent: flight.sent, extrinsic };
                match outcome_uid(&outcome) {
                    Some(uid) => self.resolved(resolving, Some(uid), out),
                    None if self.rules.faucet => self.resolved(resolving, None, out),
                    None => self.read_uid(resolving, key.key, out),
                }
            }
            OutcomeClass::AlreadyRegistered => self.read_uid(Resolving::Already, key.key, out),
            _ if self.link.registered_on_chain.is_some() => {
                let result = self.link.registered_on_chain.take().unwrap_or_else(|| already(&key, None));
                out.push(Action::Emit(Event::AlreadyRegistered {
                    hotkey: key.name.clone(),
                    ss58: result.ss58.clone(),
                    uid: result.uid.unwrap_or_default(),
                }));
                self.complete(result, out);
            }
            OutcomeClass::RetryNextBlock => {
                self.failed_in_a_row += 1;
                if self.failed_in_a_row >= MAX_FAILED_SUBMISSIONS && !self.mutated(Mutation::NeverStopFailing) {
                    let why = format!(
                        "{} submissions in a row did not register (the last: {outcome}); stopping rather than sending more",
                        self.failed_in_a_row
                    );
                    return self.stop(DaemonError::Other(why), out);
                }
                info!("{outcome}; mining the next block");
            }
            OutcomeClass::Fatal(FatalReason::PowDisabled) if self.rules.wait => {
                info!("{outcome}; waiting until it is enabled again ({})", Key::Wait)
            }
            OutcomeClass::Fatal(FatalReason::PowDisabled) if self.rules.burn.is_some() => {
                info!("{outcome}; the burn route stays open ({})", Key::BurnMax)
            }
            OutcomeClass::Fatal(reason) => {
                let err = self.fatal(reason, &key);
                self.stop(err, out);
            }
        }
    }

    fn read_uid(&mut self, resolving: Resolving, key: AccountId, out: &mut Vec<Action>) {
        self.link.resolving = Some(resolving);
        out.push(Action::ReadUid { key });
    }

    fn on_uid(&mut self, uid: Option<u16>, out: &mut Vec<Action>) {
        if let Some(resolving) = self.link.resolving.take() {
            self.resolved(resolving, uid, out);
        }
    }

    fn resolved(&mut self, resolving: Resolving, uid: Option<u16>, out: &mut Vec<Action>) {
        let Some(key) = self.current().cloned() else { return };
        let result = match resolving {
            Resolving::Registered { sent, extrinsic } => {
                let result = HotkeyResult { registered_now: true, extrinsic: Some(extrinsic), ..sent.result(&key, uid) };
                out.push(Action::Emit(Event::Registered(result.clone())));
                if self.mutated(Mutation::ReportTwice) {
                    out.push(Action::Emit(Event::Registered(result.clone())));
                }
                result
            }
            Resolving::Already => {
                out.push(Action::Emit(Event::AlreadyRegistered {
                    hotkey: key.name.clone(),
                    ss58: encode_ss58(&key.key),
                    uid: uid.unwrap_or_default(),
                }));
                already(&key, uid)
            }
        };
        self.complete(result, out);
    }

    fn on_dry_signed(&mut self, extrinsic: [u8; 32], out: &mut Vec<Action>) {
        let (Some(flight), Some(key)) = (self.link.in_flight.take(), self.current().cloned()) else { return };
        let result = HotkeyResult { extrinsic: Some(hex_0x(&extrinsic)), ..flight.sent.result(&key, None) };
        self.complete(result, out);
    }

    /// The current key is done: the next one starts at the best block, or the session watches
    /// (`--keep-going`), or it finishes.
    fn complete(&mut self, result: HotkeyResult, out: &mut Vec<Action>) {
        self.results.push(result);
        let Phase::Registering(index) = self.phase else { return };
        if index + 1 < self.registrants.len() {
            self.start_registrant(index + 1, out);
            if let Some(best) = self.link.best {
                self.read_or_mine(best, out);
            }
        } else if self.rules.keep_going {
            self.phase = Phase::Watching;
            self.forget_key_state();
            self.clear_job(out);
            info!(subnet = self.rules.netuid, "every hotkey holds a UID; watching for deregistrations ({})", Key::KeepGoing);
        } else {
            let results = std::mem::take(&mut self.results);
            self.finish(Ok(results), out);
        }
    }

    fn start_registrant(&mut self, index: usize, out: &mut Vec<Action>) {
        self.phase = Phase::Registering(index);
        self.failed_in_a_row = 0;
        self.forget_key_state();
        self.clear_job(out);
        self.prepare_signers(out);
    }

    fn forget_key_state(&mut self) {
        self.key_since_ms = None;
        self.burn_held = None;
        self.link.quoting = None;
        self.link.jobs.clear();
        self.link.queued = None;
        self.link.in_flight = None;
        self.link.registered_on_chain = None;
        self.link.resolving = None;
    }

    fn fatal(&self, reason: FatalReason, key: &Registrant) -> DaemonError {
        let netuid = self.rules.netuid;
        match reason {
            FatalReason::PowDisabled => DaemonError::PowDisabled { netuid },
            FatalReason::SubnetMissing => DaemonError::NoSuchSubnet { netuid },
            FatalReason::ColdkeyMismatch => DaemonError::ColdkeyMismatch { hotkey: encode_ss58(&key.key), owner: "another coldkey".into() },
            other => DaemonError::Other(other.to_string()),
        }
    }
}

fn already(key: &Registrant, uid: Option<u16>) -> HotkeyResult {
    HotkeyResult {
        hotkey: key.name.clone(),
        ss58: encode_ss58(&key.key),
        uid,
        registered_now: false,
        route: None,
        block: None,
        nonce: None,
        burned_tao: None,
        extrinsic: None,
    }
}

impl Sent {
    /// The block a result names: the seal's work block, or the block a burn was signed at.
    fn block_number(&self) -> u64 {
        match self {
            Sent::Seal { work, .. } => work.block.number,
            Sent::Burn { block, .. } => block.number,
        }
    }

    fn result(&self, key: &Registrant, uid: Option<u16>) -> HotkeyResult {
        let base = HotkeyResult { block: Some(self.block_number()), ..already(key, uid) };
        match *self {
            Sent::Seal { nonce, .. } => HotkeyResult { route: Some(Route::Pow), nonce: Some(nonce), ..base },
            Sent::Burn { cost_rao, .. } => HotkeyResult { route: Some(Route::Burn), burned_tao: Some(format_tao(cost_rao)), ..base },
        }
    }
}

/// Whether `err` closes only the proof-of-work route (the burn route may still register).
fn pow_closed(err: &DaemonError) -> bool {
    matches!(err, DaemonError::PowDisabled { .. } | DaemonError::NoPowRegistration(_) | DaemonError::TooDifficult { .. })
}

fn outcome_uid(outcome: &Outcome) -> Option<u16> {
    match outcome {
        Outcome::Registered { uid, .. } => *uid,
        _ => None,
    }
}

/// Rebuilds the challenge from the block and keys (not from the job the pool held) and checks
/// the seal: a solution reaches the chain only if this agrees.
pub fn seal_is_right(choice: SchemeChoice, netuid: u16, work: &Work, coldkey: &AccountId, solution: &Solution) -> bool {
    let Ok(challenge) = Challenge::for_scheme(choice.scheme, netuid, &work.block.hash, &work.key, coldkey) else { return false };
    let seal = challenge.seal(solution.nonce);
    seal == solution.seal && Target::from_difficulty(work.difficulty).is_ok_and(|t| t.is_met_by(&seal, choice.byte_order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::state::{HotkeyState, SubnetState};

    const COLDKEY: AccountId = [0xC0; 32];
    const HOTKEY: AccountId = [0x11; 32];

    fn runtime() -> RuntimeInfo {
        RuntimeInfo {
            spec_version: 420,
            transaction_version: 1,
            has_pow_register: true,
            has_register: true,
            has_faucet: false,
            has_difficulty: true,
        }
    }

    fn block(number: u64) -> BlockRef {
        BlockRef { number, hash: [number as u8; 32] }
    }

    fn state(number: u64, pow_allowed: bool) -> Input {
        let subnet = SubnetState { pow_registration_allowed: Some(pow_allowed), ..SubnetState::open_for_tests(1, 1) };
        let hotkey = HotkeyState { hotkey: HOTKEY, uid: None, owner: None, last_pow_registration_block: None };
        Input::State(RegistrationState { block: block(number), subnet, hotkeys: vec![hotkey] })
    }

    /// A session connected and mining block `number`; returns it with the job's work and a seal.
    fn mining(rules: Rules, number: u64) -> (Session, Work, Solution) {
        let mut session = Session::new(rules, COLDKEY, vec![Registrant { name: "hk".into(), key: HOTKEY }]);
        session.handle(Input::Connected { network: "custom", endpoint: "test".into(), genesis: [1; 32] });
        session.handle(Input::Block { block: block(number), runtime: runtime(), runtime_changed: false, now_ms: 0 });
        let actions = session.handle(state(number, true));
        let Some(Action::SetJob { work, hot }) = actions.into_iter().find(|a| matches!(a, Action::SetJob { .. })) else {
            panic!("no job set")
        };
        session.handle(Input::JobSet { job: JobId(number), work });
        let seal = hot.verify(7).expect("difficulty 1 is met by every seal");
        (session, work, Solution { job: JobId(number), nonce: 7, seal, device: "cpu".into() })
    }

    fn submits(actions: &[Action]) -> usize {
        actions.iter().filter(|a| matches!(a, Action::Submit { .. })).count()
    }

    fn rules() -> Rules {
        Rules { netuid: 1, ..Rules::default() }
    }

    #[test]
    fn a_seal_is_sent_once_and_only_inside_the_window_at_the_nodes_best_block() {
        let (mut session, work, solution) = mining(rules(), 10);
        let read = session.handle(Input::Verdict(Verdict::Solution(solution.clone())));
        assert!(read.iter().any(|a| matches!(a, Action::ReadNodeBest { .. })));
        // The node is five blocks on: outside pow_register's window, so stale.
        let stale = session.handle(Input::NodeBest { work, solution: solution.clone(), best: block(15) });
        assert_eq!(submits(&stale), 0);
        assert!(stale.iter().any(|a| matches!(a, Action::Emit(Event::Stale { .. }))));
        // The same seal again: its job already left the map.
        assert!(session.handle(Input::Verdict(Verdict::Solution(solution))).is_empty());
    }

    #[test]
    fn a_queued_seal_is_dropped_when_the_next_state_refuses() {
        let (mut session, work, solution) = mining(Rules { wait: true, ..rules() }, 10);
        session.handle(Input::NodeBest { work, solution: solution.clone(), best: block(10) });
        assert!(session.link.in_flight.is_some());
        // A second seal of a later block waits for the first submission.
        let later = Work { block: block(11), ..work };
        session.link.jobs.insert(JobId(11), later);
        let challenge = Challenge::for_scheme(Scheme::PowRegister, 1, &later.block.hash, &HOTKEY, &COLDKEY).expect("netuid 1");
        let second = Solution { job: JobId(11), nonce: 3, seal: challenge.seal(3), device: "cpu".into() };
        session.handle(Input::NodeBest { work: later, solution: second, best: block(11) });
        assert!(session.link.queued.is_some());
        // Then PoW is disabled (--wait): the queued seal must never go out.
        session.handle(Input::Block { block: block(12), runtime: runtime(), runtime_changed: false, now_ms: 0 });
        let refused = session.handle(state(12, false));
        assert_eq!(submits(&refused), 0);
        assert!(session.link.queued.is_none() && session.link.jobs.is_empty());
    }

    #[test]
    fn an_earlier_connections_outcome_is_ignored_and_five_failures_stop() {
        let (mut session, work, solution) = mining(rules(), 10);
        let sent = session.handle(Input::NodeBest { work, solution, best: block(10) });
        let Some(Action::Submit { id, .. }) = sent.iter().find(|a| matches!(a, Action::Submit { .. })) else { panic!("not sent") };
        let id = *id;
        session.handle(Input::Disconnected);
        session.handle(Input::Connected { network: "custom", endpoint: "test".into(), genesis: [1; 32] });
        let registered = Outcome::Registered { block_hash: [0; 32], block_number: 11, uid: Some(4) };
        assert!(session.handle(Input::Submitted { id, extrinsic: [0; 32], outcome: registered }).is_empty());
        // Five retries in a row on the new connection stop the daemon with the table's code.
        for n in 0..MAX_FAILED_SUBMISSIONS {
            let number = 20 + u64::from(n);
            session.handle(Input::Block { block: block(number), runtime: runtime(), runtime_changed: false, now_ms: 0 });
            let actions = session.handle(state(number, true));
            let Some(Action::SetJob { work, hot }) = actions.into_iter().find(|a| matches!(a, Action::SetJob { .. })) else {
                panic!("no job")
            };
            session.handle(Input::JobSet { job: JobId(number), work });
            let solution = Solution { job: JobId(number), nonce: 1, seal: hot.verify(1).expect("difficulty 1"), device: "cpu".into() };
            session.handle(Input::Verdict(Verdict::Solution(solution.clone())));
            let sent = session.handle(Input::NodeBest { work, solution, best: block(number) });
            let Some(Action::Submit { id, .. }) = sent.iter().find(|a| matches!(a, Action::Submit { .. })) else { panic!("not sent") };
            let outcome = session.handle(Input::Submitted { id: *id, extrinsic: [0; 32], outcome: Outcome::Dropped("gone".into()) });
            let last = n + 1 == MAX_FAILED_SUBMISSIONS;
            let stopped = outcome.iter().find_map(|a| match a {
                Action::Finish(Err(err)) => Some(err.reason()),
                _ => None,
            });
            assert_eq!(stopped, last.then_some(crate::daemon::StopReason::Other), "after {} failures", n + 1);
        }
        assert!(session.finished());
    }
}
