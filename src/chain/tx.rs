//! Registration extrinsics: the call checked against the connected runtime's metadata, signed
//! from the metadata's own extension list (mortal era, chain nonce, tip 0), submitted and
//! watched to an [`Outcome`]; offline signing and a decoder for `--dry-run`.

use std::time::Duration;

use scale_info::form::PortableForm;
use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};
use subxt::client::{ClientAtBlock, OfflineClientAtBlockT, OnlineClientAtBlockT};
use subxt::dynamic::Value;
use subxt::error::{BackendError, DispatchError, ExtrinsicError, RpcError, TransactionEventsError};
use subxt::ext::codec::Decode;
use subxt::ext::frame_decode::extrinsics::decode_extrinsic;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::ext::scale_value::{self, Composite, Primitive, ValueDef};
use subxt::transactions::{DynamicPayload, TransactionInBlock, TransactionProgress, TransactionStatus};
use subxt::utils::{Era, H256};
use subxt::{Metadata, OfflineClient, OnlineClient};

use crate::chain::config::{transaction_params, Mortality, OfflineRuntime, SubtensorConfig};
use crate::chain::network::hex_0x;
use crate::chain::outcome::{Outcome, Rejection};
use crate::chain::signer::SignerRole;
use crate::pow::ss58::encode_ss58;
use crate::pow::{AccountId, Scheme, Seal};
use crate::wallet::keypair::Keypair;

/// The pallet every registration call lives in.
pub const PALLET: &str = "SubtensorModule";
/// The last spec version whose `register` is the proof-of-work registration (docs/protocol.md);
/// later ones burn TAO for it.
pub const LEGACY_REGISTER_MAX_SPEC_VERSION: u32 = 393;
/// The era period regsolver signs with, in blocks.
pub const MORTAL_PERIOD_BLOCKS: u64 = 64;

/// Errors building, signing, submitting or watching a registration extrinsic.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error("this runtime has no {PALLET}.{call}: it does not offer the {scheme} registration")]
    CallMissing { call: &'static str, scheme: &'static str },
    #[error("{PALLET}.{call} in this runtime does not take ({expected}): it has ({found}); refusing to guess its encoding")]
    CallShape { call: &'static str, expected: String, found: String },
    #[error("this runtime has {PALLET}.pow_register, so its register is the burn registration (it spends TAO): regsolver never sends it")]
    RegisterIsBurn,
    #[error("spec version {spec_version} is past {LEGACY_REGISTER_MAX_SPEC_VERSION}: its register is the burn registration (it spends TAO): regsolver never sends it")]
    RegisterIsBurnEra { spec_version: u32 },
    #[error("the {role} must sign {scheme}, but the key given is account {given}, not {expected}")]
    WrongSigner { role: &'static str, scheme: &'static str, expected: String, given: String },
    #[error("cannot build the extrinsic: {0}")]
    Build(#[from] ExtrinsicError),
    #[error("cannot set up signing for this runtime: {0}")]
    Runtime(String),
    #[error("cannot submit the extrinsic: {0}")]
    Submit(String),
    #[error("the node reported an error for the extrinsic: {0}")]
    Node(String),
    #[error("lost the extrinsic's status stream: {0}")]
    Watch(String),
    #[error("no final status for the extrinsic within {waited_s} s")]
    WatchTimeout { waited_s: u64 },
    #[error("cannot read the events of the block that included the extrinsic: {0}")]
    Events(String),
    #[error("not a registration extrinsic this runtime can decode: {0}")]
    Decode(String),
}

/// A registration (or faucet) proof ready to be put on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub scheme: Scheme,
    /// Ignored by `faucet`.
    pub netuid: u16,
    /// The block whose hash the seal commits to.
    pub work_block: u64,
    pub nonce: u64,
    pub seal: Seal,
    /// Ignored by `faucet`.
    pub hotkey: AccountId,
    pub coldkey: AccountId,
}

/// What a call argument must be, after single-field wrappers (`NetUid`, `AccountId32`) are peeled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgKind {
    U16,
    U64,
    Bytes32,
    ByteVec,
}

impl ArgKind {
    fn name(self) -> &'static str {
        match self {
            ArgKind::U16 => "u16",
            ArgKind::U64 => "u64",
            ArgKind::Bytes32 => "[u8; 32]",
            ArgKind::ByteVec => "Vec<u8>",
        }
    }
}

