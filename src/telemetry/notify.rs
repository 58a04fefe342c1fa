//! systemd's notify protocol through `sd-notify`: `READY=1`, `STATUS=`, `WATCHDOG=1`,
//! `STOPPING=1`. Every call is a no-op when systemd did not set `NOTIFY_SOCKET`.

use std::time::Duration;

use sd_notify::NotifyState;

/// A notification could not be sent (the daemon logs it and carries on).
#[derive(Debug, thiserror::Error)]
#[error("systemd notification {what}: {source}")]
pub struct NotifyError {
    what: &'static str,
    source: std::io::Error,
}

/// Talks to systemd for the daemon. The watchdog is beaten by the daemon's own loop (call
/// [`Notifier::watchdog`] from it at [`Notifier::watchdog_interval`]), never by a timer that
/// would keep beating while the loop is stuck.
#[derive(Clone, Debug)]
pub struct Notifier {
    enabled: bool,
    watchdog_usec: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog applies only when
    /// `WATCHDOG_PID` is unset or this process).
    pub fn from_env() -> Self {
        Notifier { enabled: std::env::var_os("NOTIFY_SOCKET").is_some(), watchdog_usec: sd_notify::watchdog_enabled() }
    }

    /// Whether systemd listens (`NOTIFY_SOCKET` set).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// How often the loop should call [`Notifier::watchdog`]: half of `WatchdogSec=`; `None`
    /// when systemd set no watchdog.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_usec.filter(|_| self.enabled).map(|d| d / 2)
    }

    fn send(&self, what: &'static str, states: &[NotifyState]) -> Result<(), NotifyError> {
        if !self.enabled {
            return Ok(());
        }
        sd_notify::notify(states).map_err(|source| NotifyError { what, source })
    }

    /// `READY=1`: the chain is followed and the devices passed their self-tests.
    pub fn ready(&self) -> Result<(), NotifyError> {
        self.send("READY", &[NotifyState::Ready])
    }

    /// `STATUS=...`: one line for `systemctl status` (hashrate, block). Newlines become spaces.
    pub fn status(&self, line: &str) -> Result<(), NotifyError> {
        let line = line.replace(['\n', '\r'], " ");
        self.send("STATUS", &[NotifyState::Status(&line)])
    }

    /// `WATCHDOG=1`, only when systemd asked for a watchdog.
    pub fn watchdog(&self) -> Result<(), NotifyError> {
        if self.watchdog_interval().is_none() {
            return Ok(());
        }
        self.send("WATCHDOG", &[NotifyState::Watchdog])
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.send("STOPPING", &[NotifyState::Stopping])
    }
}
