//! cuDNN convolutions over NHWC tensors (forward, backward data, backward filter).
//!
//! Keras kernels are `(kh, kw, in, out)`; cuDNN's NHWC filters are `(out, kh, kw, in)`, so the
//! kernel is transposed on the device before the call and the filter gradient after it.

use std::collections::HashMap;
use std::ffi::c_void;

use cudarc::cudnn::sys as dn;

use super::{gpu, DevPtr, Gpu};
use crate::kernels::conv::Conv2dGeometry;
use crate::{bail, Result};

/// A cuDNN handle on a GPU's stream, with the algorithms chosen per geometry.
pub(crate) struct Dnn {
    handle: dn::cudnnHandle_t,
    algos: HashMap<GeomKey, (i32, i32, i32)>,
}

// SAFETY: used only under the GPU's mutex.
unsafe impl Send for Dnn {}

type GeomKey = [usize; 14];

fn key(g: &Conv2dGeometry, tf32: bool) -> GeomKey {
    [
        g.n,
        g.h,
        g.w,
        g.c_in,
        g.kh,
        g.kw,
        g.c_out,
        g.stride_h,
        g.stride_w,
        g.dil_h,
        g.dil_w,
        g.pad_top,
        g.pad_left,
        tf32 as usize,
    ]
}

fn status(r: dn::cudnnStatus_t, what: &str) -> Result<()> {
    if r == dn::cudnnStatus_t::CUDNN_STATUS_SUCCESS {
        Ok(())
    } else {
        bail!("cuDNN {what} failed: {r:?}")
    }
}

/// True when cuDNN can run this geometry: it pads symmetrically, so TensorFlow's "same"
/// padding with an odd total (one more row at the bottom) goes to the fallback path.
pub(crate) fn supports(g: &Conv2dGeometry) -> bool {
    let eff_h = (g.kh - 1) * g.dil_h + 1;
    let eff_w = (g.kw - 1) * g.dil_w + 1;
    let total_h = ((g.out_h - 1) * g.stride_h + eff_h).saturating_sub(g.h);
    let total_w = ((g.out_w - 1) * g.stride_w + eff_w).saturating_sub(g.w);
    total_h == 2 * g.pad_top && total_w == 2 * g.pad_left && g.n > 0
}

struct Descs {
    x: dn::cudnnTensorDescriptor_t,
    y: dn::cudnnTensorDescriptor_t,
    w: dn::cudnnFilterDescriptor_t,
    conv: dn::cudnnConvolutionDescriptor_t,
}

impl Drop for Descs {
    fn drop(&mut self) {
        // SAFETY: created in `descs`, destroyed once.
        unsafe {
            dn::cudnnDestroyTensorDescriptor(self.x);
            dn::cudnnDestroyTensorDescriptor(self.y);
            dn::cudnnDestroyFilterDescriptor(self.w);
            dn::cudnnDestroyConvolutionDescriptor(self.conv);
        }
    }
}

fn descs(g: &Conv2dGeometry, tf32: bool) -> Result<Descs> {
    use dn::cudnnDataType_t::CUDNN_DATA_FLOAT as F;
    use dn::cudnnTensorFormat_t::CUDNN_TENSOR_NHWC as NHWC;
    let i = |v: usize| v as i32;
    // SAFETY: out-pointers valid; descriptors destroyed by Descs::drop.
    unsafe {
        let mut d = Descs {
            x: std::ptr::null_mut(),
            y: std::ptr::null_mut(),
            w: std::ptr::null_mut(),
            conv: std::ptr::null_mut(),
        };
        status(dn::cudnnCreateTensorDescriptor(&mut d.x), "tensor descriptor")?;
        status(dn::cudnnCreateTensorDescriptor(&mut d.y), "tensor descriptor")?;
        status(dn::cudnnCreateFilterDescriptor(&mut d.w), "filter descriptor")?;
        status(dn::cudnnCreateConvolutionDescriptor(&mut d.conv), "convolution descriptor")?;
        status(
            dn::cudnnSetTensor4dDescriptor(d.x, NHWC, F, i(g.n), i(g.c_in), i(g.h), i(g.w)),
            "x descriptor",
        )?;
        status(
            dn::cudnnSetTensor4dDescriptor(d.y, NHWC, F, i(g.n), i(g.c_out), i(g.out_h), i(g.out_w)),
            "y descriptor",
        )?;
        status(
            dn::cudnnSetFilter4dDescriptor(d.w, F, NHWC, i(g.c_out), i(g.c_in), i(g.kh), i(g.kw)),
            "w descriptor",
        )?;
        status(
            dn::cudnnSetConvolution2dDescriptor(
                d.conv,
                i(g.pad_top),
                i(g.pad_left),
                i(g.stride_h),
                i(g.stride_w),
                i(g.dil_h),
                i(g.dil_w),
                dn::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
                F,
            ),
            "conv descriptor",
        )?;
        let math =
            if tf32 { dn::cudnnMathType_t::CUDNN_DEFAULT_MATH } else { dn::cudnnMathType_t::CUDNN_FMA_MATH };
        status(dn::cudnnSetConvolutionMathType(d.conv, math), "math type")?;
        Ok(d)
    }
}

