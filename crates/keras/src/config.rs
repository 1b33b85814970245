//! Process-wide settings (Keras `keras.config`): the default image data format, the largest
//! tensor an argument or a file may make keras-rs allocate, the opt-in allocator tuning
//! for training loops, and whether float32 matrix products use the CPU's AMX unit.
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

/// Whether float32 matrix products run on the CPU's AMX unit where it has one (Intel Xeon
/// from Sapphire Rapids on): true when the CPU has AMX-BF16 and AVX512-BF16, the operating
/// system grants the tile state, the environment variable `KERAS_AMX` is not `0` and
/// [`set_amx_matmul`] did not turn it off. Always false on other CPUs.
///
/// The AMX path keeps float32 accuracy: each operand is split exactly into three bfloat16
/// pieces, their products are exact and summed in float32, and only terms below about 2^-24
/// of each product are dropped (JAX's `Precision.HIGHEST` on TPUs); its error against an
/// exact sum was measured at most 1.27x the fused multiply-add kernels' for sums of 16-30
/// terms and below theirs from 31 terms on. Its bits differ from theirs, as any two GEMM
/// kernels' do. It runs for the large products that gain from it (a Dense layer of 512
/// units at batch 128, for instance); others stay on the fused multiply-add kernels.
///
/// ```
/// let on = keras::config::amx_matmul();
/// keras::config::set_amx_matmul(false);
/// assert!(!keras::config::amx_matmul());
/// keras::config::set_amx_matmul(true);
/// assert_eq!(keras::config::amx_matmul(), on);
/// ```
pub fn amx_matmul() -> bool {
    keras_engine::kernels::matmul::amx_enabled()
}

/// Turns the AMX path of float32 matrix products ([`amx_matmul`]) on or off for the whole
/// process, from the next product on: off gives every product the fused multiply-add
/// kernels, and so the same bits as on CPUs without AMX.
pub fn set_amx_matmul(enabled: bool) {
    keras_engine::kernels::matmul::set_amx_enabled(enabled)
}

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
