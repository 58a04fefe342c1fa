//! What the commands that run devices and the chain share: the async runtime they run on and
//! the stop of the devices when their work ends.

use std::time::Duration;

use super::CommandError;
use regsolver::solver::pool::Pool;

/// Stack for the async runtime's threads.
pub(super) const RUNTIME_STACK_BYTES: usize = 32 << 20;

/// How long the devices get to stop after an interruption.
const STOP_LIMIT: Duration = Duration::from_secs(2);

/// The async runtime of the chain and fleet commands. The loop runs as a task on its threads,
/// whose stacks are large enough for subxt's futures in an unoptimised build (the main thread's
/// 8 MiB is not).
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(RUNTIME_STACK_BYTES)
        .enable_all()
        .build()
        .map_err(|e| CommandError::Failed(format!("cannot start the async runtime: {e}")))
}

/// Stops the pool's devices once a command's work ended: with its `outcome`, or (`None`) on a stop
/// signal, which is a clean stop only if every device stopped within [`STOP_LIMIT`].
pub(super) fn stop_devices<T>(pool: &Pool, outcome: Option<T>) -> Result<Option<T>, CommandError> {
    pool.shutdown();
    let stopped = pool.join(STOP_LIMIT);
    match outcome {
        None if !stopped => Err(CommandError::Failed(format!("the devices did not stop within {} s", STOP_LIMIT.as_secs()))),
        outcome => Ok(outcome),
    }
}
