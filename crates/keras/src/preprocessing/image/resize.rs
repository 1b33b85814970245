//! Image resizing with TensorFlow's numerics (`keras.ops.image.resize` on the TensorFlow
//! backend), `smart_resize` and `center_crop`.
//!
//! Every method uses half-pixel centres. Bilinear, nearest and bicubic without antialias are
//! TF's `ResizeBilinear` / `ResizeNearestNeighbor` / `ResizeBicubic` (Keys cubic, a = -0.5,
//! with its 1024-entry coefficient table and renormalised border weights); `area` is
//! `ResizeArea`; antialiased bilinear/bicubic and the Lanczos kernels are TF's
//! `ScaleAndTranslate` (kernel widened by the down-scaling factor when antialiasing).

use std::str::FromStr;

use super::images::Images;
use crate::{keras_bail, Error, Result, Tensor};

/// Interpolation of [`resize`] (Keras `RESIZE_INTERPOLATIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Bilinear (the default).
    Bilinear,
    /// Nearest neighbour.
    Nearest,
    /// Keys cubic convolution, a = -0.5.
    Bicubic,
    /// Area averaging (`tf.image.resize(..., "area")`).
    Area,
    /// Lanczos kernel of radius 3.
    Lanczos3,
    /// Lanczos kernel of radius 5.
    Lanczos5,
}

impl Interpolation {
    /// The Keras name (`"bilinear"`).
    pub fn name(self) -> &'static str {
        match self {
            Interpolation::Bilinear => "bilinear",
            Interpolation::Nearest => "nearest",
            Interpolation::Bicubic => "bicubic",
            Interpolation::Area => "area",
            Interpolation::Lanczos3 => "lanczos3",
            Interpolation::Lanczos5 => "lanczos5",
        }
    }
}

impl FromStr for Interpolation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "bilinear" => Interpolation::Bilinear,
            "nearest" => Interpolation::Nearest,
            "bicubic" => Interpolation::Bicubic,
            "area" => Interpolation::Area,
            "lanczos3" => Interpolation::Lanczos3,
            "lanczos5" => Interpolation::Lanczos5,
            _ => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `interpolation`. Expected of one ('bilinear', 'nearest', \
                 'lanczos3', 'lanczos5', 'bicubic', 'area'). Received: interpolation={s}"
            ),
        })
    }
}

/// Options of [`resize`] (the keyword arguments of `keras.ops.image.resize`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeArgs {
    /// Interpolation method (default bilinear).
    pub interpolation: Interpolation,
    /// Low-pass filter when down-sampling (bilinear, bicubic, lanczos).
    pub antialias: bool,
    /// Centre-crop to the target aspect ratio first.
    pub crop_to_aspect_ratio: bool,
    /// Pad (with `fill_value`) to the target aspect ratio first.
    pub pad_to_aspect_ratio: bool,
    /// Padding value for `pad_to_aspect_ratio`.
    pub fill_value: f32,
}

impl Default for ResizeArgs {
    fn default() -> Self {
        ResizeArgs {
            interpolation: Interpolation::Bilinear,
            antialias: false,
            crop_to_aspect_ratio: false,
            pad_to_aspect_ratio: false,
            fill_value: 0.0,
        }
    }
}

impl ResizeArgs {
    /// Options with this interpolation and the other defaults.
    pub fn interpolation(interpolation: Interpolation) -> Self {
        ResizeArgs { interpolation, ..Default::default() }
    }
}

/// `keras.ops.image.resize(images, size, ...)`: resizes `(h, w, c)` or `(n, h, w, c)` images
/// to `size = (height, width)`. The result is float32 with the input's rank.
///
/// ```
/// use keras::preprocessing::image::{resize, ResizeArgs};
/// let img = keras::Tensor::new((0..48).map(|v| v as f32).collect(), [4, 4, 3]).unwrap();
/// let small = resize(&img, (2, 2), ResizeArgs::default()).unwrap();
/// assert_eq!(small.shape(), &[2, 2, 3]);
/// ```
pub fn resize(images: &Tensor, size: (usize, usize), opts: ResizeArgs) -> Result<Tensor> {
    let img = Images::from_tensor(images, "resize")?;
    resize_images(&img, size, opts)?.into_tensor()
}

