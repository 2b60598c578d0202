//! Closed sets of words — statuses, states, roles, kinds, rule names — and
//! the one way knockoff declares them: [`closed_set!`]. Each set is an enum
//! whose members have one word each, used everywhere the member is stored,
//! shown or typed: `as_str`, `Display`, `FromStr` (an unknown word is an
//! [`UnknownWord`] that names the choices, never a default), serde as the
//! word, and clap's `ValueEnum`, so the command line takes the domain type
//! itself. Adding a member is one line.

/// A word that is none of the choices it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{word}` is not a {what}: one of {choices}")]
pub struct UnknownWord {
    pub word: String,
    pub what: &'static str,
    pub choices: String,
}

/// Declares a closed set:
///
/// ```ignore
/// closed_set! {
///     /// Where a match stands.
///     pub enum MatchStatus("match status") {
///         Pending = "pending",
///         Confirmed = "confirmed",
///     }
/// }
/// ```
///
/// The string in parentheses names the set in errors.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$member_meta:meta])* $member:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$member_meta])* $member, )+
        }

        impl $name {
            /// Every member, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$member),+];

            /// The member's word: stored, shown and typed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$member => $word, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::words::UnknownWord;
            fn from_str(word: &str) -> Result<$name, $crate::words::UnknownWord> {
                match word {
                    $( $word => Ok($name::$member), )+
                    _ => Err($crate::words::UnknownWord {
                        word: word.to_string(),
                        what: $what,
                        choices: [$($word),+].join(", "),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                word.parse().map_err(serde::de::Error::custom)
            }
        }

        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [$name] {
                $name::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        }
    };
}

pub(crate) use closed_set;

#[cfg(test)]
mod tests {
    closed_set! {
        /// A set for the test.
        enum Colour("colour") {
            Red = "red",
            /// With a space, as rule names have.
            DarkBlue = "dark blue",
        }
    }

    #[test]
    fn a_member_reads_back_from_its_word_and_nothing_else_does() {
        for colour in Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(*colour));
            assert_eq!(colour.to_string(), colour.as_str());
        }
        let unknown = "Red".parse::<Colour>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "`Red` is not a colour: one of red, dark blue"
        );
    }

    #[test]
    fn serde_and_clap_use_the_same_words() {
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark blue\""
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        let refused = serde_json::from_str::<Colour>("\"green\"").unwrap_err();
        assert!(refused.to_string().contains("one of red, dark blue"));
        use clap::ValueEnum;
        assert_eq!(Colour::from_str("dark blue", false), Ok(Colour::DarkBlue));
    }
}
