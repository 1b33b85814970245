//! The CUDA backend (cargo feature `cuda`): contexts and streams, a caching allocator, host
//! transfers, run-time compiled kernels, cuBLAS, cuDNN and whole-step CUDA graphs.
//!
//! Every library (`libcuda`, `libnvrtc`, `libcublas`, `libcudnn`) is loaded at run time
//! through `cudarc`, so a build with this feature still runs, on the CPU, where no NVIDIA
//! driver is installed. One stream per GPU carries all work in submission order, which is what
//! lets the allocator hand a freed block to the next op at once (the stream orders the old
//! and new users), as PyTorch's caching allocator does for a single stream.
//!
//! Submodules:
//! - `blas`: cuBLAS GEMMs (row-major, as the CPU `kernels::matmul`), TF32 tensor cores by default
//! - `dnn`: cuDNN convolutions over NHWC tensors (forward, backward data, backward filter)
//! - `graph`: Whole-step CUDA graphs
//! - `module`: The engine's own kernels (`kernels.cu`), compiled with NVRTC at first use for the GPU's exact architecture (machine code, no driver JIT), and the launch helper
//! - `ops`: Device implementations of the engine's ops

pub mod blas;
pub mod dnn;
pub mod graph;
pub mod module;
pub mod ops;

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Mutex, OnceLock};

use cudarc::driver::sys as cu;

use crate::tensor::{Storage, Tensor};
use crate::{bail, DType, EngineError, Result};

pub(crate) type DevPtr = cu::CUdeviceptr;

/// One GPU: its context, stream, kernels, library handles and allocator.
pub(crate) struct Gpu {
    pub(crate) ordinal: usize,
    ctx: cu::CUcontext,
    pub(crate) stream: cu::CUstream,
    /// Compute capability (major, minor).
    pub(crate) cc: (i32, i32),
    pub(crate) name: String,
    pub(crate) sm_count: u32,
    pub(crate) kernels: OnceLock<std::result::Result<module::Kernels, String>>,
    pub(crate) blas: Mutex<Option<blas::Blas>>,
    pub(crate) dnn: Mutex<Option<dnn::Dnn>>,
    alloc: Mutex<Allocator>,
    /// The dropout generator's 64-bit counter (device memory, advanced by the kernels).
    pub(crate) rng_counter: OnceLock<DevBuf>,
}

// SAFETY: the raw CUDA handles are process-wide objects usable from any thread once the
// context is made current (`gpu()` does that); mutable state sits behind mutexes.
unsafe impl Send for Gpu {}
unsafe impl Sync for Gpu {}

static GPUS: OnceLock<std::result::Result<Vec<Gpu>, String>> = OnceLock::new();

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(-1) };
}

/// Turns a driver status into a `Result`.
pub(crate) fn check(r: cu::CUresult, what: &str) -> Result<()> {
    if r == cu::CUresult::CUDA_SUCCESS {
        return Ok(());
    }
    let mut msg: *const std::ffi::c_char = std::ptr::null();
    // SAFETY: cuGetErrorString writes a pointer to a static string or leaves it null.
    let text = unsafe {
        cu::cuGetErrorString(r, &mut msg);
        if msg.is_null() {
            format!("{r:?}")
        } else {
            std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned()
        }
    };
    Err(EngineError::new(format!("CUDA error in {what}: {text} ({r:?})")))
}

