//! Direct forward convolution for few input channels (a network's first layer: RGB images),
//! where im2col + GEMM spends more time copying short patch runs (`kw * c_in` floats: 9 for
//! a 3x3 RGB kernel) and re-reading its output than multiplying.
//!
//! A tile of up to [`PX`] output pixels of one output row by 16 or 32 output channels is
//! kept in zmm accumulators; for each of the `kh * kw * c_in` patch elements the kernel row
//! (`c_out` floats of the HWIO kernel, in L1) is loaded once and each pixel's input value is
//! broadcast straight from the NHWC input (no im2col buffer). Each output row is written
//! once, bias included, and gets the epilogue while it is in L1.
//!
//! Bit-identical to im2col + GEMM ([`super::conv`]): each element's sum runs over the patch
//! in im2col order `(ki, kj, ci)` as one chain of fused multiply-adds from zero, then the bias
//! is added, as the `gemm` crate does for a bias-initialised output (`k` is far below its
//! block size). Windows that reach into the padding read their patch from a small zero-padded
//! copy, so padded positions contribute `0 * w` exactly as im2col's zeros do.

use super::conv::Conv2dGeometry;
use super::fresh::Out;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Most output pixels per tile: 2 x 12 accumulators, two kernel vectors and the broadcast.
const PX: usize = 12;
/// Most patch elements (`kh * kw * c_in`) the direct kernel takes: past this the GEMM's
/// packed operands win.
const MAX_PATCH: usize = 64;
/// Most input channels: the kernel pays where im2col copies short runs.
const MAX_C_IN: usize = 4;

/// Whether [`forward_rows`] applies to `g` on this CPU: AVX-512, at most [`MAX_C_IN`] input
/// channels, at most [`MAX_PATCH`] patch elements and a multiple of 16 output channels.
/// `KERAS_CONV_DIRECT=0` turns it off (read once).
pub(crate) fn eligible(g: &Conv2dGeometry) -> bool {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    let on = *ON.get_or_init(|| {
        super::simd::isa() == super::simd::Isa::Avx512
            && std::env::var("KERAS_CONV_DIRECT").as_deref() != Ok("0")
    });
    on && cfg!(target_arch = "x86_64")
        && g.c_in <= MAX_C_IN
        && g.kh * g.kw * g.c_in <= MAX_PATCH
        && g.c_out.is_multiple_of(16)
        && g.out_w > 0
}

/// Computes flattened output rows `r0 .. r0 + rows` (row `r` is image `r / out_h`, row
/// `r % out_h`) into `out` (`rows * out_w * c_out` elements, every one written), bias
/// added, then runs `epilogue` on each output row.
///
/// # Panics
/// If `g` is not [`eligible`] or a buffer does not match it (engine bugs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_rows(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    r0: usize,
    rows: usize,
    out: Out<'_>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) {
    assert!(eligible(g), "conv_direct: geometry not eligible");
    let row_len = g.out_w * g.c_out;
    assert_eq!(out.len(), rows * row_len, "conv_direct: output length");
    assert!(x.len() == g.input_len() && w.len() == g.kernel_len() && (r0 + rows) <= g.n * g.out_h);
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "conv_direct: bias length");
    }
    // Offsets of the patch elements from the window's top-left input value, in im2col order.
    let offs: Vec<usize> = (0..g.kh)
        .flat_map(|ki| (0..g.kw).flat_map(move |kj| (0..g.c_in).map(move |ci| (ki, kj, ci))))
        .map(|(ki, kj, ci)| ((ki * g.dil_h) * g.w + kj * g.dil_w) * g.c_in + ci)
        .collect();
    let k = offs.len();
    let seq: Vec<usize> = (0..k).collect();
    // Output columns whose windows lie inside the image's columns: `lo .. hi`; the few on
    // either side reach into the padding and run in tiles of their own.
    let lo = g.pad_left.div_ceil(g.stride_w).min(g.out_w);
    let reach = (g.kw - 1) * g.dil_w;
    let hi =
        (g.w + g.pad_left).checked_sub(reach + 1).map_or(0, |last| last / g.stride_w + 1).clamp(lo, g.out_w);
    let mut padded = [0.0f32; PX * MAX_PATCH];
    // SAFETY: the closure writes every element of `out` below (each row: the tiles of
    // `0 .. lo`, `lo .. hi` and `hi .. out_w`, every channel block) through raw stores into
    // the slice, and cannot panic before it has (the indices were checked above).
    unsafe {
        out.init_with(|o: &mut [MaybeUninit<f32>]| {
            let o = o.as_mut_ptr() as *mut f32;
            for r in 0..rows {
                let rr = r0 + r;
                let (b, oh) = (rr / g.out_h, rr % g.out_h);
                let orow = o.add(r * row_len);
                let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
                let rows_inside = ih0 >= 0 && ih0 as usize + (g.kh - 1) * g.dil_h < g.h;
                let img = b * g.h * g.w * g.c_in;
                for (s0, s1, inside) in [(0, lo, false), (lo, hi, rows_inside), (hi, g.out_w, false)] {
                    // Tiles of near-equal width (30 pixels: 3 x 10).
                    let px = (s1 - s0).div_ceil((s1 - s0).div_ceil(PX).max(1)).max(1);
                    let mut ow0 = s0;
                    while ow0 < s1 {
                        let np = px.min(s1 - ow0);
                        let iw0 = (ow0 * g.stride_w) as isize - g.pad_left as isize;
                        let (src, ps, offsets): (*const f32, usize, &[usize]) = if inside {
                            let base = img + (ih0 as usize * g.w + iw0 as usize) * g.c_in;
                            (x.as_ptr().add(base), g.stride_w * g.c_in, &offs)
                        } else {
                            fill_padded(g, x, img, ih0, iw0, np, &mut padded[..np * k]);
                            (padded.as_ptr(), k, &seq)
                        };
                        tile_row(np, src, ps, offsets, w.as_ptr(), g.c_out, bias, orow.add(ow0 * g.c_out));
                        ow0 += np;
                    }
                }
                epilogue(std::slice::from_raw_parts_mut(orow, row_len));
            }
        });
    }
}

