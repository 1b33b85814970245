//! Image files: `load_img`, `img_to_array`, `array_to_img`, `save_img` (Keras
//! `keras.utils.*`), PNG and JPEG through the `image` crate.
//!
//! Where Keras hands around a PIL image, keras-rs uses [`DynamicImage`]. Conversions follow
//! PIL: grayscale is ITU-R 601-2 luma (`L = (19595 R + 38470 G + 7471 B + 2^15) >> 16`),
//! alpha is dropped (not composited) when converting to RGB, and resizing uses PIL's
//! resampling filters (support widened when down-sampling, 8-bit fixed-point passes,
//! horizontal then vertical).

use std::path::Path;
use std::str::FromStr;

pub use ::image::DynamicImage;
use ::image::{GrayImage, ImageBuffer, ImageFormat, Luma, RgbImage, RgbaImage};

use crate::{keras_bail, Error, Result, Tensor};

/// The colour mode of [`load_img`] (Keras `color_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// One channel.
    Grayscale,
    /// Three channels (the default).
    Rgb,
    /// Four channels.
    Rgba,
}

impl ColorMode {
    /// Number of channels of arrays in this mode.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grayscale => 1,
            ColorMode::Rgb => 3,
            ColorMode::Rgba => 4,
        }
    }
}

impl FromStr for ColorMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "grayscale" => ColorMode::Grayscale,
            "rgb" => ColorMode::Rgb,
            "rgba" => ColorMode::Rgba,
            _ => keras_bail!(
                InvalidArgument,
                "color_mode must be \"grayscale\", \"rgb\", or \"rgba\", got \"{s}\""
            ),
        })
    }
}

/// PIL's resampling filters, the `interpolation` of [`load_img`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PilInterpolation {
    /// Nearest pixel (the default of `load_img`).
    Nearest,
    /// Triangle filter.
    Bilinear,
    /// Cubic filter, a = -0.5.
    Bicubic,
    /// Lanczos, radius 3.
    Lanczos,
    /// Box filter.
    Box,
    /// Hamming-windowed sinc.
    Hamming,
}

impl FromStr for PilInterpolation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "nearest" => PilInterpolation::Nearest,
            "bilinear" => PilInterpolation::Bilinear,
            "bicubic" => PilInterpolation::Bicubic,
            "lanczos" => PilInterpolation::Lanczos,
            "box" => PilInterpolation::Box,
            "hamming" => PilInterpolation::Hamming,
            _ => keras_bail!(
                InvalidArgument,
                "Invalid interpolation method {s} specified. Supported methods are nearest, bilinear, bicubic, \
                 hamming, box, lanczos"
            ),
        })
    }
}

/// Options of [`load_img`]; the defaults are Keras's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadImgArgs {
    /// Colour mode (default RGB).
    pub color_mode: ColorMode,
    /// `(height, width)` to resize to; `None` keeps the file's size.
    pub target_size: Option<(usize, usize)>,
    /// Resampling filter when resizing (default nearest).
    pub interpolation: PilInterpolation,
    /// Centre-crop to the target aspect ratio before resizing.
    pub keep_aspect_ratio: bool,
}

impl Default for LoadImgArgs {
    fn default() -> Self {
        LoadImgArgs {
            color_mode: ColorMode::Rgb,
            target_size: None,
            interpolation: PilInterpolation::Nearest,
            keep_aspect_ratio: false,
        }
    }
}

/// Decodes image bytes (PNG or JPEG); `what` names the source in errors.
fn decode(bytes: &[u8], what: &str) -> Result<DynamicImage> {
    ::image::load_from_memory(bytes)
        .map_err(|e| Error::Value(format!("cannot identify image file '{what}': {e}")))
}

/// PIL's `convert("L")` from 8-bit RGB.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

