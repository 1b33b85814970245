//! `MaxPooling1D` and `AveragePooling1D` (the 2-D kernels with a height of 1), and the
//! global pooling layers.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::{
    bool_arg, check_channels_last, finish, int_tuple, known, layer_common, ndim_error,
};
use crate::{keras_bail, Error, Result, Tensor};

/// Shared state of the 1-D pooling layers.
#[derive(Clone, Copy)]
struct Pool1D {
    max: bool,
    pool_size: usize,
    strides: usize,
    same: bool,
}

impl Pool1D {
    fn new(max: bool, snake: &str, pool_size: usize) -> (LayerBase, Self) {
        let mut base = LayerBase::new(snake);
        if pool_size == 0 {
            base.fail(Error::InvalidArgument(
                "The `pool_size` argument must be a tuple of 1 positive integers. Received pool_size=0"
                    .into(),
            ));
        }
        (base, Pool1D { max, pool_size, strides: pool_size, same: false })
    }

    fn from_config(max: bool, snake: &str, cfg: &Value) -> Result<(LayerBase, Self)> {
        check_channels_last(cfg, if max { "MaxPooling1D" } else { "AveragePooling1D" })?;
        let pool = match cfg.get("pool_size") {
            None | Some(Value::Null) => 2,
            Some(v) => int_tuple(v, 1, "pool_size", false)?[0],
        };
        let (mut base, mut p) = Pool1D::new(max, snake, pool);
        base.apply_config(cfg);
        if let Some(v) = cfg.get("strides").filter(|v| !v.is_null()) {
            p.strides = int_tuple(v, 1, "strides", false)?[0];
        }
        if let Some(pad) = cfg.get("padding").and_then(Value::as_str) {
            p.same = parse_padding(pad, &base.name)?;
        }
        finish(&mut base, ()).map(|_| (base, p))
    }

    fn output_shape(&self, base: &LayerBase, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 3 {
            return Err(ndim_error(&base.name, 3, s));
        }
        let steps = match s[1] {
            None => None,
            Some(d) => match conv_output_len(d, self.pool_size, self.strides, 1, self.same) {
                Some(o) => Some(o),
                None => keras_bail!(
                    Shape,
                    "Computed output size would be negative in layer {}. Received: `inputs.shape={}` and `pool_size={}`.",
                    base.name,
                    shape_str(s),
                    self.pool_size
                ),
            },
        };
        Ok(vec![s[0], steps, s[2]])
    }

    fn call(&self, base: &LayerBase, x: &Tensor) -> Result<Tensor> {
        self.output_shape(base, &known(x.shape()))?;
        let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
        let x4 = x.reshape([n, 1, steps, c])?;
        let (pool, strides) = ([1, self.pool_size], [1, self.strides]);
        let y = if self.max {
            ops::max_pool2d(&x4, pool, strides, self.same)?
        } else {
            ops::avg_pool2d(&x4, pool, strides, self.same)?
        };
        let out = y.shape()[2];
        Ok(y.reshape([n, out, c])?)
    }

    fn config(&self, base: &LayerBase) -> Value {
        let mut m = base.base_config();
        m.insert("pool_size".into(), json!([self.pool_size]));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("strides".into(), json!([self.strides]));
        m.insert("data_format".into(), json!("channels_last"));
        Value::Object(m)
    }
}

