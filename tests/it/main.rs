//! The integration test binary: the real binary and the real HTTP service, on loopback.

mod cli;
