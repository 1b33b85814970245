//! The engine's own kernels (`kernels.cu`), compiled with NVRTC at first use for the GPU's
//! exact architecture (machine code, no driver JIT), and the launch helper.

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::Mutex;

use cudarc::driver::sys as cu;
use cudarc::nvrtc::sys as rtc;

use super::{check, Gpu};
use crate::{bail, EngineError, Result};

/// The CUDA C source of every engine kernel.
pub const KERNELS_SRC: &str = include_str!("kernels.cu");

/// A loaded module and its functions.
pub(crate) struct Kernels {
    module: cu::CUmodule,
    funcs: Mutex<HashMap<&'static str, usize>>,
}

// SAFETY: CUmodule / CUfunction handles are usable from any thread with the context current.
unsafe impl Send for Kernels {}
unsafe impl Sync for Kernels {}

/// True when the NVRTC library can be loaded.
pub fn nvrtc_available() -> bool {
    // SAFETY: only dlopens.
    unsafe { rtc::is_culib_present() }
}

fn rtc_check(r: rtc::nvrtcResult, what: &str) -> std::result::Result<(), String> {
    if r == rtc::nvrtcResult::NVRTC_SUCCESS {
        Ok(())
    } else {
        Err(format!("NVRTC {what} failed: {r:?}"))
    }
}

/// What NVRTC produced: machine code for one architecture, or PTX.
pub enum Compiled {
    /// A cubin for `sm_XY`.
    Cubin(Vec<u8>),
    /// PTX text (NUL-terminated) for `compute_XY`.
    Ptx(Vec<u8>),
}

/// Compiles `src` for compute capability `cc`; `cubin` asks for machine code (`sm_XY`), else
/// PTX (`compute_XY`). Errors carry the compiler log.
pub fn compile(src: &str, cc: (i32, i32), cubin: bool) -> std::result::Result<Compiled, String> {
    if !nvrtc_available() {
        return Err("the NVRTC library (libnvrtc.so) was not found".into());
    }
    let src_c = CString::new(src).map_err(|e| e.to_string())?;
    let name = CString::new("keras_kernels.cu").expect("no NUL");
    let arch = if cubin {
        format!("--gpu-architecture=sm_{}{}", cc.0, cc.1)
    } else {
        format!("--gpu-architecture=compute_{}{}", cc.0, cc.1)
    };
    let opts: Vec<CString> = [arch.as_str(), "--std=c++14", "-default-device"]
        .iter()
        .map(|o| CString::new(*o).expect("no NUL"))
        .collect();
    let opt_ptrs: Vec<*const std::ffi::c_char> = opts.iter().map(|o| o.as_ptr()).collect();
    // SAFETY: NVRTC API with valid C strings; the program is destroyed before returning.
    unsafe {
        let mut prog: rtc::nvrtcProgram = std::ptr::null_mut();
        rtc_check(
            rtc::nvrtcCreateProgram(
                &mut prog,
                src_c.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            ),
            "create",
        )?;
        let r = rtc::nvrtcCompileProgram(prog, opt_ptrs.len() as i32, opt_ptrs.as_ptr());
        if r != rtc::nvrtcResult::NVRTC_SUCCESS {
            let mut n = 0usize;
            rtc::nvrtcGetProgramLogSize(prog, &mut n);
            let mut log = vec![0u8; n.max(1)];
            rtc::nvrtcGetProgramLog(prog, log.as_mut_ptr() as *mut std::ffi::c_char);
            rtc::nvrtcDestroyProgram(&mut prog);
            let log = String::from_utf8_lossy(&log).trim_end_matches('\0').to_string();
            return Err(format!("NVRTC could not compile the kernels ({r:?}):\n{log}"));
        }
        let out = if cubin {
            let mut n = 0usize;
            rtc_check(rtc::nvrtcGetCUBINSize(prog, &mut n), "cubin size")?;
            let mut v = vec![0u8; n];
            rtc_check(rtc::nvrtcGetCUBIN(prog, v.as_mut_ptr() as *mut std::ffi::c_char), "cubin")?;
            Compiled::Cubin(v)
        } else {
            let mut n = 0usize;
            rtc_check(rtc::nvrtcGetPTXSize(prog, &mut n), "ptx size")?;
            let mut v = vec![0u8; n];
            rtc_check(rtc::nvrtcGetPTX(prog, v.as_mut_ptr() as *mut std::ffi::c_char), "ptx")?;
            Compiled::Ptx(v)
        };
        rtc::nvrtcDestroyProgram(&mut prog);
        Ok(out)
    }
}

fn load(g: &Gpu) -> std::result::Result<Kernels, String> {
    // Machine code for this exact GPU; fall back to PTX (driver JIT) if NVRTC is older than
    // the GPU.
    let image = match compile(KERNELS_SRC, g.cc, true) {
        Ok(c) => c,
        Err(first) => compile(KERNELS_SRC, g.cc, false).map_err(|e| format!("{first}\n{e}"))?,
    };
    let bytes = match &image {
        Compiled::Cubin(v) | Compiled::Ptx(v) => v,
    };
    let mut module = std::ptr::null_mut();
    // SAFETY: `bytes` is a complete cubin or NUL-terminated PTX image.
    let r = unsafe { cu::cuModuleLoadData(&mut module, bytes.as_ptr() as *const c_void) };
    check(r, "cuModuleLoadData").map_err(|e| e.message().to_string())?;
    Ok(Kernels { module, funcs: Mutex::new(HashMap::new()) })
}

impl Gpu {
    fn function(&self, name: &'static str) -> Result<cu::CUfunction> {
        let k = match self.kernels.get_or_init(|| load(self)) {
            Ok(k) => k,
            Err(e) => bail!("gpu:{}: {e}", self.ordinal),
        };
        let mut map = k.funcs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&f) = map.get(name) {
            return Ok(f as cu::CUfunction);
        }
        let cname = CString::new(name).expect("no NUL");
        let mut f = std::ptr::null_mut();
        // SAFETY: valid module and name.
        check(unsafe { cu::cuModuleGetFunction(&mut f, k.module, cname.as_ptr()) }, name)?;
        map.insert(name, f as usize);
        Ok(f)
    }

    /// Launches kernel `name` on this GPU's stream with `grid` x `block` threads. `args` are
    /// pointers to the argument values, in the kernel's order.
    pub(crate) fn launch(
        &self,
        name: &'static str,
        grid: u32,
        block: u32,
        args: &mut [*mut c_void],
    ) -> Result<()> {
        let f = self.function(name)?;
        // SAFETY: `args` points to live values whose types match the kernel signature (each
        // call site passes exactly the kernel's parameters).
        let r = unsafe {
            cu::cuLaunchKernel(
                f,
                grid.max(1),
                1,
                1,
                block,
                1,
                1,
                0,
                self.stream,
                args.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        check(r, name).map_err(|e| EngineError::new(format!("{} (kernel launch)", e.message())))
    }

    /// Blocks for a grid-stride loop over `n` items: enough to fill the GPU, no more.
    pub(crate) fn grid_for(&self, n: usize, block: u32) -> u32 {
        let want = n.div_ceil(block as usize).max(1);
        want.min(self.sm_count as usize * 16) as u32
    }
}

/// Builds the argument array of a kernel launch from local variables.
#[macro_export]
#[doc(hidden)]
macro_rules! kargs {
    ($($a:expr),* $(,)?) => {
        [$( &$a as *const _ as *mut ::std::ffi::c_void ),*]
    };
}
