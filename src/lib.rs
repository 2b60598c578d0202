//! knockoff: a marketplace surveillance crawler for counterfeit products.
//!
//! The modules follow the data: [`config`] → [`crawl`] (fetch, politeness)
//! → [`extract`] → [`store`]. `main.rs` only parses the command line and
//! calls [`cli::run`]. See ARCHITECTURE.md for the map.

pub mod config;
pub mod extract;
pub mod store;
pub mod crawl;
pub mod photo;
