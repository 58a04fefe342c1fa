//! The burn ledger: the TAO the daemon has burned, over all hotkeys and across restarts, kept in
//! a small JSON state file (`$STATE_DIRECTORY/burn-ledger.json` under systemd). Every change is
//! written to a temporary file, fsynced, renamed over the old one and the folder fsynced, so a
//! crash leaves the old or the new ledger, never half of one. A burn is counted at its worst case
//! (cap + fee) before it is sent and settled to what it cost once its outcome is known, so a
//! crash in between can only over-count. A file that does not read back is an error: never reset.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name inside the state folder.
pub const LEDGER_FILE: &str = "burn-ledger.json";
/// The format written; another version is refused rather than guessed at.
const VERSION: u32 = 1;

/// Why the ledger cannot be read or written. A damaged ledger stops the daemon: resetting it
/// would forget TAO already spent and let the budget be spent twice.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot read the burn ledger {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(
        "the burn ledger {path} is damaged ({reason}); regsolver will not reset it, since that would forget TAO already burned. \
         Repair it from your records (or move it away to start counting from zero, knowingly)"
    )]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot write the burn ledger {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("the burn ledger has no burn with extrinsic {extrinsic} to settle")]
    UnknownBurn { extrinsic: String },
}

/// What became of a burn that was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurnState {
    /// Sent, outcome not known yet: counted at `cap + fee`.
    Sent,
    /// Settled: counted at what it cost (price + fee if registered, the fee if it failed in a
    /// block, 0 if it never reached one).
    Settled,
}

/// One burn the daemon sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnEntry {
    pub netuid: u16,
    /// SS58 of the hotkey registered.
    pub hotkey: String,
    /// 0x-hex extrinsic hash.
    pub extrinsic: String,
    /// The best block it was signed at.
    pub block: u64,
    pub state: BurnState,
    /// RAO counted against the budget (decimal string: JSON numbers lose precision past 2^53).
    #[serde(with = "rao_text")]
    pub counted_rao: u128,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    version: u32,
    #[serde(with = "rao_text")]
    spent_rao: u128,
    burns: Vec<BurnEntry>,
}

/// The ledger, loaded; every change is on disk before the call returns.
#[derive(Debug)]
pub struct BurnLedger {
    path: PathBuf,
    burns: Vec<BurnEntry>,
}

impl BurnLedger {
    /// Reads the ledger at `path`; a missing file is an empty ledger (nothing burned yet).
    pub fn open(path: &Path) -> Result<BurnLedger, LedgerError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BurnLedger { path: path.to_path_buf(), burns: Vec::new() }),
            Err(e) => return Err(LedgerError::Read { path: path.to_path_buf(), reason: e.to_string() }),
        };
        let damaged = |reason: String| LedgerError::Damaged { path: path.to_path_buf(), reason };
        let file: LedgerFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if file.version != VERSION {
            return Err(damaged(format!("version {} is not the version {VERSION} this regsolver writes", file.version)));
        }
        let sum = file
            .burns
            .iter()
            .try_fold(0u128, |sum, b| sum.checked_add(b.counted_rao))
            .ok_or_else(|| damaged("the burns overflow".into()))?;
        if sum != file.spent_rao {
            return Err(damaged(format!("spent_rao {} is not the sum of its burns ({sum})", file.spent_rao)));
        }
        Ok(BurnLedger { path: path.to_path_buf(), burns: file.burns })
    }

    /// RAO burned (and fees paid) so far, unsettled burns at their worst case.
    pub fn spent_rao(&self) -> u128 {
        self.burns.iter().map(|b| b.counted_rao).sum()
    }

    pub fn burns(&self) -> &[BurnEntry] {
        &self.burns
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts a burn about to be sent at its worst case (`counted_rao`: the cap plus the fee);
    /// on disk before this returns, so call it before submitting.
    pub fn record_sent(&mut self, entry: BurnEntry) -> Result<(), LedgerError> {
        self.burns.push(BurnEntry { state: BurnState::Sent, ..entry });
        self.save().inspect_err(|_| {
            self.burns.pop();
        })
    }

    /// Settles the burn with extrinsic hash `extrinsic` at what it cost.
    pub fn settle(&mut self, extrinsic: &str, cost_rao: u128) -> Result<(), LedgerError> {
        let index = self
            .burns
            .iter()
            .position(|b| b.extrinsic == extrinsic)
            .ok_or_else(|| LedgerError::UnknownBurn { extrinsic: extrinsic.to_string() })?;
        let before = self.burns[index].clone();
        self.burns[index].state = BurnState::Settled;
        self.burns[index].counted_rao = cost_rao;
        self.save().inspect_err(|_| self.burns[index] = before)
    }

    /// Writes the whole ledger: temporary file, fsync, rename, fsync of the folder.
    fn save(&self) -> Result<(), LedgerError> {
        let fail = |reason: String| LedgerError::Write { path: self.path.clone(), reason };
        let file = LedgerFile { version: VERSION, spent_rao: self.spent_rao(), burns: self.burns.clone() };
        let text = serde_json::to_string_pretty(&file).map_err(|e| fail(e.to_string()))?;
        let folder = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder).map_err(|e| fail(format!("creating {}: {e}", folder.display())))?;
        let temporary = self.path.with_extension("json.tmp");
        let mut out = std::fs::File::create(&temporary).map_err(|e| fail(format!("creating {}: {e}", temporary.display())))?;
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.sync_all())
            .map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&temporary, &self.path).map_err(|e| fail(format!("renaming {}: {e}", temporary.display())))?;
        std::fs::File::open(folder).and_then(|dir| dir.sync_all()).map_err(|e| fail(format!("syncing {}: {e}", folder.display())))
    }
}