fn init() -> std::result::Result<Vec<Gpu>, String> {
    // SAFETY: probing for the library only dlopens it.
    if !unsafe { cu::is_culib_present() } {
        return Err("the NVIDIA driver library (libcuda.so) was not found".into());
    }
    let s = |r: cu::CUresult, w: &str| check(r, w).map_err(|e| e.message().to_string());
    // SAFETY: plain driver API calls with valid out-pointers.
    unsafe {
        s(cu::cuInit(0), "cuInit")?;
        let mut n = 0;
        s(cu::cuDeviceGetCount(&mut n), "cuDeviceGetCount")?;
        let mut gpus = Vec::new();
        for i in 0..n {
            let mut dev = 0;
            s(cu::cuDeviceGet(&mut dev, i), "cuDeviceGet")?;
            let mut ctx = std::ptr::null_mut();
            s(cu::cuDevicePrimaryCtxRetain(&mut ctx, dev), "cuDevicePrimaryCtxRetain")?;
            s(cu::cuCtxSetCurrent(ctx), "cuCtxSetCurrent")?;
            let mut stream = std::ptr::null_mut();
            // CU_STREAM_NON_BLOCKING: no implicit synchronisation with the legacy stream.
            s(cu::cuStreamCreate(&mut stream, 1), "cuStreamCreate")?;
            let attr = |a: cu::CUdevice_attribute| {
                let mut v = 0;
                cu::cuDeviceGetAttribute(&mut v, a, dev);
                v
            };
            let cc = (
                attr(cu::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attr(cu::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
            );
            let sm_count =
                attr(cu::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).max(1) as u32;
            let mut name = [0 as std::ffi::c_char; 256];
            cu::cuDeviceGetName(name.as_mut_ptr(), 255, dev);
            let name = std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
            gpus.push(Gpu {
                ordinal: i as usize,
                ctx,
                stream,
                cc,
                name,
                sm_count,
                kernels: OnceLock::new(),
                blas: Mutex::new(None),
                dnn: Mutex::new(None),
                alloc: Mutex::new(Allocator::default()),
                rng_counter: OnceLock::new(),
            });
        }
        CURRENT.with(|c| c.set(if n > 0 { 0 } else { -1 }));
        Ok(gpus)
    }
}

fn gpus() -> &'static std::result::Result<Vec<Gpu>, String> {
    GPUS.get_or_init(init)
}

/// Number of usable GPUs (0 when the driver is missing or fails).
pub(crate) fn device_count() -> usize {
    gpus().as_ref().map(|g| g.len()).unwrap_or(0)
}

/// Why no GPU is usable, as a suffix for error messages.
pub(crate) fn unavailable_reason() -> String {
    match gpus() {
        Err(e) => format!(" ({e})"),
        Ok(g) if g.is_empty() => " (the NVIDIA driver reports no device)".into(),
        Ok(_) => String::new(),
    }
}

/// The GPU with ordinal `i`, made current on this thread.
pub(crate) fn gpu(i: usize) -> Result<&'static Gpu> {
    let g = match gpus() {
        Ok(g) => g.get(i),
        Err(e) => bail!("gpu:{i} is not available: {e}"),
    };
    let Some(g) = g else { bail!("gpu:{i} is not available ({} GPU(s) present)", device_count()) };
    if CURRENT.with(|c| c.get()) != i as isize {
        // SAFETY: the context was retained at init and lives for the process.
        check(unsafe { cu::cuCtxSetCurrent(g.ctx) }, "cuCtxSetCurrent")?;
        CURRENT.with(|c| c.set(i as isize));
    }
    Ok(g)
}

