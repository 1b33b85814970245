//! 2D max and average pooling on channels-last (NHWC) data.
//!
//! A 1D pool over `[n, steps, c]` is the 2D pool with `h = 1`, `ph = 1`, `stride_h = 1`
//! (input `[n, 1, steps, c]`), so these kernels serve both.
//!
//! Windows are clipped to the input: padded positions never win a max and are not counted
//! by an average (Keras/TensorFlow "same" behaviour). Images run in parallel on rayon when
//! the input is large, sequentially otherwise.

use super::fresh::{fresh_vec, Out};
use super::simd::multiversion;
use crate::parallel::{num_threads, ELEMENTWISE_PARALLEL_MIN};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Shape and padding of a 2D pooling (NHWC input and output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels (same for input and output).
    pub c: usize,
    /// Pool window height.
    pub ph: usize,
    /// Pool window width.
    pub pw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Implicit padding rows above the input.
    pub pad_top: usize,
    /// Implicit padding columns left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

use super::padding::axis_out_and_pad;

impl Pool2dGeometry {
    /// Geometry for input `[n, h, w, c]`, window `pool = [ph, pw]`, `strides = [sh, sw]` and
    /// "same" (`true`) or "valid" (`false`) padding, with TensorFlow's rules: "valid" gives
    /// `out = floor((in - k) / stride) + 1`; "same" gives `out = ceil(in / stride)` with
    /// total padding `max((out-1)*stride + k - in, 0)`, `pad_top = total / 2`.
    ///
    /// Errors on zero sizes, strides or channels, on a window larger than the input under
    /// "valid" padding, and on inputs too large for `u32` argmax indices. A batch of zero
    /// is allowed.
    pub fn new(
        input: [usize; 4],
        pool: [usize; 2],
        strides: [usize; 2],
        same_padding: bool,
    ) -> Result<Self, String> {
        let [n, h, w, c] = input;
        if c == 0 {
            return Err("Pool2D: channels must be positive, got 0".to_string());
        }
        let (out_h, pad_top) =
            axis_out_and_pad("Pool2D", "pool", "height", h, pool[0], strides[0], 1, same_padding)?;
        let (out_w, pad_left) =
            axis_out_and_pad("Pool2D", "pool", "width", w, pool[1], strides[1], 1, same_padding)?;
        let len = [n, h, w, c].iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        // Compared in u64: `u32::MAX as usize + 1` overflows on 32-bit targets.
        if len.is_none_or(|l| l as u64 > u32::MAX as u64 + 1) {
            return Err(format!(
                "Pool2D: input of shape [{n}, {h}, {w}, {c}] is too large (more than 2^32 \
                 elements)"
            ));
        }
        Ok(Self {
            n,
            h,
            w,
            c,
            ph: pool[0],
            pw: pool[1],
            stride_h: strides[0],
            stride_w: strides[1],
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    /// Number of input elements, `n * h * w * c`.
    pub fn input_len(&self) -> usize {
        self.n * self.h * self.w * self.c
    }

    /// Number of output elements, `n * out_h * out_w * c`.
    pub fn output_len(&self) -> usize {
        self.n * self.out_h * self.out_w * self.c
    }

    /// Whether images should be processed in parallel.
    fn parallel(&self) -> bool {
        self.n > 1 && self.input_len() >= ELEMENTWISE_PARALLEL_MIN && num_threads() > 1
    }

    /// Whether every input element lies in at most one window and every window is whole
    /// (no padding, strides equal to the window, windows inside the input): the usual
    /// `MaxPooling2D(2)`.
    fn disjoint_full_windows(&self) -> bool {
        self.pad_top == 0
            && self.pad_left == 0
            && self.stride_h == self.ph
            && self.stride_w == self.pw
            && self.out_h * self.ph <= self.h
            && self.out_w * self.pw <= self.w
    }

    /// Valid (unpadded) input rows of output row `oh`, as a half-open range.
    fn rows_of(&self, oh: usize) -> (usize, usize) {
        window(oh, self.stride_h, self.pad_top, self.ph, self.h)
    }

    /// Valid (unpadded) input columns of output column `ow`, as a half-open range.
    fn cols_of(&self, ow: usize) -> (usize, usize) {
        window(ow, self.stride_w, self.pad_left, self.pw, self.w)
    }

    /// For every output pixel of one image in row-major order, the valid input rows and
    /// columns of its window, `(h0, h1, w0, w1)` (half-open).
    fn pixel_windows(&self) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
        (0..self.out_h).flat_map(move |oh| {
            let (h0, h1) = self.rows_of(oh);
            (0..self.out_w).map(move |ow| {
                let (w0, w1) = self.cols_of(ow);
                (h0, h1, w0, w1)
            })
        })
    }
}

/// `[start, end)` of window `o` clipped to `0..input`. Never empty for a valid geometry.
fn window(o: usize, stride: usize, pad: usize, k: usize, input: usize) -> (usize, usize) {
    let start = o * stride;
    ((start.max(pad) - pad), start.saturating_add(k).saturating_sub(pad).min(input))
}

/// How [`max_pool2d_forward`] records each winner for the backward pass: its position inside
/// its window (clipped to the input), row-major. `u8` serves windows of up to 256 elements
/// (every usual pooling) in a quarter of the memory of `u32`, which serves any window.
pub trait WindowOffset: Copy + Default + Send + Sync + 'static {
    /// Whether every position of a `window`-element window fits this type.
    fn fits(window: usize) -> bool;
    /// `v` as this type (`v` fits, see [`WindowOffset::fits`]).
    fn from_usize(v: usize) -> Self;
    /// The offset as an index.
    fn to_usize(self) -> usize;
    /// `o = max(o, xs)` per channel, `a` taking `off` where `xs` wins (strictly greater, so
    /// the first maximum is kept).
    fn max_with(o: &mut [f32], a: &mut [Self], xs: &[f32], off: Self);
    /// Writes `0.0 + d` where `a == pos` and `0.0` elsewhere, per channel (the bits the
    /// scatter `o = 0.0; o += d` gives, `-0.0` included).
    fn select_winner(o: &mut [MaybeUninit<f32>], d: &[f32], a: &[Self], pos: Self);
}

/// `impl WindowOffset for $t`: windows up to `$fits` positions (`|window| bool`), the offsets
/// cast with `as`, and the type's own `max_with` / `select_winner` kernels.
macro_rules! window_offset {
    ($t:ty, |$w:ident| $fits:expr, $max_with:ident, $select_winner:ident) => {
        impl WindowOffset for $t {
            fn fits($w: usize) -> bool {
                $fits
            }
            fn from_usize(v: usize) -> Self {
                v as $t
            }
            fn to_usize(self) -> usize {
                self as usize
            }
            fn max_with(o: &mut [f32], a: &mut [Self], xs: &[f32], off: Self) {
                $max_with(o, a, xs, off)
            }
            fn select_winner(o: &mut [MaybeUninit<f32>], d: &[f32], a: &[Self], pos: Self) {
                $select_winner(o, d, a, pos)
            }
        }
    };
}

window_offset!(u8, |window| window <= 256, max_with_offset_u8, select_winner_u8);
// A window never exceeds its image, which [`Pool2dGeometry::new`] keeps within 2^32 elements.
window_offset!(u32, |_window| true, max_with_offset_u32, select_winner_u32);

/// Max pooling forward. `x` is `[n, h, w, c]`, `out` is `[n, out_h, out_w, c]`. Padded
/// positions never win. For every output element, `argmax` receives the winner's position
/// inside its window ([`WindowOffset`]; the first maximum in row-major window order).
///
/// # Panics
/// If a buffer length does not match the geometry, or `T` cannot index this geometry's
/// windows (engine bugs, never user input).
pub fn max_pool2d_forward<T: WindowOffset>(g: &Pool2dGeometry, x: &[f32], out: &mut [f32], argmax: &mut [T]) {
    max_pool2d_forward_into(g, x, out.into(), argmax);
}

/// [`max_pool2d_forward`] into a new vector (each image's output zero-filled by the thread
/// that pools it, not all at once beforehand: [`super::fresh`]).
///
/// # Panics
/// As [`max_pool2d_forward`].
pub fn max_pool2d_forward_vec<T: WindowOffset>(g: &Pool2dGeometry, x: &[f32], argmax: &mut [T]) -> Vec<f32> {
    fresh_vec(g.output_len(), |out| max_pool2d_forward_into(g, x, out, argmax))
}

/// [`max_pool2d_forward`] on an [`Out`].
fn max_pool2d_forward_into<T: WindowOffset>(g: &Pool2dGeometry, x: &[f32], out: Out<'_>, argmax: &mut [T]) {
    assert_eq!(x.len(), g.input_len(), "max_pool2d_forward: input length");
    assert_eq!(out.len(), g.output_len(), "max_pool2d_forward: output length");
    assert_eq!(argmax.len(), g.output_len(), "max_pool2d_forward: argmax length");
    assert!(T::fits(g.ph * g.pw), "max_pool2d_forward: window too large for the offset type");
    let c = g.c;
    let img_in = g.h * g.w * c;
    let img_out = g.out_h * g.out_w * c;
    if g.n == 0 || img_out == 0 {
        // Nothing to pool (a fresh output must still be accounted for).
        out.writable();
        return;
    }
    let image = |b: usize, (oi, ai): (Out<'_>, &mut [T])| {
        let xi = &x[b * img_in..(b + 1) * img_in];
        // SAFETY: every element is written below, through `MaybeUninit::write`: each
        // pixel's `c` values are copied from its window's first element (windows are never
        // empty) before any is compared, and `pixel_windows` yields one window per pixel.
        unsafe { oi.init_with(|oi| pool_image(g, xi, oi, ai)) };
    };
    let outs = out.chunks(img_out);
    if g.parallel() {
        outs.into_par_iter()
            .zip(argmax.par_chunks_mut(img_out))
            .enumerate()
            .for_each(|(b, bufs)| image(b, bufs));
    } else {
        for (b, bufs) in outs.into_iter().zip(argmax.chunks_mut(img_out)).enumerate() {
            image(b, bufs);
        }
    }
}

/// One image of [`max_pool2d_forward_into`]: the pooled pixels `oi` (every element written
/// through [`MaybeUninit::write`]) and their window offsets `ai`.
fn pool_image<T: WindowOffset>(g: &Pool2dGeometry, xi: &[f32], oi: &mut [MaybeUninit<f32>], ai: &mut [T]) {
    let c = g.c;
    for ((o, a), (h0, h1, w0, w1)) in
        oi.chunks_exact_mut(c).zip(ai.chunks_exact_mut(c)).zip(g.pixel_windows())
    {
        let first = (h0 * g.w + w0) * c;
        for (ov, &xv) in o.iter_mut().zip(&xi[first..first + c]) {
            ov.write(xv);
        }
        // SAFETY: all `c` elements of the pixel were written just above; `MaybeUninit<f32>`
        // has the layout of `f32`.
        let o = unsafe { &mut *(o as *mut [MaybeUninit<f32>] as *mut [f32]) };
        a.fill(T::default());
        let mut pos = 0;
        for ih in h0..h1 {
            for iw in w0..w1 {
                if pos != 0 {
                    let off = (ih * g.w + iw) * c;
                    T::max_with(o, a, &xi[off..off + c], T::from_usize(pos));
                }
                pos += 1;
            }
        }
    }
}

multiversion! {
    /// [`WindowOffset::max_with`] for `u8` offsets; branch-free, so it vectorizes.
    fn max_with_offset_u8(o: &mut [f32], a: &mut [u8], xs: &[f32], off: u8) {
        for ((ov, av), &xv) in o.iter_mut().zip(a.iter_mut()).zip(xs) {
            let win = xv > *ov;
            *ov = if win { xv } else { *ov };
            *av = if win { off } else { *av };
        }
    }
}

multiversion! {
    /// [`WindowOffset::max_with`] for `u32` offsets; branch-free, so it vectorizes.
    fn max_with_offset_u32(o: &mut [f32], a: &mut [u32], xs: &[f32], off: u32) {
        for ((ov, av), &xv) in o.iter_mut().zip(a.iter_mut()).zip(xs) {
            let win = xv > *ov;
            *ov = if win { xv } else { *ov };
            *av = if win { off } else { *av };
        }
    }
}

multiversion! {
    /// [`WindowOffset::select_winner`] for `u8` offsets; branch-free, so it vectorizes.
    fn select_winner_u8(o: &mut [MaybeUninit<f32>], d: &[f32], a: &[u8], pos: u8) {
        for ((o, &d), &a) in o.iter_mut().zip(d).zip(a) {
            o.write(if a == pos { 0.0 + d } else { 0.0 });
        }
    }
}

multiversion! {
    /// [`WindowOffset::select_winner`] for `u32` offsets; branch-free, so it vectorizes.
    fn select_winner_u32(o: &mut [MaybeUninit<f32>], d: &[f32], a: &[u32], pos: u32) {
        for ((o, &d), &a) in o.iter_mut().zip(d).zip(a) {
            o.write(if a == pos { 0.0 + d } else { 0.0 });
        }
    }
}

multiversion! {
    /// `o = max(o, xs)` per channel with [`WindowOffset::max_with`]'s comparison.
    fn max_into(o: &mut [f32], xs: &[f32]) {
        for (ov, &xv) in o.iter_mut().zip(xs) {
            *ov = if xv > *ov { xv } else { *ov };
        }
    }
}

/// Max pooling forward without the winners' positions, for inference: the same values as
/// [`max_pool2d_forward`].
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn max_pool2d_values(g: &Pool2dGeometry, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), g.input_len(), "max_pool2d_values: input length");
    assert_eq!(out.len(), g.output_len(), "max_pool2d_values: output length");
    if g.n == 0 {
        return;
    }
    let c = g.c;
    let img_in = g.h * g.w * c;
    let img_out = g.out_h * g.out_w * c;
    let image = |b: usize, oi: &mut [f32]| {
        let xi = &x[b * img_in..(b + 1) * img_in];
        for (o, (h0, h1, w0, w1)) in oi.chunks_exact_mut(c).zip(g.pixel_windows()) {
            let first = (h0 * g.w + w0) * c;
            o.copy_from_slice(&xi[first..first + c]);
            for ih in h0..h1 {
                for iw in w0..w1 {
                    let off = (ih * g.w + iw) * c;
                    if off != first {
                        max_into(o, &xi[off..off + c]);
                    }
                }
            }
        }
    };
    if g.parallel() {
        out.par_chunks_mut(img_out).enumerate().for_each(|(b, oi)| image(b, oi));
    } else {
        for (b, oi) in out.chunks_mut(img_out).enumerate() {
            image(b, oi);
        }
    }
}

