//! What clients may put into the logs: lines rate-limited per cause (the next line logged says
//! how many of its cause were dropped), and client-supplied text only truncated and escaped
//! (control and bidirectional-override characters written as `\u{..}`).

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines per cause per window that a [`Throttle::default`] lets through.
const LINES_PER_WINDOW: u32 = 5;
const WINDOW: Duration = Duration::from_secs(10);

/// Per-cause counts of one window.
#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    dropped: u64,
}

/// Rate-limits log lines per cause (a fixed word: `unauthorized`, `accept`, ...).
#[derive(Debug)]
pub struct Throttle {
    per_window: u32,
    window: Duration,
    causes: Mutex<HashMap<&'static str, Window>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(LINES_PER_WINDOW, WINDOW)
    }
}

impl Throttle {
    /// At most `per_window` lines of each cause per `window`.
    pub fn new(per_window: u32, window: Duration) -> Throttle {
        Throttle { per_window, window, causes: Mutex::new(HashMap::new()) }
    }

    /// Whether a line of `cause` may be logged now: `Some(dropped)`, the lines of that cause
    /// dropped since the last one logged (to put in the line), or `None` (count it, log nothing).
    pub fn allow(&self, cause: &'static str) -> Option<u64> {
        self.allow_at(cause, Instant::now())
    }

    fn allow_at(&self, cause: &'static str, now: Instant) -> Option<u64> {
        let mut causes = lock(&self.causes);
        let entry = causes.entry(cause).or_insert(Window { started: now, logged: 0, dropped: 0 });
        if now.saturating_duration_since(entry.started) >= self.window {
            entry.started = now;
            entry.logged = 0;
        }
        if entry.logged >= self.per_window {
            entry.dropped += 1;
            return None;
        }
        entry.logged += 1;
        Some(std::mem::take(&mut entry.dropped))
    }
}

/// Whether `c` reorders or hides text on a terminal (bidi embeddings, overrides, isolates, marks).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Client text as it may be logged or shown: control and bidi characters escaped
/// (`\u{202e}`), cut (with `…`) where the result would pass `max_bytes`.
pub fn escape(text: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let piece = if c.is_control() || is_bidi(c) { c.escape_unicode().to_string() } else { c.to_string() };
        if out.len() + piece.len() > max_bytes {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_gets_its_lines_then_the_next_window_says_what_was_dropped() {
        let throttle = Throttle::new(2, Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.allow_at("a", start), Some(0));
        assert_eq!(throttle.allow_at("a", start), Some(0));
        for _ in 0..7 {
            assert_eq!(throttle.allow_at("a", start), None);
        }
        assert_eq!(throttle.allow_at("b", start), Some(0), "causes are counted apart");
        assert_eq!(throttle.allow_at("a", start + Duration::from_secs(10)), Some(7));
        assert_eq!(throttle.allow_at("a", start + Duration::from_secs(10)), Some(0));
    }

    #[test]
    fn client_text_is_cut_and_escaped() {
        assert_eq!(escape("rig-a", 64), "rig-a");
        assert_eq!(escape("evil\u{202E}gnp.exe\n", 64), "evil\\u{202e}gnp.exe\\u{a}");
        assert_eq!(escape("\u{2066}x\u{200F}", 64), "\\u{2066}x\\u{200f}");
        assert_eq!(escape(&"x".repeat(100), 8), format!("{}…", "x".repeat(8)));
        assert_eq!(escape("ünï", 4), "ün…");
        assert_eq!(escape("\u{202E}\u{202E}", 12), "\\u{202e}…", "the cut counts the escapes");
    }
}
