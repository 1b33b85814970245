//! The kernel and bias gradients of a convolution with few input channels (a network's first
//! layer: RGB images) and a fused ReLU, in one pass over the output gradient, without an
//! im2col matrix and without writing the masked gradient.
//!
//! The general path masks the output gradient with the ReLU's sign mask in place while
//! summing it for the bias (`kernels::relu_bias_grad`: a read and a write of the whole
//! gradient, 3.7 MB for a W2 CNN's first layer at batch 32), builds the im2col matrix of the
//! input chunk by chunk (`kh * kw * c_in` = 27 floats a pixel) and runs a GEMM with an inner
//! dimension of the pixel count and an output of only `27 x c_out`. Where the layer's input
//! needs no gradient (the model's input), the masked gradient has no other reader, so here
//! each thread takes 16 output channels, loads each pixel's gradient once with the mask's
//! bits as the load mask (clear bits load 0.0), adds it to the bias sums and multiplies it
//! into `kh * kw * c_in` accumulators (in registers) with the pixel's input values broadcast
//! straight from the NHWC input.
//!
//! Numerics: the bias sums have the bits of the general path (each channel over the
//! positions in order from 0.0). The kernel gradient sums the same products in another
//! order (per output row in registers, the rows in order), so its bits differ from the
//! GEMM's by rounding.

use super::conv::Conv2dGeometry;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU8, Ordering};

/// Output channels per task (one AVX-512 register of f32).
const LANES: usize = 16;

/// The `(kh, kw * c_in)` shapes with a compiled kernel: at most 28 accumulators, so that
/// they, the bias sums and the gradient vector fit the 32 vector registers.
const SHAPES: [(usize, usize); 8] = [(2, 2), (2, 4), (2, 6), (2, 8), (3, 3), (3, 6), (3, 9), (5, 5)];

/// On (1), off (2) or not yet read from `KERAS_CONV_DIRECT_GRAD` (0).
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Whether the one pass is enabled: `KERAS_CONV_DIRECT_GRAD=0` turns it off (read once),
/// [`set_enabled`] overrides that.
fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var("KERAS_CONV_DIRECT_GRAD").as_deref() != Ok("0");
            ENABLED.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
        s => s == 1,
    }
}

/// Turns the one pass on or off for the whole process (for side-by-side timings in one
/// process: the `conv1_train` example).
#[doc(hidden)]
pub fn set_enabled(on: bool) {
    ENABLED.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether [`kernel_and_bias_grads`] applies to `g` on this CPU: a convolution the direct
/// forward kernel takes ([`super::conv_direct`]: AVX-512, few input channels, whole vectors
/// of output channels), undilated along the width, whose `(kh, kw * c_in)` is compiled.
pub(crate) fn eligible(g: &Conv2dGeometry) -> bool {
    enabled() && super::conv_direct::eligible(g) && g.dil_w == 1 && SHAPES.contains(&(g.kh, g.kw * g.c_in))
}

/// `dw` (HWIO, overwritten) and `db` (if any, overwritten): the kernel and bias gradients of
/// convolution `g` over input `x` whose output gradient before the fused ReLU is `gy` where
/// bit `i % 64` of `mask[i / 64]` is set and 0.0 elsewhere.
///
/// # Panics
/// If `g` is not [`eligible`] or a buffer does not match it (engine bugs).
pub(crate) fn kernel_and_bias_grads(
    g: &Conv2dGeometry,
    x: &[f32],
    gy: &[f32],
    mask: &[u64],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
) {
    assert!(eligible(g), "conv_direct_grad: geometry not eligible");
    assert_eq!(x.len(), g.input_len(), "conv_direct_grad: input length");
    assert_eq!(gy.len(), g.output_len(), "conv_direct_grad: gradient length");
    assert!(mask.len() * 64 >= gy.len(), "conv_direct_grad: mask shorter than the gradient");
    assert_eq!(dw.len(), g.kernel_len(), "conv_direct_grad: kernel gradient length");
    if let Some(db) = &db {
        assert_eq!(db.len(), g.c_out, "conv_direct_grad: bias gradient length");
    }
    let k = g.kh * g.kw * g.c_in;
    let blocks = g.c_out / LANES;
    // Each task: 16 channels' kernel gradient (`k` rows of 16) and bias sums.
    let task = |j: usize| -> (Vec<f32>, [f32; LANES]) {
        let mut dwj = vec![0.0f32; k * LANES];
        let mut dbj = [0.0f32; LANES];
        // SAFETY: `eligible` checked AVX-512F; the asserts above bound every index
        // `channel_block` forms (see its contract).
        unsafe { dispatch(g, x, gy, mask, j * LANES, &mut dwj, &mut dbj) };
        (dwj, dbj)
    };
    let parallel = crate::parallel::num_threads() > 1 && blocks > 1 && gy.len() >= 1 << 14;
    let parts: Vec<(Vec<f32>, [f32; LANES])> = if parallel {
        (0..blocks).into_par_iter().map(task).collect()
    } else {
        (0..blocks).map(task).collect()
    };
    for (j, (dwj, _)) in parts.iter().enumerate() {
        for (e, row) in dwj.chunks_exact(LANES).enumerate() {
            dw[e * g.c_out + j * LANES..][..LANES].copy_from_slice(row);
        }
    }
    if let Some(db) = db {
        for (j, (_, dbj)) in parts.iter().enumerate() {
            db[j * LANES..(j + 1) * LANES].copy_from_slice(dbj);
        }
    }
}

/// [`channel_block`] for `g`'s `(kh, kw * c_in)`.
///
/// # Safety
/// As [`channel_block`].
unsafe fn dispatch(
    g: &Conv2dGeometry,
    x: &[f32],
    gy: &[f32],
    mask: &[u64],
    c0: usize,
    dw: &mut [f32],
    db: &mut [f32; LANES],
) {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! by_shape {
            ($(($kh:literal, $kwc:literal))*) => {
                match (g.kh, g.kw * g.c_in) {
                    // SAFETY: forwarded from the caller.
                    $(($kh, $kwc) => unsafe { channel_block::<$kh, $kwc>(g, x, gy, mask, c0, dw, db) },)*
                    s => unreachable!("conv_direct_grad: shape {s:?} not compiled"),
                }
            };
        }
        by_shape!((2, 2)(2, 4)(2, 6)(2, 8)(3, 3)(3, 6)(3, 9)(5, 5))
    }
    // Never reached: `eligible` is false off x86-64.
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (g, x, gy, mask, c0, dw, db);
        unreachable!("conv_direct_grad on a CPU without AVX-512")
    }
}