fn to_mode(img: DynamicImage, mode: ColorMode) -> DynamicImage {
    match mode {
        ColorMode::Grayscale => match img {
            DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => img,
            other => {
                let rgb = other.to_rgb8();
                let (w, h) = rgb.dimensions();
                let data = rgb.pixels().map(|p| luma(p[0], p[1], p[2])).collect();
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, data).expect("sized"))
            }
        },
        ColorMode::Rgb => match img {
            DynamicImage::ImageRgb8(_) => img,
            other => DynamicImage::ImageRgb8(other.to_rgb8()),
        },
        ColorMode::Rgba => match img {
            DynamicImage::ImageRgba8(_) => img,
            other => DynamicImage::ImageRgba8(other.to_rgba8()),
        },
    }
}

/// `keras.utils.load_img`: loads an image file, converts it to `color_mode`, and resizes it
/// to `target_size` with PIL's filters (after a centred aspect-ratio crop when
/// `keep_aspect_ratio`).
///
/// ```no_run
/// use keras::preprocessing::image::{img_to_array, load_img, LoadImgArgs};
/// let img = load_img("cat.png", LoadImgArgs { target_size: Some((64, 64)), ..Default::default() })?;
/// let x = img_to_array(&img)?; // (64, 64, 3) float32
/// # Ok::<(), keras::Error>(())
/// ```
pub fn load_img(path: impl AsRef<Path>, opts: LoadImgArgs) -> Result<DynamicImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read image file {}: {e}", path.display())))?;
    convert_and_resize(decode(&bytes, &path.display().to_string())?, opts, &path.display().to_string())
}

/// [`load_img`] on the bytes of a PNG or JPEG file already in memory (an upload, an archive
/// member): the same conversion and resizing, and an error, never a panic, for bytes that are
/// not an image.
///
/// ```
/// use keras::preprocessing::image::{load_img_from_memory, LoadImgArgs};
/// let e = load_img_from_memory(b"not an image", LoadImgArgs::default()).unwrap_err();
/// assert!(e.to_string().contains("cannot identify image file '<memory>'"));
/// ```
pub fn load_img_from_memory(bytes: &[u8], opts: LoadImgArgs) -> Result<DynamicImage> {
    convert_and_resize(decode(bytes, "<memory>")?, opts, "<memory>")
}

/// The colour conversion and the resizing of [`load_img`]; `what` names the source in errors.
fn convert_and_resize(img: DynamicImage, opts: LoadImgArgs, what: &str) -> Result<DynamicImage> {
    let img = to_mode(img, opts.color_mode);
    let Some((th, tw)) = opts.target_size else {
        return Ok(img);
    };
    if th == 0 || tw == 0 {
        keras_bail!(InvalidArgument, "target_size must be positive, got ({th}, {tw}) for {what}");
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    if (w, h) == (tw, th) {
        return Ok(img);
    }
    let mut bx = (0.0, 0.0, w as f64, h as f64);
    if opts.keep_aspect_ratio {
        let crop_h = ((w * th) / tw).min(h);
        let crop_w = ((h * tw) / th).min(w);
        let h0 = (h - crop_h) / 2;
        let w0 = (w - crop_w) / 2;
        bx = (w0 as f64, h0 as f64, (w0 + crop_w) as f64, (h0 + crop_h) as f64);
    }
    Ok(match img {
        DynamicImage::ImageLuma16(g) => {
            let data: Vec<u16> = g.into_raw();
            let out = pil_resize_u16(&data, w, h, 1, (tw, th), bx, opts.interpolation);
            DynamicImage::ImageLuma16(
                ImageBuffer::<Luma<u16>, _>::from_raw(tw as u32, th as u32, out).expect("sized"),
            )
        }
        other => {
            let c = other.color().channel_count() as usize;
            let raw = other.as_bytes().to_vec();
            let out = pil_resize_u8(&raw, w, h, c, (tw, th), bx, opts.interpolation);
            let (tw, th) = (tw as u32, th as u32);
            match c {
                1 => DynamicImage::ImageLuma8(GrayImage::from_raw(tw, th, out).expect("sized")),
                3 => DynamicImage::ImageRgb8(RgbImage::from_raw(tw, th, out).expect("sized")),
                _ => DynamicImage::ImageRgba8(RgbaImage::from_raw(tw, th, out).expect("sized")),
            }
        }
    })
}

/// `keras.utils.img_to_array`: `(height, width, channels)` float32 values (0..255 for 8-bit
/// images; grayscale gives one channel).
pub fn img_to_array(img: &DynamicImage) -> Result<Tensor> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (data, c): (Vec<f32>, usize) = match img {
        DynamicImage::ImageLuma8(g) => (g.as_raw().iter().map(|&v| v as f32).collect(), 1),
        DynamicImage::ImageLuma16(g) => (g.as_raw().iter().map(|&v| v as f32).collect(), 1),
        DynamicImage::ImageRgb8(g) => (g.as_raw().iter().map(|&v| v as f32).collect(), 3),
        DynamicImage::ImageRgba8(g) => (g.as_raw().iter().map(|&v| v as f32).collect(), 4),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let g = img.to_rgba8();
            (g.as_raw().iter().map(|&v| v as f32).collect(), 4)
        }
        other => {
            let g = other.to_rgb8();
            (g.as_raw().iter().map(|&v| v as f32).collect(), 3)
        }
    };
    Ok(Tensor::new(data, [h, w, c])?)
}

