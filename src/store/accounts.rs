//! Accounts and sessions: `users` (argon2id PHC strings, roles) and
//! `sessions` (only the SHA-256 of the cookie token, the CSRF token, idle
//! and absolute expiry). Every change to an account is audited, and one
//! that would leave no admin is refused.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{args, Db};
use super::matches::audit;
use super::{now, timestamp, Store};
use crate::refusal::{Refusal, RefusalKind, Refused};
use crate::words::closed_set;

/// A user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct UserId(pub i64);

closed_set! {
    /// What a user may do.
    pub enum Role("role") {
        /// Everything, including the audit log page.
        Admin = "admin",
        /// Decides on matches.
        Reviewer = "reviewer",
        /// Reads; changes nothing.
        Viewer = "viewer",
    }
}

impl Role {
    /// Whether this role may confirm, dismiss, escalate and note.
    pub(crate) fn can_decide(self) -> bool {
        matches!(self, Role::Admin | Role::Reviewer)
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

/// A live session: who, and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Ends a session this long after its last request.
    pub idle: Duration,
    /// Ends a session this long after sign-in, however busy.
    pub lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_secs(2 * 3600),
            lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

/// An account as `user list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub updated_at: String,
    /// Sessions not yet expired.
    pub sessions: u64,
    pub last_sign_in: Option<String>,
}

/// No account by that name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no user named `{0}` (`knockoff user list` shows them)")]
pub struct NoSuchUser(pub String);

impl Refusal for NoSuchUser {
    fn kind(&self) -> RefusalKind {
        RefusalKind::NotFound
    }
}

/// The change would leave no admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is the only admin and cannot be {change}: make another user admin first")]
pub struct LastAdmin {
    pub name: String,
    pub change: String,
}

impl Refusal for LastAdmin {
    fn kind(&self) -> RefusalKind {
        RefusalKind::Conflict
    }
}

/// The id and role of account `name`.
fn user_row(db: &Db, name: &str) -> Result<(i64, Role)> {
    let row = db.optional(
        "SELECT id, role FROM users WHERE name = ?1",
        args![name],
        |r| Ok((r.get(0)?, r.word(1)?)),
    )?;
    Ok(row.ok_or_else(|| NoSuchUser(name.to_string()).refused())?)
}

/// Refuses to take the admin role from `name` when no other account has it.
fn refuse_last_admin(db: &Db, name: &str, change: &str) -> Result<()> {
    let admins: i64 = db.one(
        "SELECT COUNT(*) FROM users WHERE role = 'admin'",
        args![],
        |r| r.get(0),
    )?;
    if admins <= 1 {
        return Err(LastAdmin {
            name: name.to_string(),
            change: change.to_string(),
        }
        .refused()
        .into());
    }
    Ok(())
}

impl Store {
    /// Adds a user; refuses a name that exists. Audited as `actor`.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        actor: &str,
    ) -> Result<UserId> {
        self.write(|db| {
            let exists: Option<i64> =
                db.optional("SELECT id FROM users WHERE name = ?1", args![name], |r| {
                    r.get(0)
                })?;
            if exists.is_some() {
                return Err(
                    Refused::conflict(format!("there is already a user named `{name}`")).into(),
                );
            }
            let at = now();
            let id = db.one(
                "INSERT INTO users (name, role, password_hash, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
                args![name, role.as_str(), password_hash, at],
                |r| r.get(0),
            )?;
            audit(
                db,
                actor,
                "user added",
                None,
                &format!("{name} ({})", role.as_str()),
            )?;
            Ok(UserId(id))
        })
    }

    /// Every account, by name, with its live sessions and last sign-in.
    pub fn users(&self) -> Result<Vec<Account>> {
        let now_t = now();
        self.read(|db| {
            db.all(
                "SELECT u.name, u.role, u.created_at, u.updated_at,
                    (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?1),
                    (SELECT MAX(a.at) FROM audit_log a WHERE a.actor = u.name AND a.action = 'signed in')
                 FROM users u ORDER BY u.name",
                args![now_t],
                |r| {
                    Ok(Account {
                        name: r.get(0)?,
                        role: r.word(1)?,
                        created_at: r.get(2)?,
                        updated_at: r.get(3)?,
                        sessions: r.get::<i64>(4)? as u64,
                        last_sign_in: r.get(5)?,
                    })
                },
            )
        })
    }

