//! Deterministic simulation of the registration loop (tests only). A seeded world plays the
//! chain and the pool behind the shell's own [`Executor`] and the real [`Session`]: heads late,
//! missed, duplicated, jumping or replaced at the same height; the node ahead of its
//! subscription; runtime upgrades that change or remove the scheme; connections lost at any read
//! or submission; every outcome the chain code decodes; seals late, stale, wrong or never; the
//! hotkey registered by someone else. After every step the invariants of issue 16 are checked
//! against the world's own record (its own window rule, its own re-check, its own idea of which
//! refusals the session was told of). A failure names its seed; `REGSOLVER_SIM_SEED=N` replays
//! one schedule, `REGSOLVER_SIM_SCHEDULES=N` runs more of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use futures::future::BoxFuture;

use super::exit::{DaemonError, StopReason};
use super::port::{ChainPort, Host, Lost, Quote, Submission};
use super::report::Event;
use super::session::{Extrinsic, Input, Mutation, Registrant, Rules, Session, SignerKey, Work, MAX_FAILED_SUBMISSIONS};
use super::shell::{Executor, Step};
use super::HotkeyResult;
use crate::burn::{BurnEntry, BurnOptions};
use crate::chain::burn::BurnRegistration;
use crate::chain::config::Mortality;
use crate::chain::outcome::{Outcome, Rejection};
use crate::chain::state::{clamp_difficulty, HotkeyState, RegistrationState, SubnetState};
use crate::chain::tx::Registration;
use crate::chain::tx::SignedRegistration;
use crate::chain::{BlockRef, RuntimeInfo};
use crate::pow::hotloop::HotLoop;
use crate::pow::{AccountId, ByteOrder, Challenge, Scheme, Target};
use crate::solver::pool::{JobId, Solution, Verdict};
use crate::sync::lock;
use crate::wallet::Keypair;

/// Inputs a schedule may take before it must have finished or stopped.
const STEPS: usize = 400;
const COLDKEY: AccountId = [0xC0; 32];
const FOREIGN: AccountId = [0xF0; 32];
/// The burn route's cap and fee in the simulated chain, in RAO.
const BURN_CAP: u64 = 100;
const FEE: u128 = 10;

/// SplitMix64: small, fast, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The three runtimes the world switches between: `pow_register`; legacy `register` of the
/// little-endian era; a burn-only runtime (no proof of work: the session must refuse).
fn runtime(kind: u64) -> RuntimeInfo {
    let (spec_version, has_pow_register) = match kind {
        0 => (420, true),
        1 => (300, false),
        _ => (460, false),
    };
    RuntimeInfo { spec_version, transaction_version: 1, has_pow_register, has_register: true, has_faucet: false, has_difficulty: true }
}

/// The world's own reading of a runtime: the scheme it takes, if any.
fn world_scheme(runtime: &RuntimeInfo) -> Option<Scheme> {
    match (runtime.has_pow_register, runtime.spec_version) {
        (true, _) => Some(Scheme::PowRegister),
        (false, spec) if (283..=393).contains(&spec) => Some(Scheme::Legacy),
        _ => None,
    }
}

/// The world's own window rule (docs/protocol.md), written apart from the session's.
fn world_window(scheme: Scheme, work_block: u64, best: u64) -> bool {
    let reach = if scheme == Scheme::PowRegister { 4 } else { 1 };
    best >= work_block && best - work_block <= reach
}

/// How a schedule is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Faults of timing only; the chain accepts every valid seal in its window: the session must
    /// register every key within a bounded number of blocks.
    Benign,
    /// Every submission fails in a way worth retrying: the session must stop after five.
    AlwaysRetry,
    /// Anything goes.
    Chaos,
}

/// A job the pool was given.
struct SimJob {
    work: Work,
    hot: HotLoop,
    epoch: u64,
}

struct Pending {
    extrinsic: Extrinsic,
    /// The chain's head when it was sent (a prompt inclusion is judged there).
    sent_at: u64,
    reply: oneshot::Sender<Result<Submission, Lost>>,
}

/// The simulated chain and pool, and the record the invariants are checked against.
struct World {
    rng: Rng,
    mode: Mode,
    rules: Rules,
    keys: Vec<AccountId>,
    // The chain.
    height: u64,
    /// Every block hash ever at each height (the last is canonical).
    hashes: HashMap<u64, Vec<[u8; 32]>>,
    runtime_kind: u64,
    subnet: SubnetState,
    uids: HashMap<AccountId, u16>,
    owners: HashMap<AccountId, AccountId>,
    next_uid: u16,
    // The pool.
    next_job: u64,
    /// Ordered, so that a seed picks the same job on every run.
    jobs: BTreeMap<JobId, SimJob>,
    /// Every seal handed to the session: (job's epoch, work block, nonce).
    delivered_seals: Vec<(u64, u64, u64)>,
    current_job: Option<JobId>,
    pending: Vec<Pending>,
    // What the session was told, and what it did.
    /// Rises at every lost connection and every delivered runtime upgrade.
    epoch: u64,
    /// The highest block number the session was told of (subscription or node reads).
    known_best: u64,
    /// The runtime of the last block delivered.
    delivered_runtime: Option<RuntimeInfo>,
    /// The reason the session must stop for, once told of one.
    must_stop: Option<StopReason>,
    /// A refusal the session was told of: nothing may be sent while it stands.
    refused: Option<&'static str>,
    submitted: HashSet<(AccountId, u64, [u8; 32])>,
    submissions: u32,
    failed_in_a_row: u32,
    reported: HashMap<AccountId, u32>,
    /// Keys a state read showed holding a UID: any later outcome of theirs ends them as done.
    told_registered: HashSet<AccountId>,
    /// The difficulty each state read told the session, by block hash.
    difficulty_told: HashMap<[u8; 32], u64>,
    blocks_delivered: u64,
    last_delivered: Option<(BlockRef, RuntimeInfo)>,
    violations: Vec<String>,
    keypair: Arc<Keypair>,
    // The burn route.
    free_rao: u128,
    /// The ledger as the host keeps it: extrinsic -> RAO counted.
    ledger: BTreeMap<String, u128>,
    /// The last quote given: (price, free, fee, spent).
    quoted: Option<(u64, u128, u128, u128)>,
    signed: u8,
}

