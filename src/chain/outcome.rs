//! What became of a submitted registration: pool rejections (subtensor's custom validity codes and
//! the standard ones), dispatch errors by name, inclusion with the UID; and how the daemon
//! reacts to each (issue 7, section 5).

use std::fmt;

/// Why the transaction pool refused an extrinsic (`InvalidTransaction`, docs/protocol.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Custom(0): the coldkey has a coldkey swap announced.
    ColdkeySwapAnnounced,
    /// Custom(21): the coldkey's swap is disputed.
    ColdkeySwapDisputed,
    /// Custom(3): the subnet does not exist.
    SubnetMissing,
    /// Custom(25): the hotkey is owned by another coldkey.
    NonAssociatedColdkey,
    /// Custom(255): every other `pow_register` admission failure (expired work block, bad seal,
    /// difficulty missed, PoW disabled, ...): re-read the state to learn which.
    BadRequest,
    /// Another custom code.
    Custom(u8),
    /// The account nonce is already used.
    Stale,
    /// The account nonce is ahead of the chain.
    Future,
    /// The signature does not match the signing payload (wrong extensions, genesis or versions).
    BadProof,
    /// The era's birth block is unknown or too old.
    AncientBirthBlock,
    /// The block is full.
    ExhaustsResources,
    /// The signer cannot pay the fee.
    Payment,
    /// Anything else, as the node said it.
    Other(String),
}

/// JSON-RPC error code substrate (and chopsticks) use for an invalid transaction.
pub const RPC_INVALID_TRANSACTION: i32 = 1010;

impl Rejection {
    /// From a custom validity code.
    pub fn custom(code: u8) -> Self {
        match code {
            0 => Rejection::ColdkeySwapAnnounced,
            21 => Rejection::ColdkeySwapDisputed,
            3 => Rejection::SubnetMissing,
            25 => Rejection::NonAssociatedColdkey,
            255 => Rejection::BadRequest,
            other => Rejection::Custom(other),
        }
    }

    /// From the text of a node's rejection: substrate's `message` plus `data`
    /// (`Invalid Transaction` / `Custom error: 3`, `Transaction is outdated`, ...) or chopsticks'
    /// JSON (`{"invalid":{"custom":3}}`, `{"invalid":{"badProof":null}}`).
    pub fn parse(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        if let Some(code) = number_after(&lower, "custom error: ").or_else(|| number_after(&lower, "\"custom\":")) {
            return Rejection::custom(code);
        }
        let known: [(&[&str], Rejection); 7] = [
            (&["stale", "transaction is outdated"], Rejection::Stale),
            (&["future", "will be valid in the future"], Rejection::Future),
            (&["badproof", "bad signature"], Rejection::BadProof),
            (&["ancientbirthblock", "ancient birth block"], Rejection::AncientBirthBlock),
            (&["exhaustsresources", "exhaust the block limits"], Rejection::ExhaustsResources),
            (&["\"payment\"", "inability to pay"], Rejection::Payment),
            (&["\"custom\"", "custom error"], Rejection::Other(text.to_string())),
        ];
        known
            .into_iter()
            .find(|(needles, _)| needles.iter().any(|n| lower.contains(n)))
            .map(|(_, rejection)| rejection)
            .unwrap_or_else(|| Rejection::Other(text.to_string()))
    }
}

/// The pool's refusal in a JSON-RPC error (`author_submitAndWatchExtrinsic`): substrate's pool
/// codes 1010 (invalid) to 1016; `None` for any other error (not a refusal).
pub fn rejection_from_rpc(code: i32, message: &str, data: Option<&str>) -> Option<Rejection> {
    if !(RPC_INVALID_TRANSACTION..=RPC_INVALID_TRANSACTION + 6).contains(&code) {
        return None;
    }
    let text = match data {
        Some(data) if !data.is_empty() => format!("{message}: {data}"),
        _ => message.to_string(),
    };
    Some(match Rejection::parse(&text) {
        Rejection::Other(_) => Rejection::Other(format!("{text} (RPC error {code})")),
        known => known,
    })
}