/// Name and compute capability of each GPU, e.g. `NVIDIA H200 (sm_90)`.
pub fn describe_devices() -> Vec<String> {
    match gpus() {
        Ok(g) => g.iter().map(|g| format!("{} (sm_{}{})", g.name, g.cc.0, g.cc.1)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until every queued operation on `gpu:i` has finished.
pub fn synchronize(i: usize) -> Result<()> {
    let g = gpu(i)?;
    // SAFETY: the stream belongs to this context.
    check(unsafe { cu::cuStreamSynchronize(g.stream) }, "cuStreamSynchronize")
}

// ---------------------------------------------------------------------------------------------
// Caching allocator
// ---------------------------------------------------------------------------------------------

/// A block of device memory owned by a tensor; dropping it returns it to the allocator.
pub struct DevBuf {
    ptr: DevPtr,
    bytes: usize,
    dev: u32,
    pool: u32,
}

impl DevBuf {
    /// The device address.
    pub(crate) fn ptr(&self) -> DevPtr {
        self.ptr
    }

    /// The device ordinal.
    pub(crate) fn device(&self) -> usize {
        self.dev as usize
    }
}

impl std::fmt::Debug for DevBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevBuf(gpu:{}, {:#x}, {} bytes)", self.dev, self.ptr, self.bytes)
    }
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        if let Ok(Some(g)) = gpus().as_ref().map(|g| g.get(self.dev as usize)) {
            let mut a = g.alloc.lock().unwrap_or_else(|e| e.into_inner());
            a.release(self.ptr, self.bytes, self.pool);
        }
    }
}

/// Free blocks by exact (rounded) size. A training loop asks for the same sizes every step,
/// so after the first step every request is served from the cache.
#[derive(Default)]
struct Allocator {
    free: HashMap<usize, Vec<DevPtr>>,
    /// Private pools of captured graphs (pool id -> free blocks); see `graph.rs`.
    pools: HashMap<u32, Pool>,
    /// The pool new blocks come from while a capture runs (0 = the shared cache).
    capturing: u32,
    next_pool: u32,
    allocated_bytes: usize,
}

#[derive(Default)]
struct Pool {
    free: HashMap<usize, Vec<DevPtr>>,
    /// Blocks of the shared cache freed while the graph was being captured: the graph may
    /// still read them, so they return to the cache only when the graph is dropped.
    deferred: Vec<(DevPtr, usize)>,
}

impl Allocator {
    fn release(&mut self, ptr: DevPtr, bytes: usize, pool: u32) {
        if pool != 0 {
            if let Some(p) = self.pools.get_mut(&pool) {
                p.free.entry(bytes).or_default().push(ptr);
                return;
            }
        } else if self.capturing != 0 {
            if let Some(p) = self.pools.get_mut(&self.capturing) {
                p.deferred.push((ptr, bytes));
                return;
            }
        }
        self.free.entry(bytes).or_default().push(ptr);
    }

    fn take(&mut self, bytes: usize) -> Option<(DevPtr, u32)> {
        if self.capturing != 0 {
            let id = self.capturing;
            let p = self.pools.get_mut(&id)?;
            return p.free.get_mut(&bytes).and_then(|v| v.pop()).map(|ptr| (ptr, id));
        }
        self.free.get_mut(&bytes).and_then(|v| v.pop()).map(|ptr| (ptr, 0))
    }

    /// Frees every cached block (after an out-of-memory error).
    fn trim(&mut self) {
        for (_, v) in self.free.drain() {
            for p in v {
                // SAFETY: cached blocks are unused; the stream is synchronised by the caller.
                unsafe {
                    cu::cuMemFree_v2(p);
                }
            }
        }
    }
}

fn round_bytes(bytes: usize) -> usize {
    let b = bytes.max(1);
    if b <= 1 << 20 {
        b.div_ceil(512) * 512
    } else {
        b.div_ceil(1 << 16) << 16
    }
}

impl Gpu {
    /// A block of at least `bytes` bytes (contents undefined).
    pub(crate) fn alloc(&self, bytes: usize) -> Result<DevBuf> {
        let bytes = round_bytes(bytes);
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((ptr, pool)) = a.take(bytes) {
            return Ok(DevBuf { ptr, bytes, dev: self.ordinal as u32, pool });
        }
        let pool = a.capturing;
        let mut ptr = 0;
        // SAFETY: out-pointer is valid; the context is current (callers got `self` via gpu()).
        let mut r = unsafe { cu::cuMemAlloc_v2(&mut ptr, bytes) };
        if r == cu::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            // SAFETY: synchronising our own stream before freeing cached blocks.
            unsafe {
                cu::cuStreamSynchronize(self.stream);
            }
            a.trim();
            // SAFETY: as above.
            r = unsafe { cu::cuMemAlloc_v2(&mut ptr, bytes) };
        }
        check(r, &format!("cuMemAlloc({bytes} bytes)"))?;
        a.allocated_bytes += bytes;
        Ok(DevBuf { ptr, bytes, dev: self.ordinal as u32, pool })
    }

    /// Starts routing allocations into a fresh private pool; returns its id.
    pub(crate) fn begin_pool(&self) -> u32 {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        a.next_pool += 1;
        let id = a.next_pool;
        a.pools.insert(id, Pool::default());
        a.capturing = id;
        id
    }

    /// Stops routing allocations into the private pool (it stays alive for its graph).
    pub(crate) fn end_pool(&self) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        a.capturing = 0;
    }

    /// Returns a dropped graph's pool to the shared cache.
    pub(crate) fn drop_pool(&self, id: u32) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        if a.capturing == id {
            a.capturing = 0;
        }
        if let Some(p) = a.pools.remove(&id) {
            for (bytes, v) in p.free {
                a.free.entry(bytes).or_default().extend(v);
            }
            for (ptr, bytes) in p.deferred {
                a.free.entry(bytes).or_default().push(ptr);
            }
        }
    }

    /// Bytes of device memory this process holds through the allocator.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.alloc.lock().map(|a| a.allocated_bytes).unwrap_or(0)
    }
}

/// Bytes of device memory the allocator holds on `gpu:i` (blocks in use and cached).
pub fn memory_allocated(i: usize) -> Result<usize> {
    Ok(gpu(i)?.allocated_bytes())
}

// ---------------------------------------------------------------------------------------------
// Host transfers (the only places data crosses; both are counted)
// ---------------------------------------------------------------------------------------------

fn storage_bytes(s: &Storage) -> (*const c_void, usize) {
    match s {
        Storage::F32(v) => (v.as_ptr() as *const c_void, v.len() * 4),
        Storage::I32(v) => (v.as_ptr() as *const c_void, v.len() * 4),
        Storage::I64(v) => (v.as_ptr() as *const c_void, v.len() * 8),
    }
}