pub(crate) fn check_size(size: (usize, usize), what: &str) -> Result<()> {
    if size.0 == 0 || size.1 == 0 {
        keras_bail!(
            InvalidArgument,
            "{what}: the target size must be positive, got (height, width) = ({}, {})",
            size.0,
            size.1
        );
    }
    Ok(())
}

/// The centred crop box `(h0, w0, crop_h, crop_w)` with the aspect ratio of `target` (the
/// arithmetic of Keras's `smart_resize` and `crop_to_aspect_ratio`).
pub(crate) fn aspect_crop_box(h: usize, w: usize, target: (usize, usize)) -> (usize, usize, usize, usize) {
    let (th, tw) = target;
    let crop_h = ((w * th) as f32 / tw as f32) as usize;
    let crop_h = crop_h.min(h).max(1);
    let crop_w = ((h * tw) as f32 / th as f32) as usize;
    let crop_w = crop_w.min(w).max(1);
    let h0 = ((h - crop_h) as f32 / 2.0) as usize;
    let w0 = ((w - crop_w) as f32 / 2.0) as usize;
    (h0, w0, crop_h, crop_w)
}

/// Keras's `pad_to_aspect_ratio`: the same padding on both sides of the short axis.
fn pad_to_aspect(img: &Images, target: (usize, usize), fill: f32) -> Result<Images> {
    let (h, w) = (img.h, img.w);
    let (th, tw) = target;
    // In float: `w * th` overflows for a huge target size.
    let pad_h = ((w as f32 * th as f32 / tw as f32) as usize).max(h);
    let pad_w = ((h as f32 * tw as f32 / th as f32) as usize).max(w);
    let top = ((pad_h - h) as f32 / 2.0) as usize;
    let left = ((pad_w - w) as f32 / 2.0) as usize;
    if top == 0 && left == 0 {
        return Ok(img.clone());
    }
    let (nh, nw, c) = (h + 2 * top, w + 2 * left, img.c);
    let mut out = Images::try_zeros(img.n, nh, nw, c, img.batched)?;
    out.data.fill(fill);
    for b in 0..img.n {
        let src = img.image(b);
        let dst = out.image_mut(b);
        for y in 0..h {
            let d = ((y + top) * nw + left) * c;
            dst[d..d + w * c].copy_from_slice(&src[y * w * c..(y + 1) * w * c]);
        }
    }
    Ok(out)
}

pub(crate) fn resize_images(img: &Images, size: (usize, usize), opts: ResizeArgs) -> Result<Images> {
    check_size(size, "resize")?;
    if opts.crop_to_aspect_ratio && opts.pad_to_aspect_ratio {
        keras_bail!(
            InvalidArgument,
            "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`."
        );
    }
    if img.h == 0 || img.w == 0 {
        keras_bail!(Shape, "resize: the input images are empty ({}x{})", img.h, img.w);
    }
    let prepared;
    let src = if opts.crop_to_aspect_ratio {
        let (h0, w0, ch, cw) = aspect_crop_box(img.h, img.w, size);
        prepared = img.crop(h0, w0, ch, cw);
        &prepared
    } else if opts.pad_to_aspect_ratio {
        prepared = pad_to_aspect(img, size, opts.fill_value)?;
        &prepared
    } else {
        img
    };
    resize_plain(src, size, opts.interpolation, opts.antialias)
}