/// The decimal number (0..=255) right after `prefix` in `text`, if any.
fn number_after(text: &str, prefix: &str) -> Option<u8> {
    let start = text.find(prefix)? + prefix.len();
    let digits: String = text[start..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::ColdkeySwapAnnounced => write!(f, "the coldkey has a coldkey swap announced (custom code 0)"),
            Rejection::ColdkeySwapDisputed => write!(f, "the coldkey's swap is disputed (custom code 21)"),
            Rejection::SubnetMissing => write!(f, "the subnet does not exist (custom code 3)"),
            Rejection::NonAssociatedColdkey => {
                write!(f, "the hotkey belongs to another coldkey (custom code 25, NonAssociatedColdKey)")
            }
            Rejection::BadRequest => write!(f, "the runtime refused the registration (custom code 255, BadRequest)"),
            Rejection::Custom(code) => write!(f, "custom validity code {code}"),
            Rejection::Stale => write!(f, "the account nonce is already used (Stale)"),
            Rejection::Future => write!(f, "the account nonce is ahead of the chain (Future)"),
            Rejection::BadProof => write!(f, "bad signature (BadProof): the signing payload does not match the runtime"),
            Rejection::AncientBirthBlock => write!(f, "the transaction's birth block is unknown (AncientBirthBlock)"),
            Rejection::ExhaustsResources => write!(f, "the block is full (ExhaustsResources)"),
            Rejection::Payment => write!(f, "the signer cannot pay the fee (Payment)"),
            Rejection::Other(text) => write!(f, "{text}"),
        }
    }
}

/// The end of one submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Included without a dispatch error. `uid` comes from the `NeuronRegistered` event for the
    /// hotkey (absent for `faucet`, which registers nothing).
    Registered { block_hash: [u8; 32], block_number: u64, uid: Option<u16> },
    /// The pool refused it at submission.
    PoolRejected(Rejection),
    /// Included, and failed: the error's pallet and name, decoded through the metadata.
    DispatchFailed { block_hash: [u8; 32], block_number: u64, pallet: String, error: String },
    /// The pool dropped it while it waited (e.g. its proof stopped being valid).
    Dropped(String),
    /// The pool declared it invalid while it waited.
    Invalid(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Registered { block_number, uid: Some(uid), .. } => {
                write!(f, "registered: included in block {block_number}, UID {uid}")
            }
            Outcome::Registered { block_number, uid: None, .. } => write!(f, "included in block {block_number}"),
            Outcome::PoolRejected(rejection) => write!(f, "refused by the transaction pool: {rejection}"),
            Outcome::DispatchFailed { block_number, pallet, error, .. } => {
                write!(f, "included in block {block_number} and failed: {pallet}.{error}")
            }
            Outcome::Dropped(why) => write!(f, "dropped from the pool: {why}"),
            Outcome::Invalid(why) => write!(f, "declared invalid while waiting: {why}"),
        }
    }
}

/// Why the daemon must stop (each maps to its own exit code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FatalReason {
    /// `NetworkPowRegistrationAllowed` is false on the subnet.
    PowDisabled,
    /// The subnet does not exist.
    SubnetMissing,
    /// The hotkey belongs to another coldkey.
    ColdkeyMismatch,
    /// The coldkey is in a coldkey swap.
    ColdkeySwap,
    /// The runtime rejected the signature or the signer (a wrong payload or key).
    BadSignature,
    /// The signer cannot pay.
    CannotPay,
    /// The subnet has no UID to give (`NoNeuronIdAvailable`).
    SubnetFull,
    /// Anything else the runtime said, as it said it.
    Other(String),
}

impl fmt::Display for FatalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FatalReason::PowDisabled => write!(f, "proof-of-work registration is disabled on this subnet"),
            FatalReason::SubnetMissing => write!(f, "the subnet does not exist"),
            FatalReason::ColdkeyMismatch => write!(f, "the hotkey is registered to another coldkey"),
            FatalReason::ColdkeySwap => write!(f, "the coldkey is in a coldkey swap"),
            FatalReason::BadSignature => write!(f, "the runtime rejected the signature or the signing key"),
            FatalReason::CannotPay => write!(f, "the signing account cannot pay the transaction fee"),
            FatalReason::SubnetFull => write!(f, "the subnet has no UID available"),
            FatalReason::Other(text) => write!(f, "{text}"),
        }
    }
}

