//! The integration test binary: the real binary and the real HTTP service, on loopback, against
//! the BBB simulator, on SQLite and (when reachable) PostgreSQL.

mod api_access;
mod api_create;
mod api_docs;
mod api_events;
mod api_join;
mod api_metrics;
mod api_pages;
mod api_recording_ready;
mod api_running;
mod bbb_client;
mod bbb_faults;
mod browser;
mod cli;
mod fuzz;
mod fuzz_seeds;
mod helpers;
mod hostile;
mod properties;
mod simulator;
mod status_probe;