/// Max pooling backward: `dx` (`[n, h, w, c]`, overwritten) is zero except that each
/// `dy[i]` is added at the winner `argmax[i]` recorded by [`max_pool2d_forward`].
///
/// # Panics
/// If a buffer length does not match the geometry, or an `argmax` entry lies outside its
/// window (engine bugs, never user input).
pub fn max_pool2d_backward<T: WindowOffset>(g: &Pool2dGeometry, dy: &[f32], argmax: &[T], dx: &mut [f32]) {
    max_pool2d_backward_into(g, dy, argmax, dx.into());
}

/// [`max_pool2d_backward`] into a new vector: each image's gradient is zero-filled once, by
/// the thread that scatters into it while it is in cache ([`super::fresh`]), instead of
/// `vec![0.0; n]` on the calling thread and then again per image.
///
/// # Panics
/// As [`max_pool2d_backward`].
pub fn max_pool2d_backward_vec<T: WindowOffset>(g: &Pool2dGeometry, dy: &[f32], argmax: &[T]) -> Vec<f32> {
    fresh_vec(g.input_len(), |dx| max_pool2d_backward_into(g, dy, argmax, dx))
}

/// The channel sums of [`max_pool2d_backward`]'s `dx` (what [`super::conv::bias_grad`] of
/// it gives, bit for bit) for 2x2 pooling with stride 2 and no padding, from `dy` and the
/// winners alone: a fused convolution's bias gradient without reading `dx` again (four times
/// `dy`'s size). Each sum runs over `dx`'s positions in order from 0.0 as `bias_grad`'s
/// does: for each pooled row, the winners in the window's top row, then those in its bottom
/// row; positions that did not win add `0.0`, which leaves such a sum unchanged (it is
/// never `-0.0`: every term is `0.0 + dy`). Offsets outside `0..4` (the fused ReLU's
/// [`super::winograd`] marks) win nowhere. Channels are split over the threads in blocks
/// of 16. `db` is overwritten.
///
/// # Panics
/// If `g` is not such a pooling or a buffer length does not match it (engine bugs).
pub(crate) fn max_pool2x2_backward_channel_sums(
    g: &Pool2dGeometry,
    dy: &[f32],
    argmax: &[u8],
    db: &mut [f32],
) {
    assert!(g.ph == 2 && g.pw == 2 && g.disjoint_full_windows(), "max_pool2x2_backward_channel_sums: pool");
    assert_eq!(dy.len(), g.output_len(), "max_pool2x2_backward_channel_sums: dy length");
    assert_eq!(argmax.len(), g.output_len(), "max_pool2x2_backward_channel_sums: argmax length");
    assert_eq!(db.len(), g.c, "max_pool2x2_backward_channel_sums: db length");
    db.fill(0.0);
    let (c, row) = (g.c, g.out_w * g.c);
    if row == 0 {
        return;
    }
    let blocks = c.div_ceil(16);
    let threads = num_threads().min(blocks);
    if threads < 2 || dy.len() < ELEMENTWISE_PARALLEL_MIN {
        winner_sums(dy, argmax, row, c, 0, db);
        return;
    }
    let per_task = blocks.div_ceil(threads) * 16;
    db.par_chunks_mut(per_task)
        .enumerate()
        .for_each(|(i, part)| winner_sums(dy, argmax, row, c, i * per_task, part));
}

