//! The three affine random layers: `RandomRotation`, `RandomZoom`, `RandomTranslation`. Each
//! draws one transform per image in training (identity in inference) and samples with
//! `keras.ops.image.affine_transform` (fill_mode, fill_value, nearest/bilinear).

use keras_engine::Rng;
use serde_json::{json, Value};

use super::image_common::{
    base_factor, image_call, image_shape, num, pair_factor, preprocessing_layer_boilerplate, seed_of,
    uniform, LayerRng,
};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::data_format_builder;
use crate::preprocessing::image::affine::{
    compute_affine_matrix, transform_images, AffineInterpolation, FillMode,
};
use crate::preprocessing::image::images::Images;
use crate::{Error, Result, Tensor};

/// Sampling options shared by the affine layers.
struct Sampling {
    fill_mode: FillMode,
    interpolation: AffineInterpolation,
    fill_value: Value,
    rng: LayerRng,
}

impl Sampling {
    fn new() -> Self {
        Sampling {
            fill_mode: FillMode::Reflect,
            interpolation: AffineInterpolation::Bilinear,
            fill_value: json!(0.0),
            rng: LayerRng::new(None),
        }
    }

    /// Reads `fill_mode`, `interpolation`, `fill_value` and `seed`, then the base arguments
    /// (name, trainable, ...); a bad mode or interpolation is the config's error.
    fn read_config(&mut self, cfg: &Value, base: &mut LayerBase) -> Result<()> {
        self.read(cfg, base);
        base.apply_config(cfg);
        base.take_pending()
    }

    fn read(&mut self, cfg: &Value, base: &mut LayerBase) {
        if let Some(m) = cfg.get("fill_mode").and_then(Value::as_str) {
            match m.parse() {
                Ok(m) => self.fill_mode = m,
                Err(e) => base.fail(e),
            }
        }
        if let Some(i) = cfg.get("interpolation").and_then(Value::as_str) {
            match i.parse() {
                Ok(i) => self.interpolation = i,
                Err(e) => base.fail(e),
            }
        }
        if let Some(v) = cfg.get("fill_value").filter(|v| v.is_number()) {
            self.fill_value = v.clone();
        }
        self.rng = LayerRng::new(seed_of(cfg));
    }

    /// The images `x` transformed by one `draw(rng, height, width)` each in training; the
    /// images unchanged otherwise.
    fn apply(
        &self,
        x: &Tensor,
        name: &str,
        training: bool,
        draw: impl Fn(&mut Rng, usize, usize) -> [f32; 8],
    ) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {name}"))?;
        if !training {
            return img.into_tensor();
        }
        let transforms: Vec<[f32; 8]> =
            self.rng.with(|r| (0..img.n).map(|_| draw(r, img.h, img.w)).collect());
        let fill = self.fill_value.as_f64().unwrap_or(0.0) as f32;
        transform_images(&img, &transforms, self.interpolation, self.fill_mode, fill)?.into_tensor()
    }
}

macro_rules! sampling_builders {
    () => {
        /// How points outside the image are filled: `"reflect"` (default), `"wrap"`,
        /// `"constant"` or `"nearest"`.
        pub fn fill_mode(mut self, mode: &str) -> Self {
            match mode.parse() {
                Ok(m) => self.s.fill_mode = m,
                Err(e) => self.base.fail(e),
            }
            self
        }
        /// `"bilinear"` (default) or `"nearest"`.
        pub fn interpolation(mut self, name: &str) -> Self {
            match name.parse() {
                Ok(i) => self.s.interpolation = i,
                Err(e) => self.base.fail(e),
            }
            self
        }
        /// The value of `fill_mode="constant"`.
        pub fn fill_value(mut self, v: f64) -> Self {
            self.s.fill_value = num(v);
            self
        }
        /// A fixed seed for this layer's draws (otherwise the global generator).
        pub fn seed(mut self, seed: u64) -> Self {
            self.s.rng = LayerRng::new(Some(seed));
            self
        }
        crate::layers::builders::name_builder!();
    };
}

/// Keras `keras.layers.RandomRotation`: in training, rotates each image by a random angle of
/// `factor * 360` degrees (`factor` a number `f` for `[-f, f]`, or a pair), about its centre.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomRotation};
/// let rot = RandomRotation::new(0.1).seed(3);
/// let x = keras::Tensor::ones([2, 5, 5, 1]);
/// assert_eq!(rot.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[2, 5, 5, 1]);
/// ```
pub struct RandomRotation {
    base: LayerBase,
    lower: f64,
    upper: f64,
    factor: Value,
    s: Sampling,
    data_format: DataFormat,
}

