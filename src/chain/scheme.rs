//! What the connected runtime offers ([`RuntimeInfo`], read from its metadata and version) and
//! the registration scheme regsolver uses there ([`choose_scheme`], docs/protocol.md "Choosing the scheme").

use crate::pow::{ByteOrder, Scheme};
use crate::settings::Key;
use subxt::Metadata;

/// The pallet every registration call and storage item lives in.
pub const PALLET: &str = "SubtensorModule";

/// Last spec_version whose `register` still checks a proof of work (397 and later burn TAO).
pub const LAST_POW_REGISTER_SPEC: u32 = 393;
/// Last spec_version of the big-endian difficulty era.
pub const LAST_BIG_ENDIAN_SPEC: u32 = 277;
/// First spec_version of the little-endian difficulty era (278..=282 never reached main).
pub const FIRST_LITTLE_ENDIAN_SPEC: u32 = 283;

/// The runtime at one block: version and the registration features its metadata has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub spec_version: u32,
    pub transaction_version: u32,
    /// `SubtensorModule.pow_register` exists (scheme A).
    pub has_pow_register: bool,
    /// `SubtensorModule.register` exists (legacy PoW up to spec 393, a burn afterwards).
    pub has_register: bool,
    /// `SubtensorModule.faucet` exists (local `pow-faucet` builds).
    pub has_faucet: bool,
    /// `SubtensorModule.Difficulty` storage exists.
    pub has_difficulty: bool,
}

impl RuntimeInfo {
    /// Reads the features from `metadata`; the versions come from the runtime itself.
    pub fn from_metadata(metadata: &Metadata, spec_version: u32, transaction_version: u32) -> Self {
        let pallet = metadata.pallet_by_name(PALLET);
        let has_call = |name: &str| pallet.as_ref().and_then(|p| p.call_variant_by_name(name)).is_some();
        let has_difficulty = pallet.as_ref().and_then(|p| p.storage()).and_then(|s| s.entry_by_name("Difficulty")).is_some();
        RuntimeInfo {
            spec_version,
            transaction_version,
            has_pow_register: has_call("pow_register"),
            has_register: has_call("register"),
            has_faucet: has_call("faucet"),
            has_difficulty,
        }
    }
}

/// The scheme and seal byte order to mine with on a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeChoice {
    pub scheme: Scheme,
    pub byte_order: ByteOrder,
}

/// Why regsolver will not mine (and must send nothing) on a runtime.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "runtime spec {spec_version} offers no proof-of-work registration: {why}. Nothing was sent; \
         register by burn with the official tools if you mean to pay TAO"
    )]
    NoPowRegistration { spec_version: u32, why: &'static str },
    #[error(
        "runtime spec {spec_version} is of an era (278..=282) whose seal byte order is unknown: \
         state it with {} le|be",
        Key::SealByteOrder
    )]
    ByteOrderUnknown { spec_version: u32 },
    #[error(
        "{} applies only to legacy `register` runtimes; runtime spec {spec_version} \
         has `pow_register`, whose difficulty is always little-endian",
        Key::SealByteOrder
    )]
    OverrideNotAllowed { spec_version: u32 },
}

