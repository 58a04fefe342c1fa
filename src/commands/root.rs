//! The root rule, one for the daemon, `faucet` and `worker`: root is refused on a host unless
//! `--allow-root`, and accepted inside a container (rented GPU machines and mining images run
//! everything as root there; the container is the boundary), which is said once in the log.

use std::path::Path;

use super::{usage, CommandError};

/// Overrides container detection: `1` (a container), `0` (a host). For images whose runtime
/// leaves no mark, and for testing both sides of the rule on one machine.
pub const CONTAINER_ENV: &str = "REGSOLVER_CONTAINER";

/// Marker files container runtimes create: Docker, Podman (and CRI-O).
const MARKERS: [&str; 2] = [".dockerenv", "run/.containerenv"];
/// Words in `/proc/1/cgroup` that name a container runtime's cgroup (cgroup v1, or v2 without a
/// cgroup namespace).
const CGROUP_WORDS: [&str; 6] = ["docker", "kubepods", "containerd", "libpod", "lxc", "crio"];

/// Why this process counts as running in a container, or `None` on a host. `root` is the file
/// system's root (`/`, or a folder in tests); `env` the value of [`CONTAINER_ENV`].
pub fn container(root: &Path, env: Option<&str>) -> Option<String> {
    match env.map(str::trim) {
        Some("1") => return Some(format!("{CONTAINER_ENV}=1")),
        Some("0") => return None,
        _ => {}
    }
    if let Some(marker) = MARKERS.iter().find(|m| root.join(m).exists()) {
        return Some(format!("/{marker} exists"));
    }
    let cgroup = std::fs::read_to_string(root.join("proc/1/cgroup")).unwrap_or_default();
    let word = CGROUP_WORDS.iter().find(|w| cgroup.contains(*w))?;
    Some(format!("/proc/1/cgroup names {word}"))
}

/// What to do with a process whose effective uid is `euid`: `Ok(None)` run, `Ok(Some(note))` run
/// and log the note once, `Err` refuse (exit 2).
pub fn decide(euid: u32, allow_root: bool, container: Option<String>) -> Result<Option<String>, CommandError> {
    match (euid, allow_root, container) {
        (0, true, _) => Ok(Some("running as root: --allow-root".into())),
        (0, false, Some(why)) => Ok(Some(format!("running as root inside a container ({why}): allowed there"))),
        (0, false, None) => Err(usage(format!(
            "refusing to run as root on a host: run regsolver as an unprivileged user (the systemd unit uses User=regsolver), \
             or pass --allow-root (allow_root = true) if you really mean it; inside a container root is allowed \
             (set {CONTAINER_ENV}=1 if yours is not detected)"
        ))),
        _ => Ok(None),
    }
}

/// Applies the root rule to this process, logging once when it runs as root.
pub fn check(allow_root: bool) -> Result<(), CommandError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Ok(());
    }
    let env = std::env::var(CONTAINER_ENV).ok();
    if let Some(note) = decide(euid, allow_root, container(Path::new("/"), env.as_deref()))? {
        tracing::info!("{note}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_refused_on_a_host_unless_allowed() {
        let err = decide(0, false, None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--allow-root") && err.to_string().contains("on a host"), "{err}");
        assert!(decide(0, true, None).unwrap().unwrap().contains("--allow-root"));
        assert_eq!(decide(1000, false, None).unwrap(), None);
    }

    #[test]
    fn root_is_allowed_in_a_container_with_one_note() {
        let note = decide(0, false, Some("/.dockerenv exists".into())).unwrap().unwrap();
        assert!(note.contains("inside a container (/.dockerenv exists)"), "{note}");
        assert_eq!(decide(1000, false, Some("x".into())).unwrap(), None);
    }

    #[test]
    fn containers_are_detected_by_marker_cgroup_or_override() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(container(dir.path(), None), None);
        std::fs::create_dir_all(dir.path().join("proc/1")).unwrap();
        std::fs::write(dir.path().join("proc/1/cgroup"), "0::/\n").unwrap();
        assert_eq!(container(dir.path(), None), None);
        std::fs::write(dir.path().join("proc/1/cgroup"), "12:pids:/kubepods/besteffort/pod1\n").unwrap();
        assert_eq!(container(dir.path(), None).as_deref(), Some("/proc/1/cgroup names kubepods"));
        assert_eq!(container(dir.path(), Some("0")), None);
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::write(dir.path().join("run/.containerenv"), "").unwrap();
        std::fs::write(dir.path().join("proc/1/cgroup"), "0::/\n").unwrap();
        assert_eq!(container(dir.path(), None).as_deref(), Some("/run/.containerenv exists"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(container(empty.path(), Some("1")).as_deref(), Some("REGSOLVER_CONTAINER=1"));
    }
}
