//! Test harness: a real subtensor runtime (spec 218 or 293) under chopsticks on a free loopback port, and the chain reads and dev RPCs tests need.
//!
//! [`Chopsticks::start`] runs `node tests/chopsticks/start.mjs` (the wrapper that applies the two
//! spec-293 fixes, see that file) in its own process group, waits for its `READY` line within
//! [`start_deadline`], and connects a WebSocket JSON-RPC client. Dropping the value kills that
//! process group and nothing else; the wrapper also exits when this test process's end of its
//! stdin closes, so chopsticks never outlives a test that was killed.
//!
//! Where things come from: `REGSOLVER_CHOPSTICKS` (the folder holding `start.mjs` and the
//! `npm ci` install; default `tests/chopsticks` in this crate), `REGSOLVER_NODE` (the node binary;
//! default `node` on `PATH`), `REGSOLVER_CHOPSTICKS_START_S` (startup deadline, default 90 s),
//! `REGSOLVER_CHOPSTICKS_PARALLEL_STARTS` (startups at once per test binary, default 2),
//! `REGSOLVER_CHOPSTICKS_LOG` (set: echo chopsticks' output to the test's stderr).
//! `tests/run.sh` installs node and chopsticks and sets the first.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jsonrpsee::core::client::ClientT;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::{json, Value};
use subxt::ext::frame_decode::storage::encode_storage_key;
use subxt::Metadata;
use tokio::sync::{oneshot, OnceCell, Semaphore};

/// Lines of chopsticks' output kept for error messages.
const OUTPUT_TAIL_LINES: usize = 60;
/// Attempts at a fresh free port when the one picked was taken before chopsticks bound it.
const PORT_ATTEMPTS: u32 = 3;
/// Attempts at rebinding the same port on restart (the old listener may still be closing).
const RESTART_ATTEMPTS: u32 = 5;
const RPC_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Startups at once in one test binary (each compiles the runtime: CPU-bound for seconds);
/// `REGSOLVER_CHOPSTICKS_PARALLEL_STARTS` overrides. Waiting here does not count against the deadline.
static STARTS: OnceLock<Semaphore> = OnceLock::new();
/// What [`Chopsticks::fund`] gives each account by default: 1,000 TAO in rao.
pub const FUND_RAO: u128 = 1_000_000_000_000;
/// Registrations per block and target per interval that [`Chopsticks::prepare_pow_subnet`] and
/// [`Chopsticks::open_burn_subnet`] set.
pub const POW_REGISTRATIONS_PER_BLOCK: u16 = 10;

/// One of the two real subtensor runtimes the project tests against (tests/data/chainspecs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// Spec 218: legacy `register`, big-endian difficulty; subnet 1 has PoW disabled; 3 s slots.
    S218,
    /// Spec 293: legacy `register`, little-endian difficulty; subnet 1 allows PoW; 1 s slots.
    S293,
}

impl Spec {
    /// The runtime's spec_version.
    pub fn version(self) -> u32 {
        match self {
            Spec::S218 => 218,
            Spec::S293 => 293,
        }
    }
}

/// When chopsticks builds blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMode {
    /// One block per submitted transaction, as soon as it arrives (chopsticks' `Instant`).
    Instant,
    /// Only on [`Chopsticks::new_block`] (`dev_newBlock`).
    Manual,
}

impl BlockMode {
    fn flag(self) -> &'static str {
        match self {
            BlockMode::Instant => "instant",
            BlockMode::Manual => "manual",
        }
    }
}

/// Everything that can go wrong in the harness; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("chopsticks is not installed in {0} (no node_modules/@acala-network/chopsticks): run `npm ci` there, or tests/run.sh, which does it")]
    NotInstalled(PathBuf),
    #[error("cannot run node ({node}) for chopsticks: {source}; install Node.js >= 20 (tests/run.sh does) or set REGSOLVER_NODE")]
    Spawn { node: String, source: std::io::Error },
    #[error("chopsticks (spec {spec}, port {port}) {why}\n--- last lines of chopsticks' output ---\n{tail}")]
    Start { spec: u32, port: u16, why: String, tail: String },
    #[error("JSON-RPC connection to {url} failed: {source}")]
    Connect { url: String, source: jsonrpsee::core::ClientError },
    #[error("chopsticks is not running (killed and not restarted)")]
    NotRunning,
    #[error("RPC {method} failed: {source}")]
    Rpc { method: String, source: jsonrpsee::core::ClientError },
    #[error("RPC {method} answered something unexpected: {detail}")]
    Answer { method: String, detail: String },
    #[error("runtime metadata: {0}")]
    Metadata(String),
}

