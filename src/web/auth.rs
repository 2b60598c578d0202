//! Accounts on the web side: password hashing (argon2id), session tokens
//! and cookies, CSRF tokens, and the sign-in rate limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::refusal::Refused;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "knockoff_session";

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes,
/// as OWASP recommends) and a random salt (the operating system's), as a
/// PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
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
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a session token.
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session token in a `Cookie` header, if any.
pub(crate) fn session_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// The `Set-Cookie` value that starts a session.
pub(crate) fn set_cookie(token: &str, lifetime: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        lifetime.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub(crate) fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Longest user name `user add` accepts; a sign-in form's name is cut to
/// this before it is looked up or logged.
pub(crate) const MAX_NAME_BYTES: usize = 64;

/// Shortest password an account may have, in characters.
const MIN_PASSWORD_CHARS: usize = 10;

/// Refuses a name `user add` should not create: empty, longer than
/// [`MAX_NAME_BYTES`], or with anything but letters, digits, '.', '_', '-'
/// and '@'.
pub(crate) fn check_new_user_name(name: &str) -> Result<(), Refused> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c));
    match valid {
        true => Ok(()),
        false => Err(Refused::invalid(format!(
            "`{name}` is not a user name: use 1–{MAX_NAME_BYTES} letters, digits, '.', '_', '-' or '@'"
        ))),
    }
}

/// Refuses a password too short for account `name`.
pub(crate) fn check_password(name: &str, password: &str) -> Result<(), Refused> {
    match password.chars().count() >= MIN_PASSWORD_CHARS {
        true => Ok(()),
        false => Err(Refused::invalid(format!(
            "the password for `{name}` is too short: use at least {MIN_PASSWORD_CHARS} characters"
        ))),
    }
}

/// A user name from a sign-in form as it may be looked up and logged: no
/// control characters, at most [`MAX_NAME_BYTES`].
pub(crate) fn login_name(raw: &str) -> String {
    let mut name = String::new();
    for c in raw.trim().chars().filter(|c| !c.is_control()) {
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    name
}

/// Whether `password` is right for the account whose stored hash is
/// `hash`; for a name with no account, a hash of the same cost is checked
/// anyway, so the answer takes as long whether the name exists or not.
pub(crate) fn verify_login(password: &str, hash: Option<&str>) -> bool {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let decoy = DECOY.get_or_init(|| hash_password("no such account").unwrap_or_default());
            verify_password(password, decoy);
            false
        }
    }
}

/// The client's address: the peer, or — when the peer is a trusted
/// reverse proxy — the nearest address in X-Forwarded-For that is not one
/// of the trusted proxies.
pub(crate) fn client_address(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|list| list.rsplit(','))
        .map_while(|entry| entry.trim().parse::<std::net::IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// Failed sign-ins allowed per account from one address, and per address,
/// in `window`.
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

/// A sign-in the limiter refuses: how long to wait, and whether this is
/// the first refusal of this lock (the only one worth an audit row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    pub wait: Duration,
    pub first: bool,
}

