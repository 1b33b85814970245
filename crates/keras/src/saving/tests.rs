//! Tests of the saving module.