/// What the daemon does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeClass {
    /// Done: print the UID, next hotkey or exit 0.
    Registered,
    /// Done: the hotkey already has a UID on the subnet.
    AlreadyRegistered,
    /// Not this time: keep mining on the next block (re-reading the state first).
    RetryNextBlock,
    /// Stop with a clear message and a distinct exit code.
    Fatal(FatalReason),
}

impl Outcome {
    /// How the daemon reacts (issue 7, section 5).
    pub fn class(&self) -> OutcomeClass {
        match self {
            Outcome::Registered { .. } => OutcomeClass::Registered,
            Outcome::PoolRejected(rejection) => rejection_class(rejection),
            Outcome::DispatchFailed { error, .. } => dispatch_error_class(error),
            Outcome::Dropped(_) | Outcome::Invalid(_) => OutcomeClass::RetryNextBlock,
        }
    }
}

fn rejection_class(rejection: &Rejection) -> OutcomeClass {
    match rejection {
        Rejection::SubnetMissing => OutcomeClass::Fatal(FatalReason::SubnetMissing),
        Rejection::NonAssociatedColdkey => OutcomeClass::Fatal(FatalReason::ColdkeyMismatch),
        Rejection::ColdkeySwapAnnounced | Rejection::ColdkeySwapDisputed => OutcomeClass::Fatal(FatalReason::ColdkeySwap),
        Rejection::BadProof => OutcomeClass::Fatal(FatalReason::BadSignature),
        Rejection::Payment => OutcomeClass::Fatal(FatalReason::CannotPay),
        // 255 (stale work block, bad seal, difficulty, PoW disabled, ...): the daemon re-reads
        // the state before the next job and stops there if the cause is lasting.
        Rejection::BadRequest
        | Rejection::Custom(_)
        | Rejection::Stale
        | Rejection::Future
        | Rejection::AncientBirthBlock
        | Rejection::ExhaustsResources
        | Rejection::Other(_) => OutcomeClass::RetryNextBlock,
    }
}

