//! API tests, written as a user would, for the parts of Keras 3.15's public API added with
//! issue 16: losses, metrics, optimizers, legacy text helpers, loading files from Keras and
//! tf.keras, and summary sizes. Numbers checked against Keras itself live in the oracle
//! cases (`tests/fixtures/keras315`, run by `tests/oracle.rs`); these tests cover the API
//! surface, configs and every error promised.

#[path = "keras315/losses.rs"]
mod losses;
#[path = "keras315/metrics.rs"]
mod metrics;
#[path = "keras315/optimizers.rs"]
mod optimizers;
#[path = "keras315/saving.rs"]
mod saving;
#[path = "keras315/summary.rs"]
mod summary;
#[path = "keras315/text.rs"]
mod text;
