//! Device selection, as TensorFlow users know it: tensors and models live on the GPU when one
//! is present, `KERAS_DEVICE` (`cpu`, `gpu`, `gpu:N`) or [`set_device`] choose another, and
//! asking for a GPU where there is none is an error.
//!
//! ```
//! use keras::backend;
//! let devices = backend::list_devices();
//! assert_eq!(devices[0], backend::Device::Cpu);
//! // Every program honours KERAS_DEVICE; `device()` reports a bad value as an error.
//! let d = backend::device().unwrap_or(backend::Device::Cpu);
//! assert!(devices.contains(&d));
//! ```

pub use keras_engine::Device;

use crate::{Error, Result};

/// Every device this process can use: the CPU, then each CUDA GPU (TensorFlow's
/// `tf.config.list_logical_devices()`).
pub fn list_devices() -> Vec<Device> {
    keras_engine::device::list_devices()
}

/// The device new tensors and models go to. Errors when `KERAS_DEVICE` names a device that is
/// not valid or not available here.
pub fn device() -> Result<Device> {
    keras_engine::device::requested_device().map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(keras_engine::device::default_device())
}

/// Makes `name` (`"cpu"`, `"gpu"`, `"gpu:1"`) the default device for the rest of the process.
pub fn set_device(name: &str) -> Result<()> {
    let d = Device::parse(name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    keras_engine::device::set_default_device(d).map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// Runs `f` with `name` as this thread's default device (TensorFlow's `with tf.device(...)`).
pub fn with_device<R>(name: &str, f: impl FnOnce() -> R) -> Result<R> {
    let d = Device::parse(name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    keras_engine::device::with_device(d, f).map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// TensorFlow's `tf.config.experimental.enable_tensor_float_32_execution`: whether float32
/// matrix products and convolutions on the GPU may use TF32 tensor cores (on by default, as in
/// TensorFlow and JAX; `KERAS_TF32=0` turns it off at start). No effect on the CPU.
pub fn enable_tensor_float_32_execution(enabled: bool) {
    keras_engine::device::set_tensor_float_32(enabled)
}