fn with_dnn<R>(g: &Gpu, f: impl FnOnce(&mut Dnn) -> Result<R>) -> Result<R> {
    let mut guard = g.dnn.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        // SAFETY: probing only dlopens; handle creation with a valid out-pointer.
        unsafe {
            if !dn::is_culib_present() {
                bail!("gpu:{}: the cuDNN library (libcudnn.so.9) was not found", g.ordinal);
            }
            let mut h = std::ptr::null_mut();
            status(dn::cudnnCreate(&mut h), "create")?;
            status(dn::cudnnSetStream(h, g.stream as dn::cudaStream_t), "set stream")?;
            *guard = Some(Dnn { handle: h, algos: HashMap::new() });
        }
    }
    f(guard.as_mut().expect("created"))
}

/// Workspace limit per convolution call.
const MAX_WORKSPACE: usize = 256 << 20;

/// Picks (forward, backward-data, backward-filter) algorithms by cuDNN's heuristics: the
/// fastest-ranked one whose workspace fits.
fn algos(d: &mut Dnn, g: &Conv2dGeometry, s: &Descs, tf32: bool) -> Result<(i32, i32, i32)> {
    let k = key(g, tf32);
    if let Some(a) = d.algos.get(&k) {
        return Ok(*a);
    }
    // SAFETY: arrays sized to the requested counts; descriptors valid.
    let a = unsafe {
        let mut n = 0;
        let mut fwd: [dn::cudnnConvolutionFwdAlgoPerf_t; 8] = std::mem::zeroed();
        status(
            dn::cudnnGetConvolutionForwardAlgorithm_v7(
                d.handle,
                s.x,
                s.w,
                s.conv,
                s.y,
                8,
                &mut n,
                fwd.as_mut_ptr(),
            ),
            "forward algorithm",
        )?;
        let f = fwd[..n as usize]
            .iter()
            .find(|p| p.status == dn::cudnnStatus_t::CUDNN_STATUS_SUCCESS && p.memory <= MAX_WORKSPACE)
            .map(|p| p.algo as i32)
            .unwrap_or(0);
        let mut bd: [dn::cudnnConvolutionBwdDataAlgoPerf_t; 8] = std::mem::zeroed();
        status(
            dn::cudnnGetConvolutionBackwardDataAlgorithm_v7(
                d.handle,
                s.w,
                s.y,
                s.conv,
                s.x,
                8,
                &mut n,
                bd.as_mut_ptr(),
            ),
            "backward-data algorithm",
        )?;
        let b = bd[..n as usize]
            .iter()
            .find(|p| p.status == dn::cudnnStatus_t::CUDNN_STATUS_SUCCESS && p.memory <= MAX_WORKSPACE)
            .map(|p| p.algo as i32)
            .unwrap_or(0);
        let mut bf: [dn::cudnnConvolutionBwdFilterAlgoPerf_t; 8] = std::mem::zeroed();
        status(
            dn::cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                d.handle,
                s.x,
                s.y,
                s.conv,
                s.w,
                8,
                &mut n,
                bf.as_mut_ptr(),
            ),
            "backward-filter algorithm",
        )?;
        let w = bf[..n as usize]
            .iter()
            .find(|p| p.status == dn::cudnnStatus_t::CUDNN_STATUS_SUCCESS && p.memory <= MAX_WORKSPACE)
            .map(|p| p.algo as i32)
            .unwrap_or(0);
        (f, b, w)
    };
    d.algos.insert(k, a);
    Ok(a)
}