multiversion! {
    /// `db[k] += ` the winners' `0.0 + dy` of channel `c0 + k` ([`max_pool2x2_backward_channel_sums`]),
    /// pooled rows of `row` values, pixels of `c` channels.
    fn winner_sums(dy: &[f32], argmax: &[u8], row: usize, c: usize, c0: usize, db: &mut [f32]) {
        let w = db.len();
        for (dr, ar) in dy.chunks_exact(row).zip(argmax.chunks_exact(row)) {
            for top in [0u8, 1] {
                for (d, a) in dr.chunks_exact(c).zip(ar.chunks_exact(c)) {
                    for ((s, &d), &a) in db.iter_mut().zip(&d[c0..c0 + w]).zip(&a[c0..c0 + w]) {
                        *s += if a >> 1 == top { 0.0 + d } else { 0.0 };
                    }
                }
            }
        }
    }
}

/// [`max_pool2d_backward`] on an [`Out`].
fn max_pool2d_backward_into<T: WindowOffset>(g: &Pool2dGeometry, dy: &[f32], argmax: &[T], dx: Out<'_>) {
    assert_eq!(dy.len(), g.output_len(), "max_pool2d_backward: dy length");
    assert_eq!(argmax.len(), g.output_len(), "max_pool2d_backward: argmax length");
    assert_eq!(dx.len(), g.input_len(), "max_pool2d_backward: dx length");
    let c = g.c;
    let img_in = g.h * g.w * c;
    let img_out = g.out_h * g.out_w * c;
    if g.n == 0 || img_in == 0 {
        dx.zeroed();
        return;
    }
    if g.disjoint_full_windows() {
        let image = |b: usize, dxi: Out<'_>| {
            let dyi = &dy[b * img_out..(b + 1) * img_out];
            let ai = &argmax[b * img_out..(b + 1) * img_out];
            for (ih, row) in dxi.chunks(g.w * c).into_iter().enumerate() {
                // SAFETY: `gather_row` writes every element of the row (checked by the
                // `debug_assert` there), and its only panics are length asserts before writing.
                unsafe { row.init_with(|row| gather_row(g, ih, row, dyi, ai)) };
            }
        };
        let dxs = dx.chunks(img_in);
        if g.parallel() {
            dxs.into_par_iter().enumerate().for_each(|(b, bi)| image(b, bi));
        } else {
            for (b, bi) in dxs.into_iter().enumerate() {
                image(b, bi);
            }
        }
        return;
    }
    let image = |b: usize, dxi: Out<'_>| {
        let dxi = dxi.zeroed();
        let dyi = &dy[b * img_out..(b + 1) * img_out];
        let ai = &argmax[b * img_out..(b + 1) * img_out];
        for ((d, a), (h0, h1, w0, w1)) in dyi.chunks_exact(c).zip(ai.chunks_exact(c)).zip(g.pixel_windows()) {
            let ww = w1 - w0;
            assert!(ww > 0 && h1 > h0, "max_pool2d_backward: empty window");
            for (ch, (&d, &a)) in d.iter().zip(a).enumerate() {
                let pos = a.to_usize();
                let (ih, iw) = (h0 + pos / ww, w0 + pos % ww);
                assert!(ih < h1, "max_pool2d_backward: winner outside its window");
                dxi[(ih * g.w + iw) * c + ch] += d;
            }
        }
    };
    let dxs = dx.chunks(img_in);
    if g.parallel() {
        dxs.into_par_iter().enumerate().for_each(|(b, bi)| image(b, bi));
    } else {
        for (b, bi) in dxs.into_iter().enumerate() {
            image(b, bi);
        }
    }
}

