#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bbb_connector::fuzzing::checksum_round_trip(data));
