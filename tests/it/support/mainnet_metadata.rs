//! The mainnet-path test metadata: a real subtensor runtime's complete metadata (spec 461, a local
//! network's node, from the official SDK's test fixtures: mainnet's transaction-extension list,
//! identifiers and types exactly as spec 475 has them, and `register_limit` natively) with
//! `SubtensorModule.pow_register` added at call index 152 with PROTOCOL.md's argument types.

use std::path::Path;

use scale_info::form::PortableForm;
use scale_info::{Field, TypeDef, Variant};
use subxt::ext::codec::{Decode, Encode};
use subxt::ext::frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use subxt::Metadata;

/// The real metadata, as the node served it (`state_getMetadata`, V14).
pub const SPEC_461_METADATA: &str = "tests/data/metadata/spec461-localnet.v14.scale";
/// The spec version signed for with the derived metadata (mainnet has `pow_register` since 475).
pub const DERIVED_SPEC: u32 = 475;
/// Mainnet's transaction extensions (PROTOCOL.md, spec 475's own metadata), in order.
pub const MAINNET_EXTENSIONS: [&str; 13] = [
    "CheckNonZeroSender",
    "CheckSpecVersion",
    "CheckTxVersion",
    "CheckGenesis",
    "CheckMortality",
    "CheckNonce",
    "CheckWeight",
    "ChargeTransactionPayment",
    "SudoTransactionExtension",
    "CheckShieldedTxValidity",
    "SubtensorTransactionExtension",
    "DrandPriority",
    "CheckMetadataHash",
];

/// The committed spec-461 metadata's bytes.
pub fn spec_461_bytes() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_461_METADATA)).expect("spec-461 metadata is committed")
}

/// The derived metadata's SCALE bytes (`RuntimeMetadataPrefixed`), as a node would serve them.
pub fn derived_bytes() -> Vec<u8> {
    with_pow_register(&spec_461_bytes())
}

/// The derived metadata, decoded.
pub fn derived() -> Metadata {
    Metadata::decode_from(&derived_bytes()[..]).expect("derived metadata decodes")
}

/// Adds `pow_register(netuid: NetUid, work_block: u64, nonce: u64, work: [u8; 32], hotkey:
/// AccountId32)` at call index 152: `netuid` and `hotkey` with `burned_register`'s own types
/// (`NetUid`, `AccountId32`), the rest with the registry's `u64` and `[u8; 32]`.
pub fn with_pow_register(original: &[u8]) -> Vec<u8> {
    let prefixed = RuntimeMetadataPrefixed::decode(&mut &original[..]).expect("metadata");
    let RuntimeMetadata::V14(mut metadata) = prefixed.1 else { panic!("expected V14 metadata") };
    let types = &mut metadata.types.types;
    assert!(types.iter().enumerate().all(|(i, t)| t.id == i as u32), "type ids are contiguous");
    let find =
        |pred: &dyn Fn(&TypeDef<PortableForm>) -> bool| types.iter().find(|t| pred(&t.ty.type_def)).map(|t| t.id).expect("type present");
    let u8_id = find(&|t| matches!(t, TypeDef::Primitive(scale_info::TypeDefPrimitive::U8)));
    let u64_id = find(&|t| matches!(t, TypeDef::Primitive(scale_info::TypeDefPrimitive::U64)));
    let bytes32_id = find(&|t| matches!(t, TypeDef::Array(a) if a.len == 32 && a.type_param.id == u8_id));

    let pallet = metadata.pallets.iter().find(|p| p.name == "SubtensorModule").expect("SubtensorModule");
    let call_ty = pallet.calls.as_ref().expect("calls").ty.id as usize;
    let TypeDef::Variant(calls) = &mut types[call_ty].ty.type_def else { panic!("call enum") };
    let burned = calls.variants.iter().find(|v| v.name == "burned_register").expect("burned_register").clone();
    assert!(calls.variants.iter().all(|v| v.index != 152 && v.name != "pow_register"), "index 152 is free");
    let field = |name: &str, ty: u32, type_name: &str| Field::<PortableForm> {
        name: Some(name.into()),
        ty: ty.into(),
        type_name: Some(type_name.into()),
        docs: vec![],
    };
    calls.variants.push(Variant {
        name: "pow_register".into(),
        fields: vec![
            field("netuid", burned.fields[0].ty.id, "NetUid"),
            field("work_block", u64_id, "u64"),
            field("nonce", u64_id, "u64"),
            field("work", bytes32_id, "[u8; 32]"),
            field("hotkey", burned.fields[1].ty.id, "T::AccountId"),
        ],
        index: 152,
        docs: vec!["Proof-of-work registration signed by the coldkey (added for tests).".into()],
    });
    RuntimeMetadataPrefixed(prefixed.0, RuntimeMetadata::V14(metadata)).encode()
}
