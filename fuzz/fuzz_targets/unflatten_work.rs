#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bbb_connector::fuzzing::unflatten_work(data));
