//! The BigBlueButton simulator: an in-memory stand-in for a BBB server (tests, demo, workflow authors).
