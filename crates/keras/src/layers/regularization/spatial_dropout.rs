//! `SpatialDropout1D/2D/3D`: dropout of whole feature maps (one mask value per sample and
//! channel, broadcast over the spatial axes).

use keras_engine::{ops, Tensor as ETensor};
use serde_json::{json, Value};

use super::noise::{check_unit_interval, req_f32, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::regularizers::py_float;
use crate::{keras_bail, Result, Tensor};

/// Shared implementation of the spatial dropout layers.
struct SpatialDropout {
    base: LayerBase,
    rate: f32,
    rng: LayerRng,
    /// Input rank (3, 4 or 5).
    ndim: usize,
    /// `None` for SpatialDropout1D (no data_format argument); else channels-last?
    channels_last: Option<bool>,
}

impl SpatialDropout {
    fn new(snake: &str, rate: f32, ndim: usize, channels_last: Option<bool>) -> Self {
        let mut base = LayerBase::new(snake);
        check_unit_interval(&mut base, rate, "rate");
        SpatialDropout { base, rate, rng: LayerRng::new(None), ndim, channels_last }
    }

    fn set_data_format(&mut self, f: &str) {
        match DataFormat::parse(f) {
            Ok(d) => self.channels_last = Some(d == DataFormat::ChannelsLast),
            Err(e) => self.base.fail(e),
        }
    }

    fn configured(mut self, cfg: &Value) -> Result<Self> {
        self.rng = LayerRng::new(cfg.get("seed").and_then(Value::as_u64));
        self.base.apply_config(cfg);
        if self.channels_last.is_some() {
            if let Some(f) = cfg.get("data_format").and_then(Value::as_str) {
                self.set_data_format(f);
            }
        }
        self.base.take_pending()?;
        Ok(self)
    }

    fn check_rank(&self, rank: usize, shape: String) -> Result<()> {
        if rank != self.ndim {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected ndim={}, found ndim={rank}. Full shape received: {shape}",
                self.base.name,
                self.ndim
            );
        }
        Ok(())
    }

    fn call(&self, x: &Tensor, ctx: &CallContext) -> Result<Tensor> {
        self.check_rank(x.rank(), format!("{:?}", x.shape()))?;
        if !ctx.training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        if self.rate >= 1.0 {
            keras_bail!(
                InvalidArgument,
                "Layer {}: dropout `rate` must be in the range [0, 1) when training, got {}",
                self.base.name,
                self.rate
            );
        }
        let s = x.shape();
        let mut noise = vec![1usize; s.len()];
        noise[0] = s[0];
        let ch = if self.channels_last == Some(false) { 1 } else { s.len() - 1 };
        noise[ch] = s[ch];
        let n: usize = noise.iter().product();
        let (rate, scale) = (self.rate, 1.0 / (1.0 - self.rate));
        let mask: Vec<f32> =
            self.rng.with(|r| (0..n).map(|_| if r.uniform_f32() >= rate { scale } else { 0.0 }).collect());
        Ok(ops::mul(x, &ETensor::new(mask, noise)?)?)
    }

    fn config(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("rate".into(), py_float(self.rate));
        m.insert("seed".into(), self.rng.seed_json());
        m.insert("name".into(), json!(self.base.name));
        m.insert("dtype".into(), json!("float32"));
        if let Some(last) = self.channels_last {
            m.insert("data_format".into(), json!(if last { "channels_last" } else { "channels_first" }));
        }
        Value::Object(m)
    }
}

macro_rules! spatial_dropout {
    ($(#[$doc:meta])* $ty:ident, $class:literal, $snake:literal, $ndim:literal, $fmt:expr) => {
        $(#[$doc])*
        pub struct $ty(SpatialDropout);

        impl $ty {
            /// Drops whole channels with probability `rate` in `[0, 1]` while training.
            pub fn new(rate: f32) -> Self {
                $ty(SpatialDropout::new($snake, rate, $ndim, $fmt))
            }

            /// A fixed seed for this layer's masks (otherwise the global generator).
            pub fn seed(mut self, seed: u64) -> Self {
                self.0.rng = LayerRng::new(Some(seed));
                self
            }

            /// Sets the layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.base.rename(name);
                self
            }

            /// The drop rate.
            pub fn rate(&self) -> f32 {
                self.0.rate
            }

            /// The seed, if any.
            pub fn get_seed(&self) -> Option<u64> {
                self.0.rng.seed()
            }

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let rate = req_f32(cfg, "rate", $class)?;
                Ok($ty(Self::new(rate).0.configured(cfg)?))
            }
        }

        impl Layer for $ty {
            crate::layers::layer::layer_base_methods!($class, 0.base);
            fn records_build_config(&self) -> bool {
                false
            }
            fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
                self.0.check_rank(s.len(), crate::layers::layer::shape_str(s))?;
                Ok(s.to_vec())
            }
            fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
                self.0.call(x, ctx)
            }
            fn get_config(&self) -> Value {
                self.0.config()
            }
        }
    };
}

spatial_dropout!(
    /// Keras `keras.layers.SpatialDropout1D`: for `(batch, steps, channels)` inputs, drops
    /// whole channels (mask shape `(batch, 1, channels)`) and scales the rest by
    /// `1 / (1 - rate)` while training; the identity at inference.
    SpatialDropout1D, "SpatialDropout1D", "spatial_dropout1d", 3, None
);

spatial_dropout!(
    /// Keras `keras.layers.SpatialDropout2D`: for 4-D inputs, drops whole feature maps (mask
    /// `(batch, 1, 1, channels)` channels-last) while training; the identity at inference.
    SpatialDropout2D, "SpatialDropout2D", "spatial_dropout2d", 4, Some(DataFormat::default() == DataFormat::ChannelsLast)
);

spatial_dropout!(
    /// Keras `keras.layers.SpatialDropout3D`: for 5-D inputs, drops whole feature volumes
    /// (mask `(batch, 1, 1, 1, channels)` channels-last) while training.
    SpatialDropout3D, "SpatialDropout3D", "spatial_dropout3d", 5, Some(DataFormat::default() == DataFormat::ChannelsLast)
);

impl SpatialDropout2D {
    /// `"channels_last"` or `"channels_first"`; default: [`crate::config::image_data_format`].
    pub fn data_format(mut self, f: &str) -> Self {
        self.0.set_data_format(f);
        self
    }
}

impl SpatialDropout3D {
    /// `"channels_last"` or `"channels_first"`; default: [`crate::config::image_data_format`].
    pub fn data_format(mut self, f: &str) -> Self {
        self.0.set_data_format(f);
        self
    }
}