/// The daemon's options for one schedule (drawn in a fixed order: a seed replays exactly).
fn draw_rules(rng: &mut Rng, chaos: bool) -> Rules {
    Rules {
        netuid: if chaos && rng.chance(3) { 0 } else { 1 },
        faucet: false,
        byte_order: None,
        dry_run: chaos && rng.chance(5),
        wait: chaos && rng.chance(30),
        max_difficulty: (chaos && rng.chance(20)).then_some(2),
        keep_going: false,
        burn: (chaos && rng.chance(30)).then(|| BurnOptions {
            max_rao: BURN_CAP,
            after: None,
            budget_rao: rng.chance(50).then_some(250),
            ledger: std::path::PathBuf::from("/nonexistent/sim-ledger.json"),
        }),
    }
}

/// The subnet's state at the first block.
fn draw_subnet(rng: &mut Rng, chaos: bool, netuid: u16) -> SubnetState {
    SubnetState {
        exists: !(chaos && rng.chance(3)),
        pow_registration_allowed: Some(!(chaos && rng.chance(5))),
        difficulty: Some(1 + rng.below(3)),
        min_difficulty: Some(1),
        max_difficulty: Some(3),
        burn_rao: Some(50 + rng.below(101)),
        ..SubnetState::open_for_tests(netuid, 1)
    }
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let mode = match rng.below(10) {
            0..=3 => Mode::Benign,
            4 => Mode::AlwaysRetry,
            _ => Mode::Chaos,
        };
        let chaos = mode == Mode::Chaos;
        let keys: Vec<AccountId> = (0..1 + rng.below(3)).map(|i| [0x10 + i as u8; 32]).collect();
        let rules = draw_rules(&mut rng, chaos);
        let runtime_kind = if chaos && rng.chance(10) { rng.below(3) } else { rng.below(2) };
        let subnet = draw_subnet(&mut rng, chaos, rules.netuid);
        let free_rao = if rng.chance(20) { 60 } else { 1_000 };
        let mut owners = HashMap::new();
        if chaos && rng.chance(5) {
            owners.insert(keys[0], FOREIGN);
        }
        let keypair = Arc::new(Keypair::from_seed(&[7; 32]).expect("a 32-byte seed"));
        let mut world = World {
            rng,
            mode,
            rules,
            keys,
            height: 100,
            hashes: HashMap::new(),
            runtime_kind,
            subnet,
            uids: HashMap::new(),
            owners,
            next_uid: 0,
            next_job: 1,
            jobs: BTreeMap::new(),
            delivered_seals: Vec::new(),
            current_job: None,
            pending: Vec::new(),
            epoch: 0,
            known_best: 0,
            delivered_runtime: None,
            must_stop: None,
            refused: None,
            submitted: HashSet::new(),
            submissions: 0,
            failed_in_a_row: 0,
            free_rao,
            ledger: BTreeMap::new(),
            quoted: None,
            signed: 0,
            reported: HashMap::new(),
            told_registered: HashSet::new(),
            difficulty_told: HashMap::new(),
            blocks_delivered: 0,
            last_delivered: None,
            violations: Vec::new(),
            keypair,
        };
        world.push_hash(100);
        world
    }

    fn violate(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Twelve seconds a block.
    fn now_ms(&self) -> u64 {
        self.height * 12_000
    }

    fn push_hash(&mut self, height: u64) {
        let mut hash = [0u8; 32];
        for chunk in hash.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next().to_le_bytes());
        }
        self.hashes.entry(height).or_default().push(hash);
    }

    fn head(&self) -> BlockRef {
        BlockRef { number: self.height, hash: *self.hashes[&self.height].last().expect("every height has a hash") }
    }

    fn registrants(&self) -> Vec<Registrant> {
        self.keys.iter().enumerate().map(|(i, key)| Registrant { name: format!("hk{i}"), key: *key }).collect()
    }

    /// The difficulty the chain holds a seal to under `scheme`.
    fn difficulty(&self, scheme: Scheme) -> u64 {
        let raw = self.subnet.difficulty.unwrap_or(1);
        match scheme {
            Scheme::PowRegister => clamp_difficulty(raw, self.subnet.min_difficulty, self.subnet.max_difficulty),
            _ => raw,
        }
    }

    // --- The chain moves -------------------------------------------------------------------

    /// The chain grows (by one or a jump), or its head is replaced at the same height; the
    /// state may change with it. Returns the block to deliver, unless the head is missed.
    fn advance(&mut self) -> Option<(BlockRef, RuntimeInfo, bool)> {
        let chaos = self.mode == Mode::Chaos;
        match self.rng.below(20) {
            0 if chaos => self.push_hash(self.height), // replaced at the same height
            1 | 2 => {
                for _ in 0..2 + self.rng.below(3) {
                    self.height += 1;
                    self.push_hash(self.height);
                }
            }
            _ => {
                self.height += 1;
                self.push_hash(self.height);
            }
        }
        let old_kind = self.runtime_kind;
        if chaos {
            self.mutate_state();
        }
        if self.mode != Mode::Benign && self.rng.chance(8) {
            return None; // the head is missed: the next one is delivered with the news
        }
        let runtime = runtime(self.runtime_kind);
        let changed = self.delivered_runtime.is_some_and(|r| r.spec_version != runtime.spec_version) || old_kind != self.runtime_kind;
        self.deliver_block(runtime, changed);
        self.last_delivered = Some((self.head(), runtime));
        Some((self.head(), runtime, changed))
    }

    fn mutate_state(&mut self) {
        match self.rng.below(60) {
            0 => self.runtime_kind = self.rng.below(3),
            1 => self.subnet.pow_registration_allowed = Some(!self.subnet.pow_registration_allowed.unwrap_or(true)),
            2 => self.subnet.difficulty = Some(1 + self.rng.below(4)),
            3 => {
                // Someone else registers one of the keys (a second instance, another tool).
                let key = self.keys[self.rng.below(self.keys.len() as u64) as usize];
                self.register(key);
            }
            4 => self.subnet.exists = !self.subnet.exists,
            5 | 6 => self.subnet.burn_rao = Some(50 + self.rng.below(101)),
            _ => {}
        }
    }

    fn register(&mut self, key: AccountId) -> u16 {
        if let Some(uid) = self.uids.get(&key) {
            return *uid;
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        self.uids.insert(key, uid);
        uid
    }

    fn deliver_block(&mut self, runtime: RuntimeInfo, changed: bool) {
        if changed {
            self.epoch += 1;
        }
        self.known_best = self.known_best.max(self.height);
        self.blocks_delivered += 1;
        self.delivered_runtime = Some(runtime);
        if world_scheme(&runtime).is_none() {
            let stop = self.burn_route().is_none().then_some(StopReason::NoPowRegistration);
            self.told_refusal("the runtime has no proof-of-work registration", stop);
        } else if self.refused == Some("the runtime has no proof-of-work registration") {
            self.refused = None;
        }
    }

    /// The session was told something that forbids sending (and, unless it may wait, ends it).
    fn told_refusal(&mut self, what: &'static str, stop: Option<StopReason>) {
        self.refused = Some(what);
        if stop.is_some() && self.must_stop.is_none() {
            self.must_stop = stop;
        }
    }

    /// What a state read tells the session about `key`: the world's own reading of the
    /// runtime's checks, in the runtime's order.
    fn note_state(&mut self, key: &AccountId) {
        if self.refused == Some("the runtime has no proof-of-work registration") {
            if self.burn_route().is_some() {
                self.note_burn(key);
            }
            return;
        }
        let wait = self.rules.wait;
        let scheme = self.delivered_runtime.as_ref().and_then(world_scheme).unwrap_or(Scheme::PowRegister);
        let refusal = if self.rules.netuid == 0 {
            Some(("the root subnet", Some(StopReason::NoPowRegistration)))
        } else if !self.subnet.exists {
            Some(("the subnet does not exist", Some(StopReason::NoSuchSubnet)))
        } else if self.uids.contains_key(key) {
            None
        } else if self.subnet.pow_registration_allowed != Some(true) {
            Some(("proof of work is disabled", (!wait).then_some(StopReason::PowDisabled)))
        } else if self.owners.get(key).is_some_and(|owner| *owner != COLDKEY) {
            Some(("the hotkey is another coldkey's", Some(StopReason::ColdkeyMismatch)))
        } else if self.rules.max_difficulty.is_some_and(|max| self.difficulty(scheme) > max) {
            Some(("the difficulty is above max_difficulty", (!wait).then_some(StopReason::TooDifficult)))
        } else {
            None
        };
        match refusal {
            Some((what, _))
                if self.burn_route().is_some()
                    && matches!(what, "proof of work is disabled" | "the difficulty is above max_difficulty") =>
            {
                self.told_refusal(what, None);
                self.note_burn(key);
            }
            Some((what, stop)) => self.told_refusal(what, stop),
            None => self.refused = None,
        }
    }

    /// The burn route, where the session may take it (not on the root subnet).
    fn burn_route(&self) -> Option<&BurnOptions> {
        self.rules.burn.as_ref().filter(|_| self.rules.netuid != 0)
    }

    /// Proof of work is closed and the burn route open: what the session must do about `key`.
    fn note_burn(&mut self, key: &AccountId) {
        let stop = if !self.subnet.exists {
            Some(StopReason::NoSuchSubnet)
        } else if self.uids.contains_key(key) {
            None
        } else if self.owners.get(key).is_some_and(|owner| *owner != COLDKEY) {
            Some(StopReason::ColdkeyMismatch)
        } else if self.subnet.burn_rao.is_some_and(|price| price > BURN_CAP) && !self.rules.wait && self.pending.is_empty() {
            // (With an extrinsic in flight the session decides once its outcome is known.)
            Some(StopReason::BurnLimit)
        } else {
            None
        };
        if stop.is_some() && self.must_stop.is_none() {
            self.must_stop = stop;
        }
    }

    /// The quote the session is given; with proof of work closed, a burn it forbids is a stop.
    fn quote(&mut self) -> Quote {
        let price_rao = self.subnet.burn_rao.unwrap_or(0);
        let spent = self.ledger.values().sum();
        self.quoted = Some((price_rao, self.free_rao, FEE, spent));
        let allowed = self.burn_route().is_some_and(|burn| crate::burn::check(burn, price_rao, FEE, self.free_rao, spent).is_ok());
        if !allowed && self.refused.is_some() && !self.rules.wait && self.must_stop.is_none() {
            self.must_stop = Some(StopReason::BurnLimit);
        }
        Quote { price_rao, free_rao: self.free_rao, fee_rao: FEE }
    }

    fn state(&mut self, block: BlockRef, keys: &[AccountId]) -> RegistrationState {
        let scheme = self.delivered_runtime.as_ref().and_then(world_scheme).unwrap_or(Scheme::PowRegister);
        self.difficulty_told.insert(block.hash, self.difficulty(scheme));
        for key in keys {
            self.note_state(key);
        }
        self.told_registered.extend(keys.iter().filter(|key| self.uids.contains_key(*key)));
        let hotkeys = keys
            .iter()
            .map(|key| HotkeyState {
                hotkey: *key,
                uid: self.uids.get(key).copied(),
                owner: self.owners.get(key).copied(),
                last_pow_registration_block: None,
            })
            .collect();
        RegistrationState { block, subnet: self.subnet.clone(), hotkeys }
    }

    /// A read fails now and then, as a dropped connection does.
    fn read_fails(&mut self) -> bool {
        self.mode == Mode::Chaos && self.rng.chance(2)
    }

    /// The node's best block: sometimes ahead of what its subscription delivered.
    fn node_best(&mut self) -> BlockRef {
        if self.rng.chance(15) {
            self.height += 1;
            self.push_hash(self.height);
        }
        self.known_best = self.known_best.max(self.height);
        self.head()
    }

    // --- The pool ---------------------------------------------------------------------------

    fn set_job(&mut self, work: &Work, hot: HotLoop) -> JobId {
        let job = JobId(self.next_job);
        self.next_job += 1;
        self.jobs.insert(job, SimJob { work: *work, hot, epoch: self.epoch });
        self.current_job = Some(job);
        job
    }

    /// A verdict from the pool: usually a seal of the current job; sometimes a late seal of an
    /// older one, a compute error, a stale candidate, or a wrong seal a broken device reported.
    fn verdict(&mut self) -> Option<Verdict> {
        let job = match self.current_job {
            Some(job) if self.mode != Mode::Chaos || self.rng.chance(80) => job,
            _ => *self.jobs.keys().nth(self.rng.below(self.jobs.len() as u64) as usize)?,
        };
        let device = "sim:0".to_string();
        let start = self.rng.next();
        let SimJob { hot, work, epoch } = self.jobs.get(&job)?;
        let (nonce, seal) = (start..start + 64).find_map(|nonce| hot.verify(nonce).map(|seal| (nonce, seal)))?;
        self.delivered_seals.push((*epoch, work.block.number, nonce));
        if self.mode == Mode::Chaos {
            match self.rng.below(12) {
                0 => return Some(Verdict::ComputeError { job, nonce, device }),
                1 => return Some(Verdict::Stale { job, nonce, device }),
                2 => {
                    let mut wrong = seal;
                    wrong[31] ^= 1;
                    return Some(Verdict::Solution(Solution { job, nonce, seal: wrong, device }));
                }
                _ => {}
            }
        }
        Some(Verdict::Solution(Solution { job, nonce, seal, device }))
    }

    // --- Submissions and the invariants checked on each ------------------------------------

    fn on_submit(&mut self, extrinsic: Extrinsic, birth: u64) -> oneshot::Receiver<Result<Submission, Lost>> {
        let (reply, end) = oneshot::channel();
        match &extrinsic {
            Extrinsic::Seal(registration) => self.check_submission(registration, birth),
            Extrinsic::Burn { registration, price_rao, .. } => self.check_burn(registration, *price_rao),
        }
        self.submissions += 1;
        let sent_at = self.height;
        self.pending.push(Pending { extrinsic, sent_at, reply });
        end
    }

    /// 8: a burn only under `--burn-max`, at the price quoted, within the cap, the budget and the
    /// balance, for a key not known to hold a UID, one at a time.
    fn check_burn(&mut self, b: &BurnRegistration, price_rao: u64) {
        let mut found = Vec::new();
        match (self.burn_route(), self.quoted) {
            (None, _) => found.push("8: a burn without burn_max".to_string()),
            (Some(_), None) => found.push("8: a burn sent without a quote".to_string()),
            (Some(burn), Some((quoted, free, fee, spent))) => {
                let cost = u128::from(price_rao) + fee;
                if price_rao != quoted || price_rao > burn.max_rao || b.limit_rao != burn.max_rao {
                    found.push(format!(
                        "8: a burn at price {price_rao} (quoted {quoted}, limit {}) under cap {}",
                        b.limit_rao, burn.max_rao
                    ));
                }
                if burn.budget_rao.is_some_and(|budget| spent + cost > u128::from(budget)) || free < cost {
                    found.push(format!("8: a burn of {cost} with {spent} spent of {:?} and {free} free", burn.budget_rao));
                }
            }
        }
        if !self.pending.is_empty() {
            found.push("2: a burn sent while another extrinsic is in flight".into());
        }
        if self.told_registered.contains(&b.hotkey) || self.rules.dry_run {
            found.push("8: a burn for a key known to hold a UID, or under dry_run".into());
        }
        if let Some(code) = self.must_stop {
            found.push(format!("7: a burn sent after the session was due to stop (due to stop: {code:?})"));
        }
        self.quoted = None;
        self.violations.extend(found);
    }

    fn check_submission(&mut self, r: &Registration, birth: u64) {
        let mut found = Vec::new();
        let scheme = self.delivered_runtime.as_ref().and_then(world_scheme);
        // 1: inside the window at the best block known when sent.
        if scheme != Some(r.scheme) || !world_window(r.scheme, r.work_block, self.known_best.max(birth)) {
            found.push(format!(
                "1: {:?} seal of block {} sent at best {} (runtime's scheme {scheme:?})",
                r.scheme, r.work_block, self.known_best
            ));
        }
        // 2: one in flight; never twice for one key and work block.
        if !self.pending.is_empty() {
            found.push(format!("2: a second extrinsic sent while {} is in flight", self.pending.len()));
        }
        let job = self
            .jobs
            .values()
            .find(|j| j.work.block.number == r.work_block && j.work.key == r.hotkey && j.hot.verify(r.nonce) == Some(r.seal));
        let hash = job.map_or([0; 32], |j| j.work.block.hash);
        if !self.submitted.insert((r.hotkey, r.work_block, hash)) {
            found.push(format!("2: a second extrinsic for work block {}", r.work_block));
        }
        // 3: nothing sent once a refusal was told.
        if let Some(what) = self.refused {
            found.push(format!("3: sent after the session was told {what}"));
        }
        if self.rules.dry_run {
            found.push("3: sent under dry_run".into());
        }
        if let Some(code) = self.must_stop {
            found.push(format!("7: sent after the session was due to stop (due to stop: {code:?})"));
        }
        // 4: the seal is right for a block the session was given and the world's difficulty.
        let right = self.hashes.get(&r.work_block).is_some_and(|hashes| {
            hashes.iter().any(|h| {
                Challenge::for_scheme(r.scheme, r.netuid, h, &r.hotkey, &r.coldkey).is_ok_and(|c| {
                    let seal = c.seal(r.nonce);
                    let told = self.difficulty_told.get(h).copied();
                    let target = Target::from_difficulty(told.unwrap_or_else(|| self.difficulty(r.scheme)));
                    seal == r.seal && target.is_ok_and(|t| t.is_met_by(&seal, ByteOrder::Little))
                })
            })
        });
        if !right {
            found.push(format!("4: a seal that fails the re-check was sent (work block {}, nonce {})", r.work_block, r.nonce));
        }
        // 5: nothing prepared before a lost connection or an upgrade.
        let epochs: Vec<u64> = self
            .delivered_seals
            .iter()
            .filter(|(_, block, nonce)| *block == r.work_block && *nonce == r.nonce)
            .map(|(epoch, ..)| *epoch)
            .collect();
        if !epochs.is_empty() && !epochs.contains(&self.epoch) {
            found.push(format!("5: a seal found in epoch {epochs:?} sent in epoch {}", self.epoch));
        }
        self.violations.extend(found);
    }

    /// What the chain makes of the oldest pending submission.
    fn resolve(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let Pending { extrinsic, sent_at, reply } = self.pending.remove(0);
        let outcome = match extrinsic {
            Extrinsic::Seal(registration) => self.outcome(&registration, sent_at),
            Extrinsic::Burn { registration, price_rao, .. } => self.burn_outcome(&registration, price_rao),
        };
        let _ = reply.send(outcome);
    }

    /// The connection is lost: what was prepared before belongs to an older epoch, and an
    /// extrinsic already in the node's pool may still be included without anyone watching.
    fn disconnect(&mut self) {
        self.epoch += 1;
        for pending in std::mem::take(&mut self.pending) {
            let Extrinsic::Seal(r) = pending.extrinsic else { continue };
            if self.rng.chance(50)
                && world_window(r.scheme, r.work_block, pending.sent_at)
                && self.must_stop.is_none()
                && self.refused.is_none()
            {
                self.register(r.hotkey);
            }
        }
    }

    fn outcome(&mut self, r: &Registration, sent_at: u64) -> Result<Submission, Lost> {
        let block = self.head();
        let failed = |error: &str| dispatch_failed(block, error);
        let canonical = self.hashes[&r.work_block].last().copied().unwrap_or_default();
        let valid_seal =
            Challenge::for_scheme(r.scheme, r.netuid, &canonical, &r.hotkey, &r.coldkey).is_ok_and(|c| c.seal(r.nonce) == r.seal);
        let outcome = match self.mode {
            Mode::AlwaysRetry => {
                let retries = [failed("InvalidWorkBlock"), Outcome::PoolRejected(Rejection::BadRequest), Outcome::Dropped("gone".into())];
                retries[self.rng.below(3) as usize].clone()
            }
            Mode::Chaos if self.rng.chance(3) => return Err(Lost("the connection dropped while watching".into())),
            Mode::Chaos if self.rng.chance(3) => return Ok(Submission::WatchTimeout { waited_s: 120 }),
            Mode::Chaos if self.rng.chance(4) => {
                let faults = [
                    Outcome::PoolRejected(Rejection::custom(0)),
                    Outcome::PoolRejected(Rejection::custom(21)),
                    Outcome::PoolRejected(Rejection::ExhaustsResources),
                    Outcome::PoolRejected(Rejection::Stale),
                    failed("TooManyRegistrationsThisBlock"),
                    Outcome::Invalid("invalid".into()),
                ];
                faults[self.rng.below(faults.len() as u64) as usize].clone()
            }
            _ if self.uids.contains_key(&r.hotkey) => failed("HotKeyAlreadyRegisteredInSubNet"),
            _ if !self.subnet.exists => Outcome::PoolRejected(Rejection::custom(3)),
            _ if self.owners.get(&r.hotkey).is_some_and(|o| *o != COLDKEY) => Outcome::PoolRejected(Rejection::custom(25)),
            _ if self.subnet.pow_registration_allowed != Some(true) => failed("SubNetRegistrationDisabled"),
            _ if !world_window(r.scheme, r.work_block, sent_at) => failed("InvalidWorkBlock"),
            _ if !valid_seal => failed("InvalidSeal"),
            _ => {
                let uid = self.register(r.hotkey);
                Outcome::Registered { block_hash: block.hash, block_number: block.number + 1, uid: self.rng.chance(80).then_some(uid) }
            }
        };
        self.expect_after(&outcome, &r.hotkey);
        Ok(Submission::Ended { extrinsic: [self.submissions as u8; 32], outcome })
    }

    /// What the chain makes of a burn: it registers the key and charges the price and fee.
    fn burn_outcome(&mut self, b: &BurnRegistration, price_rao: u64) -> Result<Submission, Lost> {
        let block = self.head();
        let failed = |error: &str| dispatch_failed(block, error);
        let outcome = if self.mode == Mode::Chaos && self.rng.chance(5) {
            return Err(Lost("the connection dropped while watching a burn".into()));
        } else if self.uids.contains_key(&b.hotkey) {
            failed("HotKeyAlreadyRegisteredInSubNet")
        } else if !self.subnet.exists {
            Outcome::PoolRejected(Rejection::custom(3))
        } else if self.owners.get(&b.hotkey).is_some_and(|o| *o != COLDKEY) {
            Outcome::PoolRejected(Rejection::custom(25))
        } else {
            self.free_rao = self.free_rao.saturating_sub(u128::from(price_rao) + FEE);
            let uid = self.register(b.hotkey);
            Outcome::Registered { block_hash: block.hash, block_number: block.number + 1, uid: Some(uid) }
        };
        self.expect_after(&outcome, &b.hotkey);
        Ok(Submission::Ended { extrinsic: [self.submissions as u8; 32], outcome })
    }

    /// What the session must do after `outcome` (the exit-code table). A key it was told holds
    /// a UID is done, whatever became of its own extrinsic.
    fn expect_after(&mut self, outcome: &Outcome, key: &AccountId) {
        use crate::chain::outcome::{FatalReason, OutcomeClass};
        let stop = match outcome.class() {
            _ if self.told_registered.contains(key) => None,
            OutcomeClass::Registered | OutcomeClass::AlreadyRegistered => {
                self.failed_in_a_row = 0;
                None
            }
            OutcomeClass::RetryNextBlock => {
                self.failed_in_a_row += 1;
                (self.failed_in_a_row >= MAX_FAILED_SUBMISSIONS).then_some(StopReason::Other)
            }
            OutcomeClass::Fatal(FatalReason::PowDisabled) if self.rules.wait || self.burn_route().is_some() => None,
            OutcomeClass::Fatal(FatalReason::PowDisabled) => Some(StopReason::PowDisabled),
            OutcomeClass::Fatal(FatalReason::SubnetMissing) => Some(StopReason::NoSuchSubnet),
            OutcomeClass::Fatal(FatalReason::ColdkeyMismatch) => Some(StopReason::ColdkeyMismatch),
            OutcomeClass::Fatal(_) => Some(StopReason::Other),
        };
        if stop.is_some() && self.must_stop.is_none() {
            self.must_stop = stop;
        }
    }

    fn on_event(&mut self, event: &Event) {
        let ss58 = match event {
            Event::Registered(result) => &result.ss58,
            Event::AlreadyRegistered { ss58, .. } => ss58,
            _ => return,
        };
        let Some(key) = self.keys.iter().find(|k| crate::pow::ss58::encode_ss58(k) == *ss58).copied() else { return };
        let count = {
            let count = self.reported.entry(key).or_default();
            *count += 1;
            *count
        };
        if count > 1 {
            self.violate(format!("6: {ss58} reported {count} times"));
        }
        self.failed_in_a_row = 0;
    }

    /// 6 and 7, when the session finished.
    fn check_finish(&mut self, result: &Result<Vec<HotkeyResult>, DaemonError>) {
        match (result, self.must_stop) {
            (Err(err), Some(expected)) if err.reason() != expected => {
                self.violate(format!("6: stopped for {:?} ({err}), the table says {expected:?}", err.reason()));
            }
            (Err(err), None) => self.violate(format!("6: stopped ({err}, {:?}) with no reason told", err.reason())),
            (Ok(results), Some(expected)) => {
                self.violate(format!("6: finished with {} results where a stop for {expected:?} was due", results.len()))
            }
            (Ok(results), None) => self.check_results(results),
            (Err(_), Some(_)) => {}
        }
        if self.mode == Mode::Benign && result.is_err() {
            self.violate("7: a benign schedule stopped without registering".into());
        }
        if self.mode == Mode::AlwaysRetry && result.is_err() && self.submissions > MAX_FAILED_SUBMISSIONS {
            self.violate(format!("7: {} submissions sent where five failures stop the daemon", self.submissions));
        }
    }

    fn check_results(&mut self, results: &[HotkeyResult]) {
        if results.len() != self.keys.len() {
            self.violate(format!("6: {} results for {} keys", results.len(), self.keys.len()));
        }
        let wrong: Vec<String> = results
            .iter()
            .zip(&self.keys)
            .filter_map(|(result, key)| {
                // A dry run ends a hotkey with its signed extrinsic, unreported and without a UID.
                let dry = self.rules.dry_run && result.extrinsic.is_some();
                let expected = if dry { None } else { self.uids.get(key).copied() };
                let reports = self.reported.get(key).copied().unwrap_or(0);
                (result.uid != expected || reports != u32::from(!dry)).then(|| {
                    format!("6: {} finished with UID {:?} after {reports} reports; the chain has {expected:?}", result.hotkey, result.uid)
                })
            })
            .collect();
        self.violations.extend(wrong);
    }
}