/// Input row `ih` of one image's max-pool gradient when the windows are disjoint and
/// unclipped ([`Pool2dGeometry::disjoint_full_windows`]): each element is the gradient of the
/// one window holding it if it won there, else zero, written once (what the scatter onto
/// zeros gives, without the zero fill and the second pass).
fn gather_row<T: WindowOffset>(
    g: &Pool2dGeometry,
    ih: usize,
    row: &mut [MaybeUninit<f32>],
    dyi: &[f32],
    ai: &[T],
) {
    let c = g.c;
    assert_eq!(row.len(), g.w * c, "max_pool2d_backward: row length");
    let covered = if ih < g.out_h * g.ph { g.out_w * g.pw * c } else { 0 };
    let (inside, outside) = row.split_at_mut(covered);
    for o in outside {
        o.write(0.0);
    }
    if covered == 0 {
        return;
    }
    let (oh, r) = (ih / g.ph, ih % g.ph);
    for (iw, o) in inside.chunks_exact_mut(c).enumerate() {
        let (ow, j) = (iw / g.pw, iw % g.pw);
        let at = (oh * g.out_w + ow) * c;
        T::select_winner(o, &dyi[at..at + c], &ai[at..at + c], T::from_usize(r * g.pw + j));
    }
    debug_assert_eq!(inside.len(), g.out_w * g.pw * c);
}