/// `keras.utils.array_to_img`: a `(height, width, channels)` array (1, 3 or 4 channels) to an
/// image. With `scale`, values are shifted and scaled to span 0..255 first; values are then
/// truncated to 8 bits (a 1-channel array above 255 becomes 16-bit grayscale).
pub fn array_to_img(x: &Tensor, scale: bool) -> Result<DynamicImage> {
    let [h, w, c] = *x.shape() else {
        keras_bail!(
            Shape,
            "Expected image array to have rank 3 (single image). Got array with shape: {:?}",
            x.shape()
        );
    };
    let mut v = x.to_f32_vec();
    if scale && !v.is_empty() {
        let min = v.iter().cloned().fold(f32::INFINITY, f32::min);
        v.iter_mut().for_each(|a| *a -= min);
        let max = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        if max != 0.0 {
            v.iter_mut().for_each(|a| *a /= max);
        }
        v.iter_mut().for_each(|a| *a *= 255.0);
    }
    let (wu, hu) = (w as u32, h as u32);
    let u8s = |v: &[f32]| -> Vec<u8> { v.iter().map(|&a| a.clamp(0.0, 255.0) as u8).collect() };
    Ok(match c {
        4 => DynamicImage::ImageRgba8(RgbaImage::from_raw(wu, hu, u8s(&v)).expect("sized")),
        3 => DynamicImage::ImageRgb8(RgbImage::from_raw(wu, hu, u8s(&v)).expect("sized")),
        1 if v.iter().any(|&a| a > 255.0) => {
            let d: Vec<u16> = v.iter().map(|&a| a.clamp(0.0, 65535.0) as u16).collect();
            DynamicImage::ImageLuma16(ImageBuffer::from_raw(wu, hu, d).expect("sized"))
        }
        1 => DynamicImage::ImageLuma8(GrayImage::from_raw(wu, hu, u8s(&v)).expect("sized")),
        _ => keras_bail!(Value, "Unsupported channel number: {c}"),
    })
}

/// `keras.utils.save_img`: writes a `(height, width, channels)` array as PNG or JPEG, the
/// format taken from `file_format` or the file extension (`jpg` = `jpeg`). RGBA arrays saved
/// as JPEG lose their alpha channel, as in Keras.
pub fn save_img(path: impl AsRef<Path>, x: &Tensor, file_format: Option<&str>, scale: bool) -> Result<()> {
    let path = path.as_ref();
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    let fmt = file_format.map(str::to_lowercase).or(ext).unwrap_or_default();
    let format = match fmt.as_str() {
        "png" => ImageFormat::Png,
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        other => keras_bail!(
            InvalidArgument,
            "save_img: unsupported file format '{other}' for {} (keras-rs writes png and jpeg)",
            path.display()
        ),
    };
    let mut img = array_to_img(x, scale)?;
    if format == ImageFormat::Jpeg {
        img = match img {
            DynamicImage::ImageRgba8(_) => DynamicImage::ImageRgb8(img.to_rgb8()),
            DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(img.to_luma8()),
            other => other,
        };
    }
    img.save_with_format(path, format)
        .map_err(|e| Error::Io(format!("cannot write image file {}: {e}", path.display())))
}