/// An extrinsic included at `block` whose dispatch failed with SubtensorModule's `error`.
fn dispatch_failed(block: BlockRef, error: &str) -> Outcome {
    Outcome::DispatchFailed { block_hash: block.hash, block_number: block.number, pallet: "SubtensorModule".into(), error: error.into() }
}

/// The simulated chain behind [`ChainPort`].
struct SimChain(Arc<Mutex<World>>);

impl ChainPort for SimChain {
    async fn best_block(&self) -> Result<BlockRef, Lost> {
        let mut world = lock(&self.0);
        if world.read_fails() {
            return Err(Lost("best block: connection reset".into()));
        }
        Ok(world.node_best())
    }

    async fn registration_state(&self, block: BlockRef, _netuid: u16, keys: Vec<AccountId>) -> Result<RegistrationState, Lost> {
        let mut world = lock(&self.0);
        if world.read_fails() {
            return Err(Lost("state: connection reset".into()));
        }
        Ok(world.state(block, &keys))
    }

    async fn uid(&self, _netuid: u16, key: AccountId) -> Result<Option<u16>, Lost> {
        Ok(lock(&self.0).uids.get(&key).copied())
    }

    async fn burn_quote(&self, _block: BlockRef, _burn: BurnRegistration, _signer: Arc<Keypair>) -> Result<Quote, Lost> {
        Ok(lock(&self.0).quote())
    }

