//! cuBLAS GEMMs (row-major, as the CPU `kernels::matmul`), TF32 tensor cores by default.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use cudarc::cublas::sys as cb;

use super::{gpu, DevBuf, DevPtr, Gpu};
use crate::kernels::matmul::Trans;
use crate::{bail, Result};

/// A cuBLAS handle bound to a GPU's stream, with its own workspace (so that GEMMs can be
/// captured into CUDA graphs without cuBLAS allocating).
pub(crate) struct Blas {
    handle: cb::cublasHandle_t,
    tf32: bool,
    _workspace: DevBuf,
}

// SAFETY: the handle is only used under the GPU's mutex.
unsafe impl Send for Blas {}

static TF32: AtomicBool = AtomicBool::new(true);
static TF32_ENV: std::sync::Once = std::sync::Once::new();

/// Whether float32 GEMMs and convolutions may use TF32 tensor cores (TensorFlow's
/// `tf.config.experimental.enable_tensor_float_32_execution`; on by default, as there).
pub fn set_tf32(enabled: bool) {
    TF32_ENV.call_once(|| {});
    TF32.store(enabled, Ordering::Relaxed);
}

/// The TF32 switch.
pub fn tf32_enabled() -> bool {
    TF32_ENV.call_once(|| {
        if std::env::var("KERAS_TF32").is_ok_and(|v| v.trim() == "0" || v.eq_ignore_ascii_case("false")) {
            TF32.store(false, Ordering::Relaxed);
        }
    });
    TF32.load(Ordering::Relaxed)
}

fn status(r: cb::cublasStatus_t, what: &str) -> Result<()> {
    if r == cb::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
        Ok(())
    } else {
        bail!("cuBLAS {what} failed: {r:?}")
    }
}

const WORKSPACE: usize = 32 << 20;

fn create(g: &Gpu) -> Result<Blas> {
    // SAFETY: probing only dlopens.
    if !unsafe { cb::is_culib_present() } {
        bail!("gpu:{}: the cuBLAS library (libcublas.so) was not found", g.ordinal);
    }
    let mut handle = std::ptr::null_mut();
    let workspace = g.alloc(WORKSPACE)?;
    // SAFETY: valid out-pointer; the stream and workspace belong to this GPU.
    unsafe {
        status(cb::cublasCreate_v2(&mut handle), "create")?;
        status(cb::cublasSetStream_v2(handle, g.stream as cb::cudaStream_t), "set stream")?;
        status(
            cb::cublasSetWorkspace_v2(handle, workspace.ptr() as *mut c_void, WORKSPACE),
            "set workspace",
        )?;
    }
    Ok(Blas { handle, tf32: false, _workspace: workspace })
}

/// `c = op(a) @ op(b) (+ beta * c)` for row-major `op(a)` (m, k), `op(b)` (k, n), `c` (m, n).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    dev: usize,
    m: usize,
    n: usize,
    k: usize,
    a: DevPtr,
    ta: Trans,
    b: DevPtr,
    tb: Trans,
    c: DevPtr,
    beta: f32,
) -> Result<()> {
    let g = gpu(dev)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if beta == 0.0 {
            super::zero(g, c, m * n)?;
        }
        return Ok(());
    }
    let mut guard = g.blas.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(create(g)?);
    }
    let blas = guard.as_mut().expect("created");
    let want = tf32_enabled();
    if blas.tf32 != want {
        let mode = if want {
            cb::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
        } else {
            cb::cublasMath_t::CUBLAS_DEFAULT_MATH
        };
        // SAFETY: valid handle.
        status(unsafe { cb::cublasSetMathMode(blas.handle, mode) }, "set math mode")?;
        blas.tf32 = want;
    }
    // Row-major C = A B is column-major C^T = B^T A^T: swap the operands.
    let (op_b, ld_b) = match tb {
        Trans::No => (cb::cublasOperation_t::CUBLAS_OP_N, n),
        Trans::Yes => (cb::cublasOperation_t::CUBLAS_OP_T, k),
    };
    let (op_a, ld_a) = match ta {
        Trans::No => (cb::cublasOperation_t::CUBLAS_OP_N, k),
        Trans::Yes => (cb::cublasOperation_t::CUBLAS_OP_T, m),
    };
    let alpha = 1.0f32;
    // SAFETY: the device blocks hold the documented row-major matrices.
    status(
        unsafe {
            cb::cublasSgemm_v2(
                blas.handle,
                op_b,
                op_a,
                n as i32,
                m as i32,
                k as i32,
                &alpha,
                b as *const f32,
                ld_b as i32,
                a as *const f32,
                ld_a as i32,
                &beta,
                c as *mut f32,
                n as i32,
            )
        },
        "sgemm",
    )
}