/// Counts failed sign-ins per (account, address) and per address over a
/// sliding window; a key over its limit is refused until its oldest
/// failure ages out. Counting an account per address means nobody can
/// lock a colleague out from elsewhere; behind a proxy, set
/// `[server] trusted_proxies` so each client has its own address. In
/// memory: a restart forgives, which costs an attacker a restart.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Keys whose current lock has been reported, and since when.
    reported: Mutex<HashMap<String, Instant>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            ..LoginLimiter::default()
        }
    }

    fn keys(account: &str, address: &str) -> [(String, bool); 2] {
        [
            (format!("account:{account}@{address}"), true),
            (format!("address:{address}"), false),
        ]
    }

    /// Whether `account` from `address` must wait before trying again.
    pub fn check(&self, account: &str, address: &str) -> Option<Refusal> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut refusal: Option<(Duration, String)> = None;
        for (key, per_account) in Self::keys(account, address) {
            let limit = if per_account {
                self.limits.per_account
            } else {
                self.limits.per_address
            };
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
            {
                times.pop_front();
            }
            if times.is_empty() {
                failures.remove(&key);
                continue;
            }
            if times.len() >= limit {
                let oldest = *times.front().expect("over a positive limit, so not empty");
                let wait = self.limits.window - now.duration_since(oldest);
                if refusal.as_ref().is_none_or(|(w, _)| wait > *w) {
                    refusal = Some((wait, key));
                }
            }
        }
        let (wait, key) = refusal?;
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        reported.retain(|_, since| now.duration_since(*since) < self.limits.window);
        let first = !reported.contains_key(&key);
        if first {
            reported.insert(key, now);
        }
        Some(Refusal { wait, first })
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in Self::keys(account, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_and_passwords_follow_the_rules_sign_in_reads_by() {
        assert!(check_new_user_name("ana.lopez@brand").is_ok());
        for bad in ["", "ana lopez", "ana\u{7}", &"a".repeat(MAX_NAME_BYTES + 1)] {
            let refused = check_new_user_name(bad).unwrap_err();
            assert!(
                refused.to_string().contains("is not a user name"),
                "{bad:?}"
            );
        }
        // What `user add` accepts, sign-in looks up unchanged.
        let longest = "a".repeat(MAX_NAME_BYTES);
        assert!(check_new_user_name(&longest).is_ok());
        assert_eq!(login_name(&longest), longest);
        assert!(check_password("ana", "123456789").is_err());
        assert!(check_password("ana", "1234567890").is_ok());
    }

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
    fn the_limiter_refuses_per_account_and_address_and_per_address() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_account: 2,
            per_address: 3,
            window: Duration::from_secs(60),
        });
        assert_eq!(limiter.check("ana", "10.0.0.1"), None);
        limiter.failed("ana", "10.0.0.1");
        limiter.failed("ana", "10.0.0.1");
        let refused = limiter.check("ana", "10.0.0.1").unwrap();
        assert!(refused.first);
        assert!(
            !limiter.check("ana", "10.0.0.1").unwrap().first,
            "reported once"
        );
        // Failures elsewhere do not lock ana out of her own desk.
        assert_eq!(limiter.check("ana", "10.0.0.2"), None);
        assert_eq!(limiter.check("bo", "10.0.0.2"), None);
        limiter.failed("cy", "10.0.0.1");
        assert!(limiter.check("bo", "10.0.0.1").is_some(), "per address");
    }

    #[test]
    fn names_are_cut_and_cleaned_before_lookup() {
        assert_eq!(login_name(" ana "), "ana");
        assert_eq!(login_name("a\u{1b}[2Jna\n"), "a[2Jna");
        let long = login_name(&"é".repeat(1_000_000));
        assert_eq!(long.len(), MAX_NAME_BYTES);
    }

    #[test]
    fn the_client_address_comes_from_a_trusted_proxy_only() {
        let proxy: std::net::IpAddr = "10.0.0.9".parse().unwrap();
        let peer: std::net::IpAddr = "203.0.113.5".parse().unwrap();
        let xff = Some("198.51.100.1, 192.0.2.7");
        assert_eq!(client_address(peer, xff, &[proxy]), peer);
        assert_eq!(
            client_address(proxy, xff, &[proxy]),
            "192.0.2.7".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, Some("junk"), &[proxy]), proxy);
        assert_eq!(client_address(proxy, None, &[proxy]), proxy);
    }

    #[test]
    fn unknown_names_cost_a_hash_check_too() {
        let hash = hash_password("right one").unwrap();
        assert!(verify_login("right one", Some(&hash)));
        assert!(!verify_login("right one", None));
        let time = |hash: Option<&str>| {
            let start = Instant::now();
            verify_login("wrong", hash);
            start.elapsed()
        };
        time(None);
        // The same work both ways: within a factor of four, far from the
        // thousandfold gap of skipping argon2.
        let (known, unknown) = (time(Some(&hash)), time(None));
        assert!(
            unknown * 4 > known && known * 4 > unknown,
            "{known:?} {unknown:?}"
        );
    }
}