    async fn sign(&self, birth: BlockRef, extrinsic: &Extrinsic, _signer: Arc<Keypair>) -> Result<SignedRegistration, Lost> {
        let mut world = lock(&self.0);
        world.signed = world.signed.wrapping_add(1);
        let bytes = match extrinsic {
            Extrinsic::Seal(registration) => registration.nonce.to_le_bytes().to_vec(),
            Extrinsic::Burn { registration, .. } => registration.hotkey.to_vec(),
        };
        let mortality = Mortality { birth_number: birth.number, birth_hash: birth.hash, period_blocks: 64 };
        Ok(SignedRegistration { bytes, extrinsic_hash: [world.signed; 32], account_nonce: 0, mortality })
    }

    fn submit(&self, signed: SignedRegistration, extrinsic: Extrinsic) -> BoxFuture<'static, Result<Submission, Lost>> {
        let end = lock(&self.0).on_submit(extrinsic, signed.mortality.birth_number);
        Box::pin(async move { end.await.unwrap_or_else(|_| Err(Lost("the simulated chain dropped the submission".into()))) })
    }

    async fn describe(&self, _birth: BlockRef, _signed: &SignedRegistration) -> Result<serde_json::Value, Lost> {
        let mut world = lock(&self.0);
        if world.refused.is_some() && world.burn_route().is_none() {
            world.violate("3: a dry run signed after a refusal".into());
        }
        Ok(serde_json::Value::Null)
    }
}

