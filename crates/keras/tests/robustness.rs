//! Hardening (issue 15): inputs that panicked now give a `keras::Error`; every registered
//! layer rebuilt from a config with a bad argument gives an error as its builder does, and no
//! argument a config can hold makes build or call panic; property tests feed random shapes,
//! dtypes and values to the layers, losses, metrics, preprocessing functions and tensor
//! constructors: every outcome is a value or an error, never a panic or an abort.
//!
//! `KERAS_PROPTEST_CASES` sets the number of cases per property (default 256).

/// The largest tensor, in bytes, the tests of this binary let a layer or function allocate:
/// a hostile `units` or class id then gives an error at build instead of gigabytes.
const TEST_MAX_TENSOR_BYTES: usize = 64 << 20;

/// Sets [`TEST_MAX_TENSOR_BYTES`] as the process-wide limit. The limit is global and the
/// tests run in parallel, so every test that relies on it calls this and none restores the
/// default: a test reading the default while another had lowered it passed or failed by timing
/// (`to_categorical` of a class id of 2^40 gave "too large" under the limit and "out of
/// memory" without it).
fn lower_tensor_limit() {
    keras::config::set_max_tensor_bytes(Some(TEST_MAX_TENSOR_BYTES));
}

#[path = "robustness/configs.rs"]
mod configs;
#[path = "robustness/properties.rs"]
mod properties;
#[path = "robustness/regressions.rs"]
mod regressions;
#[path = "robustness/unknown_keys.rs"]
mod unknown_keys;
