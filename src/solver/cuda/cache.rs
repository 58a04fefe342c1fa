//! Built CUDA kernels kept on disk between runs, so that a restart skips NVRTC (seconds per
//! architecture). Each entry ends with the SHA-256 of its content: a damaged entry reads as
//! missing and is rebuilt. Entries are named by the caller from everything the build depends on.

use std::path::{Path, PathBuf};

use crate::pow::sha256;

/// The cache folder: `REGSOLVER_CACHE_DIR` (set empty to disable the cache), else
/// `$XDG_CACHE_HOME/regsolver`, else `~/.cache/regsolver`.
pub fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REGSOLVER_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("regsolver"))
}

/// The entry `name` in `dir`, if present and intact.
pub fn load(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let mut bytes = std::fs::read(dir.join(name)).ok()?;
    let body = bytes.len().checked_sub(32)?;
    if sha256(&bytes[..body])[..] != bytes[body..] {
        return None;
    }
    bytes.truncate(body);
    Some(bytes)
}

/// Stores `body` as the entry `name` in `dir`, replacing it whole (written aside, then renamed).
pub fn store(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let aside = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let mut content = body.to_vec();
    content.extend_from_slice(&sha256(body));
    std::fs::write(&aside, content)?;
    std::fs::rename(aside, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damaged_ones_read_as_missing() {
        let dir = std::env::temp_dir().join(format!("regsolver-cache-test-{}", std::process::id()));
        assert_eq!(load(&dir, "a"), None);
        store(&dir, "a", b"machine code").unwrap();
        assert_eq!(load(&dir, "a").as_deref(), Some(&b"machine code"[..]));
        let mut bytes = std::fs::read(dir.join("a")).unwrap();
        bytes[3] ^= 1;
        std::fs::write(dir.join("a"), &bytes).unwrap();
        assert_eq!(load(&dir, "a"), None);
        std::fs::write(dir.join("short"), b"x").unwrap();
        assert_eq!(load(&dir, "short"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