fn dispatch_error_class(error: &str) -> OutcomeClass {
    match error {
        "HotKeyAlreadyRegisteredInSubNet" => OutcomeClass::AlreadyRegistered,
        // The work block left the window, another registration raised the difficulty or filled
        // the block, or the work block's hash changed under a reorganisation.
        "InvalidWorkBlock" | "TooManyRegistrationsThisBlock" | "TooManyRegistrationsThisInterval" | "InvalidDifficulty" | "InvalidSeal" => {
            OutcomeClass::RetryNextBlock
        }
        "SubNetRegistrationDisabled" => OutcomeClass::Fatal(FatalReason::PowDisabled),
        "SubNetworkDoesNotExist" | "SubnetNotExists" | "NetworkDoesNotExist" => OutcomeClass::Fatal(FatalReason::SubnetMissing),
        "NonAssociatedColdKey" => OutcomeClass::Fatal(FatalReason::ColdkeyMismatch),
        "TransactorAccountShouldBeHotKey" => OutcomeClass::Fatal(FatalReason::BadSignature),
        "NoNeuronIdAvailable" => OutcomeClass::Fatal(FatalReason::SubnetFull),
        other => OutcomeClass::Fatal(FatalReason::Other(format!("the runtime refused the registration: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrate_custom_codes_decode_to_their_meaning() {
        // A substrate node's 1010 error: message "Invalid Transaction", data "Custom error: N".
        let cases = [
            (3, Rejection::SubnetMissing),
            (25, Rejection::NonAssociatedColdkey),
            (0, Rejection::ColdkeySwapAnnounced),
            (21, Rejection::ColdkeySwapDisputed),
            (255, Rejection::BadRequest),
            (7, Rejection::Custom(7)),
        ];
        for (code, expected) in cases {
            assert_eq!(Rejection::parse(&format!("Invalid Transaction: Custom error: {code}")), expected);
            // chopsticks answers with the validity error as JSON.
            assert_eq!(Rejection::parse(&format!("{{\"invalid\":{{\"custom\":{code}}}}}")), expected);
        }
    }

    #[test]
    fn rpc_errors_are_rejections_only_with_a_pool_code() {
        let substrate = rejection_from_rpc(1010, "Invalid Transaction", Some("Custom error: 25"));
        assert_eq!(substrate, Some(Rejection::NonAssociatedColdkey));
        let chopsticks = rejection_from_rpc(1010, "{\"invalid\":{\"custom\":255}}", None);
        assert_eq!(chopsticks, Some(Rejection::BadRequest));
        let banned = rejection_from_rpc(1012, "Transaction is temporarily banned", None);
        assert!(matches!(banned, Some(Rejection::Other(text)) if text.contains("1012")));
        assert_eq!(rejection_from_rpc(-32601, "Method not found", None), None);
    }

    #[test]
    fn standard_rejections_decode_from_both_nodes() {
        let cases = [
            ("Invalid Transaction: Transaction is outdated", Rejection::Stale),
            ("{\"invalid\":{\"stale\":null}}", Rejection::Stale),
            ("Invalid Transaction: Transaction has a bad signature", Rejection::BadProof),
            ("{\"invalid\":{\"badProof\":null}}", Rejection::BadProof),
            ("Invalid Transaction: Transaction has an ancient birth block", Rejection::AncientBirthBlock),
            ("{\"invalid\":{\"ancientBirthBlock\":null}}", Rejection::AncientBirthBlock),
            ("Invalid Transaction: Transaction would exhaust the block limits", Rejection::ExhaustsResources),
            ("{\"invalid\":{\"exhaustsResources\":null}}", Rejection::ExhaustsResources),
            ("Invalid Transaction: Transaction will be valid in the future", Rejection::Future),
            ("{\"invalid\":{\"payment\":null}}", Rejection::Payment),
        ];
        for (text, expected) in cases {
            assert_eq!(Rejection::parse(text), expected, "{text}");
        }
        assert_eq!(Rejection::parse("Unknown Transaction Validity"), Rejection::Other("Unknown Transaction Validity".into()));
        // A custom code too large for a u8 is not mistaken for a known one.
        assert!(matches!(Rejection::parse("Custom error: 2555"), Rejection::Other(_)));
    }

    #[test]
    fn outcomes_classify_as_issue_7_section_5_says() {
        let failed = |error: &str| Outcome::DispatchFailed {
            block_hash: [0; 32],
            block_number: 1,
            pallet: "SubtensorModule".into(),
            error: error.into(),
        };
        let registered = Outcome::Registered { block_hash: [0; 32], block_number: 1, uid: Some(3) };
        assert_eq!(registered.class(), OutcomeClass::Registered);
        assert_eq!(failed("HotKeyAlreadyRegisteredInSubNet").class(), OutcomeClass::AlreadyRegistered);
        for retry in ["InvalidWorkBlock", "TooManyRegistrationsThisBlock", "TooManyRegistrationsThisInterval"] {
            assert_eq!(failed(retry).class(), OutcomeClass::RetryNextBlock, "{retry}");
        }
        assert_eq!(failed("SubNetRegistrationDisabled").class(), OutcomeClass::Fatal(FatalReason::PowDisabled));
        assert_eq!(failed("NonAssociatedColdKey").class(), OutcomeClass::Fatal(FatalReason::ColdkeyMismatch));
        assert!(matches!(failed("SomethingNew").class(), OutcomeClass::Fatal(FatalReason::Other(_))));
        let pool = |r: Rejection| Outcome::PoolRejected(r).class();
        assert_eq!(pool(Rejection::SubnetMissing), OutcomeClass::Fatal(FatalReason::SubnetMissing));
        assert_eq!(pool(Rejection::NonAssociatedColdkey), OutcomeClass::Fatal(FatalReason::ColdkeyMismatch));
        assert_eq!(pool(Rejection::ColdkeySwapAnnounced), OutcomeClass::Fatal(FatalReason::ColdkeySwap));
        assert_eq!(pool(Rejection::ColdkeySwapDisputed), OutcomeClass::Fatal(FatalReason::ColdkeySwap));
        assert_eq!(pool(Rejection::BadRequest), OutcomeClass::RetryNextBlock);
        assert_eq!(pool(Rejection::Stale), OutcomeClass::RetryNextBlock);
        assert_eq!(pool(Rejection::BadProof), OutcomeClass::Fatal(FatalReason::BadSignature));
        assert_eq!(Outcome::Dropped("gone".into()).class(), OutcomeClass::RetryNextBlock);
    }
}