/// The simulated pool and reporter behind [`Host`].
struct SimHost(Arc<Mutex<World>>);

impl Host for SimHost {
    fn set_job(&mut self, work: &Work, hot: HotLoop) -> JobId {
        lock(&self.0).set_job(work, hot)
    }

    fn clear_job(&mut self) {
        lock(&self.0).current_job = None;
    }

    fn emit(&mut self, event: Event) {
        lock(&self.0).on_event(&event);
    }

    fn signer(&mut self, _key: &SignerKey) -> Result<Arc<Keypair>, DaemonError> {
        Ok(lock(&self.0).keypair.clone())
    }

    fn burned_rao(&self) -> u128 {
        lock(&self.0).ledger.values().sum()
    }

    fn record_burn(&mut self, entry: BurnEntry) -> Result<(), DaemonError> {
        lock(&self.0).ledger.insert(entry.extrinsic, entry.counted_rao);
        Ok(())
    }

    fn settle_burn(&mut self, extrinsic: &str, cost_rao: u128) {
        lock(&self.0).ledger.insert(extrinsic.to_string(), cost_rao);
    }
}

/// What one schedule came to.
#[derive(Debug)]
struct Report {
    mode: Mode,
    finished: bool,
    submissions: u32,
    violations: Vec<String>,
}

