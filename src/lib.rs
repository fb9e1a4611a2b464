//! bbb-connector: a Passerelle-compatible BigBlueButton rendezvous service.

pub mod app;
pub mod bbb;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod http;
pub mod rendezvous;
pub mod server;
pub mod simulator;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