/// Signed (non-inherent) extrinsics found in blocks, and everything waiting in the pool.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SentSince {
    /// (block number, extrinsic hex) for every non-bare extrinsic in the blocks examined.
    pub in_blocks: Vec<(u64, String)>,
    /// `author_pendingExtrinsics`: every extrinsic in the pool, of any kind.
    pub pending: Vec<String>,
}

impl SentSince {
    /// True when nothing was sent: no signed extrinsic in a block and an empty pool.
    pub fn is_empty(&self) -> bool {
        self.in_blocks.is_empty() && self.pending.is_empty()
    }
}

/// A running chopsticks node (or one that was killed and can be restarted on the same port).
pub struct Chopsticks {
    spec: Spec,
    mode: BlockMode,
    port: u16,
    process: Option<Process>,
    client: Option<WsClient>,
    metadata: OnceCell<Metadata>,
}

/// The node process and the tail of what it printed.
struct Process {
    child: Child,
    /// Held open; chopsticks exits when it closes (`--exit-on-stdin-close`).
    _stdin: Option<ChildStdin>,
    output: Arc<Mutex<VecDeque<String>>>,
}

/// The chopsticks folder (start.mjs + node_modules).
pub fn chopsticks_dir() -> PathBuf {
    std::env::var_os("REGSOLVER_CHOPSTICKS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("chopsticks"))
}

/// The node binary to run the wrapper with.
pub fn node_binary() -> String {
    std::env::var("REGSOLVER_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// How long a start may take before it is reported as failed.
pub fn start_deadline() -> Duration {
    let seconds = std::env::var("REGSOLVER_CHOPSTICKS_START_S").ok().and_then(|s| s.parse().ok()).unwrap_or(90);
    Duration::from_secs(seconds)
}

impl Chopsticks {
    /// Starts `spec` in instant block mode (a block per submitted transaction) on a free port.
    pub async fn start(spec: Spec) -> Result<Self, HarnessError> {
        Self::start_with(spec, BlockMode::Instant).await
    }

    /// Starts `spec` in the given block mode on a free port.
    pub async fn start_with(spec: Spec, mode: BlockMode) -> Result<Self, HarnessError> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let mut chopsticks =
                Chopsticks { spec, mode, port: super::process::free_port(), process: None, client: None, metadata: OnceCell::new() };
            match chopsticks.launch().await {
                Ok(()) => return Ok(chopsticks),
                Err(error @ HarnessError::Start { .. }) if is_port_taken(&error) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(HarnessError::NotRunning))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The last lines chopsticks printed (block building, runtime logs, errors).
    pub fn output_tail(&self) -> String {
        self.process.as_ref().map(|p| tail_of(&p.output)).unwrap_or_default()
    }

    /// Stops chopsticks (SIGKILL to its process group) and drops the RPC client; the port closes.
    pub fn kill(&mut self) {
        self.client = None;
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// Kills chopsticks if running and starts the same runtime again on the SAME port, from genesis
    /// (storage set earlier is gone: set it again).
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        let mut last_error = None;
        for attempt in 0..RESTART_ATTEMPTS {
            match self.launch().await {
                Ok(()) => return Ok(()),
                Err(error @ HarnessError::Start { .. }) if is_port_taken(&error) => {
                    last_error = Some(error);
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(HarnessError::NotRunning))
    }

    /// Spawns the wrapper on `self.port`, waits for READY and connects the client.
    async fn launch(&mut self) -> Result<(), HarnessError> {
        let dir = chopsticks_dir();
        if !dir.join("node_modules").join("@acala-network").join("chopsticks").join("package.json").is_file() {
            return Err(HarnessError::NotInstalled(dir));
        }
        let starts = STARTS.get_or_init(|| {
            let permits = std::env::var("REGSOLVER_CHOPSTICKS_PARALLEL_STARTS").ok().and_then(|s| s.parse().ok());
            Semaphore::new(permits.unwrap_or(2).max(1))
        });
        let _start_permit = starts.acquire().await.map_err(|_| HarnessError::NotRunning)?;
        let node = node_binary();
        let mut command = Command::new(&node);
        command
            .arg(dir.join("start.mjs"))
            .args(["--spec", &self.spec.version().to_string(), "--port", &self.port.to_string()])
            .args(["--block-mode", self.mode.flag(), "--db", "none", "--exit-on-stdin-close"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|source| HarnessError::Spawn { node: node.clone(), source })?;

        let output = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready_rx) = oneshot::channel();
        let stdin = child.stdin.take();
        if let Some(stdout) = child.stdout.take() {
            collect_lines(stdout, Arc::clone(&output), Some(ready_tx));
        }
        if let Some(stderr) = child.stderr.take() {
            collect_lines(stderr, Arc::clone(&output), None);
        }
        let process = Process { child, _stdin: stdin, output };

        let why = match tokio::time::timeout(start_deadline(), ready_rx).await {
            Ok(Ok(true)) => None,
            Ok(_) => Some("exited before it was ready".to_owned()),
            Err(_) => Some(format!("was not ready within {} s", start_deadline().as_secs())),
        };
        if let Some(why) = why {
            let tail = tail_of(&process.output);
            process.kill();
            return Err(HarnessError::Start { spec: self.spec.version(), port: self.port, why, tail });
        }
        self.process = Some(process);
        let url = self.url();
        let client = WsClientBuilder::default()
            .request_timeout(RPC_REQUEST_TIMEOUT)
            .build(&url)
            .await
            .map_err(|source| HarnessError::Connect { url, source })?;
        self.client = Some(client);
        Ok(())
    }

    /// Any JSON-RPC call; `params` is a JSON array (or null for none).
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, HarnessError> {
        let client = self.client.as_ref().ok_or(HarnessError::NotRunning)?;
        let params = match params {
            Value::Null => Vec::new(),
            Value::Array(items) => items,
            other => {
                return Err(HarnessError::Answer { method: method.to_owned(), detail: format!("params must be a JSON array, got {other}") })
            }
        };
        client.request(method, params).await.map_err(|source| HarnessError::Rpc { method: method.to_owned(), source })
    }

    /// `dev_setStorage` with chopsticks' JSON shape, e.g.
    /// `{"SubtensorModule": {"Difficulty": [[[1], 1000]]}}`; takes effect at the current head.
    pub async fn set_storage(&self, storage: Value) -> Result<(), HarnessError> {
        self.rpc("dev_setStorage", json!([storage])).await.map(drop)
    }

    /// Builds one block (`dev_newBlock`) and returns its number.
    pub async fn new_block(&self) -> Result<u64, HarnessError> {
        self.rpc("dev_newBlock", json!([])).await?;
        self.best_number().await
    }

    /// The best (head) block number.
    pub async fn best_number(&self) -> Result<u64, HarnessError> {
        let header = self.rpc("chain_getHeader", json!([])).await?;
        header_number(&header).ok_or_else(|| answer("chain_getHeader", &header))
    }

    /// The hash (0x hex) of block `number`, if chopsticks knows it.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, HarnessError> {
        let hash = self.rpc("chain_getBlockHash", json!([number])).await?;
        Ok(hash.as_str().map(str::to_owned))
    }

    /// The extrinsics (hex, as in the block body) of block `number`.
    pub async fn block_extrinsics(&self, number: u64) -> Result<Vec<String>, HarnessError> {
        let hash = self
            .block_hash(number)
            .await?
            .ok_or_else(|| HarnessError::Answer { method: "chain_getBlockHash".to_owned(), detail: format!("no block #{number}") })?;
        let block = self.rpc("chain_getBlock", json!([hash])).await?;
        let extrinsics = block["block"]["extrinsics"].as_array().ok_or_else(|| answer("chain_getBlock", &block))?;
        Ok(extrinsics.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
    }

    /// What reached the chain or the pool after block `after_block`: every signed (non-bare)
    /// extrinsic in blocks `after_block + 1 ..= best`, and the whole pool. Inherents (the
    /// timestamp) are bare and not counted. Empty means nothing was sent.
    pub async fn sent_since(&self, after_block: u64) -> Result<SentSince, HarnessError> {
        let mut sent = SentSince::default();
        let best = self.best_number().await?;
        for number in after_block + 1..=best {
            for extrinsic in self.block_extrinsics(number).await? {
                if !is_bare_extrinsic(&extrinsic) {
                    sent.in_blocks.push((number, extrinsic));
                }
            }
        }
        let pending = self.rpc("author_pendingExtrinsics", json!([])).await?;
        let pending = pending.as_array().ok_or_else(|| answer("author_pendingExtrinsics", &pending))?;
        sent.pending = pending.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect();
        Ok(sent)
    }

    /// The runtime's metadata (fetched once per process lifetime of this value).
    pub async fn metadata(&self) -> Result<&Metadata, HarnessError> {
        self.metadata
            .get_or_try_init(|| async {
                let hex = self.rpc("state_getMetadata", json!([])).await?;
                let bytes = hex_bytes(hex.as_str().unwrap_or_default())
                    .ok_or_else(|| HarnessError::Metadata("state_getMetadata did not return hex".to_owned()))?;
                Metadata::decode_from(&bytes).map_err(|e| HarnessError::Metadata(e.to_string()))
            })
            .await
    }

    /// The storage key of `pallet.entry` at `keys`, hashed as the runtime's metadata says.
    pub async fn storage_key<K>(&self, pallet: &str, entry: &str, keys: K) -> Result<Vec<u8>, HarnessError>
    where
        K: subxt::ext::frame_decode::storage::IntoEncodableValues,
    {
        let metadata = self.metadata().await?;
        encode_storage_key(pallet, entry, keys, metadata, metadata.types())
            .map_err(|e| HarnessError::Metadata(format!("{pallet}.{entry} key: {e}")))
    }

    /// The raw value at a storage key (`state_getStorage` at the head), `None` when unset.
    pub async fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>, HarnessError> {
        let value = self.rpc("state_getStorage", json!([format!("0x{}", hex::encode(key))])).await?;
        match value {
            Value::Null => Ok(None),
            Value::String(ref s) => hex_bytes(s).map(Some).ok_or_else(|| answer("state_getStorage", &value)),
            _ => Err(answer("state_getStorage", &value)),
        }
    }

    /// The value of `pallet.entry` at `keys` as the runtime sees it: the stored bytes, or the
    /// metadata's default when nothing is stored (`None` only for unset optional entries).
    pub async fn storage_value<K>(&self, pallet: &str, entry: &str, keys: K) -> Result<Option<Vec<u8>>, HarnessError>
    where
        K: subxt::ext::frame_decode::storage::IntoEncodableValues,
    {
        let key = self.storage_key(pallet, entry, keys).await?;
        if let Some(stored) = self.storage(&key).await? {
            return Ok(Some(stored));
        }
        let metadata = self.metadata().await?;
        let default =
            metadata.pallet_by_name(pallet).and_then(|p| p.storage()).and_then(|s| s.entry_by_name(entry)).and_then(|e| e.default_value());
        Ok(default.map(<[u8]>::to_vec))
    }

    /// The UID `hotkey` holds on `netuid` (`SubtensorModule.Uids`), `None` when not registered.
    pub async fn registered_uid(&self, netuid: u16, hotkey: [u8; 32]) -> Result<Option<u16>, HarnessError> {
        let key = self.storage_key("SubtensorModule", "Uids", (netuid, hotkey)).await?;
        match self.storage(&key).await? {
            None => Ok(None),
            Some(bytes) => match <[u8; 2]>::try_from(bytes.as_slice()) {
                Ok(uid) => Ok(Some(u16::from_le_bytes(uid))),
                Err(_) => Err(HarnessError::Metadata(format!("Uids value is not a u16: 0x{}", hex::encode(&bytes)))),
            },
        }
    }

    /// The free balance of `account` (`System.Account`: four u32 counters, then `data.free`);
    /// `None` when nothing is stored for it.
    pub async fn free_balance(&self, account: [u8; 32]) -> Result<Option<u128>, HarnessError> {
        let key = self.storage_key("System", "Account", (account,)).await?;
        let Some(bytes) = self.storage(&key).await? else { return Ok(None) };
        let free = bytes.get(16..32).and_then(|free| <[u8; 16]>::try_from(free).ok());
        free.map(|free| Some(u128::from_le_bytes(free)))
            .ok_or_else(|| HarnessError::Metadata(format!("AccountInfo too short: 0x{}", hex::encode(&bytes))))
    }

    /// Opens burn registration on `netuid` at `price_rao`, pinned by `MinBurn` and `MaxBurn` so
    /// no adjustment moves it, with [`POW_REGISTRATIONS_PER_BLOCK`] registrations per block and
    /// per interval target.
    pub async fn open_burn_subnet(&self, netuid: u16, price_rao: u64) -> Result<(), HarnessError> {
        let per_block = POW_REGISTRATIONS_PER_BLOCK;
        self.set_storage(json!({ "SubtensorModule": {
            "Burn": [[[netuid], price_rao]],
            "MinBurn": [[[netuid], price_rao]],
            "MaxBurn": [[[netuid], price_rao]],
            "NetworkRegistrationAllowed": [[[netuid], true]],
            "MaxRegistrationsPerBlock": [[[netuid], per_block]],
            "TargetRegistrationsPerInterval": [[[netuid], per_block]],
        }}))
        .await
    }

    /// Gives each account `free_rao` (System.Account, one provider).
    pub async fn fund(&self, accounts: &[[u8; 32]], free_rao: u128) -> Result<(), HarnessError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let entries: Vec<Value> = accounts
            .iter()
            .map(|a| json!([[format!("0x{}", hex::encode(a))], {"providers": 1, "data": {"free": free_rao.to_string()}}]))
            .collect();
        self.set_storage(json!({"System": {"Account": entries}})).await
    }

    /// Makes `netuid` accept legacy PoW registrations at `difficulty` and funds `accounts` with
    /// [`FUND_RAO`] each. Sets `NetworkPowRegistrationAllowed` (spec 218's subnet 1 has it off),
    /// `NetworkRegistrationAllowed`, `Difficulty` with `MinDifficulty` and `MaxDifficulty` pinned
    /// to it (so no adjustment interval moves it), and [`POW_REGISTRATIONS_PER_BLOCK`] for
    /// `MaxRegistrationsPerBlock` and `TargetRegistrationsPerInterval` (the interval limit is
    /// three times the target). The storage names are the same in both test runtimes.
    pub async fn prepare_pow_subnet(&self, netuid: u16, difficulty: u64, accounts: &[[u8; 32]]) -> Result<(), HarnessError> {
        let per_block = POW_REGISTRATIONS_PER_BLOCK;
        self.set_storage(json!({"SubtensorModule": {
            "NetworkPowRegistrationAllowed": [[[netuid], true]],
            "NetworkRegistrationAllowed": [[[netuid], true]],
            "Difficulty": [[[netuid], difficulty]],
            "MinDifficulty": [[[netuid], difficulty]],
            "MaxDifficulty": [[[netuid], difficulty]],
            "MaxRegistrationsPerBlock": [[[netuid], per_block]],
            "TargetRegistrationsPerInterval": [[[netuid], per_block]],
        }}))
        .await?;
        self.fund(accounts, FUND_RAO).await
    }
}

impl Drop for Chopsticks {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Process {
    /// SIGKILL to the process group this harness created for the wrapper, then reap it.
    fn kill(mut self) {
        let group = self.child.id();
        // std has no killpg; `kill -- -PGID` (the shell's builtin) reaches the whole group, which
        // holds only what this harness started (process_group(0) made a new one).
        let _ = Command::new("sh").args(["-c", &format!("kill -s KILL -- -{group} 2>/dev/null")]).stdin(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stream` line by line on its own thread into the shared tail; the first `READY ` line
/// (stdout) sends `true` on `ready`, end of stream before it sends `false`.
fn collect_lines<R: std::io::Read + Send + 'static>(
    stream: R,
    output: Arc<Mutex<VecDeque<String>>>,
    mut ready: Option<oneshot::Sender<bool>>,
) {
    let echo = std::env::var_os("REGSOLVER_CHOPSTICKS_LOG").is_some();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("[chopsticks] {line}");
            }
            if line.starts_with("READY ") {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(true);
                }
            }
            if let Ok(mut tail) = output.lock() {
                if tail.len() == OUTPUT_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
        if let Some(ready) = ready.take() {
            let _ = ready.send(false);
        }
    });
}

fn tail_of(output: &Mutex<VecDeque<String>>) -> String {
    output.lock().map(|tail| tail.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
}

fn is_port_taken(error: &HarnessError) -> bool {
    matches!(error, HarnessError::Start { tail, .. } if tail.contains("EADDRINUSE"))
}

fn answer(method: &str, value: &Value) -> HarnessError {
    HarnessError::Answer { method: method.to_owned(), detail: value.to_string() }
}

/// Block number from a header (`"number": "0x0000002a"`).
fn header_number(header: &Value) -> Option<u64> {
    u64::from_str_radix(header["number"].as_str()?.trim_start_matches("0x"), 16).ok()
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    hex::decode(hex.strip_prefix("0x")?).ok()
}

/// Whether an extrinsic (hex of its encoding, compact length first) is bare (unsigned, e.g. an
/// inherent): its version byte has neither the signed (0x80) nor the general (0x40) bit.
/// Anything that cannot be read counts as not bare, so it is reported rather than ignored.
pub fn is_bare_extrinsic(extrinsic_hex: &str) -> bool {
    let Some(bytes) = hex_bytes(extrinsic_hex) else { return false };
    let Some(&first) = bytes.first() else { return false };
    let length_bytes = match first & 0b11 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 1 + usize::from(first >> 2) + 4,
    };
    bytes.get(length_bytes).is_some_and(|version| version & 0xC0 == 0)
}
