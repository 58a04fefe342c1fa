//! The process's stop and reload signals, taken by one thread with `sigwait`: SIGINT and SIGTERM
//! (stop), SIGHUP (re-check the configuration). They are blocked in every thread started after
//! [`take`], so no signal handler runs at all and a device library that installs its own (PoCL's
//! LLVM does when it compiles a kernel, and its handler ended the process) never sees them.

use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// How long a stop may take before the process ends anyway (a loop blocked in a password prompt
/// or a driver call cannot answer the signal).
const STOP_GRACE: Duration = Duration::from_secs(10);

use super::CommandError;

/// A signal the command acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Signal {
    /// SIGINT or SIGTERM, by name.
    Stop(&'static str),
    /// SIGHUP.
    Reload,
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread and every thread it starts from now on, and
/// delivers them on the returned channel. Call before any other thread starts. A stop signal
/// ends the process after [`STOP_GRACE`] if the command has not ended it by then.
pub(super) fn take() -> Result<UnboundedReceiver<Signal>, CommandError> {
    let failed = |what: &str| CommandError::Failed(format!("cannot take SIGINT/SIGTERM/SIGHUP: {what}"));
    // SAFETY: sigemptyset/sigaddset/pthread_sigmask on a local, initialised set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(failed("pthread_sigmask"));
        }
        set
    };
    let (tx, rx) = unbounded_channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut signal = 0;
            // SAFETY: `set` is initialised and blocked in this thread (inherited from its creator).
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                continue;
            }
            let taken = match signal {
                libc::SIGHUP => Signal::Reload,
                libc::SIGINT => Signal::Stop("SIGINT"),
                _ => Signal::Stop("SIGTERM"),
            };
            if let Signal::Stop(name) = taken {
                std::thread::spawn(move || {
                    std::thread::sleep(STOP_GRACE);
                    tracing::error!("{name}: not stopped after {} s; exiting", STOP_GRACE.as_secs());
                    std::process::exit(super::code::OTHER);
                });
            }
            if tx.send(taken).is_err() {
                return;
            }
        })
        .map_err(|e| failed(&e.to_string()))?;
    Ok(rx)
}

/// The first stop signal; reload signals go to `on_reload` meanwhile.
pub(super) async fn stopped(signals: &mut UnboundedReceiver<Signal>, on_reload: impl Fn()) -> &'static str {
    loop {
        match signals.recv().await {
            Some(Signal::Stop(name)) => return name,
            Some(Signal::Reload) => on_reload(),
            None => return std::future::pending().await,
        }
    }
}
