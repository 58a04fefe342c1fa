//! Which chain to talk to ([`Network`]) and how ([`Endpoint`]): the bundled light client for
//! finney and test, RPC for `local`, URLs and `--chain-endpoint`; the embedded chain specs.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

/// The local node's usual RPC address (`--network local`).
pub const LOCAL_RPC_URL: &str = "ws://127.0.0.1:9944";

/// Finney (mainnet) genesis hash, docs/protocol.md / chainspecs/SPECS.md.
pub const FINNEY_GENESIS: [u8; 32] = hex32("2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03");
/// Test network genesis hash, chainspecs/SPECS.md.
pub const TEST_GENESIS: [u8; 32] = hex32("8f9cf856bf558a14440e75569c9e58594757048d7b3a84b5d25f6bd978263105");

/// The network named on the command line (`--network`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Finney,
    Test,
    Local,
    /// A `ws://` or `wss://` RPC URL.
    Url(String),
}

/// A `--network` value that is neither a known name nor a WebSocket URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: use finney, test, local or a ws:// / wss:// URL")]
pub struct NetworkParseError(pub String);

impl FromStr for Network {
    type Err = NetworkParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "finney" => Ok(Network::Finney),
            "test" => Ok(Network::Test),
            "local" => Ok(Network::Local),
            url if is_ws_url(url) => Ok(Network::Url(url.to_string())),
            other => Err(NetworkParseError(other.to_string())),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::Finney => f.write_str("finney"),
            Network::Test => f.write_str("test"),
            Network::Local => f.write_str("local"),
            Network::Url(url) => f.write_str(url),
        }
    }
}

impl Network {
    /// The genesis hash a named network must report; `None` for `local` and URLs.
    pub fn expected_genesis(&self) -> Option<[u8; 32]> {
        match self {
            Network::Finney => Some(FINNEY_GENESIS),
            Network::Test => Some(TEST_GENESIS),
            Network::Local | Network::Url(_) => None,
        }
    }

    /// Where to connect: `chain_endpoint` (`--chain-endpoint`) forces RPC; otherwise finney and
    /// test use the bundled light client, `local` the local node, a URL itself.
    pub fn endpoint(&self, chain_endpoint: Option<&str>) -> Result<Endpoint, NetworkParseError> {
        if let Some(url) = chain_endpoint {
            let url = url.trim();
            return if is_ws_url(url) { Ok(Endpoint::Rpc(url.to_string())) } else { Err(NetworkParseError(url.to_string())) };
        }
        Ok(match self {
            Network::Finney => Endpoint::LightClient(BundledSpec::Finney),
            Network::Test => Endpoint::LightClient(BundledSpec::Test),
            Network::Local => Endpoint::Rpc(LOCAL_RPC_URL.to_string()),
            Network::Url(url) => Endpoint::Rpc(url.clone()),
        })
    }
}

fn is_ws_url(s: &str) -> bool {
    ["ws://", "wss://"].iter().any(|scheme| s.len() > scheme.len() && s.starts_with(scheme))
}

/// How regsolver reaches the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The bundled smoldot light client with an embedded chain spec.
    LightClient(BundledSpec),
    /// A JSON-RPC node over WebSocket.
    Rpc(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::LightClient(spec) => write!(f, "light client ({})", spec.name()),
            Endpoint::Rpc(url) => f.write_str(url),
        }
    }
}

/// The chain specs embedded in the binary (zstd -19, decompressed only when used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BundledSpec {
    Finney,
    Test,
}

/// An embedded chain spec that does not decompress (a broken build).
#[derive(Debug, thiserror::Error)]
#[error("the bundled {name} chain spec does not decompress: {reason}")]
pub struct SpecError {
    pub name: &'static str,
    pub reason: String,
}

impl BundledSpec {
    pub const ALL: [BundledSpec; 2] = [BundledSpec::Finney, BundledSpec::Test];

