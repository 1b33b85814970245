//! Fuzz target: `keras::saving::fuzzing::load_h5` must return a model or an error for any
//! input, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keras::saving::fuzzing::load_h5(data);
});
