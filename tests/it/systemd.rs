//! The systemd side: the unit files pass `systemd-analyze verify` with no complaint, and the
//! notify protocol reaches a socket this test listens on (READY, STATUS, WATCHDOG, STOPPING).
//!
//! `systemd-analyze` comes with Debian's `systemd` package. Without it the verify tests print
//! SKIPPED, or fail when REGSOLVER_REQUIRE_SYSTEMD=1 (CI sets it).

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use regsolver::telemetry::notify::Notifier;

use crate::support::{self, process};

const INSTALLED_BINARY: &str = "/usr/local/bin/regsolver";
/// How long one `systemd-analyze verify` may take.
const ANALYZE_LIMIT: Duration = Duration::from_secs(120);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder for this test, removed when the test passes.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("regsolver-systemd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn systemd_analyze() -> Option<PathBuf> {
    if let Some(found) = support::which("systemd-analyze") {
        return Some(found);
    }
    support::skip_or_fail("REGSOLVER_REQUIRE_SYSTEMD", "systemd-analyze not found (apt-get install -y systemd); unit files NOT verified");
    None
}

/// Copies a unit with ExecStart pointing at the binary cargo built (verify checks that the
/// executable exists), verifies `instance` (the unit itself, or an instance of a template), and
/// returns everything systemd-analyze said.
fn verify(unit_file: &str, instance: &str) -> Option<(bool, String)> {
    let analyze = systemd_analyze()?;
    let dir = TempDir::new(&instance.replace('@', "-"));
    let text = std::fs::read_to_string(manifest_dir().join("systemd").join(unit_file)).unwrap();
    assert!(text.contains(INSTALLED_BINARY), "{unit_file} must start {INSTALLED_BINARY}");
    let text = text.replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_regsolver"));
    std::fs::write(dir.0.join(unit_file), text).unwrap();
    let mut command = Command::new(analyze);
    command.arg("verify").arg(dir.0.join(instance)).env("SYSTEMD_LOG_COLOR", "0");
    let out = process::output_within(command, ANALYZE_LIMIT);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), said))
}

/// Verify exits 0 on unknown keys and invalid values (it only warns), so any output fails too.
fn assert_clean(unit_file: &str, instance: &str) {
    if let Some((ok, said)) = verify(unit_file, instance) {
        assert!(ok && said.trim().is_empty(), "systemd-analyze verify {instance}:\n{said}");
    }
}

#[test]
fn daemon_unit_verifies() {
    assert_clean("regsolver.service", "regsolver.service");
}

#[test]
fn template_unit_verifies_as_an_instance() {
    assert_clean("regsolver@.service", "regsolver@sn1.service");
}

#[test]
fn bench_unit_verifies() {
    assert_clean("regsolver-bench.service", "regsolver-bench.service");
}

#[test]
fn verify_catches_a_broken_unit() {
    // The check above can fail: a misspelt directive and bad device rights are reported.
    let dir = TempDir::new("broken");
    let text = std::fs::read_to_string(manifest_dir().join("systemd/regsolver.service")).unwrap();
    let broken = text
        .replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_regsolver"))
        .replace("DeviceAllow=char-drm rw", "DeviceAllow=char-drm rwz\nWatchdogSek=60");
    std::fs::write(dir.0.join("regsolver.service"), broken).unwrap();
    let Some(analyze) = systemd_analyze() else { return };
    let mut command = Command::new(analyze);
    command.arg("verify").arg(dir.0.join("regsolver.service"));
    let out = process::output_within(command, ANALYZE_LIMIT);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("WatchdogSek") && said.contains("rwz"), "{said}");
}

#[test]
fn units_keep_the_promised_settings() {
    for unit in ["regsolver.service", "regsolver@.service"] {
        let text = std::fs::read_to_string(manifest_dir().join("systemd").join(unit)).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for setting in [
            "Type=notify",
            "NotifyAccess=main",
            "WatchdogSec=60",
            "Restart=on-failure",
            // Every code a restart cannot mend (the binary's table checks the same line:
            // commands::exit's unit test).
            "RestartPreventExitStatus=2 10 11 12 13 14 15",
            "LoadCredential=coldkey-password:/etc/regsolver/coldkey-password",
            "User=regsolver",
            "DynamicUser=no",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "CacheDirectory=regsolver",
            "DevicePolicy=closed",
            "DeviceAllow=char-nvidia-frontend rw",
            "DeviceAllow=char-nvidia-uvm rw",
            "DeviceAllow=char-drm rw",
            "KillSignal=SIGTERM",
            "TimeoutStopSec=10",
        ] {
            assert!(lines.contains(&setting), "{unit}: missing `{setting}`");
        }
    }
    let template = std::fs::read_to_string(manifest_dir().join("systemd/regsolver@.service")).unwrap();
    assert!(template.contains("ExecStart=/usr/local/bin/regsolver --config /etc/regsolver/%i.toml"));
    // The burn ledger: one per unit (an instance's budget is its own), where the daemon looks.
    let plain = std::fs::read_to_string(manifest_dir().join("systemd/regsolver.service")).unwrap();
    assert!(plain.lines().any(|l| l.trim() == "StateDirectory=regsolver"));
    assert!(template.lines().any(|l| l.trim() == "StateDirectory=regsolver/%i"));
}