/// The im2col patches of `np` pixels from input column `iw0` of input row `ih0` on (either
/// may lie in the padding), zero outside the image, into `buf` (`np` patches of `k`).
#[allow(clippy::too_many_arguments)]
fn fill_padded(
    g: &Conv2dGeometry,
    x: &[f32],
    img: usize,
    ih0: isize,
    iw0: isize,
    np: usize,
    buf: &mut [f32],
) {
    let k = g.kh * g.kw * g.c_in;
    for (p, patch) in buf.chunks_exact_mut(k).take(np).enumerate() {
        let mut i = 0;
        for ki in 0..g.kh {
            let ih = ih0 + (ki * g.dil_h) as isize;
            for kj in 0..g.kw {
                let iw = iw0 + (p * g.stride_w + kj * g.dil_w) as isize;
                let inside = ih >= 0 && (ih as usize) < g.h && iw >= 0 && (iw as usize) < g.w;
                for ci in 0..g.c_in {
                    patch[i] =
                        if inside { x[img + (ih as usize * g.w + iw as usize) * g.c_in + ci] } else { 0.0 };
                    i += 1;
                }
            }
        }
    }
}

/// All channel blocks of one tile of `np` pixels (see [`tile`]).
///
/// # Safety
/// As [`tile`], for every block of 32 (then 16) of the `c_out` channels.
#[allow(clippy::too_many_arguments)]
unsafe fn tile_row(
    np: usize,
    src: *const f32,
    ps: usize,
    offs: &[usize],
    w: *const f32,
    c_out: usize,
    bias: Option<&[f32]>,
    out: *mut f32,
) {
    let mut c0 = 0;
    while c0 < c_out {
        let bias = bias.map(|b| b.as_ptr().add(c0));
        let (w, out) = (w.add(c0), out.add(c0));
        if c0 + 32 <= c_out {
            // SAFETY: forwarded from the caller.
            unsafe { dispatch::<2>(np, src, ps, offs, w, c_out, bias, out) };
            c0 += 32;
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { dispatch::<1>(np, src, ps, offs, w, c_out, bias, out) };
            c0 += 16;
        }
    }
}

/// [`tile`] with the pixel count as a constant.
///
/// # Safety
/// As [`tile`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn dispatch<const V: usize>(
    np: usize,
    src: *const f32,
    ps: usize,
    offs: &[usize],
    w: *const f32,
    ldw: usize,
    bias: Option<*const f32>,
    out: *mut f32,
) {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! by_px {
            ($($n:literal)*) => {
                match np {
                    $($n => tile::<$n, V>(src, ps, offs, w, ldw, bias, out),)*
                    _ => unreachable!("conv_direct: {np} pixels in a tile"),
                }
            };
        }
        // SAFETY: forwarded from the caller.
        unsafe { by_px!(1 2 3 4 5 6 7 8 9 10 11 12) }
    }
    // Never reached: `eligible` is false off x86-64.
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (np, src, ps, offs, w, ldw, bias, out);
        unreachable!("conv_direct on a CPU without AVX-512")
    }
}