impl Registration {
    /// The call's name in the metadata.
    pub fn call_name(&self) -> &'static str {
        match self.scheme {
            Scheme::PowRegister => "pow_register",
            Scheme::Legacy => "register",
            Scheme::Faucet => "faucet",
        }
    }

    /// Which key signs it.
    pub fn signer_role(&self) -> SignerRole {
        SignerRole::of(self.scheme)
    }

    /// The account that must sign it.
    pub fn signer_account(&self) -> AccountId {
        match self.signer_role() {
            SignerRole::Hotkey => self.hotkey,
            SignerRole::Coldkey => self.coldkey,
        }
    }

    fn arguments(&self) -> Vec<(&'static str, ArgKind, Value)> {
        let bytes = |b: &[u8; 32]| Value::from_bytes(b);
        match self.scheme {
            Scheme::PowRegister => vec![
                ("netuid", ArgKind::U16, Value::u128(self.netuid.into())),
                ("work_block", ArgKind::U64, Value::u128(self.work_block.into())),
                ("nonce", ArgKind::U64, Value::u128(self.nonce.into())),
                ("work", ArgKind::Bytes32, bytes(&self.seal)),
                ("hotkey", ArgKind::Bytes32, bytes(&self.hotkey)),
            ],
            // `work` is a Vec<u8> here; the seal type makes it exactly 32 bytes (a shorter one
            // makes the runtime panic at dispatch).
            Scheme::Legacy => vec![
                ("netuid", ArgKind::U16, Value::u128(self.netuid.into())),
                ("block_number", ArgKind::U64, Value::u128(self.work_block.into())),
                ("nonce", ArgKind::U64, Value::u128(self.nonce.into())),
                ("work", ArgKind::ByteVec, bytes(&self.seal)),
                ("hotkey", ArgKind::Bytes32, bytes(&self.hotkey)),
                ("coldkey", ArgKind::Bytes32, bytes(&self.coldkey)),
            ],
            Scheme::Faucet => vec![
                ("block_number", ArgKind::U64, Value::u128(self.work_block.into())),
                ("nonce", ArgKind::U64, Value::u128(self.nonce.into())),
                ("work", ArgKind::ByteVec, bytes(&self.seal)),
            ],
        }
    }

    /// The dynamic call, after checking that `metadata` has it with exactly these argument names
    /// and types. Refuses `register` wherever `pow_register` exists (there it burns TAO).
    pub fn call(&self, metadata: &Metadata) -> Result<DynamicPayload<Composite<()>>, TxError> {
        let call = self.call_name();
        let pallet = metadata.pallet_by_name(PALLET);
        let variant = |name: &str| pallet.as_ref().and_then(|p| p.call_variant_by_name(name));
        if self.scheme == Scheme::Legacy && variant("pow_register").is_some() {
            return Err(TxError::RegisterIsBurn);
        }
        checked_call(metadata, call, self.scheme.name(), self.arguments())
    }

    fn check_signer(&self, signer: &Keypair) -> Result<(), TxError> {
        check_signer(signer, self.signer_account(), self.signer_role(), self.call_name())
    }
}