/// `tf.image.resize` (v2) of every image to `size`.
pub(crate) fn resize_plain(
    img: &Images,
    size: (usize, usize),
    interp: Interpolation,
    antialias: bool,
) -> Result<Images> {
    let (oh, ow) = size;
    let mut out = Images::try_zeros(img.n, oh, ow, img.c, img.batched)?;
    if out.data.is_empty() {
        return Ok(out);
    }
    if img.h == 0 || img.w == 0 {
        keras_bail!(Shape, "resize: the input images are empty ({}x{})", img.h, img.w);
    }
    for b in 0..img.n {
        let src = img.image(b);
        let dst = out.image_mut(b);
        match (interp, antialias) {
            (Interpolation::Bilinear, false) => bilinear(src, img.h, img.w, img.c, dst, oh, ow),
            (Interpolation::Nearest, _) => nearest(src, img.h, img.w, img.c, dst, oh, ow),
            (Interpolation::Bicubic, false) => bicubic(src, img.h, img.w, img.c, dst, oh, ow),
            (Interpolation::Area, _) => area(src, img.h, img.w, img.c, dst, oh, ow),
            (Interpolation::Bilinear, true) => {
                scale_and_translate(src, img.h, img.w, img.c, dst, oh, ow, Kernel::Triangle, true)
            }
            (Interpolation::Bicubic, true) => {
                scale_and_translate(src, img.h, img.w, img.c, dst, oh, ow, Kernel::KeysCubic, true)
            }
            (Interpolation::Lanczos3, aa) => {
                scale_and_translate(src, img.h, img.w, img.c, dst, oh, ow, Kernel::Lanczos(3.0), aa)
            }
            (Interpolation::Lanczos5, aa) => {
                scale_and_translate(src, img.h, img.w, img.c, dst, oh, ow, Kernel::Lanczos(5.0), aa)
            }
        }
    }
    Ok(out)
}

/// `(lower, upper, lerp)` per output index: TF's `compute_interpolation_weights` with the
/// half-pixel scaler.
fn bilinear_taps(in_size: usize, out_size: usize) -> Vec<(usize, usize, f32)> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|i| {
            let x = (i as f32 + 0.5) * scale - 0.5;
            let f = x.floor();
            let lower = (f as i64).max(0) as usize;
            let upper = (x.ceil() as i64).min(in_size as i64 - 1).max(0) as usize;
            (lower, upper, x - f)
        })
        .collect()
}

fn bilinear(src: &[f32], h: usize, w: usize, c: usize, dst: &mut [f32], oh: usize, ow: usize) {
    let ys = bilinear_taps(h, oh);
    let xs = bilinear_taps(w, ow);
    for (oy, &(y0, y1, yl)) in ys.iter().enumerate() {
        for (ox, &(x0, x1, xl)) in xs.iter().enumerate() {
            for k in 0..c {
                let tl = src[(y0 * w + x0) * c + k];
                let tr = src[(y0 * w + x1) * c + k];
                let bl = src[(y1 * w + x0) * c + k];
                let br = src[(y1 * w + x1) * c + k];
                let top = tl + (tr - tl) * xl;
                let bottom = bl + (br - bl) * xl;
                dst[(oy * ow + ox) * c + k] = top + (bottom - top) * yl;
            }
        }
    }
}

fn nearest_index(i: usize, in_size: usize, out_size: usize) -> usize {
    let scale = in_size as f32 / out_size as f32;
    let v = ((i as f32 + 0.5) * scale).floor() as i64;
    v.min(in_size as i64 - 1).max(0) as usize
}

fn nearest(src: &[f32], h: usize, w: usize, c: usize, dst: &mut [f32], oh: usize, ow: usize) {
    for oy in 0..oh {
        let y = nearest_index(oy, h, oh);
        for ox in 0..ow {
            let x = nearest_index(ox, w, ow);
            dst[(oy * ow + ox) * c..(oy * ow + ox + 1) * c]
                .copy_from_slice(&src[(y * w + x) * c..(y * w + x + 1) * c]);
        }
    }
}

const TABLE_SIZE: usize = 1024;