/// Copies host data to a new block on `gpu:dev`.
pub(crate) fn upload(dev: usize, s: &Storage) -> Result<DevBuf> {
    let g = gpu(dev)?;
    if graph::is_capturing() {
        bail!("a host-to-device copy inside a captured CUDA graph (the step is not device-resident)");
    }
    let (src, bytes) = storage_bytes(s);
    let buf = g.alloc(bytes)?;
    if bytes > 0 {
        // SAFETY: `src` is valid for `bytes`; the destination block holds at least that many.
        check(unsafe { cu::cuMemcpyHtoDAsync_v2(buf.ptr, src, bytes, g.stream) }, "cuMemcpyHtoDAsync")?;
        // A copy from pageable memory returns once the data is staged, but synchronise so the
        // host buffer can be freed or changed by the caller at once in every case.
        check(unsafe { cu::cuStreamSynchronize(g.stream) }, "cuStreamSynchronize")?;
    }
    crate::device::count_h2d(bytes);
    Ok(buf)
}

/// Copies host data into an existing device block of at least its size.
pub(crate) fn upload_into(dev: usize, s: &Storage, dst: DevPtr) -> Result<()> {
    let g = gpu(dev)?;
    if graph::is_capturing() {
        bail!("a host-to-device copy inside a captured CUDA graph (the step is not device-resident)");
    }
    let (src, bytes) = storage_bytes(s);
    if bytes > 0 {
        // SAFETY: `src` is valid for `bytes`; the caller's block holds at least that many.
        unsafe {
            check(cu::cuMemcpyHtoDAsync_v2(dst, src, bytes, g.stream), "cuMemcpyHtoDAsync")?;
            check(cu::cuStreamSynchronize(g.stream), "cuStreamSynchronize")?;
        }
    }
    crate::device::count_h2d(bytes);
    Ok(())
}

/// Copies `len` elements of `dtype` from a device block to the host.
pub(crate) fn download(buf: &DevBuf, dtype: DType, len: usize) -> Result<Storage> {
    let g = gpu(buf.device())?;
    if graph::is_capturing() {
        bail!("a device-to-host copy inside a captured CUDA graph (the step is not device-resident)");
    }
    let mut s = match dtype {
        DType::F32 => Storage::F32(vec![0.0; len]),
        DType::I32 => Storage::I32(vec![0; len]),
        DType::I64 => Storage::I64(vec![0; len]),
    };
    let (dst, bytes) = storage_bytes(&s);
    if bytes > 0 {
        // SAFETY: `dst` points into `s`, valid for `bytes`; we wait for the copy before use.
        unsafe {
            check(
                cu::cuMemcpyDtoHAsync_v2(dst as *mut c_void, buf.ptr, bytes, g.stream),
                "cuMemcpyDtoHAsync",
            )?;
            check(cu::cuStreamSynchronize(g.stream), "cuStreamSynchronize")?;
        }
    }
    crate::device::count_d2h(bytes);
    // Keep `s` alive and untouched until here.
    let _ = &mut s;
    Ok(s)
}

/// The device copy of a tensor that lives on a GPU, uploading its host copy first if needed.
pub(crate) fn dev_buf(t: &Tensor) -> Result<&DevBuf> {
    let data = &*t.0.data;
    if let Some(b) = data.dev.get() {
        return Ok(b);
    }
    let crate::Device::Cuda(d) = data.device else {
        bail!("internal error: device buffer of a CPU tensor");
    };
    let buf = upload(d, data.host()?)?;
    let _ = data.dev.set(buf);
    Ok(data.dev.get().expect("just set"))
}

/// The device address of a GPU tensor's data.
pub(crate) fn ptr(t: &Tensor) -> Result<DevPtr> {
    Ok(dev_buf(t)?.ptr())
}

/// A device-to-device copy of `bytes` bytes on `g`'s stream.
pub(crate) fn copy_d2d(g: &Gpu, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    // SAFETY: both blocks are live device allocations of at least `bytes` bytes.
    check(unsafe { cu::cuMemcpyDtoDAsync_v2(dst, src, bytes, g.stream) }, "cuMemcpyDtoDAsync")
}

/// Zero-fills `words` 32-bit words at `dst`.
pub(crate) fn zero(g: &Gpu, dst: DevPtr, words: usize) -> Result<()> {
    if words == 0 {
        return Ok(());
    }
    // SAFETY: `dst` is a live allocation of at least `words * 4` bytes.
    check(unsafe { cu::cuMemsetD32Async(dst, 0, words, g.stream) }, "cuMemsetD32Async")
}