    /// Removes account `name` and ends its sessions at once, audited as
    /// `actor`. The last admin is not removed: nobody could manage the
    /// accounts from the review UI after.
    pub fn remove_user(&self, name: &str, actor: &str) -> Result<()> {
        self.write(|db| {
            let (id, role) = user_row(db, name)?;
            if role == Role::Admin {
                refuse_last_admin(db, name, "removed")?;
            }
            let ended = db.exec("DELETE FROM sessions WHERE user_id = ?1", args![id])?;
            db.exec("DELETE FROM users WHERE id = ?1", args![id])?;
            audit(
                db,
                actor,
                "user removed",
                None,
                &format!("{name} ({}); {ended} session(s) ended", role.as_str()),
            )
        })
    }

    /// Sets account `name`'s password hash and ends its sessions (whoever
    /// knew the old password is signed out), audited as `actor`.
    pub fn set_password(&self, name: &str, password_hash: &str, actor: &str) -> Result<()> {
        self.write(|db| {
            let (id, _) = user_row(db, name)?;
            db.exec(
                "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                args![id, password_hash, now()],
            )?;
            let ended = db.exec("DELETE FROM sessions WHERE user_id = ?1", args![id])?;
            audit(
                db,
                actor,
                "password changed",
                None,
                &format!("{name}; {ended} session(s) ended"),
            )
        })
    }

    /// Gives account `name` the role `role`, audited as `actor`. Its
    /// sessions end at once, so a demoted account holds no page it may no
    /// longer use; the last admin keeps the role.
    pub fn set_role(&self, name: &str, role: Role, actor: &str) -> Result<()> {
        self.write(|db| {
            let (id, was) = user_row(db, name)?;
            if was == Role::Admin && role != Role::Admin {
                refuse_last_admin(db, name, &format!("made a {}", role.as_str()))?;
            }
            db.exec(
                "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
                args![id, role.as_str(), now()],
            )?;
            let ended = db.exec("DELETE FROM sessions WHERE user_id = ?1", args![id])?;
            audit(
                db,
                actor,
                "role changed",
                None,
                &format!(
                    "{name}: {} → {}; {ended} session(s) ended",
                    was.as_str(),
                    role.as_str()
                ),
            )
        })
    }

    /// How many accounts exist.
    pub(crate) fn user_count(&self) -> Result<u64> {
        let n: i64 = self.scan(|db| db.one("SELECT COUNT(*) FROM users", args![], |r| r.get(0)))?;
        Ok(n as u64)
    }

