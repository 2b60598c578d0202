//! knockoff: a marketplace surveillance crawler for counterfeit products.
//!
//! The modules follow the data: [`config`] → [`crawl`] (fetch, politeness)
//! → [`extract`] → [`store`] → [`matching`] (judged by [`judge`], with
//! [`index`]) → [`web`] (the review UI, run by [`serve`] with [`schedule`])
//! → [`evidence`] and [`takedown`]; [`status`] is a match's life as types
//! (and the queue's state machine); [`devtools`] drives headless Chromium;
//! [`photo`] checks image bytes; [`demo`]
//! is the embedded marketplace, [`eval`] the accuracy harness and
//! [`explain`] says why a listing is or is not queued; [`tune`] fits the
//! infringement weights to the team's decisions. `main.rs`
//! only parses the command line and calls [`cli::run`]. See ARCHITECTURE.md
//! for the map.

#![forbid(unsafe_code)]
// These docs are the maintainers' map (`cargo doc --document-private-items`):
// they link to crate-private items on purpose, and clap's help texts (doc
// comments) show URLs bare on a terminal.
#![allow(rustdoc::private_intra_doc_links, rustdoc::bare_urls)]
// Scraped input is hostile: a panic is a crashed crawl. `unwrap` is for tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod crawl;
#[cfg(feature = "demo")]
pub mod demo;
pub mod devtools;
#[cfg(feature = "demo")]
pub mod eval;
pub mod evidence;
pub mod explain;
pub mod extract;
pub mod index;
pub mod judge;
pub mod matching;
pub mod networks;
pub mod photo;
pub mod presets;
pub mod refusal;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod status;
pub mod store;
pub mod takedown;
pub mod tune;
pub mod web;
pub mod words;
