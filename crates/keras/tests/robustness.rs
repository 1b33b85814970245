//! Hardening (issue 15): inputs that panicked now give a `keras::Error`; every registered
//! layer rebuilt from a config with a bad argument gives an error as its builder does, and no
//! argument a config can hold makes build or call panic; property tests feed random shapes,
//! dtypes and values to the layers, losses, metrics, preprocessing functions and tensor
//! constructors: every outcome is a value or an error, never a panic or an abort.
//!
//! `KERAS_PROPTEST_CASES` sets the number of cases per property (default 256).

#[path = "robustness/configs.rs"]
mod configs;
#[path = "robustness/properties.rs"]
mod properties;
#[path = "robustness/regressions.rs"]
mod regressions;
#[path = "robustness/unknown_keys.rs"]
mod unknown_keys;