/// Runs one seeded schedule against a session (with `mutation`, a deliberately broken one).
fn run_schedule(seed: u64, mutation: Option<Mutation>) -> Report {
    let world = Arc::new(Mutex::new(World::new(seed)));
    let (rules, registrants, netuid) = {
        let w = lock(&world);
        (w.rules.clone(), w.registrants(), w.rules.netuid)
    };
    let mut session = Session::new(rules, COLDKEY, registrants).with_mutation(mutation);
    let mut exec = Executor::new(SimChain(world.clone()), SimHost(world.clone()), netuid);
    let finished = futures::executor::block_on(drive(&world, &mut session, &mut exec));
    let w = lock(&world);
    Report { mode: w.mode, finished, submissions: w.submissions, violations: w.violations.clone() }
}

fn connected() -> Input {
    Input::Connected { network: "custom", endpoint: "sim".into(), genesis: [1; 32] }
}

async fn drive(world: &Arc<Mutex<World>>, session: &mut Session, exec: &mut Executor<SimChain, SimHost>) -> bool {
    let mut step = exec.feed(session, connected()).await;
    for _ in 0..STEPS {
        step = match step {
            Step::Continue => match next_move(world, exec) {
                Move::Feed(input) => {
                    if trace() {
                        eprintln!("sim: {input:?}");
                    }
                    exec.feed(session, *input).await
                }
                Move::Disconnect => reconnect(world, session, exec).await,
                Move::Nothing => Step::Continue,
            },
            Step::Lost(_) => reconnect(world, session, exec).await,
            Step::Finished(result) => {
                lock(world).check_finish(&result);
                return true;
            }
        };
        if !lock(world).violations.is_empty() {
            return false;
        }
    }
    let mut w = lock(world);
    if let Step::Finished(result) = step {
        w.check_finish(&result);
        return true;
    }
    // 7: a benign chain registers every key within the schedule.
    if w.mode == Mode::Benign {
        let blocks = w.blocks_delivered;
        w.violate(format!("7: a benign schedule did not finish after {blocks} blocks"));
    }
    false
}

