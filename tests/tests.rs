//! knockoff's integration tests: one binary, one module per stage, against
//! real parts — a marketplace served on 127.0.0.1, SQLite files, real image
//! bytes, and the `knockoff` binary itself.

mod util;

mod browser;
mod cards;
mod check;
mod crawl;
mod dashboard;
mod ebay;
mod eval;
mod evidence;
mod explain;
mod extract;
mod fuzz;
mod hostile;
mod listings;
mod matching;
mod networks;
mod presets;
mod queue;
mod real_photos;
mod render;
mod render_hostile;
mod store_postgres;
mod takedown;
mod tidy;
mod tune;
mod two_stage;
mod web;
