#![no_main]
libfuzzer_sys::fuzz_target!(|header: &str| casefile::fuzzing::digest_challenges(header));