/// TF's bicubic coefficient table for the Keys kernel with a = -0.5.
fn keys_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let a = -0.5f64;
        let mut t = vec![0.0f32; (TABLE_SIZE + 1) * 2];
        for i in 0..=TABLE_SIZE {
            // TF keeps x in float and evaluates the polynomials in double.
            let mut x = (i as f64 / TABLE_SIZE as f64) as f32;
            let xd = x as f64;
            t[i * 2] = (((a + 2.0) * xd - (a + 3.0)) * xd * xd + 1.0) as f32;
            x += 1.0;
            let xd = x as f64;
            t[i * 2 + 1] = (((a * xd - 5.0 * a) * xd + 8.0 * a) * xd - 4.0 * a) as f32;
        }
        t
    })
}

/// Four `(index, weight)` taps per output index (TF `GetWeightsAndIndices`, Keys variant).
fn bicubic_taps(in_size: usize, out_size: usize) -> Vec<[(usize, f32); 4]> {
    let table = keys_table();
    let scale = in_size as f32 / out_size as f32;
    let bound = |v: i64| v.max(0).min(in_size as i64 - 1);
    (0..out_size)
        .map(|i| {
            let x = (i as f32 + 0.5) * scale - 0.5;
            let loc_f = x.floor();
            let loc = loc_f as i64;
            let delta = x - loc_f;
            let offset = (delta * TABLE_SIZE as f32).round_ties_even() as usize;
            let raw = [
                table[offset * 2 + 1],
                table[offset * 2],
                table[(TABLE_SIZE - offset) * 2],
                table[(TABLE_SIZE - offset) * 2 + 1],
            ];
            let mut taps = [(0usize, 0.0f32); 4];
            for (j, tap) in taps.iter_mut().enumerate() {
                let want = loc - 1 + j as i64;
                let idx = bound(want);
                *tap = (idx as usize, if idx == want { raw[j] } else { 0.0 });
            }
            let sum: f32 = taps.iter().map(|t| t.1).sum();
            if sum.abs() >= 1000.0 * f32::MIN_POSITIVE {
                let inv = 1.0 / sum;
                for t in &mut taps {
                    t.1 *= inv;
                }
            }
            taps
        })
        .collect()
}

fn bicubic(src: &[f32], h: usize, w: usize, c: usize, dst: &mut [f32], oh: usize, ow: usize) {
    let ys = bicubic_taps(h, oh);
    let xs = bicubic_taps(w, ow);
    for (oy, yt) in ys.iter().enumerate() {
        for (ox, xt) in xs.iter().enumerate() {
            for k in 0..c {
                let mut rows = [0.0f32; 4];
                for (r, &(yi, _)) in rows.iter_mut().zip(yt) {
                    let v = |xi: usize| src[(yi * w + xi) * c + k];
                    *r = v(xt[0].0) * xt[0].1
                        + v(xt[1].0) * xt[1].1
                        + v(xt[2].0) * xt[2].1
                        + v(xt[3].0) * xt[3].1;
                }
                dst[(oy * ow + ox) * c + k] =
                    rows[0] * yt[0].1 + rows[1] * yt[1].1 + rows[2] * yt[2].1 + rows[3] * yt[3].1;
            }
        }
    }
}

/// `(index, weight)` cells covering each output cell (TF `ResizeArea`, align_corners false).
fn area_cells(in_size: usize, out_size: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|i| {
            let in0 = i as f32 * scale;
            let in1 = (i + 1) as f32 * scale;
            let start = in0.floor() as i64;
            let end = in1.ceil() as i64;
            (start..end)
                .map(|v| {
                    let vf = v as f32;
                    let wgt = if vf < in0 {
                        if vf + 1.0 > in1 {
                            scale
                        } else {
                            vf + 1.0 - in0
                        }
                    } else if vf + 1.0 > in1 {
                        in1 - vf
                    } else {
                        1.0
                    };
                    (v.max(0).min(in_size as i64 - 1) as usize, wgt)
                })
                .collect()
        })
        .collect()
}