/// PIL's filters as `(support, kernel)`.
fn pil_filter(f: PilInterpolation) -> (f64, fn(f64) -> f64) {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            x.sin() / x
        }
    }
    match f {
        PilInterpolation::Box | PilInterpolation::Nearest => {
            (0.5, |x| if (-0.5..0.5).contains(&x) { 1.0 } else { 0.0 })
        }
        PilInterpolation::Bilinear => (1.0, |x| {
            let x = x.abs();
            if x < 1.0 {
                1.0 - x
            } else {
                0.0
            }
        }),
        PilInterpolation::Hamming => (1.0, |x| {
            let x = x.abs();
            if x == 0.0 {
                1.0
            } else if x >= 1.0 {
                0.0
            } else {
                let xp = x * std::f64::consts::PI;
                xp.sin() / xp * (0.54 + 0.46 * xp.cos())
            }
        }),
        PilInterpolation::Bicubic => (2.0, |x| {
            let a = -0.5;
            let x = x.abs();
            if x < 1.0 {
                ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
            } else if x < 2.0 {
                (((x - 5.0) * x + 8.0) * x - 4.0) * a
            } else {
                0.0
            }
        }),
        PilInterpolation::Lanczos => {
            (3.0, |x| if (-3.0..3.0).contains(&x) { sinc(x) * sinc(x / 3.0) } else { 0.0 })
        }
    }
}

/// PIL's `precompute_coeffs`: `(xmin, weights)` per output index over `[in0, in1)`.
fn pil_coeffs(
    in_size: usize,
    in0: f64,
    in1: f64,
    out_size: usize,
    f: PilInterpolation,
) -> Vec<(usize, Vec<f64>)> {
    let (support, kernel) = pil_filter(f);
    let scale = (in1 - in0) / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = support * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = in0 + (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
            let mut k: Vec<f64> =
                (0..xmax.max(0)).map(|x| kernel((x as f64 + xmin as f64 - center + 0.5) * ss)).collect();
            let ww: f64 = k.iter().sum();
            if ww != 0.0 {
                k.iter_mut().for_each(|v| *v /= ww);
            }
            (xmin as usize, k)
        })
        .collect()
}

