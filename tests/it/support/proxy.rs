//! A WebSocket proxy in front of a real chain (chopsticks) that changes what one runtime looks
//! like: it can serve other metadata (a runtime with `pow_register`, derived from a real one),
//! report another spec version (a burn-only era), and answer submissions with the pool
//! rejection a real node sends (`1010 Invalid Transaction`, data `Custom error: N`), hold
//! the new-head subscription on one old block while the chain moves on (a lagging
//! subscription), report another genesis hash (chopsticks reports the same one for every
//! chain it starts, so a chain restarted from another genesis needs the proxy), and turn clients
//! away as a node that is down would. Everything
//! else (storage, blocks, subscriptions) is the real chain's, forwarded frame by frame. It
//! counts every submission it sees, so a test proves that nothing was sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use subxt::ext::codec::{Compact, Encode};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// What the proxy changes.
#[derive(Clone, Default)]
pub struct Overrides {
    /// Metadata to serve instead of the runtime's (`RuntimeMetadataPrefixed`, SCALE-encoded).
    pub metadata: Option<Vec<u8>>,
    /// Spec version to report instead of the runtime's.
    pub spec_version: Option<u32>,
    /// Answer every submission with this pool rejection (`Custom error: 255`) instead of
    /// forwarding it.
    pub reject_with: Option<String>,
    /// A header (as `chain_getHeader` returns it) served in place of every new-head
    /// notification (`chain_newHead`): the subscription says this block is best, whatever the
    /// chain has built since; every other request sees the real chain.
    pub pinned_head: Option<Value>,
    /// The genesis hash (`0x…`, the answer to `chain_getBlockHash(0)`) to report instead of the
    /// chain's. Shared by every clone, so a test can change it while the proxy runs: connections
    /// opened afterwards see the new one; `None` reports the chain's own.
    pub genesis: Arc<Mutex<Option<String>>>,
    /// While set, every new connection is closed at once (a node that is down). Shared like
    /// `genesis`.
    pub refuse: Arc<AtomicBool>,
}

