//! Stand-in for a GPU backend this build leaves out (its cargo feature is off).

use super::{DeviceError, GpuInfo, GpuTuning, WorkerSpec};

fn disabled() -> DeviceError {
    DeviceError::Unavailable("this regsolver was built without this backend (cargo feature off)".into())
}

pub fn list() -> Result<Vec<GpuInfo>, DeviceError> {
    Err(disabled())
}

pub fn worker_spec(_info: &GpuInfo, _tuning: GpuTuning) -> Result<WorkerSpec, DeviceError> {
    Err(disabled())
}