/// Channels `c0 .. c0 + 16` of the kernel gradient (`dw`: `KH * KWC` rows of 16, patch
/// elements in im2col order `(ki, kj, ci)`) and of the bias sums `db`. Each output row's
/// products are summed in registers from zero and then added to `dw` (the rows in order);
/// each bias lane is one sum over the positions in order from 0.0.
///
/// # Safety
/// The CPU has AVX-512F; `g` is [`eligible`] with `kh == KH` and `kw * c_in == KWC`; `x`,
/// `gy` and `mask` hold `g`'s input, output and output bits; `c0 + 16 <= c_out`;
/// `dw.len() == KH * KWC * 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn channel_block<const KH: usize, const KWC: usize>(
    g: &Conv2dGeometry,
    x: &[f32],
    gy: &[f32],
    mask: &[u64],
    c0: usize,
    dw: &mut [f32],
    db: &mut [f32; LANES],
) {
    use std::arch::x86_64::*;
    debug_assert_eq!(dw.len(), KH * KWC * LANES);
    let (c_in, c_out) = (g.c_in, g.c_out);
    let img_len = g.h * g.w * c_in;
    // Input floats between the kernel's rows.
    let row_step = g.dil_h * g.w * c_in;
    let mut padded = [[0.0f32; KWC]; KH];
    let mut bsum = _mm512_setzero_ps();
    for r in 0..g.n * g.out_h {
        let (b, oh) = (r / g.out_h, r % g.out_h);
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        let rows_inside = ih0 >= 0 && ih0 as usize + (KH - 1) * g.dil_h < g.h;
        let img = x.as_ptr().add(b * img_len);
        let mut acc = [[_mm512_setzero_ps(); KWC]; KH];
        for ow in 0..g.out_w {
            let at = (r * g.out_w + ow) * c_out + c0;
            // `c_out` and `c0` are multiples of 16: the pixel's 16 bits lie in one word.
            let bits = (mask[at / 64] >> (at % 64)) as u16;
            let d = _mm512_maskz_loadu_ps(bits, gy.as_ptr().add(at));
            bsum = _mm512_add_ps(bsum, d);
            let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
            let (src, step) = if rows_inside && iw0 >= 0 && iw0 as usize + g.kw <= g.w {
                (img.add((ih0 as usize * g.w + iw0 as usize) * c_in), row_step)
            } else {
                // The window reaches into the padding: its patch with zeros there, as im2col.
                for (ki, prow) in padded.iter_mut().enumerate() {
                    let ih = ih0 + (ki * g.dil_h) as isize;
                    for (jj, p) in prow.iter_mut().enumerate() {
                        let iw = iw0 + (jj / c_in) as isize;
                        let inside = ih >= 0 && (ih as usize) < g.h && iw >= 0 && (iw as usize) < g.w;
                        *p = if inside {
                            *img.add((ih as usize * g.w + iw as usize) * c_in + jj % c_in)
                        } else {
                            0.0
                        };
                    }
                }
                (padded.as_ptr() as *const f32, KWC)
            };
            for ki in 0..KH {
                let s = src.add(ki * step);
                for j in 0..KWC {
                    acc[ki][j] = _mm512_fmadd_ps(_mm512_set1_ps(*s.add(j)), d, acc[ki][j]);
                }
            }
        }
        for ki in 0..KH {
            for j in 0..KWC {
                let p = dw.as_mut_ptr().add((ki * KWC + j) * LANES);
                _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), acc[ki][j]));
            }
        }
    }
    _mm512_storeu_ps(db.as_mut_ptr(), bsum);
}

