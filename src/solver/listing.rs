//! The `devices` listing: what each backend lists (the CPU its cores and SIMD paths; a GPU
//! backend its devices, or why it has none), as JSON and as text.

use serde_json::{json, Value};

use super::selection::reason;
use super::{cpu, cuda, opencl, DeviceError, GpuInfo};
use crate::settings::Key;

fn gpu_listing(list: Result<Vec<GpuInfo>, DeviceError>) -> Value {
    match list {
        Ok(devices) => json!({ "devices": devices }),
        // The key says it is unavailable; the text says why.
        Err(err) => json!({ "unavailable": reason(&err) }),
    }
}

/// What `regsolver devices` reports.
pub fn listing() -> Value {
    json!({
        "cpu": cpu::list(),
        "cuda": gpu_listing(cuda::list()),
        "opencl": gpu_listing(opencl::list()),
    })
}

/// Human-readable form of [`listing`].
pub fn listing_text(listing: &Value) -> String {
    let cpu = &listing["cpu"];
    let names = |v: &Value| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    let mut text = format!(
        "CPU: {} cores, {}; SIMD paths: {}; selected: {}\n",
        cpu["cores"],
        cpu["arch"].as_str().unwrap_or(""),
        names(&cpu["simd_available"]),
        cpu["simd_selected"].as_str().unwrap_or("")
    );
    for (title, key, flag) in [("CUDA", "cuda", Key::CudaSelect), ("OpenCL", "opencl", Key::OpenclSelect)] {
        let section = &listing[key];
        match section["devices"].as_array() {
            Some(devices) => {
                text += &format!("{title}: {} device(s)\n", devices.len());
                for d in devices {
                    text += &format!(
                        "  {flag} {}  {}  ({}, {} compute units, {})\n",
                        d["id"].as_str().unwrap_or(""),
                        d["name"].as_str().unwrap_or(""),
                        d["kind"].as_str().unwrap_or(""),
                        d["compute_units"],
                        d["detail"].as_str().unwrap_or("")
                    );
                }
            }
            None => text += &format!("{title}: unavailable: {}\n", section["unavailable"].as_str().unwrap_or("")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_backend_says_so_once() {
        let listed = gpu_listing(Err(DeviceError::Unavailable("no CUDA driver".into())));
        assert_eq!(listed, json!({ "unavailable": "no CUDA driver" }));
        let text = listing_text(&json!({ "cpu": {}, "cuda": listed, "opencl": { "devices": [] } }));
        assert!(text.contains("CUDA: unavailable: no CUDA driver\n"), "{text}");
    }
}
