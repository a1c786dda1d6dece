//! warroom (bootstrap)
pub mod config;
pub mod model;