#[cfg(test)]
mod tests {
    use super::super::conv::{bias_grad, conv2d_backward_kernel, Conv2dGeometry};
    use super::{eligible, kernel_and_bias_grads};

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
    }

    /// The one pass against the general path (the masked gradient written out, then
    /// `bias_grad` and im2col + GEMM): the bias sums bit for bit, the kernel gradient within
    /// rounding of the largest element, and both against an f64 reference.
    fn check(input: [usize; 4], k: [usize; 2], c_out: usize, s: [usize; 2], d: [usize; 2], same: bool) {
        let g = Conv2dGeometry::new(input, k, c_out, s, d, same).unwrap();
        assert!(eligible(&g), "{g:?}");
        let x = values(g.input_len(), 0.3);
        let mut gy = values(g.output_len(), 1.1);
        let y = values(g.output_len(), 2.7);
        let mask = crate::ops::linalg::relu_sign_mask(&y);
        // A NaN and an infinity where the mask is clear: the ReLU's gradient is 0.0 there.
        let clear: Vec<usize> = (0..y.len()).filter(|&i| y[i] <= 0.0).take(2).collect();
        gy[clear[0]] = f32::NAN;
        gy[clear[1]] = f32::INFINITY;
        let dpre: Vec<f32> = gy.iter().zip(&y).map(|(&v, &yv)| if yv > 0.0 { v } else { 0.0 }).collect();
        let (mut want_dw, mut want_db) = (vec![0.0; g.kernel_len()], vec![0.0; c_out]);
        conv2d_backward_kernel(&g, &x, &dpre, &mut want_dw);
        bias_grad(&dpre, c_out, &mut want_db);
        let (mut dw, mut db) = (vec![f32::NAN; g.kernel_len()], vec![f32::NAN; c_out]);
        kernel_and_bias_grads(&g, &x, &gy, &mask, &mut dw, Some(&mut db));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&db), bits(&want_db), "bias {g:?}");
        // f64 reference of the kernel gradient.
        let mut exact = vec![0.0f64; g.kernel_len()];
        super::super::conv::tests::for_each_tap(&g, |[b, oh, ow, ih, iw, ki, kj]| {
            for ci in 0..g.c_in {
                let xv = x[((b * g.h + ih) * g.w + iw) * g.c_in + ci] as f64;
                for co in 0..c_out {
                    let dv = dpre[((b * g.out_h + oh) * g.out_w + ow) * c_out + co] as f64;
                    exact[((ki * g.kw + kj) * g.c_in + ci) * c_out + co] += xv * dv;
                }
            }
        });
        let scale = exact.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
        for (i, ((&got, &gemm), &e)) in dw.iter().zip(&want_dw).zip(&exact).enumerate() {
            assert!((got as f64 - e).abs() <= 1e-5 * scale, "dw[{i}] {got} vs exact {e} ({g:?})");
            assert!((got - gemm).abs() as f64 <= 1e-5 * scale, "dw[{i}] {got} vs GEMM {gemm} ({g:?})");
        }
        // Without a bias the kernel gradient is the same.
        let mut dw2 = vec![0.0; g.kernel_len()];
        kernel_and_bias_grads(&g, &x, &gy, &mask, &mut dw2, None);
        assert_eq!(bits(&dw2), bits(&dw));
    }

    #[test]
    fn one_pass_matches_the_masked_gradient_then_im2col() {
        if !eligible(&Conv2dGeometry::new([1, 8, 8, 3], [3, 3], 32, [1, 1], [1, 1], false).unwrap()) {
            // No AVX-512 (or KERAS_CONV_DIRECT=0): the general path runs.
            return;
        }
        check([3, 32, 32, 3], [3, 3], 32, [1, 1], [1, 1], false);
        check([2, 17, 23, 3], [3, 3], 48, [1, 1], [1, 1], true);
        check([2, 15, 29, 1], [5, 5], 16, [2, 2], [1, 1], true);
        check([1, 20, 26, 3], [3, 3], 64, [1, 2], [2, 1], true);
        check([2, 9, 40, 2], [3, 3], 32, [2, 1], [1, 1], false);
        check([2, 9, 11, 4], [2, 2], 16, [1, 1], [1, 1], true);
        check([1, 3, 3, 3], [3, 3], 16, [1, 1], [1, 1], true);
    }

    #[test]
    fn eligibility_follows_the_compiled_shapes() {
        let g = |c_in, k: usize, d: [usize; 2]| {
            Conv2dGeometry::new([1, 12, 12, c_in], [k, k], 32, [1, 1], d, true).unwrap()
        };
        let direct = super::super::conv_direct::eligible(&g(3, 3, [1, 1]));
        assert_eq!(eligible(&g(3, 3, [1, 1])), direct && super::enabled());
        assert!(!eligible(&g(4, 3, [1, 1])), "3 x 12 patch: more accumulators than registers");
        assert!(!eligible(&g(3, 3, [1, 2])), "dilated along the width");
    }
}
