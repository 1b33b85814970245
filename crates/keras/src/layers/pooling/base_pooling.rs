//! What the Max/AveragePooling1D/2D/3D layers share (Keras's `BasePooling`): the arguments,
//! their one builder/config reading/config writing, the output shape, and the call. The
//! public layers are made by [`pooling_layer!`], one line per class.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::common::{positive_tuple_error, tuple_arg};
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{shape_str, LayerBase, Shape};
use crate::layers::reshaping::args::{finish, known, ndim_error};
use crate::{keras_bail, Result, Tensor};

/// The state of an `N`-D pooling layer.
pub(crate) struct Pooling<const N: usize> {
    pub(crate) base: LayerBase,
    max: bool,
    pool_size: [usize; N],
    strides: [usize; N],
    same: bool,
    data_format: DataFormat,
}

impl<const N: usize> Pooling<N> {
    /// A `pool_size` window, strides equal to it, valid padding, the global data format.
    pub(crate) fn new(max: bool, snake: &str, pool_size: [usize; N]) -> Self {
        let mut base = LayerBase::new(snake);
        if let Some(e) = positive_tuple_error("pool_size", &pool_size) {
            base.fail(e);
        }
        Pooling { base, max, pool_size, strides: pool_size, same: false, data_format: DataFormat::default() }
    }

    /// Whether this is 2-D max pooling of 2x2 windows with stride 2, `valid` padding and
    /// channels last, with no pending error.
    pub(crate) fn halves_channels_last(&self) -> bool {
        self.max
            && N == 2
            && self.pool_size.iter().all(|&p| p == 2)
            && self.strides.iter().all(|&s| s == 2)
            && !self.same
            && self.data_format == DataFormat::ChannelsLast
            && self.base.pending_error.is_none()
    }

    /// Sets the strides, refusing zeros (the builder and the config path share this check).
    pub(crate) fn set_strides(&mut self, s: [usize; N]) {
        if let Some(e) = positive_tuple_error("strides", &s) {
            self.base.fail(e);
        }
        self.strides = s;
    }

    /// Sets the padding (`"valid"` or `"same"`, any case).
    pub(crate) fn set_padding(&mut self, p: &str) {
        match parse_padding(p, &self.base.name) {
            Ok(same) => self.same = same,
            Err(e) => self.base.fail(e),
        }
    }

    /// Sets the data format (`"channels_last"` or `"channels_first"`).
    pub(crate) fn set_data_format(&mut self, f: &str) {
        match DataFormat::parse(f) {
            Ok(d) => self.data_format = d,
            Err(e) => self.base.fail(e),
        }
    }

    /// Reads a Keras config: `pool_size`, `strides` (null: the pool size), `padding`,
    /// `data_format` and the base keys.
    pub(crate) fn from_config(max: bool, snake: &str, cfg: &Value) -> Result<Self> {
        let to_array = |v: Vec<usize>| -> [usize; N] { std::array::from_fn(|i| v[i]) };
        let pool = to_array(tuple_arg(cfg, "pool_size", N, 2, true)?);
        let mut p = Pooling::new(max, snake, pool);
        p.base.apply_config(cfg);
        p.set_strides(match cfg.get("strides") {
            None | Some(Value::Null) => pool,
            Some(_) => to_array(tuple_arg(cfg, "strides", N, 1, true)?),
        });
        if let Some(pad) = cfg.get("padding") {
            match pad.as_str() {
                Some(s) => p.set_padding(s),
                None => {
                    keras_bail!(Config, "{}: `padding` must be a string, received padding={pad}", p.base.name)
                }
            }
        }
        p.data_format = DataFormat::from_config(cfg)?;
        finish(&mut p.base, ())?;
        Ok(p)
    }