/// `REGSOLVER_SIM_TRACE=1`: every input of a replayed schedule on stderr.
fn trace() -> bool {
    std::env::var_os("REGSOLVER_SIM_TRACE").is_some()
}

async fn reconnect(world: &Arc<Mutex<World>>, session: &mut Session, exec: &mut Executor<SimChain, SimHost>) -> Step {
    lock(world).disconnect();
    if trace() {
        eprintln!("sim: Disconnected");
    }
    exec.feed(session, Input::Disconnected).await;
    exec.feed(session, connected()).await
}

/// The world's next move.
enum Move {
    Feed(Box<Input>),
    Disconnect,
    Nothing,
}

/// A block (new, or the last one again), a verdict, a submission's end, or a lost connection.
fn next_move(world: &Arc<Mutex<World>>, exec: &mut Executor<SimChain, SimHost>) -> Move {
    let mut w = lock(world);
    let chaos = w.mode == Mode::Chaos;
    let last = w.last_delivered;
    let input = match w.rng.below(10) {
        0..=2 => match last {
            Some((block, runtime)) if chaos && w.rng.chance(5) => {
                Some(Input::Block { block, runtime, runtime_changed: false, now_ms: w.now_ms() })
            }
            _ => w.advance().map(|(block, runtime, runtime_changed)| Input::Block {
                block,
                runtime,
                runtime_changed,
                now_ms: block.number * 12_000,
            }),
        },
        3..=5 => w.verdict().map(Input::Verdict),
        6..=8 => {
            w.resolve();
            drop(w);
            return match exec.submission_end_now() {
                Some(Ok(input)) => Move::Feed(Box::new(input)),
                Some(Err(_)) => Move::Disconnect,
                None => Move::Nothing,
            };
        }
        _ if chaos && w.rng.chance(20) => return Move::Disconnect,
        _ => None,
    };
    input.map_or(Move::Nothing, |input| Move::Feed(Box::new(input)))
}

