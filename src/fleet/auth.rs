//! The fleet's shared token (read from `--token-file`, compared in constant time, never printed)
//! and the per-worker candidate rate limit (a token bucket).

use std::path::Path;
use std::time::Instant;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::FleetError;

/// The HTTP header the token travels in, in the WebSocket upgrade request.
pub const AUTHORIZATION: &str = "authorization";

/// A shared secret between a coordinator and its workers. Its `Debug` shows no byte of it.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token from its text; surrounding whitespace is dropped, an empty one refused.
    pub fn new(text: &str) -> Result<Token, FleetError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FleetError::EmptyToken);
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FleetError::TokenCharacters);
        }
        Ok(Token(Zeroizing::new(trimmed.to_string())))
    }

    /// Reads the token file (`--token-file`): its whole content, trimmed.
    pub fn from_file(path: &Path) -> Result<Token, FleetError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| FleetError::TokenFile { path: path.display().to_string(), reason: e.to_string() })?,
        );
        Token::new(&text)
    }

    /// The `Authorization` header value a worker sends.
    pub fn bearer(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.0.as_str()))
    }

    /// Whether an `Authorization` header value carries this token. Both sides are hashed first
    /// and the digests compared in constant time, so neither content nor length leaks by timing.
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        let Some(presented) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else { return false };
        let expected = crate::pow::sha256(self.0.as_bytes());
        let presented = crate::pow::sha256(presented);
        expected.ct_eq(&presented).into()
    }
}

/// A token bucket: `burst` candidates at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimit {
    pub fn new(per_second: f64, burst: u32) -> RateLimit {
        RateLimit { per_second, burst: f64::from(burst), tokens: f64::from(burst), refilled_at: Instant::now() }
    }

    /// Takes `count` tokens if the bucket holds them (then true), else takes nothing.
    pub fn take(&mut self, count: u32, now: Instant) -> bool {
        let elapsed_s = now.saturating_duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed_s * self.per_second).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= f64::from(count) {
            self.tokens -= f64::from(count);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = Token::new(" s3cret\n").unwrap();
        assert!(token.accepts(Some(b"Bearer s3cret")));
        assert!(token.accepts(Some(token.bearer().as_bytes())));
        for wrong in [&b"Bearer s3cre"[..], b"Bearer s3cret2", b"bearer s3cret", b"s3cret", b"Bearer ", b""] {
            assert!(!token.accepts(Some(wrong)), "{}", String::from_utf8_lossy(wrong));
        }
        assert!(!token.accepts(None));
    }

    #[test]
    fn tokens_are_never_printed_and_never_empty() {
        let token = Token::new("hunter2").unwrap();
        assert!(!format!("{token:?}").contains("hunter2"));
        assert!(matches!(Token::new(" \n"), Err(FleetError::EmptyToken)));
        assert!(matches!(Token::new("a b"), Err(FleetError::TokenCharacters)));
        let err = Token::from_file(Path::new("/nonexistent/fleet.token")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/fleet.token"), "{err}");
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = RateLimit::new(10.0, 20);
        assert!(bucket.take(20, start));
        assert!(!bucket.take(1, start));
        assert!(bucket.take(5, start + Duration::from_millis(500)));
        assert!(!bucket.take(1, start + Duration::from_millis(500)));
        assert!(bucket.take(20, start + Duration::from_secs(60)), "refills up to the burst");
        assert!(!bucket.take(21, start + Duration::from_secs(600)), "never past the burst");
    }
}
