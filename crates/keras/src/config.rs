//! Process-wide settings (Keras `keras.config`): the largest tensor an argument or a file may
//! make keras-rs allocate, and the opt-in allocator tuning for training loops.
//!
//! ```
//! // A service that builds models from untrusted files: refuse any weight above 1 GiB.
//! keras::config::set_max_tensor_bytes(Some(1 << 30));
//! let e = keras::initializers::Initializer::Zeros.initialize(&[1 << 20, 1 << 20]).unwrap_err();
//! assert!(e.to_string().contains("too large to allocate"));
//! keras::config::set_max_tensor_bytes(None);
//! ```

pub use keras_engine::alloc::{max_tensor_bytes, set_max_tensor_bytes};
pub use keras_engine::parallel::enable_malloc_tuning;
