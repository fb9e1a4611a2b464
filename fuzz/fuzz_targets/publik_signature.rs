#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bbb_connector::fuzzing::publik_signature(data));