/// `out[p][c] = bias[c] + sum_e src[p * ps + offs[e]] * w[e * ldw + c]` for `p < P`,
/// `c < 16 V`, the sum a chain of fused multiply-adds in `e` order from zero; output pixel
/// `p` starts at `out + p * ldw`.
///
/// # Safety
/// The CPU has AVX-512F; `src` is readable at every `p * ps + offs[e]`; `w` at
/// `e * ldw .. e * ldw + 16 V` for `e < offs.len()`; `bias` (if any) at `16 V` floats;
/// `out` writable at `p * ldw .. p * ldw + 16 V`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const P: usize, const V: usize>(
    src: *const f32,
    ps: usize,
    offs: &[usize],
    w: *const f32,
    ldw: usize,
    bias: Option<*const f32>,
    out: *mut f32,
) {
    let mut acc = [[_mm512_setzero_ps(); V]; P];
    let mut we = w;
    for &off in offs {
        let mut wv = [_mm512_setzero_ps(); V];
        for v in 0..V {
            wv[v] = _mm512_loadu_ps(we.add(16 * v));
        }
        let s = src.add(off);
        for p in 0..P {
            let a = _mm512_set1_ps(*s.add(p * ps));
            for v in 0..V {
                acc[p][v] = _mm512_fmadd_ps(a, wv[v], acc[p][v]);
            }
        }
        we = we.add(ldw);
    }
    for p in 0..P {
        for v in 0..V {
            let mut r = acc[p][v];
            if let Some(b) = bias {
                r = _mm512_add_ps(_mm512_loadu_ps(b.add(16 * v)), r);
            }
            _mm512_storeu_ps(out.add(p * ldw + 16 * v), r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conv::{conv2d_forward, conv2d_forward_im2col, Conv2dGeometry};
    use super::eligible;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
    }

    /// The direct kernel against im2col + GEMM, bit for bit, with a ReLU epilogue.
    fn same_bits(
        input: [usize; 4],
        k: [usize; 2],
        c_out: usize,
        s: [usize; 2],
        d: [usize; 2],
        same: bool,
        bias: bool,
    ) {
        let g = Conv2dGeometry::new(input, k, c_out, s, d, same).unwrap();
        let x = values(g.input_len(), 0.3);
        let mut w = values(g.kernel_len(), 1.1);
        // Special values: a NaN and an infinity meet the padding's zeros as in im2col.
        w[1] = f32::INFINITY;
        w[g.kernel_len() - 2] = f32::NAN;
        let b = values(c_out, 2.0);
        let b = bias.then_some(&b[..]);
        let relu = |r: &mut [f32]| r.iter_mut().for_each(|v| *v = v.max(0.0));
        let (mut want, mut got) = (vec![1.0; g.output_len()], vec![2.0; g.output_len()]);
        conv2d_forward_im2col(&g, &x, &w, b, &mut want, &relu);
        conv2d_forward(&g, &x, &w, b, &mut got, &relu);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&want), bits(&got), "{g:?}");
    }

    #[test]
    fn direct_convolution_gives_the_bits_of_im2col() {
        if !eligible(&Conv2dGeometry::new([1, 8, 8, 3], [3, 3], 32, [1, 1], [1, 1], false).unwrap()) {
            // No AVX-512 (or KERAS_CONV_DIRECT=0): both calls run im2col.
            return;
        }
        same_bits([3, 32, 32, 3], [3, 3], 32, [1, 1], [1, 1], false, true);
        same_bits([2, 17, 23, 3], [3, 3], 48, [1, 1], [1, 1], true, true);
        same_bits([2, 15, 29, 1], [5, 5], 16, [2, 2], [1, 1], true, false);
        same_bits([1, 20, 26, 4], [3, 3], 64, [1, 2], [2, 1], true, true);
        same_bits([2, 9, 40, 2], [3, 2], 80, [2, 1], [1, 3], false, true);
        same_bits([1, 3, 3, 3], [3, 3], 16, [1, 1], [1, 1], true, true);
    }

    #[test]
    fn eligibility_follows_the_channel_counts() {
        let g =
            |c_in, c_out| Conv2dGeometry::new([1, 8, 8, c_in], [3, 3], c_out, [1, 1], [1, 1], true).unwrap();
        let avx512 = crate::kernels::simd::isa() == crate::kernels::simd::Isa::Avx512;
        if std::env::var("KERAS_CONV_DIRECT").as_deref() != Ok("0") {
            assert_eq!(eligible(&g(3, 32)), avx512);
        }
        assert!(!eligible(&g(3, 24)), "24 filters: not whole vectors");
        assert!(!eligible(&g(8, 32)), "8 input channels: im2col's runs are long enough");
        assert!(!eligible(&Conv2dGeometry::new([1, 16, 16, 4], [5, 5], 32, [1, 1], [1, 1], true).unwrap()));
    }
}