/// Which convolution pass to run.
#[derive(Clone, Copy)]
pub(crate) enum Pass {
    /// `y = conv(x, w)`.
    Forward,
    /// `dx = conv_transpose(dy, w)`.
    BackwardData,
    /// `dw = correlate(x, dy)`.
    BackwardFilter,
}

/// Runs one pass. Pointers: forward (x, w_krsc, y), backward data (dy, w_krsc, dx), backward
/// filter (x, dy, dw_krsc). The output is overwritten.
pub(crate) fn conv(
    dev: usize,
    g: &Conv2dGeometry,
    pass: Pass,
    a: DevPtr,
    b: DevPtr,
    out: DevPtr,
) -> Result<()> {
    let gp = gpu(dev)?;
    let tf32 = super::blas::tf32_enabled();
    let s = descs(g, tf32)?;
    with_dnn(gp, |d| {
        let (fa, ba, wa) = algos(d, g, &s, tf32)?;
        let (alpha, beta) = (1.0f32, 0.0f32);
        let al = &alpha as *const f32 as *const c_void;
        let be = &beta as *const f32 as *const c_void;
        // SAFETY: the algorithm values came from cuDNN for these descriptors; enum values are
        // transmuted back from the i32 we stored.
        unsafe {
            let mut ws_size = 0usize;
            match pass {
                Pass::Forward => status(
                    dn::cudnnGetConvolutionForwardWorkspaceSize(
                        d.handle,
                        s.x,
                        s.w,
                        s.conv,
                        s.y,
                        std::mem::transmute::<i32, dn::cudnnConvolutionFwdAlgo_t>(fa),
                        &mut ws_size,
                    ),
                    "forward workspace",
                )?,
                Pass::BackwardData => status(
                    dn::cudnnGetConvolutionBackwardDataWorkspaceSize(
                        d.handle,
                        s.w,
                        s.y,
                        s.conv,
                        s.x,
                        std::mem::transmute::<i32, dn::cudnnConvolutionBwdDataAlgo_t>(ba),
                        &mut ws_size,
                    ),
                    "backward-data workspace",
                )?,
                Pass::BackwardFilter => status(
                    dn::cudnnGetConvolutionBackwardFilterWorkspaceSize(
                        d.handle,
                        s.x,
                        s.y,
                        s.conv,
                        s.w,
                        std::mem::transmute::<i32, dn::cudnnConvolutionBwdFilterAlgo_t>(wa),
                        &mut ws_size,
                    ),
                    "backward-filter workspace",
                )?,
            }
            let ws = gp.alloc(ws_size.max(1))?;
            let wsp = ws.ptr() as *mut c_void;
            let r = match pass {
                Pass::Forward => dn::cudnnConvolutionForward(
                    d.handle,
                    al,
                    s.x,
                    a as *const c_void,
                    s.w,
                    b as *const c_void,
                    s.conv,
                    std::mem::transmute::<i32, dn::cudnnConvolutionFwdAlgo_t>(fa),
                    wsp,
                    ws_size,
                    be,
                    s.y,
                    out as *mut c_void,
                ),
                Pass::BackwardData => dn::cudnnConvolutionBackwardData(
                    d.handle,
                    al,
                    s.w,
                    b as *const c_void,
                    s.y,
                    a as *const c_void,
                    s.conv,
                    std::mem::transmute::<i32, dn::cudnnConvolutionBwdDataAlgo_t>(ba),
                    wsp,
                    ws_size,
                    be,
                    s.x,
                    out as *mut c_void,
                ),
                Pass::BackwardFilter => dn::cudnnConvolutionBackwardFilter(
                    d.handle,
                    al,
                    s.x,
                    a as *const c_void,
                    s.y,
                    b as *const c_void,
                    s.conv,
                    std::mem::transmute::<i32, dn::cudnnConvolutionBwdFilterAlgo_t>(wa),
                    wsp,
                    ws_size,
                    be,
                    s.w,
                    out as *mut c_void,
                ),
            };
            status(r, "convolution")?;
            // The workspace block returns to the cache; the stream orders its next user.
            drop(ws);
        }
        Ok(())
    })
}