    /// A user and their password hash, by name.
    pub fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        self.scan(|db| {
            db.optional(
                "SELECT id, name, role, password_hash FROM users WHERE name = ?1",
                args![name],
                |r| {
                    Ok((
                        User {
                            id: UserId(r.get(0)?),
                            name: r.get(1)?,
                            role: r.word(2)?,
                        },
                        r.get(3)?,
                    ))
                },
            )
        })
    }

    /// Starts a session for `user` under the digest of its cookie token.
    pub(crate) fn create_session(
        &self,
        user: &User,
        token_sha256: &str,
        csrf: &str,
        policy: SessionPolicy,
    ) -> Result<()> {
        let now_t = Utc::now();
        let expires = now_t + chrono::Duration::from_std(policy.lifetime)?;
        self.write(|db| {
            // Sessions past their end are of no use to anyone.
            db.exec(
                "DELETE FROM sessions WHERE expires_at < ?1",
                args![timestamp(now_t)],
            )?;
            db.exec(
                "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                args![
                    token_sha256,
                    user.id.0,
                    csrf,
                    timestamp(now_t),
                    timestamp(expires)
                ],
            )?;
            audit(db, &user.name, "signed in", None, "")
        })
    }

    /// The live session under this token digest, touched; `None` when there
    /// is none or it has expired (an expired one is removed).
    pub fn session(&self, token_sha256: &str, policy: SessionPolicy) -> Result<Option<Session>> {
        let row: Option<(i64, String, Role, String, String, String)> = self.read(|db| {
            db.optional(
                "SELECT u.id, u.name, u.role, s.csrf, s.last_seen, s.expires_at
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1",
                args![token_sha256],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.word(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
        })?;
        let Some((id, name, role, csrf, last_seen, expires_at)) = row else {
            return Ok(None);
        };
        let now_t = Utc::now();
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
        let last_seen = parse(&last_seen)?;
        let idle = chrono::Duration::from_std(policy.idle)?;
        if now_t >= last_seen + idle || now_t >= parse(&expires_at)? {
            self.write(|db| {
                db.exec(
                    "DELETE FROM sessions WHERE token_sha256 = ?1",
                    args![token_sha256],
                )
            })?;
            return Ok(None);
        }
        // Recording every request would make every page view a write; a
        // tenth of the idle limit (at most a minute) is precise enough.
        let touch_every = (idle / 10).min(chrono::Duration::minutes(1));
        if now_t - last_seen >= touch_every {
            self.write(|db| {
                db.exec(
                    "UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
                    args![token_sha256, timestamp(now_t)],
                )
            })?;
        }
        Ok(Some(Session {
            user: User {
                id: UserId(id),
                name,
                role,
            },
            csrf,
        }))
    }

    /// Ends a session (sign-out), audited.
    pub(crate) fn end_session(&self, token_sha256: &str, user: &str) -> Result<()> {
        self.write(|db| {
            db.exec(
                "DELETE FROM sessions WHERE token_sha256 = ?1",
                args![token_sha256],
            )?;
            audit(db, user, "signed out", None, "")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::tests::on_both_stores;

    #[test]
    fn accounts_and_sessions_behave_alike_on_both_engines() {
        on_both_stores(|store| {
            let ada = store
                .add_user("ada", Role::Admin, "hash-a", "setup")
                .unwrap();
            let bob = store
                .add_user("bob", Role::Reviewer, "hash-b", "ada")
                .unwrap();
            assert_ne!(ada, bob);
            let again = store.add_user("bob", Role::Viewer, "x", "ada").unwrap_err();
            assert!(
                again.to_string().contains("already a user named `bob`"),
                "{again}"
            );
            assert_eq!(store.user_count().unwrap(), 2);
            // The only admin keeps the role and the account.
            let last = store.set_role("ada", Role::Viewer, "ada").unwrap_err();
            assert!(last.to_string().contains("only admin"), "{last}");
            assert!(store.remove_user("ada", "ada").is_err());
            assert!(store
                .remove_user("nobody", "ada")
                .unwrap_err()
                .to_string()
                .contains("no user named"));

            let (user, hash) = store.user_credentials("bob").unwrap().unwrap();
            assert_eq!(
                (user.id, user.role, hash.as_str()),
                (bob, Role::Reviewer, "hash-b")
            );
            assert_eq!(store.user_credentials("carol").unwrap(), None);

            let policy = SessionPolicy::default();
            store
                .create_session(&user, "token-1", "csrf-1", policy)
                .unwrap();
            let session = store.session("token-1", policy).unwrap().unwrap();
            assert_eq!(
                (session.user, session.csrf.as_str()),
                (user.clone(), "csrf-1")
            );
            let accounts = store.users().unwrap();
            let names: Vec<(&str, u64, bool)> = accounts
                .iter()
                .map(|a| (a.name.as_str(), a.sessions, a.last_sign_in.is_some()))
                .collect();
            assert_eq!(names, [("ada", 0, false), ("bob", 1, true)]);

            // A new password signs everyone out.
            store.set_password("bob", "hash-b2", "ada").unwrap();
            assert_eq!(store.session("token-1", policy).unwrap(), None);
            store
                .create_session(&user, "token-2", "csrf-2", policy)
                .unwrap();
            store.end_session("token-2", "bob").unwrap();
            assert_eq!(store.session("token-2", policy).unwrap(), None);
            // An idle session ends.
            store
                .create_session(&user, "token-3", "csrf-3", policy)
                .unwrap();
            let idle = SessionPolicy {
                idle: Duration::ZERO,
                ..policy
            };
            assert_eq!(store.session("token-3", idle).unwrap(), None);

            store.set_role("bob", Role::Admin, "ada").unwrap();
            store.remove_user("ada", "bob").unwrap();
            assert_eq!(store.user_count().unwrap(), 1);
        });
    }
}