    /// Keras's `compute_output_shape`, in the layer's data format.
    pub(crate) fn output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != N + 2 {
            return Err(ndim_error(&self.base.name, N + 2, s));
        }
        let last = self.data_format.shape_to_last(s);
        let mut out = vec![last[0]];
        for i in 0..N {
            out.push(match last[i + 1] {
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
        out.push(last[N + 1]);
        Ok(self.data_format.shape_from_last(&out))
    }

    /// The pooled input (channels moved last and back for channels-first layers).
    pub(crate) fn call(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        self.output_shape(&known(x.shape()))?;
        let x = self.data_format.to_last(x)?;
        let y = match N {
            1 => {
                let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
                let x4 = x.reshape([n, 1, steps, c])?;
                let (pool, strides) = ([1, self.pool_size[0]], [1, self.strides[0]]);
                let y = if self.max {
                    ops::max_pool2d(&x4, pool, strides, self.same)?
                } else {
                    ops::avg_pool2d(&x4, pool, strides, self.same)?
                };
                let out = y.shape()[2];
                y.reshape([n, out, c])?
            }
            2 => {
                let (pool, strides) =
                    ([self.pool_size[0], self.pool_size[1]], [self.strides[0], self.strides[1]]);
                if self.max {
                    ops::max_pool2d(&x, pool, strides, self.same)?
                } else {
                    ops::avg_pool2d(&x, pool, strides, self.same)?
                }
            }
            _ => {
                let pool = [self.pool_size[0], self.pool_size[1], self.pool_size[2]];
                let strides = [self.strides[0], self.strides[1], self.strides[2]];
                ops::pool3d(&x, pool, strides, self.same, self.max)?
            }
        };
        self.data_format.from_last(&y)
    }

    /// Keras's `get_config`: the base keys, `pool_size`, `padding`, `strides`, `data_format`.
    pub(crate) fn config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("pool_size".into(), json!(self.pool_size.as_slice()));
        m.insert("padding".into(), json!(if self.same { "same" } else { "valid" }));
        m.insert("strides".into(), json!(self.strides.as_slice()));
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        Value::Object(m)
    }
}

/// A pooling window or stride argument: `usize` for the 1-D layers, `[usize; N]` otherwise.
pub trait Window<const N: usize> {
    /// The argument as one size per spatial axis.
    fn window(self) -> [usize; N];
}

impl Window<1> for usize {
    fn window(self) -> [usize; 1] {
        [self]
    }
}

impl<const N: usize> Window<N> for [usize; N] {
    fn window(self) -> [usize; N] {
        self
    }
}

/// One pooling class: `pooling_layer!(Name, N, arg type, max?, "snake_name", "doc", "example")`.
/// Every class gets the same documented builders; the struct's own doc line and example are
/// the arguments.
macro_rules! pooling_layer {
    ($name:ident, $n:literal, $arg:ty, $max:expr, $snake:literal, $doc:literal, $example:literal) => {
        #[doc = $doc]
        ///
        /// ```
        #[doc = concat!("use keras::layers::{CallContext, Layer, ", stringify!($name), "};")]
        /// use keras::Tensor;
        #[doc = $example]
        /// ```
        pub struct $name($crate::layers::pooling::base_pooling::Pooling<$n>);

        impl $name {
            /// A pooling layer with a `pool_size` window (Keras's default is 2 per axis);
            /// strides default to the pool size.
            pub fn new(pool_size: $arg) -> Self {
                use $crate::layers::pooling::base_pooling::{Pooling, Window};
                $name(Pooling::new($max, $snake, Window::<$n>::window(pool_size)))
            }
            /// Strides (default: `pool_size`).
            pub fn strides(mut self, s: $arg) -> Self {
                use $crate::layers::pooling::base_pooling::Window;
                self.0.set_strides(Window::<$n>::window(s));
                self
            }
            /// Padding: `"valid"` (default) or `"same"`.
            pub fn padding(mut self, p: &str) -> Self {
                self.0.set_padding(p);
                self
            }
            /// `"channels_last"` (`(batch, spatial..., channels)`) or `"channels_first"`
            /// (`(batch, channels, spatial...)`); default: [`crate::config::image_data_format`].
            pub fn data_format(mut self, f: &str) -> Self {
                self.0.set_data_format(f);
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
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                Ok($name($crate::layers::pooling::base_pooling::Pooling::from_config($max, $snake, cfg)?))
            }
        }

        impl $crate::layers::Layer for $name {
            $crate::layers::layer::layer_base_methods!(stringify!($name), 0.base);
            fn records_build_config(&self) -> bool {
                false
            }
            fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
                self.0.output_shape(s)
            }
            fn call(
                &self,
                x: &$crate::Tensor,
                _ctx: &mut $crate::layers::CallContext,
            ) -> $crate::Result<$crate::Tensor> {
                self.0.call(x)
            }
            fn get_config(&self) -> serde_json::Value {
                self.0.config()
            }
        }
    };
}
pub(crate) use pooling_layer;
