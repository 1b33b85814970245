//! Fuzz target: `keras::saving::fuzzing::load_keras` must return a model or an error for any
//! input, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keras::saving::fuzzing::load_keras(data);
});
