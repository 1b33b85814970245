//! `MaxPooling2D` and `AveragePooling2D`: one implementation, two reductions.

use std::any::Any;

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::conv2d::{conv_output_len, pair_from, parse_padding};
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::{keras_bail, Error, Result, Tensor};

/// Which reduction a 2-D pooling layer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    Max,
    Average,
}

/// Shared state of the 2-D pooling layers.
struct Pool2D {
    base: LayerBase,
    kind: PoolKind,
    pool_size: [usize; 2],
    strides: [usize; 2],
    same: bool,
}

impl Pool2D {
    fn new(kind: PoolKind, snake: &str, pool_size: [usize; 2]) -> Self {
        let mut base = LayerBase::new(snake);
        if pool_size.contains(&0) {
            base.fail(Error::InvalidArgument(format!(
                "The `pool_size` argument must be a tuple of 2 positive integers. Received pool_size={pool_size:?}"
            )));
        }
        Pool2D { base, kind, pool_size, strides: pool_size, same: false }
    }

    fn from_config(kind: PoolKind, snake: &str, cfg: &Value) -> Result<Self> {
        let pool = pair_from(cfg.get("pool_size"), [2, 2])?;
        let mut p = Pool2D::new(kind, snake, pool);
        p.base.apply_config(cfg);
        p.set_strides(pair_from(cfg.get("strides"), pool)?);
        if let Some(pad) = cfg.get("padding").and_then(Value::as_str) {
            p.same = parse_padding(pad, &p.base.name)?;
        }
        if cfg.get("data_format").and_then(Value::as_str).is_some_and(|f| f != "channels_last") {
            keras_bail!(Config, "pooling: only data_format=\"channels_last\" is supported");
        }
        if let Some(e) = p.base.pending_error.take() {
            return Err(e);
        }
        Ok(p)
    }

    /// Sets the strides, refusing zeros (the builder and the config path share this check).
    fn set_strides(&mut self, s: [usize; 2]) {
        if s.contains(&0) {
            self.base.fail(Error::InvalidArgument(format!(
                "The `strides` argument must be a tuple of 2 positive integers. Received strides={s:?}"
            )));
        }
        self.strides = s;
    }

    fn output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 4 {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected ndim=4, found ndim={}. Full shape received: {}",
                self.base.name,
                s.len(),
                shape_str(s)
            );
        }
        let mut out = vec![s[0]];
        for i in 0..2 {
            out.push(match s[i + 1] {
                None => None,
                Some(d) => match conv_output_len(d, self.pool_size[i], self.strides[i], 1, self.same) {
                    Some(o) => Some(o),
                    None => keras_bail!(
                        Shape,
                        "Computed output size would be negative in layer {}. Received: `inputs.shape={}` and `pool_size={:?}`.",
                        self.base.name,
                        shape_str(s),
                        self.pool_size
                    ),
                },
            });
        }
        out.push(s[3]);
        Ok(out)
    }

    fn call(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 4 {
            keras_bail!(Shape, "Layer {} expects 4-D inputs, received shape {:?}", self.base.name, x.shape());
        }
        Ok(match self.kind {
            PoolKind::Max => ops::max_pool2d(x, self.pool_size, self.strides, self.same)?,
            PoolKind::Average => ops::avg_pool2d(x, self.pool_size, self.strides, self.same)?,
        })
    }

    fn config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("pool_size".into(), json!(self.pool_size));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("strides".into(), json!(self.strides));
        m.insert("data_format".into(), json!("channels_last"));
        Value::Object(m)
    }
}

macro_rules! pooling_layer {
    ($name:ident, $kind:expr, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(Pool2D);

        impl $name {
            /// A pooling layer with a `pool_size` window; strides default to the pool size.
            pub fn new(pool_size: [usize; 2]) -> Self {
                $name(Pool2D::new($kind, $snake, pool_size))
            }
            /// Strides (default: `pool_size`).
            pub fn strides(mut self, s: [usize; 2]) -> Self {
                self.0.set_strides(s);
                self
            }
            /// Padding: `"valid"` or `"same"`.
            pub fn padding(mut self, p: &str) -> Self {
                match parse_padding(p, &self.0.base.name) {
                    Ok(same) => self.0.same = same,
                    Err(e) => self.0.base.fail(e),
                }
                self
            }
            /// `input_shape` (without batch) for the first layer of a Sequential model.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.0.base.input_shape = Some(shape.to_vec());
                self
            }
            /// Sets the layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.0.base.rename(name);
                self
            }
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                Ok($name(Pool2D::from_config($kind, $snake, cfg)?))
            }
        }

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                stringify!($name)
            }
            fn base(&self) -> &LayerBase {
                &self.0.base
            }
            fn base_mut(&mut self) -> &mut LayerBase {
                &mut self.0.base
            }
            fn as_any(&self) -> &dyn Any {
                self
            }
            fn records_build_config(&self) -> bool {
                false
            }
            fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
                self.0.output_shape(s)
            }
            fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
                self.0.call(x)
            }
            fn get_config(&self) -> Value {
                self.0.config()
            }
        }
    };
}

pooling_layer!(
    MaxPooling2D,
    PoolKind::Max,
    "max_pooling2d",
    "Max pooling over 2-D windows of channels-last images (Keras `keras.layers.MaxPooling2D`)."
);
pooling_layer!(
    AveragePooling2D,
    PoolKind::Average,
    "average_pooling2d",
    "Average pooling over 2-D windows of channels-last images (Keras `keras.layers.AveragePooling2D`); with `same` padding each window is divided by its number of valid elements."
);
