//! Devices: where a tensor's data lives and where the ops on it run.
//!
//! Every tensor has a home [`Device`]. Tensors made from host data ([`crate::Tensor::new`] and
//! the other public constructors) are placed on the *default device*: the first GPU when this
//! build has CUDA support (cargo feature `cuda`) and the machine has one, as TensorFlow does,
//! else the CPU. `KERAS_DEVICE` (`cpu`, `gpu`, `gpu:N`) or [`set_default_device`] choose
//! another. Op results live where their inputs live; inputs on different devices are an error
//! (one-element tensors whose value is on the host are the exception: they join any device as
//! plain numbers, as PyTorch's CPU scalars do).
//!
//! ```
//! use keras_engine::device::{self, Device};
//! assert!(device::list_devices().contains(&Device::Cpu));
//! let cpu = Device::parse("cpu").unwrap();
//! let t = device::with_device(cpu, || keras_engine::Tensor::ones([2])).unwrap();
//! assert_eq!(t.device(), Device::Cpu);
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::{bail, Result};

/// Where a tensor lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// Host memory; ops run on the engine's CPU kernels.
    Cpu,
    /// The CUDA GPU with this ordinal.
    Cuda(usize),
}

impl Device {
    /// True for the CPU.
    #[inline]
    pub fn is_cpu(self) -> bool {
        matches!(self, Device::Cpu)
    }

    /// True for a CUDA GPU.
    #[inline]
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// Parses `cpu`, `gpu`, `gpu:N`, `cuda`, `cuda:N` (case-insensitive; TensorFlow's
    /// `/device:GPU:0` and `/GPU:0` forms too).
    pub fn parse(name: &str) -> Result<Device> {
        let s = name.trim().to_ascii_lowercase();
        let s = s.trim_start_matches('/').trim_start_matches("device:");
        if s == "cpu" || s == "cpu:0" {
            return Ok(Device::Cpu);
        }
        for prefix in ["gpu", "cuda"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Ok(Device::Cuda(0));
                }
                if let Some(n) = rest.strip_prefix(':').and_then(|n| n.parse::<usize>().ok()) {
                    return Ok(Device::Cuda(n));
                }
            }
        }
        bail!("unknown device {name:?}: expected `cpu`, `gpu` or `gpu:N`")
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            Device::Cpu => 1,
            Device::Cuda(n) => 2 + n as u32,
        }
    }

    pub(crate) fn from_code(c: u32) -> Option<Device> {
        match c {
            0 => None,
            1 => Some(Device::Cpu),
            n => Some(Device::Cuda((n - 2) as usize)),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "gpu:{n}"),
        }
    }
}

/// Number of CUDA GPUs this process can use (0 without the `cuda` feature, without an NVIDIA
/// driver, or without a GPU).
pub fn cuda_device_count() -> usize {
    #[cfg(feature = "cuda")]
    {
        crate::cuda::device_count()
    }
    #[cfg(not(feature = "cuda"))]
    {
        0
    }
}

/// Every device this process can use: the CPU first, then each GPU (TensorFlow's
/// `tf.config.list_logical_devices()`).
pub fn list_devices() -> Vec<Device> {
    let mut v = vec![Device::Cpu];
    v.extend((0..cuda_device_count()).map(Device::Cuda));
    v
}

/// Checks that `d` exists here, with a message that says why not.
pub fn check_available(d: Device) -> Result<()> {
    match d {
        Device::Cpu => Ok(()),
        Device::Cuda(n) => {
            if !cfg!(feature = "cuda") {
                bail!(
                    "{d} was requested, but this build of keras-rs has no CUDA support (build it with the cargo feature `cuda`)"
                );
            }
            let count = cuda_device_count();
            if count == 0 {
                #[cfg(feature = "cuda")]
                let why = crate::cuda::unavailable_reason();
                #[cfg(not(feature = "cuda"))]
                let why = String::new();
                bail!("{d} was requested, but no CUDA GPU is available{why}");
            }
            if n >= count {
                bail!(
                    "{d} was requested, but only {count} CUDA GPU(s) are present (gpu:0..gpu:{})",
                    count - 1
                );
            }
            Ok(())
        }
    }
}

/// The device named by `KERAS_DEVICE`, if set: an error when the name is invalid or the
/// device is not available.
pub fn requested_device() -> Result<Option<Device>> {
    match std::env::var("KERAS_DEVICE") {
        Ok(v) if !v.trim().is_empty() => {
            let d = Device::parse(&v).map_err(|e| crate::EngineError::new(format!("KERAS_DEVICE: {e}")))?;
            check_available(d).map_err(|e| crate::EngineError::new(format!("KERAS_DEVICE={v}: {e}")))?;
            Ok(Some(d))
        }
        _ => Ok(None),
    }
}

/// 0 = not resolved yet, else `Device::code`.
static DEFAULT: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// A scoped override ([`with_device`]); 0 = none.
    static SCOPED: Cell<u32> = const { Cell::new(0) };
}

