//! `MaxPooling3D` and `AveragePooling3D` over NDHWC volumes: one implementation, two
//! reductions (the engine's `pool3d`).

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::common::{positive_tuple_error, tuple_arg};
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::{check_channels_last, finish, known, ndim_error};
use crate::{keras_bail, Result, Tensor};

/// Shared state of the 3-D pooling layers.
struct Pool3D {
    base: LayerBase,
    max: bool,
    pool_size: [usize; 3],
    strides: [usize; 3],
    same: bool,
}

impl Pool3D {
    fn new(max: bool, snake: &str, pool_size: [usize; 3]) -> Self {
        let mut base = LayerBase::new(snake);
        if let Some(e) = positive_tuple_error("pool_size", &pool_size) {
            base.fail(e);
        }
        Pool3D { base, max, pool_size, strides: pool_size, same: false }
    }

    fn set_strides(&mut self, s: [usize; 3]) {
        if let Some(e) = positive_tuple_error("strides", &s) {
            self.base.fail(e);
        }
        self.strides = s;
    }

    fn from_config(max: bool, snake: &str, class: &str, cfg: &Value) -> Result<Self> {
        check_channels_last(cfg, class)?;
        let p = tuple_arg(cfg, "pool_size", 3, 2, true)?;
        let mut l = Pool3D::new(max, snake, [p[0], p[1], p[2]]);
        l.base.apply_config(cfg);
        let s = match cfg.get("strides") {
            None | Some(Value::Null) => l.pool_size.to_vec(),
            Some(_) => tuple_arg(cfg, "strides", 3, 1, true)?,
        };
        l.set_strides([s[0], s[1], s[2]]);
        if let Some(pad) = cfg.get("padding").and_then(Value::as_str) {
            l.same = parse_padding(pad, &l.base.name)?;
        }
        finish(&mut l.base, ())?;
        Ok(l)
    }

    fn output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 5 {
            return Err(ndim_error(&self.base.name, 5, s));
        }
        let mut out = vec![s[0]];
        for i in 0..3 {
            out.push(match s[i + 1] {
                None => None,
                Some(d) => match conv_output_len(d, self.pool_size[i], self.strides[i], 1, self.same) {
                    Some(o) if d > 0 => Some(o),
                    _ => keras_bail!(
                        Shape,
                        "Computed output size would be negative in layer {}. Received: `inputs.shape={}` and `pool_size={:?}`.",
                        self.base.name,
                        shape_str(s),
                        self.pool_size
                    ),
                },
            });
        }
        out.push(s[4]);
        Ok(out)
    }

    fn call(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        self.output_shape(&known(x.shape()))?;
        Ok(ops::pool3d(x, self.pool_size, self.strides, self.same, self.max)?)
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

macro_rules! pooling3d_layer {
    ($name:ident, $max:expr, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// ```
        #[doc = concat!("use keras::layers::", stringify!($name), ";")]
        #[doc = concat!("let pool = ", stringify!($name), "::new([2, 2, 2]).strides([1, 2, 2]).padding(\"same\");")]
        /// ```
        pub struct $name(Pool3D);

        impl $name {
            /// A `pool_size` window (Keras's default is `[2, 2, 2]`); strides default to it.
            pub fn new(pool_size: [usize; 3]) -> Self {
                $name(Pool3D::new($max, $snake, pool_size))
            }
            /// Strides (default: `pool_size`).
            pub fn strides(mut self, s: [usize; 3]) -> Self {
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
                self.0.base.name = name.to_string();
                self
            }
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                Ok($name(Pool3D::from_config($max, $snake, stringify!($name), cfg)?))
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
            fn as_any(&self) -> &dyn std::any::Any {
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

pooling3d_layer!(
    MaxPooling3D,
    true,
    "max_pooling3d",
    "Max pooling over 3-D windows of channels-last volumes (Keras `keras.layers.MaxPooling3D`)."
);
pooling3d_layer!(
    AveragePooling3D,
    false,
    "average_pooling3d",
    "Average pooling over 3-D windows of channels-last volumes (Keras `keras.layers.AveragePooling3D`); with `same` padding each window is divided by its number of valid elements."
);
