//! Accounts on the web side: password hashing (argon2id), session tokens
//! and cookies, CSRF tokens, and the sign-in rate limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "knockoff_session";

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes,
/// as OWASP recommends) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| anyhow::anyhow!("encoding a password salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A fresh random token, hex: session cookies and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a session token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session token in a `Cookie` header, if any.
pub fn session_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(token: &str, lifetime: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        lifetime.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Failed sign-ins allowed per account, and per client address, in
/// `window`.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> LoginLimits {
        LoginLimits {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counts failed sign-ins per account and per address over a sliding
/// window; a key over its limit is refused until its oldest failure ages
/// out. In memory: a restart forgives, which costs an attacker a restart.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            failures: Mutex::default(),
        }
    }

    /// How long until `account` from `address` may try again; `None` when it may now.
    pub fn wait(&self, account: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut longest = None;
        for (key, limit) in [
            (format!("account:{account}"), self.limits.per_account),
            (format!("address:{address}"), self.limits.per_address),
        ] {
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
            {
                times.pop_front();
            }
            if times.len() >= limit {
                let oldest = *times.front().expect("over a positive limit, so not empty");
                let wait = self.limits.window - now.duration_since(oldest);
                longest = Some(longest.map_or(wait, |w: Duration| w.max(wait)));
            }
        }
        longest
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in [format!("account:{account}"), format!("address:{address}")] {
            failures.entry(key).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horse ", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn cookies_and_secrets() {
        assert_eq!(
            session_cookie("a=1; knockoff_session=abc; b=2"),
            Some("abc")
        );
        assert_eq!(session_cookie("knockoff_session="), None);
        let set = set_cookie("t", Duration::from_secs(60), true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure")
        );
        assert!(!set_cookie("t", Duration::from_secs(60), false).contains("Secure"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }

    #[test]
    fn the_limiter_refuses_after_the_limit_per_account_and_per_address() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_account: 2,
            per_address: 3,
            window: Duration::from_secs(60),
        });
        assert_eq!(limiter.wait("ana", "10.0.0.1"), None);
        limiter.failed("ana", "10.0.0.1");
        limiter.failed("ana", "10.0.0.1");
        assert!(limiter.wait("ana", "10.0.0.2").is_some(), "per account");
        assert_eq!(limiter.wait("bo", "10.0.0.2"), None);
        limiter.failed("cy", "10.0.0.1");
        assert!(limiter.wait("bo", "10.0.0.1").is_some(), "per address");
    }
}
