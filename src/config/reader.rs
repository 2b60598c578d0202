//! `TableReader`: walks one TOML table, reading the keys the loader asks
//! for and recording every problem — wrong type, out of range, unknown key
//! (with a suggestion) — with the file and the dotted key.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use super::keys::{Key, Kind};
use super::{Problem, Selector};

pub(super) fn push(problems: &RefCell<Vec<Problem>>, file: &Path, key: &str, message: String) {
    problems.borrow_mut().push(Problem {
        file: file.to_path_buf(),
        key: key.to_string(),
        message,
    });
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn number_text(value: f64) -> String {
    let size = value.abs();
    if size == 0.0 || (1e-4..1e16).contains(&size) || !size.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

/// Walks one TOML table, reading expected keys and recording every problem.
/// `finish` reports the keys nobody asked for, with a suggestion.
pub(super) struct TableReader<'a> {
    table: Option<&'a toml::Table>,
    file: &'a Path,
    prefix: String,
    problems: &'a RefCell<Vec<Problem>>,
    known: Vec<&'static str>,
}

impl<'a> TableReader<'a> {
    pub(super) fn new(
        table: &'a toml::Table,
        file: &'a Path,
        prefix: &str,
        problems: &'a RefCell<Vec<Problem>>,
    ) -> Self {
        TableReader {
            table: Some(table),
            file,
            prefix: prefix.to_string(),
            problems,
            known: Vec::new(),
        }
    }

    pub(super) fn key_path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub(super) fn problem(&self, key: &str, message: String) {
        push(self.problems, self.file, &self.key_path(key), message);
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.contains_key(key))
    }

    pub(super) fn value(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.known.push(key);
        self.table.and_then(|t| t.get(key))
    }

    pub(super) fn wrong_type(&self, key: &str, expected: &str, found: &toml::Value) {
        self.problem(
            key,
            format!("expected {expected}, found {} {found}", found.type_str()),
        );
    }

    pub(super) fn table(&mut self, key: &'static str) -> TableReader<'a> {
        let table = match self.value(key) {
            Some(toml::Value::Table(t)) => Some(t),
            Some(other) => {
                self.wrong_type(key, "a table", other);
                None
            }
            None => None,
        };
        TableReader {
            table,
            file: self.file,
            prefix: self.key_path(key),
            problems: self.problems,
            known: Vec::new(),
        }
    }

    pub(super) fn table_array(&mut self, key: &'static str) -> Vec<TableReader<'a>> {
        match self.value(key) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    toml::Value::Table(t) => Some(TableReader {
                        table: Some(t),
                        file: self.file,
                        prefix: format!("{}[{i}]", self.key_path(key)),
                        problems: self.problems,
                        known: Vec::new(),
                    }),
                    other => {
                        self.wrong_type(&format!("{key}[{i}]"), "a table", other);
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.wrong_type(key, "an array of tables ([[product]])", other);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    pub(super) fn string(&mut self, key: &'static str) -> Option<String> {
        match self.value(key)? {
            toml::Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(key, "a string", other);
                None
            }
        }
    }

    /// An ISO 4217 code such as EUR; anything else is a problem (and kept,
    /// so one mistake is reported once).
    pub(super) fn currency_code(&mut self, key: &'static str) -> Option<String> {
        let code = self.string(key)?;
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            self.problem(
                key,
                format!("`{code}` is not an ISO 4217 code such as USD or EUR"),
            );
        }
        Some(code)
    }

    pub(super) fn required_string(&mut self, key: &'static str) -> Option<String> {
        if self.table.is_some() && !self.has(key) {
            self.problem(key, "is required but missing".into());
        } else if self.table.is_none() {
            self.problem(key, "is required but missing".into());
            self.known.push(key);
            return None;
        }
        let value = self.string(key)?;
        if value.trim().is_empty() {
            self.problem(key, "must not be empty".into());
            return None;
        }
        Some(value)
    }

    /// A declared setting's number (a count, seconds, a flag as 0/1 are
    /// read by the siblings below): the value in range, else its default.
    pub(super) fn setting(&mut self, key: &Key) -> f64 {
        debug_assert_eq!(
            self.prefix, key.table,
            "{} read from the wrong table",
            key.name
        );
        match key.kind {
            Kind::Number { min, max, default } | Kind::Seconds { min, max, default } => {
                self.f64_in(key.name, min, max).unwrap_or(default)
            }
            Kind::Count { min, max, default } => {
                f64::from(self.count(key.name, min, max).unwrap_or(default))
            }
            Kind::Flag { .. } | Kind::Other { .. } => {
                unreachable!("{} is not a number", key.name)
            }
        }
    }

    /// A declared whole-number setting.
    pub(super) fn setting_count(&mut self, key: &Key) -> u32 {
        self.setting(key) as u32
    }

    /// A declared seconds setting, as a `Duration`: the range is checked
    /// before the conversion, which panics on huge values.
    pub(super) fn setting_seconds(&mut self, key: &Key) -> Duration {
        Duration::from_secs_f64(self.setting(key))
    }

    /// A declared true/false setting.
    pub(super) fn setting_flag(&mut self, key: &Key) -> bool {
        debug_assert_eq!(
            self.prefix, key.table,
            "{} read from the wrong table",
            key.name
        );
        match key.kind {
            Kind::Flag { default } => self.boolean(key.name).unwrap_or(default),
            _ => unreachable!("{} is not a flag", key.name),
        }
    }

    pub(super) fn string_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        match self.value(key)? {
            toml::Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => out.push(s.clone()),
                        other => {
                            self.wrong_type(key, "an array of strings", other);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                self.wrong_type(key, "an array of strings", other);
                None
            }
        }
    }

    pub(super) fn number(&mut self, key: &'static str) -> Option<f64> {
        match self.value(key)? {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            other => {
                self.wrong_type(key, "a number", other);
                None
            }
        }
    }

    pub(super) fn positive_f64(&mut self, key: &'static str) -> Option<f64> {
        let value = self.number(key)?;
        if value.is_finite() && value > 0.0 {
            Some(value)
        } else {
            self.problem(key, format!("must be greater than 0, found {value}"));
            None
        }
    }

    pub(super) fn f64_in(&mut self, key: &'static str, low: f64, high: f64) -> Option<f64> {
        let value = self.number(key)?;
        if (low..=high).contains(&value) {
            Some(value)
        } else {
            self.problem(
                key,
                format!(
                    "must be between {low} and {high}, found {}",
                    number_text(value)
                ),
            );
            None
        }
    }

    pub(super) fn count(&mut self, key: &'static str, low: u32, high: u32) -> Option<u32> {
        match self.value(key)? {
            toml::Value::Integer(i) if (low as i64..=high as i64).contains(i) => Some(*i as u32),
            toml::Value::Integer(i) => {
                self.problem(key, format!("must be between {low} and {high}, found {i}"));
                None
            }
            other => {
                self.wrong_type(key, "a whole number", other);
                None
            }
        }
    }

    /// Every key of a table whose values are all positive numbers (a map
    /// such as `[matching.fx]`); other values are reported.
    pub(super) fn positive_numbers(&mut self) -> Vec<(String, f64)> {
        let Some(table) = self.table else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table {
            match value {
                toml::Value::Float(f) if f.is_finite() && *f > 0.0 => out.push((key.clone(), *f)),
                toml::Value::Integer(i) if *i > 0 => out.push((key.clone(), *i as f64)),
                other => self.problem(
                    key,
                    format!(
                        "expected a positive number, found {} {other}",
                        other.type_str()
                    ),
                ),
            }
        }
        // Every key is this map's own: none is unknown.
        self.table = None;
        out
    }

    pub(super) fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.value(key)? {
            toml::Value::Boolean(b) => Some(*b),
            other => {
                self.wrong_type(key, "true or false", other);
                None
            }
        }
    }

    pub(super) fn parsed<T: std::str::FromStr>(
        &mut self,
        key: &'static str,
        expected: &str,
    ) -> Option<T> {
        let raw = self.string(key)?;
        match raw.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.problem(key, format!("`{raw}` is not {expected}"));
                None
            }
        }
    }

    pub(super) fn selector(&mut self, key: &'static str) -> Option<Selector> {
        let raw = self.string(key)?;
        match Selector::parse(&raw) {
            Ok(selector) => Some(selector),
            Err(reason) => {
                self.problem(key, reason);
                None
            }
        }
    }

    pub(super) fn required_selector(&mut self, key: &'static str) -> Option<Selector> {
        if !self.has(key) {
            self.known.push(key);
            self.problem(key, "is required but missing".into());
            return None;
        }
        self.selector(key)
    }

    /// Reports every key of the table that was not read.
    pub(super) fn finish(self) {
        let Some(table) = self.table else { return };
        for key in table.keys() {
            if self.known.contains(&key.as_str()) {
                continue;
            }
            let suggestion = self
                .known
                .iter()
                .map(|known| (strsim::damerau_levenshtein(key, known), known))
                .filter(|(distance, known)| *distance <= 2.max(known.len() / 4))
                .min_by_key(|(distance, _)| *distance)
                .map(|(_, known)| format!("; did you mean `{known}`?"))
                .unwrap_or_default();
            let expected = if suggestion.is_empty() && !self.known.is_empty() {
                format!("; expected one of {}", self.known.join(", "))
            } else {
                String::new()
            };
            self.problem(key, format!("unknown key{suggestion}{expected}"));
        }
    }
}