/// The flat input index (into `x` of [`max_pool2d_forward`]) of the winner of output
/// element `out_index`, from its recorded window offset.
pub fn winner_input_index<T: WindowOffset>(g: &Pool2dGeometry, out_index: usize, offset: T) -> usize {
    let c = g.c;
    let pixel = out_index / c;
    let (b, rest) = (pixel / (g.out_h * g.out_w), pixel % (g.out_h * g.out_w));
    let (h0, _) = g.rows_of(rest / g.out_w);
    let (w0, w1) = g.cols_of(rest % g.out_w);
    let pos = offset.to_usize();
    let (ih, iw) = (h0 + pos / (w1 - w0), w0 + pos % (w1 - w0));
    ((b * g.h + ih) * g.w + iw) * c + out_index % c
}

/// Average pooling forward. `x` is `[n, h, w, c]`, `out` is `[n, out_h, out_w, c]`. Each
/// window is averaged over its valid (non-padded) elements only, as Keras/TensorFlow do
/// with "same" padding.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn avg_pool2d_forward(g: &Pool2dGeometry, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), g.input_len(), "avg_pool2d_forward: input length");
    assert_eq!(out.len(), g.output_len(), "avg_pool2d_forward: output length");
    if g.n == 0 {
        return;
    }
    let c = g.c;
    let img_in = g.h * g.w * c;
    let img_out = g.out_h * g.out_w * c;
    let image = |b: usize, oi: &mut [f32]| {
        let xi = &x[b * img_in..(b + 1) * img_in];
        let mut pixels = oi.chunks_exact_mut(c);
        for oh in 0..g.out_h {
            let (h0, h1) = g.rows_of(oh);
            for ow in 0..g.out_w {
                let (w0, w1) = g.cols_of(ow);
                let Some(o) = pixels.next() else { return };
                o.fill(0.0);
                for ih in h0..h1 {
                    let row = &xi[(ih * g.w + w0) * c..(ih * g.w + w1) * c];
                    for xs in row.chunks_exact(c) {
                        for (ov, &xv) in o.iter_mut().zip(xs) {
                            *ov += xv;
                        }
                    }
                }
                let scale = 1.0 / ((h1 - h0) * (w1 - w0)) as f32;
                for ov in o.iter_mut() {
                    *ov *= scale;
                }
            }
        }
    };
    if g.parallel() {
        out.par_chunks_mut(img_out).enumerate().for_each(|(b, bi)| image(b, bi));
    } else {
        for (b, bi) in out.chunks_mut(img_out).enumerate() {
            image(b, bi);
        }
    }
}

