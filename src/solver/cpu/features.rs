//! The CPU features the SIMD paths need: detected once, optionally narrowed (never widened) by
//! `REGSOLVER_CPU_FEATURES`, so a path's refusal can be exercised on a CPU that has everything.

use std::sync::OnceLock;

use tracing::warn;

use super::SimdLevel;

/// The variable that narrows the detected features: a comma-separated list of the names in
/// [`Features::NAMES`] to keep (empty keeps none: only `scalar` runs). Unset keeps them all.
pub const FEATURES_VAR: &str = "REGSOLVER_CPU_FEATURES";

/// Which of the features the SIMD paths use this CPU has (or is allowed to use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// The SHA extensions (SHA-NI) together with SSE4.1, which their code also uses.
    pub sha: bool,
    pub avx2: bool,
    /// AVX-512 F and BW.
    pub avx512: bool,
}

impl Features {
    /// The names [`Features::narrowed`] accepts.
    pub const NAMES: [&'static str; 3] = ["sha", "avx2", "avx512"];

    /// What the hardware has.
    pub fn hardware() -> Features {
        #[cfg(target_arch = "x86_64")]
        {
            Features {
                sha: is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1"),
                avx2: is_x86_feature_detected!("avx2"),
                avx512: is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Features::default()
    }

    /// The hardware's features, narrowed by [`FEATURES_VAR`] if set; read once per process.
    /// Every SIMD path's token is made from this, so a narrowed feature is never used.
    pub fn current() -> Features {
        static CURRENT: OnceLock<Features> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            let hardware = Features::hardware();
            match std::env::var(FEATURES_VAR) {
                Ok(keep) => hardware.narrowed(&keep).unwrap_or_else(|unknown| {
                    warn!(device = "cpu", "{FEATURES_VAR}: unknown feature {unknown:?} ignored (known: {})", Features::NAMES.join(", "));
                    hardware.narrowed_known(&keep)
                }),
                Err(_) => hardware,
            }
        })
    }

    /// These features less every one not named in `keep` (comma-separated [`Features::NAMES`]);
    /// an unknown name is an error.
    pub fn narrowed(self, keep: &str) -> Result<Features, String> {
        match keep.split(',').map(str::trim).find(|name| !name.is_empty() && !Features::NAMES.contains(name)) {
            Some(unknown) => Err(unknown.to_string()),
            None => Ok(self.narrowed_known(keep)),
        }
    }

    fn narrowed_known(self, keep: &str) -> Features {
        let named = |feature: &str| keep.split(',').any(|name| name.trim() == feature);
        Features { sha: self.sha && named("sha"), avx2: self.avx2 && named("avx2"), avx512: self.avx512 && named("avx512") }
    }

    /// Whether `level` runs with these features.
    pub fn run(self, level: SimdLevel) -> bool {
        match level {
            SimdLevel::Scalar => true,
            SimdLevel::ShaNi => self.sha,
            SimdLevel::Avx2 => self.avx2,
            SimdLevel::Avx2ShaNi => self.avx2 && self.sha,
            SimdLevel::Avx512 => self.avx512,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Features;

    const ALL: Features = Features { sha: true, avx2: true, avx512: true };

    #[test]
    fn narrowing_keeps_only_named_features_and_never_adds_one() {
        assert_eq!(ALL.narrowed("avx2, sha").unwrap(), Features { sha: true, avx2: true, avx512: false });
        assert_eq!(ALL.narrowed("").unwrap(), Features::default());
        assert_eq!(Features::default().narrowed("sha,avx2,avx512").unwrap(), Features::default());
        assert_eq!(ALL.narrowed("avx2,neon").unwrap_err(), "neon");
    }

    #[test]
    fn current_is_within_the_hardware() {
        let (current, hardware) = (Features::current(), Features::hardware());
        assert!(!current.sha || hardware.sha);
        assert!(!current.avx2 || hardware.avx2);
        assert!(!current.avx512 || hardware.avx512);
    }
}
