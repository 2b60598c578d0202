//! A match's life in the queue, as types: its [`MatchStatus`], the lists
//! a reviewer can ask for ([`StatusFilter`]), what a reviewer can do to it
//! ([`Action`]), and the matcher's side of the state machine
//! ([`transition`]). Pure: the store persists what these decide and the
//! command line and review UI parse into them, so an unknown word is an
//! error where it is typed, never a silent default.

use crate::words::closed_set;
pub use crate::words::UnknownWord;

closed_set! {
    /// Where a match stands. Escalation is not a status: an escalated match
    /// is pending, waiting for the senior reviewer it was escalated to.
    pub enum MatchStatus("match status") {
        Pending = "pending",
        Confirmed = "confirmed",
        Dismissed = "dismissed",
    }
}

closed_set! {
    /// Which matches a queue list shows.
    #[derive(Default)]
    pub enum StatusFilter("status filter") {
        #[default]
        Pending = "pending",
        /// Pending and escalated: the senior reviewer's queue (the pending
        /// list of the review UI leaves these out).
        Escalated = "escalated",
        Confirmed = "confirmed",
        Dismissed = "dismissed",
        All = "all",
    }
}

impl StatusFilter {
    /// The status the list shows (`None`: every one).
    pub fn status(self) -> Option<MatchStatus> {
        match self {
            StatusFilter::Pending | StatusFilter::Escalated => Some(MatchStatus::Pending),
            StatusFilter::Confirmed => Some(MatchStatus::Confirmed),
            StatusFilter::Dismissed => Some(MatchStatus::Dismissed),
            StatusFilter::All => None,
        }
    }

    /// The review UI's heading for the list.
    pub fn heading(self) -> &'static str {
        match self {
            StatusFilter::Pending => "Pending review",
            StatusFilter::Escalated => "Escalated",
            StatusFilter::Confirmed => "Confirmed",
            StatusFilter::Dismissed => "Dismissed",
            StatusFilter::All => "Every match",
        }
    }
}

closed_set! {
    /// The order a queue page lists its matches in.
    #[derive(Default)]
    pub enum QueueSort("queue order") {
        /// Highest score first.
        #[default]
        Score = "score",
        /// Newest listing first.
        FirstSeen = "first_seen",
        /// Cheapest first (the listings without a price last).
        Price = "price",
        /// By seller name, then highest score.
        Seller = "seller",
    }
}

impl QueueSort {
    /// The words a reviewer reads in the sort menu.
    pub fn label(self) -> &'static str {
        match self {
            QueueSort::Score => "highest score",
            QueueSort::FirstSeen => "newest first seen",
            QueueSort::Price => "lowest price",
            QueueSort::Seller => "seller A–Z",
        }
    }
}

/// A reviewer's final decision on a pending match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Dismiss,
}

impl Decision {
    /// The status the decision leaves the match in.
    pub fn status(self) -> MatchStatus {
        match self {
            Decision::Confirm => MatchStatus::Confirmed,
            Decision::Dismiss => MatchStatus::Dismissed,
        }
    }
}

closed_set! {
    /// What a reviewer does to a match from the review UI.
    pub(crate) enum Action("review action") {
        Confirm = "confirm",
        Dismiss = "dismiss",
        /// Hands a pending match to a senior reviewer.
        Escalate = "escalate",
        /// Adds a note; the status stays.
        Note = "note",
        /// Takes back the reviewer's own decision: pending again.
        Undo = "undo",
    }
}

impl Action {
    /// The actions that apply to many matches at once.
    pub(crate) const BULK: [Action; 3] = [Action::Confirm, Action::Dismiss, Action::Escalate];
}

/// What a new verdict does to a match that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Status unchanged (score and signals are refreshed).
    Stay,
    /// Dismissed → pending: the listing changed materially since.
    Reopen,
    /// Pending → dismissed by the matcher: no queue rule fires any more.
    Withdraw,
}

impl Transition {
    /// The status a match in `current` has after this step.
    pub(crate) fn status_after(self, current: MatchStatus) -> MatchStatus {
        match self {
            Transition::Stay => current,
            Transition::Reopen => MatchStatus::Pending,
            Transition::Withdraw => MatchStatus::Dismissed,
        }
    }
}

/// The queue's state machine for the matcher's side. `queued` is whether a
/// queue rule fires on the new verdict (false when the product is no
/// longer judged at all); `material_change` whether the listing changed
/// materially since the match was decided. Confirmed stays confirmed; an
/// escalated match waits for the senior reviewer, whatever the score does.
pub(crate) fn transition(
    current: MatchStatus,
    escalated: bool,
    queued: bool,
    material_change: bool,
) -> Transition {
    match current {
        MatchStatus::Dismissed if queued && material_change => Transition::Reopen,
        MatchStatus::Pending if !queued && !escalated => Transition::Withdraw,
        _ => Transition::Stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MatchStatus::*;
    use Transition::*;

    #[test]
    fn the_matcher_moves_a_match_only_as_the_table_says() {
        // current, escalated, queued, material change → step, status after
        let table = [
            (Pending, false, true, false, Stay, Pending),
            (Pending, false, true, true, Stay, Pending),
            (Pending, false, false, false, Withdraw, Dismissed),
            (Pending, false, false, true, Withdraw, Dismissed),
            (Pending, true, false, false, Stay, Pending),
            (Pending, true, false, true, Stay, Pending),
            (Pending, true, true, true, Stay, Pending),
            (Dismissed, false, true, true, Reopen, Pending),
            (Dismissed, true, true, true, Reopen, Pending),
            (Dismissed, false, true, false, Stay, Dismissed),
            (Dismissed, false, false, true, Stay, Dismissed),
            (Dismissed, false, false, false, Stay, Dismissed),
            (Confirmed, false, false, true, Stay, Confirmed),
            (Confirmed, false, true, true, Stay, Confirmed),
            (Confirmed, false, false, false, Stay, Confirmed),
            (Confirmed, true, false, false, Stay, Confirmed),
        ];
        for (current, escalated, queued, changed, step, after) in table {
            let got = transition(current, escalated, queued, changed);
            let row = format!("{current} escalated={escalated} queued={queued} changed={changed}");
            assert_eq!(got, step, "{row}");
            assert_eq!(got.status_after(current), after, "{row}");
        }
    }

    #[test]
    fn words_round_trip_and_unknown_ones_name_the_choices() {
        for status in [Pending, Confirmed, Dismissed] {
            assert_eq!(status.as_str().parse::<MatchStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        for &filter in StatusFilter::ALL {
            assert_eq!(filter.as_str().parse::<StatusFilter>(), Ok(filter));
        }
        for action in ["confirm", "dismiss", "escalate", "note"] {
            assert_eq!(action.parse::<Action>().unwrap().as_str(), action);
        }
        let unknown = "pendng".parse::<StatusFilter>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "`pendng` is not a status filter: one of pending, escalated, confirmed, dismissed, all"
        );
        assert!("withdrawn".parse::<MatchStatus>().is_err());
        assert!("delete".parse::<Action>().is_err());
    }

    #[test]
    fn a_decision_leaves_its_status() {
        assert_eq!(Decision::Confirm.status(), Confirmed);
        assert_eq!(Decision::Dismiss.status(), Dismissed);
        assert_eq!(format!("{:<9}|", Pending), "pending  |", "pads in tables");
    }
}
