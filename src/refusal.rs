//! Refusals: the user's input or the store's state says no — an unknown
//! match, a match not confirmed yet, the last admin, a bad argument — as
//! opposed to something going wrong. A refusal is a [`Refused`] somewhere
//! in an error's chain, whatever context was added on the way out; each
//! edge recognises it in one place ([`refusal`]): the command line exits 2
//! for it (1 for anything else), the review UI answers 4xx with its message
//! (500 with a reference into the log for anything else).
//!
//! A refusal with data a caller branches on keeps its own type (such as
//! `store::NoSuchMatch`), says its [`RefusalKind`] by implementing
//! [`Refusal`], and is raised with [`Refusal::refused`].

use std::error::Error;

/// What kind of no it is: how the review UI answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// What was named does not exist (404).
    NotFound,
    /// The state says no: someone else decided first, the match is not
    /// confirmed, the last admin (409).
    Conflict,
    /// The input says no (400).
    Invalid,
}

/// A refusal: its kind, and why, in words meant for the user.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Refused {
    pub kind: RefusalKind,
    reason: Box<dyn Error + Send + Sync>,
}

impl Refused {
    /// A refusal of bad input, in words.
    pub fn invalid(why: impl Into<String>) -> Refused {
        Refused {
            kind: RefusalKind::Invalid,
            reason: why.into().into(),
        }
    }

    /// A refusal because of where things stand, in words.
    pub fn conflict(why: impl Into<String>) -> Refused {
        Refused {
            kind: RefusalKind::Conflict,
            reason: why.into().into(),
        }
    }

    /// The typed refusal inside, when it is a `T`.
    pub fn reason<T: Error + 'static>(&self) -> Option<&T> {
        self.reason.downcast_ref()
    }
}

/// A typed refusal: an error type whose every value is a refusal.
pub trait Refusal: Error + Send + Sync + Sized + 'static {
    fn kind(&self) -> RefusalKind;

    /// This refusal, as the edges recognise it.
    fn refused(self) -> Refused {
        Refused {
            kind: self.kind(),
            reason: Box::new(self),
        }
    }
}

/// The refusal in `error`'s chain, if it is one.
pub fn refusal(error: &anyhow::Error) -> Option<&Refused> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Refused>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    #[error("there is no thing {0}")]
    struct NoSuchThing(i64);

    impl Refusal for NoSuchThing {
        fn kind(&self) -> RefusalKind {
            RefusalKind::NotFound
        }
    }

    #[test]
    fn a_refusal_is_found_under_any_context_and_keeps_its_type() {
        let error = Err::<(), _>(NoSuchThing(7).refused())
            .context("exporting")
            .context("the bundle of match 7")
            .unwrap_err();
        let refused = refusal(&error).expect("a refusal");
        assert_eq!(refused.kind, RefusalKind::NotFound);
        assert_eq!(refused.to_string(), "there is no thing 7");
        assert_eq!(refused.reason::<NoSuchThing>().map(|t| t.0), Some(7));
        assert_eq!(
            format!("{error:#}"),
            "the bundle of match 7: exporting: there is no thing 7"
        );
    }

    #[test]
    fn other_errors_are_not_refusals() {
        let error = anyhow::anyhow!("disk full").context("writing the bundle");
        assert!(refusal(&error).is_none());
        let invalid = anyhow::Error::new(Refused::invalid("`x` is not a template"));
        assert_eq!(refusal(&invalid).unwrap().kind, RefusalKind::Invalid);
    }
}