/// PIL's 8-bit resampling: fixed-point weights (22 bits), rounded and clipped per pass.
fn pil_resize_u8(
    src: &[u8],
    w: usize,
    h: usize,
    c: usize,
    (tw, th): (usize, usize),
    bx: (f64, f64, f64, f64),
    f: PilInterpolation,
) -> Vec<u8> {
    if f == PilInterpolation::Nearest {
        return nearest(src, w, h, c, (tw, th), bx);
    }
    const PRECISION_BITS: u32 = 32 - 8 - 2;
    let fixed = |k: &[f64]| -> Vec<i64> {
        k.iter()
            .map(|&v| {
                let s = v * (1u64 << PRECISION_BITS) as f64;
                (if s < 0.0 { s - 0.5 } else { s + 0.5 }) as i64
            })
            .collect()
    };
    let round = |s: i64| -> u8 { ((s + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS).clamp(0, 255) as u8 };
    let xs: Vec<(usize, Vec<i64>)> =
        pil_coeffs(w, bx.0, bx.2, tw, f).into_iter().map(|(m, k)| (m, fixed(&k))).collect();
    let ys: Vec<(usize, Vec<i64>)> =
        pil_coeffs(h, bx.1, bx.3, th, f).into_iter().map(|(m, k)| (m, fixed(&k))).collect();
    let tap = |v: u8, k: i64| v as i64 * k;
    separable(src, (w, h, c), (tw, th), (&xs, &ys), (tap, round), (tap, round))
}

fn pil_resize_u16(
    src: &[u16],
    w: usize,
    h: usize,
    c: usize,
    (tw, th): (usize, usize),
    bx: (f64, f64, f64, f64),
    f: PilInterpolation,
) -> Vec<u16> {
    if f == PilInterpolation::Nearest {
        return nearest(src, w, h, c, (tw, th), bx);
    }
    let xs = pil_coeffs(w, bx.0, bx.2, tw, f);
    let ys = pil_coeffs(h, bx.1, bx.3, th, f);
    // The intermediate rows stay in f64, unrounded.
    let row = (|v: u16, k: f64| v as f64 * k, |s: f64| s);
    let col = (|v: f64, k: f64| v * k, |s: f64| s.round().clamp(0.0, 65535.0) as u16);
    separable(src, (w, h, c), (tw, th), (&xs, &ys), row, col)
}

/// PIL's two resampling passes: horizontal over every source row (`(xmin, weights)` per
/// output column in `xs`), then vertical (`ys` per output row). Each pass sums
/// `tap(value, weight)` in order and stores `store(sum)`: the `row` pair for the first pass,
/// the `col` pair for the second.
#[allow(clippy::type_complexity)]
fn separable<S: Copy, M: Copy + Default, O: Copy + Default, K: Copy, A: std::iter::Sum>(
    src: &[S],
    (w, h, c): (usize, usize, usize),
    (tw, th): (usize, usize),
    (xs, ys): (&[(usize, Vec<K>)], &[(usize, Vec<K>)]),
    row: (impl Fn(S, K) -> A, impl Fn(A) -> M),
    col: (impl Fn(M, K) -> A, impl Fn(A) -> O),
) -> Vec<O> {
    let mut mid = vec![M::default(); h * tw * c];
    for y in 0..h {
        for (ox, (xmin, k)) in xs.iter().enumerate() {
            for ch in 0..c {
                let s: A =
                    k.iter().enumerate().map(|(j, &kk)| (row.0)(src[(y * w + xmin + j) * c + ch], kk)).sum();
                mid[(y * tw + ox) * c + ch] = (row.1)(s);
            }
        }
    }
    let mut out = vec![O::default(); th * tw * c];
    for (oy, (ymin, k)) in ys.iter().enumerate() {
        for ox in 0..tw {
            for ch in 0..c {
                let s: A = k
                    .iter()
                    .enumerate()
                    .map(|(j, &kk)| (col.0)(mid[((ymin + j) * tw + ox) * c + ch], kk))
                    .sum();
                out[(oy * tw + ox) * c + ch] = (col.1)(s);
            }
        }
    }
    out
}

/// PIL's nearest resize: source index `floor(box0 + (x + 0.5) * scale)`.
fn nearest<T: Copy>(
    src: &[T],
    w: usize,
    h: usize,
    c: usize,
    (tw, th): (usize, usize),
    bx: (f64, f64, f64, f64),
) -> Vec<T> {
    let sx = (bx.2 - bx.0) / tw as f64;
    let sy = (bx.3 - bx.1) / th as f64;
    let mut out = Vec::with_capacity(tw * th * c);
    for oy in 0..th {
        let y = ((bx.1 + (oy as f64 + 0.5) * sy) as usize).min(h - 1);
        for ox in 0..tw {
            let x = ((bx.0 + (ox as f64 + 0.5) * sx) as usize).min(w - 1);
            out.extend_from_slice(&src[(y * w + x) * c..(y * w + x + 1) * c]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("keras_rs_io_{}_{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn png_round_trip_is_exact_and_modes_convert() {
        let d = tmp("png");
        let x = Tensor::new((0..2 * 3 * 3).map(|v| (v * 13 % 256) as f32).collect(), [2, 3, 3]).unwrap();
        let p = d.join("a.png");
        save_img(&p, &x, None, false).unwrap();
        let back = img_to_array(&load_img(&p, LoadImgArgs::default()).unwrap()).unwrap();
        assert_eq!(back.to_f32_vec(), x.to_f32_vec());
        let gray = LoadImgArgs { color_mode: ColorMode::Grayscale, ..Default::default() };
        let g = img_to_array(&load_img(&p, gray).unwrap()).unwrap();
        assert_eq!(g.shape(), &[2, 3, 1]);
        let v = x.to_f32_vec();
        assert_eq!(g.to_f32_vec()[0], luma(v[0] as u8, v[1] as u8, v[2] as u8) as f32);
        let rgba = LoadImgArgs { color_mode: ColorMode::Rgba, ..Default::default() };
        assert_eq!(img_to_array(&load_img(&p, rgba).unwrap()).unwrap().shape(), &[2, 3, 4]);
        std::fs::remove_dir_all(d).ok();
    }

    #[test]
    fn resizing_on_load_and_errors_name_the_path() {
        let d = tmp("err");
        let x = Tensor::new((0..8 * 6).map(|v| v as f32).collect(), [8, 6, 1]).unwrap();
        let p = d.join("g.png");
        save_img(&p, &x, None, false).unwrap();
        for interp in ["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"] {
            let o = LoadImgArgs {
                color_mode: ColorMode::Grayscale,
                target_size: Some((4, 3)),
                interpolation: interp.parse().unwrap(),
                keep_aspect_ratio: interp == "box",
            };
            let y = img_to_array(&load_img(&p, o).unwrap()).unwrap();
            assert_eq!(y.shape(), &[4, 3, 1]);
        }
        // Nearest: source index floor((i + 0.5) * 2).
        let o =
            LoadImgArgs { color_mode: ColorMode::Grayscale, target_size: Some((4, 3)), ..Default::default() };
        let y = img_to_array(&load_img(&p, o).unwrap()).unwrap();
        assert_eq!(y.to_f32_vec()[..3], [7.0, 9.0, 11.0]);
        let bad = d.join("not_an_image.png");
        std::fs::write(&bad, b"hello").unwrap();
        let e = load_img(&bad, LoadImgArgs::default()).unwrap_err();
        assert!(e.message().contains("not_an_image.png"), "{e}");
        let e = load_img(d.join("missing.png"), LoadImgArgs::default()).unwrap_err();
        assert!(matches!(e, Error::Io(_)) && e.message().contains("missing.png"));
        let zero = LoadImgArgs { target_size: Some((0, 3)), ..Default::default() };
        assert!(load_img(&p, zero).is_err());
        assert!(save_img(d.join("x.gif"), &x, None, false).is_err());
        assert!(array_to_img(&Tensor::zeros([2, 2]), true).is_err());
        assert!(array_to_img(&Tensor::zeros([2, 2, 2]), true).is_err());
        assert!("cmyk".parse::<ColorMode>().is_err());
        std::fs::remove_dir_all(d).ok();
    }

    #[test]
    fn jpeg_drops_alpha_and_scale_spans_0_255() {
        let d = tmp("jpg");
        let x = Tensor::new(vec![0.5; 4 * 4 * 4], [4, 4, 4]).unwrap();
        let p = d.join("a.jpg");
        save_img(&p, &x, None, false).unwrap();
        assert_eq!(img_to_array(&load_img(&p, LoadImgArgs::default()).unwrap()).unwrap().shape(), &[4, 4, 3]);
        let ramp = Tensor::new(vec![-1.0, 0.0, 1.0, 3.0], [2, 2, 1]).unwrap();
        let img = array_to_img(&ramp, true).unwrap();
        assert_eq!(img_to_array(&img).unwrap().to_f32_vec(), vec![0.0, 63.0, 127.0, 255.0]);
        std::fs::remove_dir_all(d).ok();
    }
}