/// `PALLET.call(arguments)`, after checking that `metadata` has the call with exactly these
/// argument names and kinds (`scheme` names what is missing where the call is not there).
pub(crate) fn checked_call(
    metadata: &Metadata,
    call: &'static str,
    scheme: &'static str,
    arguments: Vec<(&'static str, ArgKind, Value)>,
) -> Result<DynamicPayload<Composite<()>>, TxError> {
    let found = metadata.pallet_by_name(PALLET).and_then(|p| p.call_variant_by_name(call)).ok_or(TxError::CallMissing { call, scheme })?;
    let types = metadata.types();
    let matches = found.fields.len() == arguments.len()
        && found
            .fields
            .iter()
            .zip(&arguments)
            .all(|(field, (name, kind, _))| field.name.as_deref() == Some(*name) && kind_of(types, field.ty.id) == Some(*kind));
    if !matches {
        let expected = arguments.iter().map(|(n, k, _)| format!("{n}: {}", k.name())).collect::<Vec<_>>();
        let found =
            found.fields.iter().map(|f| format!("{}: {}", f.name.as_deref().unwrap_or("_"), type_name(types, f.ty.id))).collect::<Vec<_>>();
        return Err(TxError::CallShape { call, expected: expected.join(", "), found: found.join(", ") });
    }
    let values = arguments.into_iter().map(|(name, _, value)| (name.to_string(), value));
    Ok(subxt::dynamic::tx(PALLET, call, Composite::named(values)))
}

/// `signer` must be `expected`, the `role` key that signs `call`.
pub(crate) fn check_signer(signer: &Keypair, expected: AccountId, role: SignerRole, call: &'static str) -> Result<(), TxError> {
    if signer.public() == expected {
        return Ok(());
    }
    Err(TxError::WrongSigner { role: role.name(), scheme: call, expected: encode_ss58(&expected), given: encode_ss58(&signer.public()) })
}

/// The argument kind `id` encodes as, looking through single-field wrappers.
fn kind_of(types: &PortableRegistry, id: u32) -> Option<ArgKind> {
    let is_u8 = |id: u32| matches!(peel(types, id), Some(TypeDef::Primitive(TypeDefPrimitive::U8)));
    match peel(types, id)? {
        TypeDef::Primitive(TypeDefPrimitive::U16) => Some(ArgKind::U16),
        TypeDef::Primitive(TypeDefPrimitive::U64) => Some(ArgKind::U64),
        TypeDef::Array(array) if array.len == 32 && is_u8(array.type_param.id) => Some(ArgKind::Bytes32),
        TypeDef::Sequence(seq) if is_u8(seq.type_param.id) => Some(ArgKind::ByteVec),
        _ => None,
    }
}

/// The type behind any single-field composites or tuples wrapping it.
fn peel(types: &PortableRegistry, mut id: u32) -> Option<&TypeDef<PortableForm>> {
    // Bounded: a malformed registry could wrap a type in itself.
    for _ in 0..16 {
        let ty = types.resolve(id)?;
        match &ty.type_def {
            TypeDef::Composite(c) if c.fields.len() == 1 => id = c.fields[0].ty.id,
            TypeDef::Tuple(t) if t.fields.len() == 1 => id = t.fields[0].id,
            def => return Some(def),
        }
    }
    None
}

fn type_name(types: &PortableRegistry, id: u32) -> String {
    match (kind_of(types, id), types.resolve(id)) {
        (Some(kind), _) => kind.name().to_string(),
        (None, Some(ty)) if !ty.path.segments.is_empty() => ty.path.segments.join("::"),
        (None, Some(ty)) => format!("{:?}", ty.type_def).chars().take(60).collect(),
        (None, None) => format!("unknown type #{id}"),
    }
}

/// An extrinsic regsolver signs: a PoW [`Registration`] or a burn registration
/// ([`crate::chain::burn::BurnRegistration`]). Submissions are watched for the hotkey it registers.
pub trait Signable {
    /// The call, checked against the runtime (its metadata and spec version) and the signer.
    fn payload(&self, metadata: &Metadata, spec_version: u32, signer: &Keypair) -> Result<DynamicPayload<Composite<()>>, TxError>;
    /// The subnet and hotkey whose `NeuronRegistered` event says it registered.
    fn registers(&self) -> (u16, AccountId);
}

impl Signable for Registration {
    /// Refuses legacy `register` past spec 393 (there it burns TAO) and a signer the scheme does not take.
    fn payload(&self, metadata: &Metadata, spec_version: u32, signer: &Keypair) -> Result<DynamicPayload<Composite<()>>, TxError> {
        let call = self.call(metadata)?;
        if self.scheme == Scheme::Legacy && spec_version > LEGACY_REGISTER_MAX_SPEC_VERSION {
            return Err(TxError::RegisterIsBurnEra { spec_version });
        }
        self.check_signer(signer)?;
        Ok(call)
    }

    fn registers(&self) -> (u16, AccountId) {
        (self.netuid, self.hotkey)
    }
}

/// Signs `signable` with `signer` at a client's block: the call checked against its metadata,
/// the extensions its metadata lists, `account_nonce` and `mortality`, tip 0. Returns the
/// extrinsic's SCALE bytes (with their length prefix), ready to submit.
pub fn sign_at<C: OfflineClientAtBlockT<SubtensorConfig>, S: Signable>(
    at: &ClientAtBlock<SubtensorConfig, C>,
    signable: &S,
    signer: &Keypair,
    account_nonce: u64,
    mortality: Mortality,
) -> Result<Vec<u8>, TxError> {
    let call = signable.payload(at.metadata_ref(), at.spec_version(), signer)?;
    let mut signable = at.tx().create_signable_offline(&call, transaction_params(account_nonce, mortality))?;
    Ok(signable.sign(signer)?.into_encoded())
}

/// Offline signing (`--dry-run`, tests): the same bytes [`submit`] would send, given the runtime,
/// the signer's account nonce and the era's birth block.
pub fn encode_signed<S: Signable>(
    runtime: &OfflineRuntime,
    registration: &S,
    signer: &Keypair,
    account_nonce: u64,
    mortality: Mortality,
) -> Result<Vec<u8>, TxError> {
    let client = OfflineClient::new_with_config(SubtensorConfig::offline(runtime));
    let at = client.at_block(mortality.birth_number).map_err(|e| TxError::Runtime(e.to_string()))?;
    sign_at(&at, registration, signer, account_nonce, mortality)
}

/// A signed registration, not yet submitted.
#[derive(Clone, Debug)]
pub struct SignedRegistration {
    /// SCALE bytes with their length prefix, as `author_submitExtrinsic` takes them.
    pub bytes: Vec<u8>,
    /// blake2-256 of `bytes`: what the node calls the extrinsic hash.
    pub extrinsic_hash: [u8; 32],
    pub account_nonce: u64,
    pub mortality: Mortality,
}

/// Signs `registration` against the chain: the runtime, the signer's account nonce and the era's
/// birth are all read at block `best_hash`, which should be the current best block (the nonce
/// must count the signer's latest included extrinsic, or the pool answers `Stale`).
pub async fn sign<S: Signable>(
    client: &OnlineClient<SubtensorConfig>,
    best_hash: [u8; 32],
    registration: &S,
    signer: &Keypair,
) -> Result<SignedRegistration, TxError> {
    let at = client.at_block(H256(best_hash)).await.map_err(|e| TxError::Runtime(e.to_string()))?;
    let signer_account = subxt::utils::AccountId32(signer.public());
    let account_nonce = at.tx().account_nonce(&signer_account).await?;
    let mortality = Mortality { birth_number: at.block_number(), birth_hash: best_hash, period_blocks: MORTAL_PERIOD_BLOCKS };
    let bytes = sign_at(&at, registration, signer, account_nonce, mortality)?;
    let extrinsic_hash = blake2_256(&bytes);
    Ok(SignedRegistration { bytes, extrinsic_hash, account_nonce, mortality })
}

/// Submits a signed registration and watches it until it is in a block, refused or dropped, for
/// at most `deadline`. A pool rejection is an [`Outcome`], not an error; errors are about the
/// connection.
pub async fn submit_signed<S: Signable>(
    client: &OnlineClient<SubtensorConfig>,
    signed: &SignedRegistration,
    registration: &S,
    deadline: Duration,
) -> Result<Outcome, TxError> {
    let at = client.at_block(H256(signed.mortality.birth_hash)).await.map_err(|e| TxError::Runtime(e.to_string()))?;
    let mut progress = match at.tx().from_bytes(signed.bytes.clone()).submit_and_watch().await {
        Ok(progress) => progress,
        Err(ExtrinsicError::ErrorSubmittingTransaction(error)) => {
            return match pool_rejection(&error) {
                Some(rejection) => Ok(Outcome::PoolRejected(rejection)),
                None => Err(TxError::Submit(error.to_string())),
            };
        }
        Err(other) => return Err(TxError::Submit(other.to_string())),
    };
    tokio::time::timeout(deadline, watch(&mut progress, registration.registers()))
        .await
        .map_err(|_| TxError::WatchTimeout { waited_s: deadline.as_secs() })?
}

/// [`sign`] then [`submit_signed`].
pub async fn submit<S: Signable>(
    client: &OnlineClient<SubtensorConfig>,
    best_hash: [u8; 32],
    registration: &S,
    signer: &Keypair,
    deadline: Duration,
) -> Result<(SignedRegistration, Outcome), TxError> {
    let signed = sign(client, best_hash, registration, signer).await?;
    let outcome = submit_signed(client, &signed, registration, deadline).await?;
    Ok((signed, outcome))
}

/// The pool's refusal inside a submission error: JSON-RPC codes 1010 (invalid) to 1016
/// (substrate's pool errors; chopsticks uses 1010 and 1011).
fn pool_rejection(error: &BackendError) -> Option<Rejection> {
    let BackendError::Rpc(RpcError::ClientError(subxt::rpcs::Error::User(user))) = error else {
        return None;
    };
    let data = user.data.as_ref().map(|d| d.get().trim_matches('"').to_string());
    crate::chain::outcome::rejection_from_rpc(user.code, &user.message, data.as_deref())
}

async fn watch<C: OnlineClientAtBlockT<SubtensorConfig>>(
    progress: &mut TransactionProgress<SubtensorConfig, C>,
    registers: (u16, AccountId),
) -> Result<Outcome, TxError> {
    while let Some(status) = progress.next().await {
        match status.map_err(|e| TxError::Watch(e.to_string()))? {
            TransactionStatus::InBestBlock(in_block) | TransactionStatus::InFinalizedBlock(in_block) => {
                return included(&in_block, registers).await;
            }
            TransactionStatus::Invalid { message } => return Ok(Outcome::Invalid(message)),
            TransactionStatus::Dropped { message } => return Ok(Outcome::Dropped(message)),
            TransactionStatus::Error { message } => return Err(TxError::Node(message)),
            TransactionStatus::Validated | TransactionStatus::Broadcasted | TransactionStatus::NoLongerInBestBlock => {}
        }
    }
    Err(TxError::Watch("the node ended the status stream without a final status".into()))
}

/// `SubtensorModule.NeuronRegistered(netuid, uid, hotkey)`.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct NeuronRegistered(u16, u16, [u8; 32]);

async fn included<C: OnlineClientAtBlockT<SubtensorConfig>>(
    in_block: &TransactionInBlock<SubtensorConfig, C>,
    (netuid_registered, hotkey_registered): (u16, AccountId),
) -> Result<Outcome, TxError> {
    let block_hash = in_block.block_hash().0;
    let block_number = in_block.at().await.map_err(|e| TxError::Events(e.to_string()))?.block_number();
    let events = match in_block.wait_for_success().await {
        Ok(events) => events,
        Err(TransactionEventsError::ExtrinsicFailed(error)) => {
            let (pallet, error) = dispatch_error_name(&error);
            return Ok(Outcome::DispatchFailed { block_hash, block_number, pallet, error });
        }
        Err(other) => return Err(TxError::Events(other.to_string())),
    };
    let mut uid = None;
    for event in events.iter() {
        let event = event.map_err(|e| TxError::Events(e.to_string()))?;
        if event.pallet_name() == PALLET && event.event_name() == "NeuronRegistered" {
            let NeuronRegistered(netuid, event_uid, hotkey) =
                event.decode_fields_unchecked_as().map_err(|e| TxError::Events(e.to_string()))?;
            if netuid == netuid_registered && hotkey == hotkey_registered {
                uid = Some(event_uid);
            }
        }
    }
    Ok(Outcome::Registered { block_hash, block_number, uid })
}

/// The pallet and error name of a dispatch error (a module error through the metadata).
fn dispatch_error_name(error: &DispatchError) -> (String, String) {
    match error {
        DispatchError::Module(module) => match module.details() {
            Ok(details) => (details.pallet.name().to_string(), details.variant.name.clone()),
            Err(_) => ("unknown pallet".to_string(), module.details_string()),
        },
        other => ("Runtime".to_string(), format!("{other:?}")),
    }
}

fn blake2_256(bytes: &[u8]) -> [u8; 32] {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    Blake2b::<U32>::digest(bytes).into()
}

/// Decodes extrinsic bytes (with their length prefix) through `metadata`, for `--dry-run`: the
/// call and every argument, the signer, the signature, every transaction extension, and the
/// era, nonce and tip read out of them.
pub fn describe_extrinsic(metadata: &Metadata, bytes: &[u8]) -> Result<serde_json::Value, TxError> {
    let types = metadata.types();
    let decoded = decode_extrinsic(&mut &bytes[..], metadata, types).map_err(|e| TxError::Decode(e.to_string()))?;
    let value_at = |range: std::ops::Range<usize>, ty: u32| -> Result<serde_json::Value, TxError> {
        let value = scale_value::scale::decode_as_type(&mut &bytes[range], ty, types).map_err(|e| TxError::Decode(e.to_string()))?;
        Ok(value_json(&value))
    };
    let mut arguments = serde_json::Map::new();
    for arg in decoded.call_data() {
        arguments.insert(arg.name().to_string(), value_at(arg.range(), *arg.ty())?);
    }
    let mut out = serde_json::json!({
        "extrinsic_hash": hex_0x(&blake2_256(bytes)),
        "length_bytes": bytes.len(),
        "version": decoded.version(),
        "call": format!("{}.{}", decoded.pallet_name(), decoded.call_name()),
        "arguments": arguments,
    });
    if let Some(signature) = decoded.signature_payload() {
        let address = &bytes[signature.address_range()];
        // MultiAddress::Id: variant 0 then the 32-byte account.
        if let Some(account) = address.strip_prefix(&[0u8]).and_then(|a| <[u8; 32]>::try_from(a).ok()) {
            out["signer"] = serde_json::json!({ "account": hex_0x(&account), "ss58": encode_ss58(&account) });
        } else {
            out["signer"] = value_at(signature.address_range(), *signature.address_type())?;
        }
        out["signature"] = value_at(signature.signature_range(), *signature.signature_type())?;
    }
    if let Some(extensions) = decoded.transaction_extension_payload() {
        let mut all = serde_json::Map::new();
        for extension in extensions.iter() {
            let raw = &bytes[extension.range()];
            all.insert(extension.name().to_string(), value_at(extension.range(), *extension.ty())?);
            match extension.name() {
                "CheckMortality" => out["era"] = era_json(raw)?,
                "CheckNonce" => out["nonce"] = compact_json(raw)?,
                "ChargeTransactionPayment" => out["tip"] = compact_json(raw)?,
                _ => {}
            }
        }
        out["extensions"] = serde_json::Value::Object(all);
    }
    Ok(out)
}

fn era_json(mut raw: &[u8]) -> Result<serde_json::Value, TxError> {
    match Era::decode(&mut raw).map_err(|e| TxError::Decode(format!("era: {e}")))? {
        Era::Immortal => Ok(serde_json::json!("immortal")),
        Era::Mortal { period, phase } => Ok(serde_json::json!({ "period_blocks": period, "phase": phase })),
    }
}

fn compact_json(mut raw: &[u8]) -> Result<serde_json::Value, TxError> {
    let value = subxt::ext::codec::Compact::<u128>::decode(&mut raw).map_err(|e| TxError::Decode(e.to_string()))?;
    Ok(serde_json::json!(value.0))
}

/// JSON for a decoded value: byte strings as 0x-hex, numbers as numbers (or strings beyond u64).
fn value_json<T>(value: &Value<T>) -> serde_json::Value {
    match &value.value {
        ValueDef::Composite(composite) => composite_json(composite),
        ValueDef::Variant(variant) => {
            let inner = composite_json(&variant.values);
            match inner {
                serde_json::Value::Null => serde_json::json!(variant.name),
                inner => serde_json::json!({ variant.name.clone(): inner }),
            }
        }
        ValueDef::Primitive(Primitive::U128(n)) => u64::try_from(*n).map_or_else(|_| n.to_string().into(), Into::into),
        ValueDef::Primitive(Primitive::I128(n)) => i64::try_from(*n).map_or_else(|_| n.to_string().into(), Into::into),
        ValueDef::Primitive(Primitive::Bool(b)) => (*b).into(),
        ValueDef::Primitive(Primitive::Char(c)) => c.to_string().into(),
        ValueDef::Primitive(Primitive::String(s)) => s.clone().into(),
        ValueDef::Primitive(other) => format!("{other:?}").into(),
        ValueDef::BitSequence(bits) => format!("{bits:?}").into(),
    }
}

fn composite_json<T>(composite: &Composite<T>) -> serde_json::Value {
    let bytes: Option<Vec<u8>> = composite
        .values()
        .map(|v| match v.value {
            ValueDef::Primitive(Primitive::U128(n)) => u8::try_from(n).ok(),
            _ => None,
        })
        .collect();
    match (composite, bytes) {
        (Composite::Unnamed(values), _) if values.is_empty() => serde_json::Value::Null,
        (Composite::Named(fields), _) if fields.is_empty() => serde_json::Value::Null,
        // A single wrapped value (AccountId32, NetUid, ...) reads as the value.
        (Composite::Unnamed(values), _) if values.len() == 1 => value_json(&values[0]),
        (Composite::Unnamed(_), Some(bytes)) if bytes.len() > 1 => hex_0x(&bytes).into(),
        (Composite::Unnamed(values), _) => values.iter().map(value_json).collect::<Vec<_>>().into(),
        (Composite::Named(fields), _) => {
            fields.iter().map(|(name, v)| (name.clone(), value_json(v))).collect::<serde_json::Map<_, _>>().into()
        }
    }
}