/// Where the ledger lives: `$STATE_DIRECTORY` (systemd's `StateDirectory=`), else
/// `$XDG_STATE_HOME/regsolver`, else `~/.local/state/regsolver`.
pub fn default_path(state_directory: Option<&Path>, xdg_state_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let folder = match (state_directory, xdg_state_home, home) {
        // systemd may list several folders, separated by ':'; the first is the unit's own.
        (Some(dirs), _, _) => PathBuf::from(dirs.to_string_lossy().split(':').next().unwrap_or_default()),
        (None, Some(xdg), _) => xdg.join("regsolver"),
        (None, None, Some(home)) => home.join(".local/state/regsolver"),
        (None, None, None) => return None,
    };
    Some(folder.join(LEDGER_FILE))
}

/// u128 as a decimal string in JSON.
mod rao_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| serde::de::Error::custom(format!("`{text}` is not a whole number of RAO")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extrinsic: &str, counted_rao: u128) -> BurnEntry {
        BurnEntry { netuid: 1, hotkey: "5Hotkey".into(), extrinsic: extrinsic.into(), block: 7, state: BurnState::Sent, counted_rao }
    }

    #[test]
    fn a_missing_ledger_is_empty_and_burns_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/burn-ledger.json");
        let mut ledger = BurnLedger::open(&path).unwrap();
        assert_eq!(ledger.spent_rao(), 0);
        assert!(!path.exists(), "opening writes nothing");
        ledger.record_sent(entry("0x01", 1_100)).unwrap();
        assert_eq!(BurnLedger::open(&path).unwrap().spent_rao(), 1_100, "counted at its worst case before the outcome");
        ledger.settle("0x01", 1_050).unwrap();
        ledger.record_sent(entry("0x02", u128::from(u64::MAX) + 5)).unwrap();
        let again = BurnLedger::open(&path).unwrap();
        assert_eq!(again.spent_rao(), 1_050 + u128::from(u64::MAX) + 5, "amounts past 2^53 survive JSON exactly");
        assert_eq!(again.burns()[0].state, BurnState::Settled);
        assert_eq!(again.burns()[1].state, BurnState::Sent);
        assert!(!path.with_extension("json.tmp").exists(), "the temporary file was renamed");
        assert!(matches!(ledger.settle("0x03", 1), Err(LedgerError::UnknownBurn { .. })));
    }

    #[test]
    fn a_damaged_ledger_is_an_error_never_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let mut ledger = BurnLedger::open(&path).unwrap();
        ledger.record_sent(entry("0x01", 500)).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        for (damage, why) in [
            (good[..good.len() / 2].to_string(), "EOF"),
            (good.replace("\"spent_rao\": \"500\"", "\"spent_rao\": \"400\""), "not the sum of its burns"),
            (good.replace("\"version\": 1", "\"version\": 2"), "version 2"),
            (good.replace("\"500\"", "\"5e2\""), "not a whole number"),
            (String::new(), "EOF"),
        ] {
            std::fs::write(&path, &damage).unwrap();
            let err = BurnLedger::open(&path).unwrap_err();
            assert!(matches!(err, LedgerError::Damaged { .. }), "{err}");
            assert!(err.to_string().contains(why) && err.to_string().contains("will not reset"), "{err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), damage, "the damaged file is left as it was");
        }
    }

    #[test]
    fn the_path_prefers_systemds_state_directory() {
        let (state, xdg, home) = (Path::new("/var/lib/regsolver"), Path::new("/x"), Path::new("/home/m"));
        assert_eq!(default_path(Some(state), Some(xdg), Some(home)), Some(state.join(LEDGER_FILE)));
        assert_eq!(default_path(Some(Path::new("/a:/b")), None, None), Some(Path::new("/a").join(LEDGER_FILE)));
        assert_eq!(default_path(None, Some(xdg), Some(home)), Some(xdg.join("regsolver").join(LEDGER_FILE)));
        assert_eq!(default_path(None, None, Some(home)), Some(home.join(".local/state/regsolver").join(LEDGER_FILE)));
        assert_eq!(default_path(None, None, None), None);
    }
}