fn area(src: &[f32], h: usize, w: usize, c: usize, dst: &mut [f32], oh: usize, ow: usize) {
    let ys = area_cells(h, oh);
    let xs = area_cells(w, ow);
    let scale = 1.0 / ((h as f32 / oh as f32) * (w as f32 / ow as f32));
    for (oy, yc) in ys.iter().enumerate() {
        for (ox, xc) in xs.iter().enumerate() {
            for k in 0..c {
                let mut sum = 0.0f32;
                for &(yi, wy) in yc {
                    let mut sum_y = 0.0f32;
                    for &(xi, wx) in xc {
                        sum_y += src[(yi * w + xi) * c + k] * wx;
                    }
                    sum += sum_y * wy;
                }
                dst[(oy * ow + ox) * c + k] = sum * scale;
            }
        }
    }
}

/// Sampling kernels of TF's `ScaleAndTranslate`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kernel {
    Triangle,
    KeysCubic,
    Lanczos(f32),
}

impl Kernel {
    fn radius(self) -> f32 {
        match self {
            Kernel::Triangle => 1.0,
            Kernel::KeysCubic => 2.0,
            Kernel::Lanczos(r) => r,
        }
    }

    fn eval(self, x: f32) -> f32 {
        let x = x.abs();
        match self {
            Kernel::Triangle => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Kernel::KeysCubic => {
                if x >= 2.0 {
                    0.0
                } else if x >= 1.0 {
                    ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
                } else {
                    (1.5 * x - 2.5) * x * x + 1.0
                }
            }
            Kernel::Lanczos(r) => {
                const PI: f32 = std::f32::consts::PI;
                if x > r {
                    0.0
                } else if x <= 1e-3 {
                    1.0
                } else {
                    r * (PI * x).sin() * (PI * x / r).sin() / (PI * PI * x * x)
                }
            }
        }
    }
}

