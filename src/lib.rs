//! `unclosed`: finds resource leaks in Python code.
//!
//! The analysis core (`syntax`, `facts`, `cfg`, `analysis`, `rules`,
//! `source`, `one_shot`) takes text and rules and returns findings; it does
//! no I/O. The
//! shell (`discover`, `modules`, `runner`, `render`, `cli`) finds files, orders
//! them by their imports, runs the core in parallel and prints.

pub mod analysis;
pub mod cfg;
#[rustfmt::skip] // generated: scripts/gen_codepages.py
pub mod codepages;
pub mod codes;
pub mod facts;
pub mod finding;
pub mod fingerprint;
pub mod one_shot;
pub mod raising;
pub mod rules;
pub mod source;
pub mod syntax;

pub mod audit;
pub mod baseline;
pub mod cache;
pub mod cli;
pub mod config;
pub mod discover;
pub mod docs;
pub mod modules;
pub mod render;
pub mod runner;
pub mod suppress;