/// Chooses the scheme exactly as docs/protocol.md says: `pow_register` -> A (little-endian);
/// otherwise `register` + `Difficulty` + spec <= 393 -> legacy with the era's byte order
/// (`byte_order_override` replaces it, and is required for specs 278..=282); otherwise refused.
pub fn choose_scheme(info: &RuntimeInfo, byte_order_override: Option<ByteOrder>) -> Result<SchemeChoice, Refusal> {
    let spec_version = info.spec_version;
    if info.has_pow_register {
        if byte_order_override.is_some() {
            return Err(Refusal::OverrideNotAllowed { spec_version });
        }
        return Ok(SchemeChoice { scheme: Scheme::PowRegister, byte_order: ByteOrder::Little });
    }
    let why = if !info.has_register {
        Some("the runtime has neither `pow_register` nor `register`")
    } else if !info.has_difficulty {
        Some("the runtime has `register` but no `Difficulty` storage")
    } else if spec_version > LAST_POW_REGISTER_SPEC {
        Some("from spec 397 on, `register` is a burn registration that ignores the work and charges TAO, and this runtime has no `pow_register`")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(Refusal::NoPowRegistration { spec_version, why });
    }
    let era_order = if spec_version <= LAST_BIG_ENDIAN_SPEC {
        Some(ByteOrder::Big)
    } else if spec_version >= FIRST_LITTLE_ENDIAN_SPEC {
        Some(ByteOrder::Little)
    } else {
        None
    };
    match byte_order_override.or(era_order) {
        Some(byte_order) => Ok(SchemeChoice { scheme: Scheme::Legacy, byte_order }),
        None => Err(Refusal::ByteOrderUnknown { spec_version }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(spec_version: u32) -> RuntimeInfo {
        RuntimeInfo {
            spec_version,
            transaction_version: 1,
            has_pow_register: false,
            has_register: true,
            has_faucet: false,
            has_difficulty: true,
        }
    }

    fn with_pow_register(spec_version: u32) -> RuntimeInfo {
        RuntimeInfo { has_pow_register: true, ..legacy(spec_version) }
    }

    fn legacy_choice(byte_order: ByteOrder) -> Result<SchemeChoice, Refusal> {
        Ok(SchemeChoice { scheme: Scheme::Legacy, byte_order })
    }

    #[test]
    fn big_endian_era_ends_at_277() {
        assert_eq!(choose_scheme(&legacy(218), None), legacy_choice(ByteOrder::Big));
        assert_eq!(choose_scheme(&legacy(277), None), legacy_choice(ByteOrder::Big));
    }

    #[test]
    fn specs_278_to_282_need_the_override() {
        for spec in [278, 280, 282] {
            assert_eq!(choose_scheme(&legacy(spec), None), Err(Refusal::ByteOrderUnknown { spec_version: spec }));
            assert_eq!(choose_scheme(&legacy(spec), Some(ByteOrder::Big)), legacy_choice(ByteOrder::Big));
            assert_eq!(choose_scheme(&legacy(spec), Some(ByteOrder::Little)), legacy_choice(ByteOrder::Little));
        }
    }

    #[test]
    fn little_endian_era_from_283_to_393() {
        assert_eq!(choose_scheme(&legacy(283), None), legacy_choice(ByteOrder::Little));
        assert_eq!(choose_scheme(&legacy(293), None), legacy_choice(ByteOrder::Little));
        assert_eq!(choose_scheme(&legacy(393), None), legacy_choice(ByteOrder::Little));
    }

    #[test]
    fn override_replaces_the_era_order_on_legacy_runtimes() {
        assert_eq!(choose_scheme(&legacy(277), Some(ByteOrder::Little)), legacy_choice(ByteOrder::Little));
        assert_eq!(choose_scheme(&legacy(283), Some(ByteOrder::Big)), legacy_choice(ByteOrder::Big));
    }

    #[test]
    fn burn_era_without_pow_register_is_refused_even_with_an_override() {
        for spec in [394, 397, 475] {
            for order in [None, Some(ByteOrder::Little), Some(ByteOrder::Big)] {
                let refusal = choose_scheme(&legacy(spec), order).unwrap_err();
                assert!(matches!(refusal, Refusal::NoPowRegistration { spec_version, .. } if spec_version == spec));
                assert!(refusal.to_string().contains("burn"), "{refusal}");
            }
        }
    }

    #[test]
    fn pow_register_is_scheme_a_little_endian_in_every_era() {
        let a = Ok(SchemeChoice { scheme: Scheme::PowRegister, byte_order: ByteOrder::Little });
        for spec in [218, 277, 282, 283, 393, 397, 475] {
            assert_eq!(choose_scheme(&with_pow_register(spec), None), a);
        }
    }

    #[test]
    fn pow_register_refuses_a_byte_order_override() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(choose_scheme(&with_pow_register(475), Some(order)), Err(Refusal::OverrideNotAllowed { spec_version: 475 }));
        }
    }

    #[test]
    fn missing_register_or_difficulty_is_refused() {
        let no_register = RuntimeInfo { has_register: false, ..legacy(218) };
        let no_difficulty = RuntimeInfo { has_difficulty: false, ..legacy(293) };
        assert!(matches!(choose_scheme(&no_register, None), Err(Refusal::NoPowRegistration { .. })));
        assert!(matches!(choose_scheme(&no_difficulty, Some(ByteOrder::Little)), Err(Refusal::NoPowRegistration { .. })));
    }
}