fn resolve_default() -> Device {
    let d = match requested_device() {
        Ok(Some(d)) => d,
        // An invalid or unavailable KERAS_DEVICE leaves the CPU; `requested_device` and
        // `keras::backend::device()` report the error.
        Err(_) => Device::Cpu,
        Ok(None) => {
            if cuda_device_count() > 0 {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }
        }
    };
    let _ = DEFAULT.compare_exchange(0, d.code(), Ordering::AcqRel, Ordering::Acquire);
    Device::from_code(DEFAULT.load(Ordering::Acquire)).unwrap_or(Device::Cpu)
}

/// The device new tensors are placed on: a [`with_device`] scope on this thread, else the
/// process default ([`set_default_device`], `KERAS_DEVICE`, the first GPU if any, the CPU).
#[inline]
pub fn default_device() -> Device {
    if !cfg!(feature = "cuda") {
        return Device::Cpu;
    }
    if let Some(d) = Device::from_code(SCOPED.with(|s| s.get())) {
        return d;
    }
    match Device::from_code(DEFAULT.load(Ordering::Acquire)) {
        Some(d) => d,
        None => resolve_default(),
    }
}

/// Sets the process-wide default device (Keras users: `keras::backend::set_device`). Errors
/// when the device is not available.
pub fn set_default_device(d: Device) -> Result<()> {
    check_available(d)?;
    DEFAULT.store(d.code(), Ordering::Release);
    Ok(())
}

/// Runs `f` with `d` as this thread's default device (TensorFlow's `with tf.device(...)`).
pub fn with_device<R>(d: Device, f: impl FnOnce() -> R) -> Result<R> {
    check_available(d)?;
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SCOPED.with(|s| s.replace(d.code())));
    Ok(f())
}

/// Whether float32 matrix products and convolutions on a GPU may use TF32 tensor cores (on by
/// default, as TensorFlow and JAX; `KERAS_TF32=0` turns it off at start). No effect on CPUs.
pub fn set_tensor_float_32(enabled: bool) {
    #[cfg(feature = "cuda")]
    crate::cuda::blas::set_tf32(enabled);
    #[cfg(not(feature = "cuda"))]
    let _ = enabled;
}

/// Host <-> device copies made so far by this process (every upload and download the engine
/// does is counted, so tests can assert that a training step stays on the device).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Host-to-device copies.
    pub h2d: u64,
    /// Bytes copied host-to-device.
    pub h2d_bytes: u64,
    /// Device-to-host copies.
    pub d2h: u64,
    /// Bytes copied device-to-host.
    pub d2h_bytes: u64,
}

impl TransferStats {
    /// The copies made between `earlier` and `self`.
    pub fn since(&self, earlier: &TransferStats) -> TransferStats {
        TransferStats {
            h2d: self.h2d - earlier.h2d,
            h2d_bytes: self.h2d_bytes - earlier.h2d_bytes,
            d2h: self.d2h - earlier.d2h,
            d2h_bytes: self.d2h_bytes - earlier.d2h_bytes,
        }
    }
}

static H2D: AtomicU64 = AtomicU64::new(0);
static H2D_BYTES: AtomicU64 = AtomicU64::new(0);
static D2H: AtomicU64 = AtomicU64::new(0);
static D2H_BYTES: AtomicU64 = AtomicU64::new(0);

/// The transfer counters.
pub fn transfer_stats() -> TransferStats {
    TransferStats {
        h2d: H2D.load(Ordering::Relaxed),
        h2d_bytes: H2D_BYTES.load(Ordering::Relaxed),
        d2h: D2H.load(Ordering::Relaxed),
        d2h_bytes: D2H_BYTES.load(Ordering::Relaxed),
    }
}

#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) fn count_h2d(bytes: usize) {
    H2D.fetch_add(1, Ordering::Relaxed);
    H2D_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) fn count_d2h(bytes: usize) {
    D2H.fetch_add(1, Ordering::Relaxed);
    D2H_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(Device::parse("cpu").unwrap(), Device::Cpu);
        assert_eq!(Device::parse("GPU").unwrap(), Device::Cuda(0));
        assert_eq!(Device::parse("gpu:1").unwrap(), Device::Cuda(1));
        assert_eq!(Device::parse("/device:GPU:2").unwrap(), Device::Cuda(2));
        assert_eq!(Device::parse("cuda:3").unwrap(), Device::Cuda(3));
        assert!(Device::parse("tpu").is_err());
        assert!(Device::parse("gpu:x").is_err());
        assert_eq!(Device::Cuda(1).to_string(), "gpu:1");
    }

    #[test]
    fn gpu_request_without_gpu_is_a_clear_error() {
        if cuda_device_count() > 0 {
            eprintln!("SKIP gpu_request_without_gpu_is_a_clear_error: a GPU is present");
            return;
        }
        let e = check_available(Device::Cuda(0)).unwrap_err().to_string();
        assert!(e.contains("gpu:0 was requested"), "{e}");
        assert!(with_device(Device::Cuda(0), || ()).is_err());
        assert!(set_default_device(Device::Cuda(0)).is_err());
    }
}