impl RandomRotation {
    /// Rotation by up to `factor` of a full turn either way.
    pub fn new(factor: f64) -> Self {
        Self::with_factor(&num(factor))
    }

    /// Rotation in `[lower, upper]` turns.
    pub fn range(lower: f64, upper: f64) -> Self {
        Self::with_factor(&json!([lower, upper]))
    }

    fn with_factor(f: &Value) -> Self {
        let mut base = LayerBase::new("random_rotation");
        let (lower, upper, factor) = base_factor(f, (-1, 1)).unwrap_or_else(|e| {
            base.fail(e);
            (0.0, 0.0, json!([0, 0]))
        });
        RandomRotation { data_format: DataFormat::default(), base, lower, upper, factor, s: Sampling::new() }
    }

    sampling_builders!();

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let f = crate::layers::reshaping::args::required(cfg, "factor", "RandomRotation")?;
        let mut l = RandomRotation::with_factor(f);
        l.data_format = data_format;
        l.s.read_config(cfg, &mut l.base)?;
        Ok(l)
    }
}

impl RandomRotation {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let (lo, hi) = (self.lower * 360.0, self.upper * 360.0);
        self.s.apply(x, &self.base.name, ctx.training, |r, h, w| {
            let angle = uniform(r, lo, hi) as f32;
            compute_affine_matrix((0.5, 0.5), angle, (0.0, 0.0), 1.0, (0.0, 0.0), h, w)
        })
    }
}

impl Layer for RandomRotation {
    preprocessing_layer_boilerplate!("RandomRotation", same_shape);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        m.insert("factor".into(), self.factor.clone());
        m.insert("fill_mode".into(), json!(self.s.fill_mode.name()));
        m.insert("fill_value".into(), self.s.fill_value.clone());
        m.insert("interpolation".into(), json!(self.s.interpolation.name()));
        m.insert("seed".into(), self.s.rng.seed_json());
        Value::Object(m)
    }
}

const ZOOM_MSG: &str =
    "The `height_factor` and `width_factor` arguments should be a number (or a list of two \
                        numbers) in the range (-1.0, 1.0]. ";
const SHIFT_MSG: &str =
    "The `height_factor` and `width_factor` arguments should be a number (or a list of two \
                         numbers) in the range [-1.0, 1.0]. ";

/// Keras `keras.layers.RandomZoom`: in training, zooms each image by `1 + z` with `z` drawn
/// from `height_factor` (and `width_factor`, else the same draw keeps the aspect ratio).
/// Negative factors zoom in, positive ones zoom out.
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomZoom};
/// let zoom = RandomZoom::new(0.2).width_factor(0.1).seed(3);
/// let x = keras::Tensor::ones([1, 4, 4, 3]);
/// assert_eq!(zoom.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 3]);
/// ```
pub struct RandomZoom {
    base: LayerBase,
    height: (f64, f64),
    width: Option<(f64, f64)>,
    height_factor: Value,
    width_factor: Value,
    s: Sampling,
    data_format: DataFormat,
}

fn zoom_ok(x: f64) -> bool {
    x <= 1.0 && x > -1.0
}

fn shift_ok(x: f64) -> bool {
    (-1.0..=1.0).contains(&x)
}

impl RandomZoom {
    /// Zoom by `height_factor` (a number `f` for `[-f, f]`).
    pub fn new(height_factor: f64) -> Self {
        Self::with_factors(&num(height_factor), &Value::Null)
    }

    /// A separate zoom range for the width (a number `f` for `[-f, f]`).
    pub fn width_factor(self, f: f64) -> Self {
        let hf = self.height_factor.clone();
        let mut l = Self::with_factors(&hf, &num(f));
        l.base.name = self.base.name;
        l.s = self.s;
        l
    }

    fn with_factors(hf: &Value, wf: &Value) -> Self {
        let mut base = LayerBase::new("random_zoom");
        let height = pair_factor(hf, "height_factor", zoom_ok, ZOOM_MSG).unwrap_or_else(|e| {
            base.fail(e);
            (0.0, 0.0)
        });
        let width = if wf.is_null() {
            None
        } else {
            Some(pair_factor(wf, "width_factor", zoom_ok, ZOOM_MSG).unwrap_or_else(|e| {
                base.fail(e);
                (0.0, 0.0)
            }))
        };
        RandomZoom {
            data_format: DataFormat::default(),
            base,
            height,
            width,
            height_factor: hf.clone(),
            width_factor: wf.clone(),
            s: Sampling::new(),
        }
    }

    sampling_builders!();

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let hf = crate::layers::reshaping::args::required(cfg, "height_factor", "RandomZoom")?;
        let mut l = RandomZoom::with_factors(hf, cfg.get("width_factor").unwrap_or(&Value::Null));
        l.data_format = data_format;
        l.s.read_config(cfg, &mut l.base)?;
        Ok(l)
    }
}

