//! `ContrastLimitedAdaptiveHistogramEqualization` (CLAHE): histogram equalization per tile,
//! with clipped histograms, blended between tiles.

use serde_json::{json, Number, Value};

use super::color::map_range;
use super::image_common::{image_call, image_layer_impl, image_shape, number, value_range_builder};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.ContrastLimitedAdaptiveHistogramEqualization`: the image (in the
/// 0–255 scale of `value_range`, default `(0, 255)`) is cut into `tile_grid_size` tiles
/// (default `(8, 8)`; the image is first padded at its bottom and right, symmetrically, to a
/// whole number of tiles); each tile and channel gets a 256-bin histogram of its truncated
/// values, clipped at `clip_limit * tile_pixels / 256` (default `clip_limit` 4.0; 0 for none)
/// with the excess spread over all bins; each pixel's new value blends the normalized
/// cumulative histograms of its four nearest tiles bilinearly (Keras's TensorFlow-backend
/// computation, its `cdf_min`, the first bin, included). Keras applies it in training and
/// inference alike, and so does keras-rs.
///
/// ```
/// use keras::layers::{CallContext, ContrastLimitedAdaptiveHistogramEqualization, Layer};
/// let clahe = ContrastLimitedAdaptiveHistogramEqualization::new().tile_grid_size(2, 2);
/// let x = keras::Tensor::new((0..64).map(|v| 100.0 + (v % 8) as f32).collect(), [1, 8, 8, 1]).unwrap();
/// let y = clahe.call(&x, &mut CallContext::new(false)).unwrap().to_f32_vec();
/// // The narrow band of values is stretched.
/// let (lo, hi) = y.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
/// assert!(hi - lo > 7.0 && y.iter().all(|v| (0.0..=255.0).contains(v)));
/// ```
pub struct ContrastLimitedAdaptiveHistogramEqualization {
    base: LayerBase,
    args: ClaheArgs,
    vrange: (f32, f32),
    grid: (usize, usize),
}

config_args! {
    /// ContrastLimitedAdaptiveHistogramEqualization's Keras arguments, in the order of its
    /// `get_config()`.
    pub(crate) struct ClaheArgs in ContrastLimitedAdaptiveHistogramEqualization.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, kept as given (checked by the constructor).
        value_range: Value = json!([0, 255]),
        /// The histogram clip, in multiples of the mean bin count (0 or less: no clipping).
        clip_limit: Number = number(4.0); builder clip_limit(v: f64) => number(v),
        /// `[rows, columns]` of tiles (checked by the constructor).
        tile_grid_size: Value = json!([8, 8]),
    }
}

/// The largest number of tiles along an axis keras-rs accepts (Keras has no limit).
const MAX_TILES: u64 = 1 << 16;

/// `tile_grid_size`: two positive integers (keras-rs's check; Keras takes any pair).
fn grid_size(v: &Value) -> Result<(usize, usize)> {
    let err = || {
        Error::InvalidArgument(format!(
            "`tile_grid_size` must be a list of two positive integers (at most {MAX_TILES}). \
             Received: tile_grid_size={v}"
        ))
    };
    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(err)?;
    let one =
        |x: &Value| x.as_u64().filter(|n| (1..=MAX_TILES).contains(n)).map(|n| n as usize).ok_or_else(err);
    Ok((one(&a[0])?, one(&a[1])?))
}

impl Default for ContrastLimitedAdaptiveHistogramEqualization {
    fn default() -> Self {
        Self::new()
    }
}

impl ContrastLimitedAdaptiveHistogramEqualization {
    /// Keras's defaults: values in `[0, 255]`, `clip_limit=4.0`, an 8x8 tile grid.
    pub fn new() -> Self {
        ContrastLimitedAdaptiveHistogramEqualization {
            base: LayerBase::new("contrast_limited_adaptive_histogram_equalization"),
            args: ClaheArgs::defaults(),
            vrange: (0.0, 255.0),
            grid: (8, 8),
        }
    }

    /// The number of tiles down and across (positive).
    pub fn tile_grid_size(mut self, rows: usize, cols: usize) -> Self {
        if let Err(e) = self.set_grid(&json!([rows, cols])) {
            self.base.fail(e);
        }
        self
    }

    fn set_grid(&mut self, v: &Value) -> Result<()> {
        self.grid = grid_size(v)?;
        self.args.tile_grid_size = v.clone();
        Ok(())
    }

    value_range_builder! {
        /// The range of the pixel values (kept as given, as Keras does).
        sort: false,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config (with the builders' checks).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args =
            ClaheArgs::read_args(&mut LayerCfg::new(cfg, "ContrastLimitedAdaptiveHistogramEqualization"))?;
        let mut l = Self::new();
        l.set_value_range(&args.value_range)?;
        l.set_grid(&args.tile_grid_size)?;
        l.args = ClaheArgs { value_range: l.args.value_range, tile_grid_size: l.args.tile_grid_size, ..args };
        configured(l, cfg)
    }

    /// The layer on channels-last images (the same in training and inference).
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        map_range(&mut img.data, self.vrange, (0.0, 255.0));
        for b in 0..img.n {
            let out = self.clahe(&img, b)?;
            img.image_mut(b).copy_from_slice(&out);
        }
        map_range(&mut img.data, (0.0, 255.0), self.vrange);
        img.into_tensor()
    }