macro_rules! pooling1d_layer {
    ($name:ident, $max:expr, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            base: LayerBase,
            pool: Pool1D,
        }

        impl $name {
            /// A pooling layer with windows of `pool_size` steps; strides default to it.
            pub fn new(pool_size: usize) -> Self {
                let (base, pool) = Pool1D::new($max, $snake, pool_size);
                $name { base, pool }
            }
            /// Strides (default: `pool_size`).
            pub fn strides(mut self, s: usize) -> Self {
                if s == 0 {
                    self.base.fail(Error::InvalidArgument(
                        "The `strides` argument must be a tuple of 1 positive integers. Received strides=0"
                            .into(),
                    ));
                }
                self.pool.strides = s;
                self
            }
            /// Padding: `"valid"` or `"same"`.
            pub fn padding(mut self, p: &str) -> Self {
                match parse_padding(p, &self.base.name) {
                    Ok(same) => self.pool.same = same,
                    Err(e) => self.base.fail(e),
                }
                self
            }
            /// `input_shape` (without batch) for the first layer of a Sequential model.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.base.input_shape = Some(shape.to_vec());
                self
            }
            /// Sets the layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.base.name = name.to_string();
                self
            }
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let (base, pool) = Pool1D::from_config($max, $snake, cfg)?;
                Ok($name { base, pool })
            }
        }

        impl Layer for $name {
            layer_common!(stringify!($name), false);

            fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
                self.pool.output_shape(&self.base, s)
            }
            fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
                self.pool.call(&self.base, x)
            }
            fn get_config(&self) -> Value {
                self.pool.config(&self.base)
            }
        }
    };
}

pooling1d_layer!(
    MaxPooling1D,
    true,
    "max_pooling1d",
    "Max pooling over windows of steps of `(batch, steps, channels)` (Keras `keras.layers.MaxPooling1D`)."
);
pooling1d_layer!(
    AveragePooling1D,
    false,
    "average_pooling1d",
    "Average pooling over windows of steps (Keras `keras.layers.AveragePooling1D`); with `same` padding each window is divided by its number of valid steps."
);

/// Shared state of the global pooling layers: which reduction, over how many spatial axes.
struct GlobalPool {
    max: bool,
    spatial: usize,
    keepdims: bool,
}

impl GlobalPool {
    fn output_shape(&self, name: &str, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != self.spatial + 2 {
            return Err(ndim_error(name, self.spatial + 2, s));
        }
        let mut out = vec![s[0]];
        if self.keepdims {
            out.extend(std::iter::repeat_n(Some(1), self.spatial));
        }
        out.push(s[self.spatial + 1]);
        Ok(out)
    }

    fn call(&self, name: &str, x: &Tensor) -> Result<Tensor> {
        self.output_shape(name, &known(x.shape()))?;
        let axes: Vec<isize> = (1..=self.spatial as isize).collect();
        Ok(if self.max {
            ops::max_axes(x, &axes, self.keepdims)?
        } else {
            ops::mean_axes(x, &axes, self.keepdims)?
        })
    }
}

macro_rules! global_pooling_layer {
    ($name:ident, $max:expr, $spatial:expr, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            base: LayerBase,
            keepdims: bool,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// A global pooling layer (`keepdims = false`).
            pub fn new() -> Self {
                $name { base: LayerBase::new($snake), keepdims: false }
            }
            /// Keep the pooled axes with size 1.
            pub fn keepdims(mut self, yes: bool) -> Self {
                self.keepdims = yes;
                self
            }
            /// `input_shape` (without batch) for the first layer of a Sequential model.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.base.input_shape = Some(shape.to_vec());
                self
            }
            /// Sets the layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.base.name = name.to_string();
                self
            }
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                check_channels_last(cfg, stringify!($name))?;
                let mut l = $name::new().keepdims(bool_arg(cfg, "keepdims", false, stringify!($name))?);
                l.base.apply_config(cfg);
                Ok(l)
            }
            fn pool(&self) -> GlobalPool {
                GlobalPool { max: $max, spatial: $spatial, keepdims: self.keepdims }
            }
        }

        impl Layer for $name {
            layer_common!(stringify!($name), false);

            fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
                self.pool().output_shape(&self.base.name, s)
            }
            fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
                self.pool().call(&self.base.name, x)
            }
            fn get_config(&self) -> Value {
                let mut m = self.base.base_config();
                m.insert("data_format".into(), json!("channels_last"));
                m.insert("keepdims".into(), json!(self.keepdims));
                Value::Object(m)
            }
        }
    };
}

