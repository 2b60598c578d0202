//! Extraction from real marketplace pages (shared/realpages) and the
//! `extract` command.