// ---- notify protocol ----

/// Runs in a child process whose environment names the test's socket.
#[test]
#[ignore = "child process of notify_messages_reach_the_socket_in_order"]
fn notify_child() {
    let notifier = Notifier::from_env();
    assert!(notifier.enabled());
    println!("watchdog interval ms: {:?}", notifier.watchdog_interval().map(|d| d.as_millis()));
    notifier.ready().unwrap();
    notifier.status("block 4200000 | 1.50 GH/s\nsecond line").unwrap();
    notifier.watchdog().unwrap();
    notifier.stopping().unwrap();
}

/// Runs [`notify_child`] with NOTIFY_SOCKET on a socket bound here; returns its stdout and the
/// first `count` datagrams (each read waits at most 10 s).
fn run_notify_child(tag: &str, watchdog_usec: Option<&str>, count: usize) -> (String, Vec<String>) {
    let dir = TempDir::new(tag);
    let socket_path = dir.0.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let stdout = support::run_child_test("systemd::notify_child", |child| {
        child.env("NOTIFY_SOCKET", &socket_path).env_remove("WATCHDOG_PID");
        match watchdog_usec {
            Some(usec) => child.env("WATCHDOG_USEC", usec),
            None => child.env_remove("WATCHDOG_USEC"),
        };
    });
    let mut buf = [0u8; 4096];
    let got = (0..count)
        .map(|_| {
            let n = socket.recv(&mut buf).expect("a notification within 10 s");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
        .collect();
    (stdout, got)
}

#[test]
fn notify_messages_reach_the_socket_in_order() {
    let (stdout, got) = run_notify_child("notify", Some("60000000"), 4);
    assert!(stdout.contains("watchdog interval ms: Some(30000)"), "beats at half of WatchdogSec: {stdout}");
    assert_eq!(got, ["READY=1\n", "STATUS=block 4200000 | 1.50 GH/s second line\n", "WATCHDOG=1\n", "STOPPING=1\n"]);
}

#[test]
fn watchdog_is_silent_without_watchdog_usec() {
    let (stdout, got) = run_notify_child("nowatchdog", None, 3);
    assert!(stdout.contains("watchdog interval ms: None"), "{stdout}");
    assert_eq!(got[2], "STOPPING=1\n", "no WATCHDOG=1 between STATUS and STOPPING: {got:?}");
}

/// Runs in a child process whose environment has no NOTIFY_SOCKET.
#[test]
#[ignore = "child process of without_notify_socket_everything_is_a_no_op"]
fn no_notify_socket_child() {
    let n = Notifier::from_env();
    assert!(!n.enabled() && n.watchdog_interval().is_none());
    n.ready().unwrap();
    n.watchdog().unwrap();
    n.stopping().unwrap();
}

#[test]
fn without_notify_socket_everything_is_a_no_op() {
    // In a child without the variables, whatever the test runner itself was started with.
    support::run_child_test("systemd::no_notify_socket_child", |child| {
        child.env_remove("NOTIFY_SOCKET").env_remove("WATCHDOG_USEC").env_remove("WATCHDOG_PID");
    });
}

#[test]
fn the_units_raise_the_descriptor_limit_the_listeners_caps_need() {
    use regsolver::telemetry::sockets::{SocketCaps, RECOMMENDED_LIMIT};
    for unit in ["systemd/regsolver.service", "systemd/regsolver@.service"] {
        let text = std::fs::read_to_string(manifest_dir().join(unit)).unwrap();
        assert!(text.lines().any(|l| l == format!("LimitNOFILE={RECOMMENDED_LIMIT}")), "{unit} sets no LimitNOFILE={RECOMMENDED_LIMIT}");
    }
    // At that limit every cap is at its maximum; systemd's default soft limit (1024) is below it.
    assert_eq!(SocketCaps::for_limit(RECOMMENDED_LIMIT), SocketCaps::for_limit(u64::MAX));
    assert!(SocketCaps::for_limit(1024).fleet < SocketCaps::for_limit(RECOMMENDED_LIMIT).fleet);
}