/// The schedules to run: `REGSOLVER_SIM_SEED=N` replays one; `REGSOLVER_SIM_SCHEDULES=N` sets how
/// many (10,000 by default, from seed 0).
fn seeds() -> std::ops::Range<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
    match (var("REGSOLVER_SIM_SEED"), var("REGSOLVER_SIM_SCHEDULES")) {
        (Some(seed), _) => seed..seed + 1,
        (None, count) => 0..count.unwrap_or(10_000),
    }
}

#[test]
fn every_schedule_keeps_every_invariant() {
    let started = std::time::Instant::now();
    let (mut finished, mut submissions, mut by_mode) = (0u64, 0u64, HashMap::new());
    let seeds = seeds();
    let count = seeds.end - seeds.start;
    for seed in seeds {
        let report = run_schedule(seed, None);
        assert!(
            report.violations.is_empty(),
            "seed {seed} ({:?}) broke an invariant: {:?}\nreplay: REGSOLVER_SIM_SEED={seed} cargo test --lib daemon::sim -- --nocapture",
            report.mode,
            report.violations
        );
        finished += u64::from(report.finished);
        submissions += u64::from(report.submissions);
        *by_mode.entry(format!("{:?}", report.mode)).or_insert(0u64) += 1;
    }
    println!(
        "simulation: {count} schedules in {:.1} s ({by_mode:?}); {finished} finished, {submissions} submissions",
        started.elapsed().as_secs_f64()
    );
    assert!(finished > count / 2, "most schedules end (registered or stopped): {finished} of {count}");
}

#[test]
fn each_broken_rule_is_caught() {
    let cases = [
        (Mutation::IgnoreWindow, "1:"),
        (Mutation::IgnoreInFlight, "2:"),
        (Mutation::MineWhenDisabled, "3:"),
        (Mutation::SendAfterRefusal, "3:"),
        (Mutation::SkipRecheck, "4:"),
        (Mutation::KeepAcrossDisconnect, "5:"),
        (Mutation::ReportTwice, "6:"),
        (Mutation::NeverStopFailing, "7:"),
        (Mutation::IgnoreBurnLimits, "8:"),
    ];
    for (mutation, invariant) in cases {
        let caught = (0..20_000u64).find_map(|seed| {
            let report = run_schedule(seed, Some(mutation));
            report.violations.iter().find(|v| v.starts_with(invariant)).map(|v| (seed, v.clone()))
        });
        match caught {
            Some((seed, violation)) => println!("{mutation:?}: caught by seed {seed}: {violation}"),
            None => panic!("{mutation:?} broke invariant {invariant} and no schedule caught it"),
        }
    }
}
