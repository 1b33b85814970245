//! Process-wide settings (Keras `keras.config`): the default image data format, the largest
//! tensor an argument or a file may make keras-rs allocate, and the opt-in allocator tuning
//! for training loops.
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

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

/// Whether Keras's global `image_data_format` is `"channels_first"` (default: channels_last).
static CHANNELS_FIRST: AtomicBool = AtomicBool::new(false);

/// Keras `keras.config.image_data_format()`: the `data_format` a layer gets when none is
/// given, `"channels_last"` unless [`set_image_data_format`] changed it.
///
/// ```
/// assert_eq!(keras::config::image_data_format(), "channels_last");
/// ```
pub fn image_data_format() -> &'static str {
    if CHANNELS_FIRST.load(Ordering::Relaxed) {
        "channels_first"
    } else {
        "channels_last"
    }
}

/// Keras `keras.config.set_image_data_format(data_format)`: `"channels_first"` or
/// `"channels_last"` (any case), the default of every layer made afterwards.
///
/// ```
/// keras::config::set_image_data_format("channels_first").unwrap();
/// let pool = keras::layers::MaxPooling2D::new([2, 2]);
/// use keras::layers::Layer;
/// assert_eq!(pool.get_config()["data_format"], "channels_first");
/// keras::config::set_image_data_format("channels_last").unwrap();
/// assert!(keras::config::set_image_data_format("nchw").is_err());
/// ```
pub fn set_image_data_format(data_format: &str) -> Result<()> {
    let first = match data_format.to_lowercase().as_str() {
        "channels_first" => true,
        "channels_last" => false,
        _ => return Err(data_format_error(data_format)),
    };
    CHANNELS_FIRST.store(first, Ordering::Relaxed);
    Ok(())
}

/// Keras's message for a `data_format` other than channels_first/channels_last.
pub(crate) fn data_format_error(received: &str) -> Error {
    Error::Value(format!(
        "The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. Received: data_format={}",
        received.to_lowercase()
    ))
}