    /// Keras's `_clahe` of image `b` (values in the 0–255 scale).
    fn clahe(&self, img: &Images, b: usize) -> Result<Vec<f32>> {
        let (h, w, c) = (img.h, img.w, img.c);
        let (gh, gw) = self.grid;
        let (th, tw) = (h.div_ceil(gh), w.div_ceil(gw));
        let (ph, pw) = (th * gh, tw * gw);
        // TensorFlow's symmetric padding reaches back at most the image's size.
        if ph - h > h || pw - w > w {
            keras_bail!(
                InvalidArgument,
                "ContrastLimitedAdaptiveHistogramEqualization: the {h}x{w} image needs a {}x{} symmetric \
                 padding for a {gh}x{gw} tile grid; paddings must be no greater than the dimension size",
                ph - h,
                pw - w
            );
        }
        let src = img.image(b);
        let sym = |i: usize, n: usize| if i < n { i } else { 2 * n - 1 - i };
        let at = |y: usize, x: usize, ch: usize| src[(sym(y, h) * w + sym(x, w)) * c + ch];
        // The normalized cumulative histograms, tiles padded by their edge tiles:
        // `cdf[((ty * (gw + 2) + tx) * c + ch) * 256 + v]`.
        let len = keras_engine::alloc::checked_numel(&[gh + 2, gw + 2, c, 256], 4)?;
        let mut cdf = keras_engine::alloc::try_filled(len, 0.0f32)?;
        let area = (th * tw) as f32;
        let clip = self.args.clip_limit.as_f64().unwrap_or(0.0);
        let limit = (clip * (th * tw) as f64 / 256.0) as f32;
        let mut hist = [0.0f32; 256];
        for ty in 0..gh {
            for tx in 0..gw {
                for ch in 0..c {
                    hist.fill(0.0);
                    for y in ty * th..(ty + 1) * th {
                        for x in tx * tw..(tx + 1) * tw {
                            hist[(at(y, x, ch) as i32).clamp(0, 255) as usize] += 1.0;
                        }
                    }
                    if clip > 0.0 {
                        let mut excess = 0.0f32;
                        for v in hist.iter_mut() {
                            let clipped = v.clamp(0.0, limit);
                            excess += *v - clipped;
                            *v = clipped;
                        }
                        hist.iter_mut().for_each(|v| *v += excess / 256.0);
                    }
                    let o = ((ty + 1) * (gw + 2) + tx + 1) * c + ch;
                    let row = &mut cdf[o * 256..(o + 1) * 256];
                    let mut sum = 0.0f32;
                    for (d, v) in row.iter_mut().zip(hist) {
                        sum += v;
                        *d = sum;
                    }
                    let min = row[0];
                    let den = if area - min == 0.0 { 1.0 } else { area - min };
                    row.iter_mut().for_each(|v| *v = ((*v - min) * 255.0 / den).clamp(0.0, 255.0));
                }
            }
        }
        // The border tiles repeat their neighbours: rows first, then columns (corners too).
        let tile = c * 256;
        let copy = |cdf: &mut Vec<f32>, from: usize, to: usize| {
            cdf.copy_within(from * tile..(from + 1) * tile, to * tile)
        };
        for tx in 1..=gw {
            copy(&mut cdf, (gw + 2) + tx, tx);
            copy(&mut cdf, gh * (gw + 2) + tx, (gh + 1) * (gw + 2) + tx);
        }
        for ty in 0..gh + 2 {
            copy(&mut cdf, ty * (gw + 2) + 1, ty * (gw + 2));
            copy(&mut cdf, ty * (gw + 2) + gw, ty * (gw + 2) + gw + 1);
        }
        // Each axis: the two tiles (in the padded grid) around a pixel and the weight of the second.
        let axis = |i: usize, t: usize, g: usize| {
            let pos = (i as f32 - t as f32 / 2.0) / t as f32 + 1.0;
            let lo = pos.floor();
            let top = (g + 1) as f32;
            (lo.clamp(0.0, top) as usize, (lo + 1.0).clamp(0.0, top) as usize, pos - lo)
        };
        let cols: Vec<(usize, usize, f32)> = (0..w).map(|x| axis(x, tw, gw)).collect();
        let mut out = vec![0.0f32; h * w * c];
        for y in 0..h {
            let (y0, y1, wy) = axis(y, th, gh);
            for (x, &(x0, x1, wx)) in cols.iter().enumerate() {
                for ch in 0..c {
                    let v = src[(y * w + x) * c + ch].clamp(0.0, 255.0) as usize;
                    let look = |ty: usize, tx: usize| cdf[((ty * (gw + 2) + tx) * c + ch) * 256 + v];
                    let top = look(y0, x0) * (1.0 - wx) + look(y0, x1) * wx;
                    let bottom = look(y1, x0) * (1.0 - wx) + look(y1, x1) * wx;
                    out[(y * w + x) * c + ch] = top * (1.0 - wy) + bottom * wy;
                }
            }
        }
        Ok(out)
    }
}

image_layer_impl!(
    ContrastLimitedAdaptiveHistogramEqualization,
    "ContrastLimitedAdaptiveHistogramEqualization",
    same_shape
);
