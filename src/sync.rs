//! Locking that outlives a panicked holder: a panic on one thread (a device, a connection
//! task) must not take every later reader of the same table down with it.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data as the panicked holder left it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
