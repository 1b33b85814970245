//! `SpatialDropout1D/2D/3D`: dropout of whole feature maps (one mask value per sample and
//! channel, broadcast over the spatial axes).

use keras_engine::{ops, Tensor as ETensor};
use serde_json::{json, Value};

use super::noise::{check_unit_interval, LayerRng};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Shared implementation of the spatial dropout layers.
struct SpatialDropout {
    base: LayerBase,
    args: SpatialDropoutArgs,
    /// The `data_format` argument; `None` for SpatialDropout1D, which has none.
    format: Option<SpatialFormatArgs>,
    rng: LayerRng,
    /// Input rank (3, 4 or 5).
    ndim: usize,
}

config_args! {
    /// The spatial dropout layers' Keras arguments, in Keras's `get_config()` order (which
    /// writes them before `name` and `dtype`).
    struct SpatialDropoutArgs, family LayerArgs {
        rate: f32,
        seed: Option<u64> = None,
    }
}

config_args! {
    /// SpatialDropout2D/3D's `data_format` argument (written after `name` and `dtype`).
    struct SpatialFormatArgs, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
    }
}

impl SpatialDropout {
    fn new(snake: &str, rate: f32, ndim: usize, has_format: bool) -> Self {
        let mut base = LayerBase::new(snake);
        check_unit_interval(&mut base, rate, "rate");
        let args = SpatialDropoutArgs { rate, seed: None };
        let format = has_format.then(SpatialFormatArgs::defaults);
        SpatialDropout { base, args, format, rng: LayerRng::new(None), ndim }
    }

    fn set_data_format(&mut self, f: &str) {
        match DataFormat::parse(f) {
            Ok(d) => self.format = Some(SpatialFormatArgs { data_format: d }),
            Err(e) => self.base.fail(e),
        }
    }

    fn set_seed(&mut self, seed: u64) {
        self.args.seed = Some(seed);
        self.rng = LayerRng::new(Some(seed));
    }

    fn from_config(cfg: &Value, class: &str, snake: &str, ndim: usize, has_format: bool) -> Result<Self> {
        let mut src = LayerCfg::new(cfg, class);
        let args = SpatialDropoutArgs::read_args(&mut src)?;
        let format = if has_format { Some(SpatialFormatArgs::read_args(&mut src)?) } else { None };
        let mut l = SpatialDropout::new(snake, args.rate, ndim, has_format);
        l.rng = LayerRng::new(args.seed);
        (l.args, l.format) = (args, format);
        l.base.apply_config(cfg);
        l.base.take_pending()?;
        Ok(l)
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
        let rate = self.args.rate;
        if !ctx.training || rate == 0.0 {
            return Ok(x.clone());
        }
        if rate >= 1.0 {
            keras_bail!(
                InvalidArgument,
                "Layer {}: dropout `rate` must be in the range [0, 1) when training, got {}",
                self.base.name,
                rate
            );
        }
        let s = x.shape();
        let mut noise = vec![1usize; s.len()];
        noise[0] = s[0];
        let first = self.format.as_ref().is_some_and(|f| f.data_format == DataFormat::ChannelsFirst);
        let ch = if first { 1 } else { s.len() - 1 };
        noise[ch] = s[ch];
        let n: usize = noise.iter().product();
        let scale = 1.0 / (1.0 - rate);
        let mask: Vec<f32> =
            self.rng.with(|r| (0..n).map(|_| if r.uniform_f32() >= rate { scale } else { 0.0 }).collect());
        Ok(ops::mul(x, &ETensor::new(mask, noise)?)?)
    }

    fn config(&self) -> Value {
        let mut m = serde_json::Map::new();
        self.args.write_args(&mut m);
        m.insert("name".into(), json!(self.base.name));
        m.insert("dtype".into(), json!("float32"));
        if let Some(f) = &self.format {
            f.write_args(&mut m);
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
                self.0.set_seed(seed);
                self
            }

            /// Sets the layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.base.rename(name);
                self
            }

            /// The drop rate.
            pub fn rate(&self) -> f32 {
                self.0.args.rate
            }

            /// The seed, if any.
            pub fn get_seed(&self) -> Option<u64> {
                self.0.args.seed
            }

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                Ok($ty(SpatialDropout::from_config(cfg, $class, $snake, $ndim, $fmt)?))
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
    SpatialDropout1D, "SpatialDropout1D", "spatial_dropout1d", 3, false
);

spatial_dropout!(
    /// Keras `keras.layers.SpatialDropout2D`: for 4-D inputs, drops whole feature maps (mask
    /// `(batch, 1, 1, channels)` channels-last) while training; the identity at inference.
    SpatialDropout2D, "SpatialDropout2D", "spatial_dropout2d", 4, true
);

spatial_dropout!(
    /// Keras `keras.layers.SpatialDropout3D`: for 5-D inputs, drops whole feature volumes
    /// (mask `(batch, 1, 1, 1, channels)` channels-last) while training.
    SpatialDropout3D, "SpatialDropout3D", "spatial_dropout3d", 5, true
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