/// `(span start, weights)` per output index: TF `ComputeSpansCore` with translation 0.
pub(crate) fn spans(
    in_size: usize,
    out_size: usize,
    kernel: Kernel,
    antialias: bool,
) -> Vec<(usize, Vec<f32>)> {
    let scale = out_size as f32 / in_size as f32;
    let inv_scale = 1.0 / scale;
    let kernel_scale = if antialias { inv_scale.max(1.0) } else { 1.0 };
    let radius = kernel.radius() * kernel_scale;
    let last = in_size as i64 - 1;
    (0..out_size)
        .map(|x| {
            let sample = (x as f32 + 0.5) * inv_scale;
            if sample < 0.0 || sample > in_size as f32 {
                return (0, Vec::new());
            }
            let start = ((sample - radius - 0.5).ceil() as i64).clamp(0, last);
            let end = ((sample + radius - 0.5).floor() as i64).clamp(0, last) + 1;
            let mut ws: Vec<f32> =
                (start..end).map(|s| kernel.eval((s as f32 + 0.5 - sample) * (1.0 / kernel_scale))).collect();
            let total: f32 = ws.iter().sum();
            if total.abs() >= 1000.0 * f32::MIN_POSITIVE {
                let inv = 1.0 / total;
                ws.iter_mut().for_each(|w| *w *= inv);
            } else {
                ws.iter_mut().for_each(|w| *w = 0.0);
            }
            (start as usize, ws)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn scale_and_translate(
    src: &[f32],
    h: usize,
    w: usize,
    c: usize,
    dst: &mut [f32],
    oh: usize,
    ow: usize,
    kernel: Kernel,
    antialias: bool,
) {
    let ys = spans(h, oh, kernel, antialias);
    let xs = spans(w, ow, kernel, antialias);
    // Columns first into (h, ow), then rows, as TF's GatherSpans does.
    let mut mid = vec![0.0f32; h * ow * c];
    for y in 0..h {
        for (ox, (start, ws)) in xs.iter().enumerate() {
            let o = (y * ow + ox) * c;
            for (j, &wt) in ws.iter().enumerate() {
                let i = (y * w + start + j) * c;
                for k in 0..c {
                    mid[o + k] += wt * src[i + k];
                }
            }
        }
    }
    dst.fill(0.0);
    for (oy, (start, ws)) in ys.iter().enumerate() {
        for ox in 0..ow {
            let o = (oy * ow + ox) * c;
            for (j, &wt) in ws.iter().enumerate() {
                let i = ((start + j) * ow + ox) * c;
                for k in 0..c {
                    dst[o + k] += wt * mid[i + k];
                }
            }
        }
    }
}

/// `keras.preprocessing.image.smart_resize`: the largest centred crop with the target aspect
/// ratio, resized to `size` (no distortion).
pub fn smart_resize(x: &Tensor, size: (usize, usize), interpolation: Interpolation) -> Result<Tensor> {
    check_size(size, "smart_resize")?;
    let img = Images::from_tensor(x, "smart_resize")?;
    smart_resize_images(&img, size, interpolation)?.into_tensor()
}

pub(crate) fn smart_resize_images(
    img: &Images,
    size: (usize, usize),
    interp: Interpolation,
) -> Result<Images> {
    if img.h == 0 || img.w == 0 {
        keras_bail!(Shape, "smart_resize: the input images are empty ({}x{})", img.h, img.w);
    }
    let (h0, w0, ch, cw) = aspect_crop_box(img.h, img.w, size);
    resize_plain(&img.crop(h0, w0, ch, cw), size, interp, false)
}

/// What the `CenterCrop` layer does: the centred `(height, width)` window, or when the image
/// is smaller, [`smart_resize`] to that size.
pub fn center_crop(x: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    let img = Images::from_tensor(x, "center_crop")?;
    center_crop_images(&img, height, width)?.into_tensor()
}

pub(crate) fn center_crop_images(img: &Images, height: usize, width: usize) -> Result<Images> {
    check_size((height, width), "center_crop")?;
    if img.h >= height && img.w >= width {
        let h0 = (img.h - height) / 2;
        let w0 = (img.w - width) / 2;
        return Ok(img.crop(h0, w0, height, width));
    }
    smart_resize_images(img, (height, width), Interpolation::Bilinear)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize, c: usize) -> Tensor {
        Tensor::new((0..h * w * c).map(|v| (v * 7 % 23) as f32).collect(), [h, w, c]).unwrap()
    }

    #[test]
    fn same_size_is_identity_for_every_method() {
        let x = ramp(5, 4, 2);
        for m in ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"] {
            let opts = ResizeArgs::interpolation(m.parse().unwrap());
            let y = resize(&x, (5, 4), opts).unwrap();
            for (a, b) in y.to_f32_vec().iter().zip(x.to_f32_vec()) {
                assert!((a - b).abs() < 1e-4, "{m}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let x = ramp(4, 4, 1);
        assert!(resize(&x, (0, 3), ResizeArgs::default()).is_err());
        let both = ResizeArgs { crop_to_aspect_ratio: true, pad_to_aspect_ratio: true, ..Default::default() };
        assert!(resize(&x, (2, 2), both).is_err());
        assert!("cubic".parse::<Interpolation>().is_err());
        assert!(resize(&Tensor::zeros([4, 4]), (2, 2), ResizeArgs::default()).is_err());
        assert!(smart_resize(&x, (2, 0), Interpolation::Bilinear).is_err());
    }

    #[test]
    fn area_down_by_two_is_the_block_mean() {
        let x = Tensor::new(vec![1.0, 3.0, 5.0, 7.0], [2, 2, 1]).unwrap();
        let y = resize(&x, (1, 1), ResizeArgs::interpolation(Interpolation::Area)).unwrap();
        assert_eq!(y.to_f32_vec(), vec![4.0]);
    }
}