pub struct Proxy {
    pub url: String,
    submissions: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: &str, overrides: Overrides) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let submissions = Arc::new(AtomicUsize::new(0));
        let (upstream, counter) = (upstream.to_string(), submissions.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if overrides.refuse.load(Ordering::SeqCst) {
                    continue;
                }
                let (upstream, overrides, counter) = (upstream.clone(), overrides.clone(), counter.clone());
                tokio::spawn(async move {
                    let _ = relay(stream, &upstream, &overrides, &counter).await;
                });
            }
        });
        Proxy { url: format!("ws://{addr}"), submissions, task }
    }

    /// Submissions (`author_submitExtrinsic`, `author_submitAndWatchExtrinsic`) seen so far.
    pub fn submissions(&self) -> usize {
        self.submissions.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    stream: tokio::net::TcpStream,
    upstream: &str,
    overrides: &Overrides,
    submissions: &AtomicUsize,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = tokio_tungstenite::accept_async(stream).await?;
    let (server, _) = tokio_tungstenite::connect_async(upstream).await?;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    let (local_tx, mut local_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // Ids of forwarded `state_call("Core_version")` requests, whose SCALE answers carry the spec version.
    let mut version_calls = std::collections::HashSet::new();
    loop {
        tokio::select! {
            frame = from_client.next() => {
                let Some(Ok(frame)) = frame else { break };
                let Message::Text(text) = frame else {
                    if let Message::Close(_) = frame { break }
                    continue;
                };
                match answer_locally(&text, overrides, submissions) {
                    Some(reply) => local_tx.send(reply)?,
                    None => {
                        if let Some(id) = core_version_id(&text) {
                            version_calls.insert(id);
                        }
                        to_server.send(Message::Text(text)).await?
                    }
                }
            }
            frame = from_server.next() => {
                let Some(Ok(frame)) = frame else { break };
                if let Message::Text(text) = frame {
                    let text = pin_head(rewrite_version(&text, overrides, &mut version_calls), overrides);
                    to_client.send(Message::Text(text.into())).await?;
                }
            }
            Some(reply) = local_rx.recv() => to_client.send(Message::Text(reply.into())).await?,
        }
    }
    Ok(())
}

/// The reply to a request the proxy answers itself, or `None` to forward it.
fn answer_locally(text: &str, overrides: &Overrides, submissions: &AtomicUsize) -> Option<String> {
    let request: Value = serde_json::from_str(text).ok()?;
    let (id, method) = (request.get("id")?.clone(), request.get("method")?.as_str()?);
    let result = |value: Value| Some(json!({ "jsonrpc": "2.0", "id": id, "result": value }).to_string());
    match method {
        "author_submitExtrinsic" | "author_submitAndWatchExtrinsic" => {
            submissions.fetch_add(1, Ordering::SeqCst);
            let data = overrides.reject_with.as_ref()?;
            Some(
                json!({ "jsonrpc": "2.0", "id": id, "error": { "code": 1010, "message": "Invalid Transaction", "data": data } })
                    .to_string(),
            )
        }
        "chain_getBlockHash" if request["params"][0] == json!(0) => result(json!(overrides.genesis.lock().ok()?.clone()?)),
        "state_getMetadata" => result(json!(format!("0x{}", hex::encode(overrides.metadata.as_ref()?)))),
        "state_call" => {
            let metadata = overrides.metadata.as_ref()?;
            // "meta" magic, then the metadata version.
            let version = u32::from(*metadata.get(4)?);
            match request["params"][0].as_str()? {
                "Metadata_metadata_versions" => result(json!(format!("0x{}", hex::encode(vec![version].encode())))),
                "Metadata_metadata_at_version" => {
                    let mut encoded = vec![1u8];
                    Compact(metadata.len() as u32).encode_to(&mut encoded);
                    encoded.extend_from_slice(metadata);
                    result(json!(format!("0x{}", hex::encode(encoded))))
                }
                "Metadata_metadata" => result(json!(format!("0x{}", hex::encode(metadata.encode())))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// With a pinned head: a `chain_newHead` notification carries that header instead.
fn pin_head(text: String, overrides: &Overrides) -> String {
    let Some(head) = &overrides.pinned_head else { return text };
    match serde_json::from_str::<Value>(&text) {
        Ok(mut value) if value["method"] == "chain_newHead" => {
            value["params"]["result"] = head.clone();
            value.to_string()
        }
        _ => text,
    }
}

/// The id of a `state_call("Core_version", ...)` request.
fn core_version_id(text: &str) -> Option<String> {
    let request: Value = serde_json::from_str(text).ok()?;
    (request.get("method")?.as_str()? == "state_call" && request["params"][0].as_str()? == "Core_version")
        .then(|| request["id"].to_string())
}

/// With the spec version overridden: replaces every JSON `specVersion`, and the spec version
/// inside SCALE-encoded `Core_version` answers (two compact-length strings, then
/// `authoring_version: u32`, then `spec_version: u32`).
fn rewrite_version(text: &str, overrides: &Overrides, version_calls: &mut std::collections::HashSet<String>) -> String {
    let Some(spec) = overrides.spec_version else { return text.to_string() };
    let Ok(mut value) = serde_json::from_str::<Value>(text) else { return text.to_string() };
    if version_calls.remove(&value["id"].to_string()) {
        if let Some(bytes) = value["result"].as_str().and_then(|h| hex::decode(h.trim_start_matches("0x")).ok()) {
            value["result"] = json!(format!("0x{}", hex::encode(patch_core_version(bytes, spec))));
        }
        return value.to_string();
    }
    fn walk(value: &mut Value, spec: u32) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if key == "specVersion" {
                        *item = json!(spec);
                    } else {
                        walk(item, spec);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, spec)),
            _ => {}
        }
    }
    walk(&mut value, spec);
    value.to_string()
}

fn patch_core_version(mut bytes: Vec<u8>, spec: u32) -> Vec<u8> {
    use subxt::ext::codec::Decode;
    let mut offset = 0;
    for _ in 0..2 {
        let mut input = &bytes[offset..];
        let Ok(Compact(len)) = <Compact<u32>>::decode(&mut input) else { return bytes };
        offset = bytes.len() - input.len() + len as usize;
    }
    let at = offset + 4;
    if bytes.len() >= at + 4 {
        bytes[at..at + 4].copy_from_slice(&spec.to_le_bytes());
    }
    bytes
}