impl RandomZoom {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.s.apply(x, &self.base.name, ctx.training, |r, h, w| {
            let zh = uniform(r, 1.0 + self.height.0, 1.0 + self.height.1) as f32;
            let zw = match self.width {
                Some((lo, hi)) => uniform(r, 1.0 + lo, 1.0 + hi) as f32,
                None => zh,
            };
            zoom_matrix(zh, zw, h, w)
        })
    }
}

impl Layer for RandomZoom {
    preprocessing_layer_boilerplate!("RandomZoom", same_shape);
    fn get_config(&self) -> Value {
        height_width_config(&self.base, self.data_format, &self.height_factor, &self.width_factor, &self.s)
    }
}

/// The config of RandomZoom and RandomTranslation (the same keys, in the same order).
fn height_width_config(
    base: &LayerBase,
    data_format: DataFormat,
    height_factor: &Value,
    width_factor: &Value,
    s: &Sampling,
) -> Value {
    let mut m = base.base_config();
    m.insert("data_format".into(), json!(data_format.as_str()));
    m.insert("height_factor".into(), height_factor.clone());
    m.insert("width_factor".into(), width_factor.clone());
    m.insert("fill_mode".into(), json!(s.fill_mode.name()));
    m.insert("interpolation".into(), json!(s.interpolation.name()));
    m.insert("seed".into(), s.rng.seed_json());
    m.insert("fill_value".into(), s.fill_value.clone());
    Value::Object(m)
}

/// Keras's `_get_zoom_matrix` (zoom about the image centre).
pub(crate) fn zoom_matrix(zh: f32, zw: f32, h: usize, w: usize) -> [f32; 8] {
    let x_off = (w as f32 - 1.0) / 2.0 * (1.0 - zw);
    let y_off = (h as f32 - 1.0) / 2.0 * (1.0 - zh);
    [zw, 0.0, x_off, 0.0, zh, y_off, 0.0, 0.0]
}

/// Keras `keras.layers.RandomTranslation`: in training, shifts each image by a random
/// fraction of its height (`height_factor`) and width (`width_factor`).
///
/// ```
/// use keras::layers::{CallContext, Layer, RandomTranslation};
/// let shift = RandomTranslation::new(0.1, 0.2).fill_mode("constant").seed(3);
/// let x = keras::Tensor::ones([1, 4, 4, 3]);
/// assert_eq!(shift.call(&x, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 3]);
/// ```
pub struct RandomTranslation {
    base: LayerBase,
    height: (f64, f64),
    width: (f64, f64),
    height_factor: Value,
    width_factor: Value,
    s: Sampling,
    data_format: DataFormat,
}

impl RandomTranslation {
    /// Shifts by up to `height_factor * height` and `width_factor * width` either way.
    pub fn new(height_factor: f64, width_factor: f64) -> Self {
        Self::with_factors(&num(height_factor), &num(width_factor))
    }

    fn with_factors(hf: &Value, wf: &Value) -> Self {
        let mut base = LayerBase::new("random_translation");
        let mut get = |v: &Value, name: &str| {
            pair_factor(v, name, shift_ok, SHIFT_MSG).unwrap_or_else(|e| {
                base.fail(e);
                (0.0, 0.0)
            })
        };
        let height = get(hf, "height_factor");
        let width = get(wf, "width_factor");
        RandomTranslation {
            data_format: DataFormat::default(),
            base,
            height,
            width,
            height_factor: hf.clone(),
            width_factor: wf.clone(),
            s: Sampling::new(),
        }
    }

    sampling_builders!();

    data_format_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let data_format = DataFormat::from_config(cfg)?;
        let get = |k: &str| {
            cfg.get(k).ok_or_else(|| Error::Config(format!("RandomTranslation config needs `{k}`")))
        };
        let mut l = RandomTranslation::with_factors(get("height_factor")?, get("width_factor")?);
        l.data_format = data_format;
        l.s.read_config(cfg, &mut l.base)?;
        Ok(l)
    }
}

impl RandomTranslation {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.s.apply(x, &self.base.name, ctx.training, |r, h, w| {
            let dy = (uniform(r, self.height.0, self.height.1) * h as f64) as f32;
            let dx = (uniform(r, self.width.0, self.width.1) * w as f64) as f32;
            [1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0]
        })
    }
}

impl Layer for RandomTranslation {
    preprocessing_layer_boilerplate!("RandomTranslation", same_shape);
    fn get_config(&self) -> Value {
        height_width_config(&self.base, self.data_format, &self.height_factor, &self.width_factor, &self.s)
    }
}