    /// The network name (`finney`, `test`).
    pub fn name(self) -> &'static str {
        match self {
            BundledSpec::Finney => "finney",
            BundledSpec::Test => "test",
        }
    }

    /// The genesis hash the spec describes.
    pub fn genesis_hash(self) -> [u8; 32] {
        match self {
            BundledSpec::Finney => FINNEY_GENESIS,
            BundledSpec::Test => TEST_GENESIS,
        }
    }

    fn compressed(self) -> &'static [u8] {
        match self {
            BundledSpec::Finney => include_bytes!("specs/finney.json.zst"),
            BundledSpec::Test => include_bytes!("specs/testfinney.json.zst"),
        }
    }

    /// The chain spec JSON, decompressed now.
    pub fn json(self) -> Result<String, SpecError> {
        let fail = |reason: String| SpecError { name: self.name(), reason };
        let mut compressed = self.compressed();
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut compressed).map_err(|e| fail(e.to_string()))?;
        let mut json = String::new();
        decoder.read_to_string(&mut json).map_err(|e| fail(e.to_string()))?;
        Ok(json)
    }
}

/// The name of the chain with this genesis: `finney`, `test`, or `custom` for any other (a local
/// or private chain), as the `connected` event shows it.
pub fn chain_name(genesis: &[u8; 32]) -> &'static str {
    match BundledSpec::ALL.iter().find(|spec| spec.genesis_hash() == *genesis) {
        Some(spec) => spec.name(),
        None => "custom",
    }
}

/// `0x`-prefixed lowercase hex (a hash, an extrinsic, an account), as the node's RPCs write it.
pub fn hex_0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let bytes = s.as_bytes();
    assert!(bytes.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_urls() {
        assert_eq!("finney".parse(), Ok(Network::Finney));
        assert_eq!("test".parse(), Ok(Network::Test));
        assert_eq!("local".parse(), Ok(Network::Local));
        assert_eq!("wss://x.example:443".parse(), Ok(Network::Url("wss://x.example:443".into())));
        assert_eq!("ws://127.0.0.1:9944".parse(), Ok(Network::Url("ws://127.0.0.1:9944".into())));
        for bad in ["", "mainnet", "http://127.0.0.1:9944", "ws://", "Finney"] {
            assert!(bad.parse::<Network>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn named_networks_default_to_the_light_client() {
        assert_eq!(Network::Finney.endpoint(None), Ok(Endpoint::LightClient(BundledSpec::Finney)));
        assert_eq!(Network::Test.endpoint(None), Ok(Endpoint::LightClient(BundledSpec::Test)));
        assert_eq!(Network::Local.endpoint(None), Ok(Endpoint::Rpc(LOCAL_RPC_URL.into())));
        assert_eq!(Network::Url("ws://h:1".into()).endpoint(None), Ok(Endpoint::Rpc("ws://h:1".into())));
    }

    #[test]
    fn chain_endpoint_forces_rpc_and_keeps_the_genesis_check() {
        let endpoint = Network::Finney.endpoint(Some("wss://rpc.example:443"));
        assert_eq!(endpoint, Ok(Endpoint::Rpc("wss://rpc.example:443".into())));
        assert_eq!(Network::Finney.expected_genesis(), Some(FINNEY_GENESIS));
        assert!(Network::Test.endpoint(Some("rpc.example")).is_err());
        assert_eq!(Network::Local.expected_genesis(), None);
    }

    #[test]
    fn chains_are_named_by_their_genesis() {
        assert_eq!(chain_name(&FINNEY_GENESIS), "finney");
        assert_eq!(chain_name(&TEST_GENESIS), "test");
        assert_eq!(chain_name(&[7; 32]), "custom");
    }

    #[test]
    fn genesis_constants_match_their_hex() {
        assert_eq!(hex_0x(&FINNEY_GENESIS), "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03");
        assert_eq!(hex_0x(&TEST_GENESIS), "0x8f9cf856bf558a14440e75569c9e58594757048d7b3a84b5d25f6bd978263105");
    }
}