/// Average pooling backward: `dx` (`[n, h, w, c]`, overwritten) receives each `dy`
/// element divided by its window's valid-element count, added at every valid position of
/// that window.
///
/// # Panics
/// If a buffer length does not match the geometry (an engine bug, never user input).
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &[f32], dx: &mut [f32]) {
    assert_eq!(dy.len(), g.output_len(), "avg_pool2d_backward: dy length");
    assert_eq!(dx.len(), g.input_len(), "avg_pool2d_backward: dx length");
    if g.n == 0 {
        return;
    }
    let c = g.c;
    let img_in = g.h * g.w * c;
    let img_out = g.out_h * g.out_w * c;
    let mut scaled = Vec::new();
    let image = |b: usize, dxi: &mut [f32], scaled: &mut Vec<f32>| {
        dxi.fill(0.0);
        scaled.resize(c, 0.0);
        let mut pixels = dy[b * img_out..(b + 1) * img_out].chunks_exact(c);
        for oh in 0..g.out_h {
            let (h0, h1) = g.rows_of(oh);
            for ow in 0..g.out_w {
                let (w0, w1) = g.cols_of(ow);
                let Some(d) = pixels.next() else { return };
                let scale = 1.0 / ((h1 - h0) * (w1 - w0)) as f32;
                for (s, &dv) in scaled.iter_mut().zip(d) {
                    *s = dv * scale;
                }
                for ih in h0..h1 {
                    let row = &mut dxi[(ih * g.w + w0) * c..(ih * g.w + w1) * c];
                    for xs in row.chunks_exact_mut(c) {
                        for (xv, &s) in xs.iter_mut().zip(scaled.iter()) {
                            *xv += s;
                        }
                    }
                }
            }
        }
    };
    if g.parallel() {
        dx.par_chunks_mut(img_in).enumerate().for_each_init(Vec::new, |s, (b, dxi)| image(b, dxi, s));
    } else {
        for (b, dxi) in dx.chunks_mut(img_in).enumerate() {
            image(b, dxi, &mut scaled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The inference path gives the training path's values bit for bit: ties, NaNs, -inf
    /// and both paddings, on channel counts around a vector width.
    #[test]
    fn values_only_match_the_argmax_pass() {
        for &(c, same, pool, stride) in
            &[(1, false, 2, 2), (17, true, 3, 2), (64, false, 2, 2), (33, true, 2, 1)]
        {
            let g = Pool2dGeometry::new([2, 7, 6, c], [pool, pool], [stride, stride], same).unwrap();
            let mut x = rand_vec(g.input_len(), c as u64);
            for (i, v) in x.iter_mut().enumerate() {
                match i % 11 {
                    0 => *v = f32::NAN,
                    3 => *v = f32::NEG_INFINITY,
                    5 => *v = 0.5, // ties
                    _ => {}
                }
            }
            let mut want = vec![0.0; g.output_len()];
            let mut argmax = vec![0u8; g.output_len()];
            max_pool2d_forward(&g, &x, &mut want, &mut argmax);
            let mut got = vec![1.0; g.output_len()];
            max_pool2d_values(&g, &x, &mut got);
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
            for (i, &a) in argmax.iter().enumerate() {
                let at = winner_input_index(&g, i, a);
                assert_eq!(x[at].to_bits(), want[i].to_bits(), "argmax points at the value");
            }
        }
    }

    /// The channel sums from the winners against `bias_grad` of the full backward, bit for
    /// bit: odd sizes (rows and columns no window covers), several images, channel counts
    /// around the 16-channel blocks, NaNs, `-0.0` and infinities in `dy`, ties in `x`, and
    /// winners marked as passing nothing (offset + 4).
    #[test]
    fn winner_channel_sums_match_bias_grad_of_the_backward() {
        for &(n, h, w, c) in &[(3, 7, 9, 1), (2, 28, 28, 64), (2, 13, 11, 33), (40, 6, 6, 16)] {
            let g = Pool2dGeometry::new([n, h, w, c], [2, 2], [2, 2], false).unwrap();
            let mut x = rand_vec(g.input_len(), c as u64);
            x.iter_mut().step_by(7).for_each(|v| *v = 0.25);
            let mut out = vec![0.0; g.output_len()];
            let mut argmax = vec![0u8; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut argmax);
            for (i, a) in argmax.iter_mut().enumerate() {
                if i % 5 == 2 {
                    *a += 4;
                }
            }
            let mut dy = rand_vec(g.output_len(), 7 + c as u64);
            for (i, v) in dy.iter_mut().enumerate() {
                match i % 97 {
                    3 => *v = -0.0,
                    50 => *v = f32::INFINITY,
                    _ => {}
                }
            }
            dy[g.output_len() / 2] = f32::NAN;
            let dx = max_pool2d_backward_vec(&g, &dy, &argmax);
            let mut want = vec![0.0; c];
            crate::kernels::conv::bias_grad(&dx, c, &mut want);
            let mut got = vec![f32::NAN; c];
            max_pool2x2_backward_channel_sums(&g, &dy, &argmax, &mut got);
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{:?} channel {k}: {a} vs {b}", (n, h, w, c));
            }
        }
    }

    /// Calls `f(out_index, in_index)` for every valid element of every window, in row-major
    /// window order.
    fn for_each_tap(g: &Pool2dGeometry, mut f: impl FnMut(usize, usize)) {
        for b in 0..g.n {
            for oh in 0..g.out_h {
                for ow in 0..g.out_w {
                    for ch in 0..g.c {
                        let o = ((b * g.out_h + oh) * g.out_w + ow) * g.c + ch;
                        for ki in 0..g.ph {
                            for kj in 0..g.pw {
                                let ih = (oh * g.stride_h + ki) as isize - g.pad_top as isize;
                                let iw = (ow * g.stride_w + kj) as isize - g.pad_left as isize;
                                if ih < 0 || iw < 0 || ih as usize >= g.h || iw as usize >= g.w {
                                    continue;
                                }
                                let i = ((b * g.h + ih as usize) * g.w + iw as usize) * g.c + ch;
                                f(o, i);
                            }
                        }
                    }
                }
            }
        }
    }

    fn naive_max(g: &Pool2dGeometry, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let mut out = vec![f32::NEG_INFINITY; g.output_len()];
        let mut arg = vec![u32::MAX; g.output_len()];
        for_each_tap(g, |o, i| {
            if arg[o] == u32::MAX || x[i] > out[o] {
                out[o] = x[i];
                arg[o] = i as u32;
            }
        });
        (out, arg)
    }

    fn naive_avg(g: &Pool2dGeometry, x: &[f32]) -> Vec<f32> {
        let mut sum = vec![0.0f64; g.output_len()];
        let mut count = vec![0usize; g.output_len()];
        for_each_tap(g, |o, i| {
            sum[o] += x[i] as f64;
            count[o] += 1;
        });
        sum.iter().zip(&count).map(|(s, &c)| (s / c as f64) as f32).collect()
    }

    fn naive_avg_backward(g: &Pool2dGeometry, dy: &[f32]) -> Vec<f32> {
        let mut count = vec![0usize; g.output_len()];
        for_each_tap(g, |o, _| count[o] += 1);
        let mut dx = vec![0.0f64; g.input_len()];
        for_each_tap(g, |o, i| dx[i] += dy[o] as f64 / count[o] as f64);
        dx.into_iter().map(|v| v as f32).collect()
    }

    fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: element {i}: got {a}, want {b}");
        }
    }

    /// (input, pool, strides, same)
    type Case = ([usize; 4], [usize; 2], [usize; 2], bool);

    fn cases() -> Vec<Case> {
        vec![
            ([2, 6, 6, 3], [2, 2], [2, 2], false),
            ([2, 7, 5, 3], [2, 2], [2, 2], true),
            ([2, 7, 5, 3], [3, 3], [1, 1], true),
            ([1, 7, 8, 2], [3, 2], [2, 3], false),
            ([1, 7, 8, 2], [3, 2], [2, 3], true),
            ([2, 5, 5, 1], [2, 2], [3, 3], true),
            ([1, 4, 4, 2], [4, 4], [1, 1], true),
            // 1D pooling: h = 1, ph = 1.
            ([3, 1, 9, 4], [1, 3], [1, 2], true),
            ([3, 1, 9, 4], [1, 2], [1, 2], false),
            // Large enough for the parallel path.
            ([8, 32, 32, 16], [2, 2], [2, 2], false),
            ([4, 31, 33, 8], [3, 3], [2, 2], true),
        ]
    }

    #[test]
    fn geometry_follows_tensorflow_rules() {
        let g = Pool2dGeometry::new([1, 5, 6, 1], [2, 2], [2, 2], true).unwrap();
        assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (3, 3, 0, 0));
        let g = Pool2dGeometry::new([1, 5, 6, 1], [3, 3], [2, 2], true).unwrap();
        assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (3, 3, 1, 0));
        let g = Pool2dGeometry::new([1, 5, 6, 1], [2, 2], [2, 2], false).unwrap();
        assert_eq!((g.out_h, g.out_w), (2, 3));
        let g = Pool2dGeometry::new([1, 1, 10, 1], [1, 3], [1, 1], false).unwrap();
        assert_eq!((g.out_h, g.out_w), (1, 8));
    }

    #[test]
    fn geometry_rejects_invalid_input() {
        let bad = [
            Pool2dGeometry::new([1, 3, 3, 1], [4, 2], [1, 1], false),
            Pool2dGeometry::new([1, 3, 3, 1], [2, 2], [0, 1], true),
            Pool2dGeometry::new([1, 3, 3, 1], [2, 0], [1, 1], true),
            Pool2dGeometry::new([1, 3, 0, 1], [1, 1], [1, 1], true),
            Pool2dGeometry::new([1, 3, 3, 0], [1, 1], [1, 1], true),
            Pool2dGeometry::new([1 << 20, 1 << 10, 1 << 10, 1], [1, 1], [1, 1], true),
        ];
        for r in bad {
            let e = r.unwrap_err();
            assert!(e.starts_with("Pool2D:"), "{e}");
        }
    }

    #[test]
    fn max_pool_matches_naive() {
        for (k, &(input, pool, strides, same)) in cases().iter().enumerate() {
            let g = Pool2dGeometry::new(input, pool, strides, same).unwrap();
            // Shift negative so that a padded zero would win if padding were counted.
            let x: Vec<f32> = rand_vec(g.input_len(), k as u64).iter().map(|v| v - 2.0).collect();
            let (want, want_arg) = naive_max(&g, &x);
            // Both offset types, which must name the same winners.
            let mut out = vec![f32::NAN; g.output_len()];
            let mut arg = vec![0u32; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut arg);
            assert_eq!(out, want, "case {k}");
            let flat: Vec<u32> =
                arg.iter().enumerate().map(|(i, &a)| winner_input_index(&g, i, a) as u32).collect();
            assert_eq!(flat, want_arg, "case {k}");
            let mut out8 = vec![f32::NAN; g.output_len()];
            let mut arg8 = vec![0u8; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out8, &mut arg8);
            assert_eq!(out8, want, "case {k}");
            let wide: Vec<u32> = arg8.iter().map(|&a| a as u32).collect();
            assert_eq!(wide, arg, "case {k}");
        }
    }

    #[test]
    fn max_pool_ties_pick_first_in_window() {
        let g = Pool2dGeometry::new([1, 4, 4, 2], [2, 2], [2, 2], false).unwrap();
        let x = vec![1.0; g.input_len()];
        let mut out = vec![0.0; g.output_len()];
        let mut arg = vec![0u8; g.output_len()];
        max_pool2d_forward(&g, &x, &mut out, &mut arg);
        assert_eq!(arg, vec![0; 8]);
        let flat: Vec<usize> = arg.iter().enumerate().map(|(i, &a)| winner_input_index(&g, i, a)).collect();
        assert_eq!(flat, vec![0, 1, 4, 5, 16, 17, 20, 21]);
    }

    /// The reference max-pool gradient: `dy` scattered onto zeros at the naive argmax.
    fn naive_max_backward(g: &Pool2dGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let (_, flat) = naive_max(g, x);
        let mut want = vec![0.0f32; g.input_len()];
        for (o, &i) in flat.iter().enumerate() {
            want[i as usize] += dy[o];
        }
        want
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn max_pool_backward_scatters_to_argmax() {
        for (k, &(input, pool, strides, same)) in cases().iter().enumerate() {
            let g = Pool2dGeometry::new(input, pool, strides, same).unwrap();
            let x = rand_vec(g.input_len(), 50 + k as u64);
            let dy = rand_vec(g.output_len(), 60 + k as u64);
            let want = naive_max_backward(&g, &x, &dy);
            let mut out = vec![0.0; g.output_len()];
            let mut arg = vec![0u8; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut arg);
            let mut dx = vec![f32::NAN; g.input_len()];
            max_pool2d_backward(&g, &dy, &arg, &mut dx);
            assert_close(&dx, &want, 1e-6, &format!("max backward case {k}"));
            // The fresh-vector entry points give the same bits.
            let fresh = max_pool2d_backward_vec(&g, &dy, &arg);
            assert_eq!(bits(&fresh), bits(&dx), "fresh max backward case {k}");
            let mut arg2 = vec![0u8; g.output_len()];
            assert_eq!(bits(&max_pool2d_forward_vec(&g, &x, &mut arg2)), bits(&out), "fresh forward {k}");
            assert_eq!(arg2, arg, "fresh forward winners {k}");
        }
    }

    /// Disjoint whole windows take the gather path: the bits of the scatter onto zeros
    /// (`-0.0` gradients included), uncovered rows and columns zero, both offset types.
    #[test]
    fn max_pool_backward_gather_gives_the_bits_of_the_scatter() {
        let geometries = [
            ([2, 6, 6, 3], [2, 2], [2, 2]),
            ([2, 7, 5, 3], [2, 2], [2, 2]),
            ([3, 1, 9, 4], [1, 2], [1, 2]),
            ([2, 9, 8, 5], [3, 2], [3, 2]),
            ([4, 28, 28, 64], [2, 2], [2, 2]),
        ];
        for (k, &(input, pool, strides)) in geometries.iter().enumerate() {
            let g = Pool2dGeometry::new(input, pool, strides, false).unwrap();
            assert!(g.disjoint_full_windows());
            let x = rand_vec(g.input_len(), 70 + k as u64);
            let mut dy = rand_vec(g.output_len(), 80 + k as u64);
            for v in dy.iter_mut().step_by(7) {
                *v = -0.0;
            }
            let want = naive_max_backward(&g, &x, &dy);
            let mut out = vec![0.0; g.output_len()];
            let mut arg8 = vec![0u8; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut arg8);
            let mut arg32 = vec![0u32; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut arg32);
            assert_eq!(bits(&max_pool2d_backward_vec(&g, &dy, &arg8)), bits(&want), "u8 case {k}");
            assert_eq!(bits(&max_pool2d_backward_vec(&g, &dy, &arg32)), bits(&want), "u32 case {k}");
            let mut dx = vec![f32::NAN; g.input_len()];
            max_pool2d_backward(&g, &dy, &arg8, &mut dx);
            assert_eq!(bits(&dx), bits(&want), "slice case {k}");
        }
        // Overlapping, padded or clipped windows keep the scatter.
        for (input, pool, strides, same) in [
            ([2, 7, 5, 3], [2, 2], [2, 2], true),
            ([1, 7, 8, 2], [3, 2], [2, 3], false),
            ([1, 6, 6, 1], [2, 2], [1, 1], false),
        ] {
            assert!(!Pool2dGeometry::new(input, pool, strides, same).unwrap().disjoint_full_windows());
        }
    }

    #[test]
    fn avg_pool_matches_naive() {
        for (k, &(input, pool, strides, same)) in cases().iter().enumerate() {
            let g = Pool2dGeometry::new(input, pool, strides, same).unwrap();
            let x = rand_vec(g.input_len(), 70 + k as u64);
            let mut out = vec![f32::NAN; g.output_len()];
            avg_pool2d_forward(&g, &x, &mut out);
            assert_close(&out, &naive_avg(&g, &x), 1e-5, &format!("avg forward case {k}"));
            let dy = rand_vec(g.output_len(), 80 + k as u64);
            let mut dx = vec![f32::NAN; g.input_len()];
            avg_pool2d_backward(&g, &dy, &mut dx);
            assert_close(&dx, &naive_avg_backward(&g, &dy), 1e-5, &format!("avg backward {k}"));
        }
    }

    #[test]
    fn avg_pool_same_padding_divides_by_valid_count() {
        // 3x3 input, 2x2 window, stride 2, same: out 2x2, padding only at bottom/right.
        let g = Pool2dGeometry::new([1, 3, 3, 1], [2, 2], [2, 2], true).unwrap();
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = vec![0.0; 4];
        avg_pool2d_forward(&g, &x, &mut out);
        assert_eq!(out, vec![3.0, 4.5, 7.5, 9.0]);
    }

    /// Central differences of `loss = sum(pool(x) * dy)` against both backward passes.
    #[test]
    fn gradients_match_finite_differences() {
        let tiny: [Case; 3] = [
            ([2, 4, 5, 2], [2, 2], [2, 2], true),
            ([1, 5, 4, 1], [3, 2], [1, 2], false),
            ([2, 1, 6, 2], [1, 3], [1, 2], true),
        ];
        for (case, &(input, pool, strides, same)) in tiny.iter().enumerate() {
            let g = Pool2dGeometry::new(input, pool, strides, same).unwrap();
            // Distinct values far apart, so a small step never changes the max winner.
            let mut x: Vec<f32> = (0..g.input_len()).map(|i| i as f32 * 0.1).collect();
            let perm = rand_vec(x.len(), 90 + case as u64);
            let mut order: Vec<usize> = (0..x.len()).collect();
            order.sort_by(|&a, &b| perm[a].total_cmp(&perm[b]));
            x = order.iter().map(|&i| x[i]).collect();
            let dy = rand_vec(g.output_len(), 100 + case as u64);
            let eps = 1e-2f32;
            type Pool = dyn Fn(&Pool2dGeometry, &[f32], &mut [f32]);
            let max_fwd: &Pool = &|g, x, out| {
                let mut arg = vec![0u32; out.len()];
                max_pool2d_forward(g, x, out, &mut arg);
            };
            let avg_fwd: &Pool = &avg_pool2d_forward;
            let loss = |f: &Pool, x: &[f32]| -> f64 {
                let mut out = vec![0.0; g.output_len()];
                f(&g, x, &mut out);
                out.iter().zip(&dy).map(|(o, d)| *o as f64 * *d as f64).sum()
            };
            let mut arg = vec![0u32; g.output_len()];
            let mut out = vec![0.0; g.output_len()];
            max_pool2d_forward(&g, &x, &mut out, &mut arg);
            let mut dx_max = vec![0.0; g.input_len()];
            max_pool2d_backward(&g, &dy, &arg, &mut dx_max);
            let mut dx_avg = vec![0.0; g.input_len()];
            avg_pool2d_backward(&g, &dy, &mut dx_avg);
            for (f, dx, name) in [(max_fwd, &dx_max, "max"), (avg_fwd, &dx_avg, "avg")] {
                for (i, got) in dx.iter().enumerate() {
                    let mut p = x.clone();
                    p[i] += eps;
                    let lp = loss(f, &p);
                    p[i] -= 2.0 * eps;
                    let lm = loss(f, &p);
                    let want = ((lp - lm) / (2.0 * eps as f64)) as f32;
                    assert!((got - want).abs() < 1e-3, "{name} case {case} dx[{i}]: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn empty_batch_is_a_no_op() {
        let g = Pool2dGeometry::new([0, 4, 4, 2], [2, 2], [2, 2], false).unwrap();
        max_pool2d_forward::<u8>(&g, &[], &mut [], &mut []);
        max_pool2d_backward::<u8>(&g, &[], &[], &mut []);
        avg_pool2d_forward(&g, &[], &mut []);
        avg_pool2d_backward(&g, &[], &mut []);
    }
}
