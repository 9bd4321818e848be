//! Whole-platform tests: the real request path, through the gateway, on random ports.
//!
//! One test binary for the crate (faster to link); one module per theme. Every test starts its
//! own platform with fresh databases, so tests never see each other's data.

mod bad_input;
mod journey;
mod support;
mod tokens;