global_pooling_layer!(
    GlobalAveragePooling1D,
    false,
    1,
    "global_average_pooling1d",
    "Mean over the steps of `(batch, steps, channels)` (Keras `keras.layers.GlobalAveragePooling1D`)."
);
global_pooling_layer!(
    GlobalMaxPooling1D,
    true,
    1,
    "global_max_pooling1d",
    "Maximum over the steps of `(batch, steps, channels)` (Keras `keras.layers.GlobalMaxPooling1D`)."
);
global_pooling_layer!(
    GlobalAveragePooling2D,
    false,
    2,
    "global_average_pooling2d",
    "Mean over the rows and columns of NHWC images (Keras `keras.layers.GlobalAveragePooling2D`)."
);
global_pooling_layer!(
    GlobalMaxPooling2D,
    true,
    2,
    "global_max_pooling2d",
    "Maximum over the rows and columns of NHWC images (Keras `keras.layers.GlobalMaxPooling2D`)."
);
global_pooling_layer!(
    GlobalAveragePooling3D,
    false,
    3,
    "global_average_pooling3d",
    "Mean over the depth, rows and columns of NDHWC volumes (Keras `keras.layers.GlobalAveragePooling3D`)."
);
global_pooling_layer!(
    GlobalMaxPooling3D,
    true,
    3,
    "global_max_pooling3d",
    "Maximum over the depth, rows and columns of NDHWC volumes (Keras `keras.layers.GlobalMaxPooling3D`)."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;

    #[test]
    fn pooling1d_values_and_errors() {
        let x = Tensor::new(vec![1.0, 5.0, 3.0, 2.0, 4.0], [1, 5, 1]).unwrap();
        let mut ctx = CallContext::new(false);
        assert_eq!(MaxPooling1D::new(2).call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[5.0, 3.0]);
        let avg = AveragePooling1D::new(2).padding("same");
        assert_eq!(avg.call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[3.0, 2.5, 4.0]);
        assert!(check_pending(&MaxPooling1D::new(0)).is_err());
        assert!(check_pending(&MaxPooling1D::new(2).strides(0)).is_err());
        assert!(check_pending(&MaxPooling1D::new(2).padding("full")).is_err());
        assert!(MaxPooling1D::new(6).call(&x, &mut ctx).is_err());
        assert!(MaxPooling1D::new(2).call(&Tensor::zeros([5, 1]), &mut ctx).is_err());
        let cfg = json!({"name": "p", "pool_size": [3], "strides": [1], "padding": "same", "data_format": "channels_last"});
        let l = AveragePooling1D::from_config(&cfg).unwrap();
        assert_eq!(l.get_config()["strides"], json!([1]));
        assert_eq!(Layer::name(&l), "p");
        assert!(AveragePooling1D::from_config(&json!({"pool_size": [0]})).is_err());
    }

    #[test]
    fn global_pooling_values_and_errors() {
        let x = Tensor::new(vec![1.0, -1.0, 3.0, 2.0], [1, 2, 1, 2]).unwrap();
        let mut ctx = CallContext::new(false);
        assert_eq!(GlobalAveragePooling2D::new().call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[2.0, 0.5]);
        let m = GlobalMaxPooling2D::new().keepdims(true).call(&x, &mut ctx).unwrap();
        assert_eq!(m.shape(), &[1, 1, 1, 2]);
        assert_eq!(m.as_f32().unwrap(), &[3.0, 2.0]);
        assert!(GlobalMaxPooling1D::new().call(&x, &mut ctx).is_err());
        assert_eq!(
            GlobalAveragePooling1D::new().compute_output_shape(&[None, Some(4), Some(3)]).unwrap(),
            vec![None, Some(3)]
        );
        assert!(GlobalAveragePooling1D::from_config(&json!({"keepdims": 1})).is_err());
        assert!(GlobalAveragePooling1D::from_config(&json!({"data_format": "channels_first"})).is_err());
    }
}
