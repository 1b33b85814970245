//! What the Max/AveragePooling1D/2D/3D layers share (Keras's `BasePooling`): the arguments,
//! their one builder/config reading/config writing, the output shape, and the call. The
//! public layers are made by [`pooling_layer!`], one line per class.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::common::positive_tuple_error;
use crate::layers::convolutional::conv2d::{conv_output_len, parse_padding};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{shape_str, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg, SizeTuple};
use crate::layers::reshaping::args::{finish, known, ndim_error};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Result, Tensor};

/// The state of an `N`-D pooling layer.
pub(crate) struct Pooling<const N: usize> {
    pub(crate) base: LayerBase,
    max: bool,
    args: PoolingArgs<N>,
}

config_args! {
    /// The pooling layers' Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct PoolingArgs<const N: usize>, family LayerArgs {
        pool_size: SizeTuple<N> = SizeTuple([2; N]),
        padding: Same = Same(false),
        /// `None` (from a config's `null`) until resolved to the pool size.
        strides: Option<SizeTuple<N>> = None,
        data_format: DataFormat = DataFormat::default(),
    }
}

/// A pooling `padding`: `"same"` (true) or `"valid"` (any case; written lowercase).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Same(bool);

impl ConfigArg<LayerArgs> for Same {
    fn to_config(&self) -> Value {
        json!(if self.0 { "same" } else { "valid" })
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.unwrap_or_default()),
            Some(Value::String(p)) => parse_padding(p, src.class).map(Same),
            Some(pad) => keras_bail!(Config, "{}: `{key}` must be a string, received {key}={pad}", src.class),
        }
    }
}

impl<const N: usize> Pooling<N> {
    /// A `pool_size` window, strides equal to it, valid padding, the global data format.
    pub(crate) fn new(max: bool, snake: &str, pool_size: [usize; N]) -> Self {
        let mut base = LayerBase::new(snake);
        if let Some(e) = positive_tuple_error("pool_size", &pool_size) {
            base.fail(e);
        }
        let args = PoolingArgs {
            pool_size: SizeTuple(pool_size),
            strides: Some(SizeTuple(pool_size)),
            ..PoolingArgs::defaults()
        };
        Pooling { base, max, args }
    }

    /// Whether this is 2-D max pooling of 2x2 windows with stride 2, `valid` padding and
    /// channels last, with no pending error.
    pub(crate) fn halves_channels_last(&self) -> bool {
        self.max
            && N == 2
            && self.args.pool_size.0.iter().all(|&p| p == 2)
            && self.strides().iter().all(|&s| s == 2)
            && !self.args.padding.0
            && self.args.data_format == DataFormat::ChannelsLast
            && self.base.pending_error.is_none()
    }

    /// Sets the strides, refusing zeros (the builder and the config path share this check).
    pub(crate) fn set_strides(&mut self, s: [usize; N]) {
        if let Some(e) = positive_tuple_error("strides", &s) {
            self.base.fail(e);
        }
        self.args.strides = Some(SizeTuple(s));
    }

    /// The strides (the pool size unless set).
    fn strides(&self) -> [usize; N] {
        self.args.strides.unwrap_or(self.args.pool_size).0
    }

    /// Sets the padding (`"valid"` or `"same"`, any case).
    pub(crate) fn set_padding(&mut self, p: &str) {
        match parse_padding(p, &self.base.name) {
            Ok(same) => self.args.padding = Same(same),
            Err(e) => self.base.fail(e),
        }
    }

    /// Sets the data format (`"channels_last"` or `"channels_first"`).
    pub(crate) fn set_data_format(&mut self, f: &str) {
        self.base.accept(&mut self.args.data_format, DataFormat::parse(f));
    }

    /// Reads a Keras config of class `class`: `pool_size`, `padding`, `strides` (null: the
    /// pool size), `data_format` and the base keys.
    pub(crate) fn from_config(max: bool, class: &str, snake: &str, cfg: &Value) -> Result<Self> {
        let args = PoolingArgs::<N>::read_args(&mut LayerCfg::new(cfg, class))?;
        // The constructor's and builder's checks are the config's checks too.
        let mut p = Pooling::new(max, snake, args.pool_size.0);
        p.set_strides(args.strides.unwrap_or(args.pool_size).0);
        (p.args.padding, p.args.data_format) = (args.padding, args.data_format);
        p.base.apply_config(cfg);
        finish(&mut p.base, ())?;
        Ok(p)
    }

    /// Keras's `compute_output_shape`, in the layer's data format.
    pub(crate) fn output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != N + 2 {
            return Err(ndim_error(&self.base.name, N + 2, s));
        }
        let strides = self.strides();
        let last = self.args.data_format.shape_to_last(s);
        let mut out = vec![last[0]];
        for i in 0..N {
            out.push(match last[i + 1] {
                None => None,
                Some(d) => match conv_output_len(d, self.args.pool_size.0[i], strides[i], 1, self.args.padding.0) {
                    Some(o) if d > 0 => Some(o),
                    _ => keras_bail!(
                        Shape,
                        "Computed output size would be negative in layer {}. Received: `inputs.shape={}` and `pool_size={:?}`.",
                        self.base.name,
                        shape_str(s),
                        self.args.pool_size.0
                    ),
                },
            });
        }
        out.push(last[N + 1]);
        Ok(self.args.data_format.shape_from_last(&out))
    }

    /// The pooled input (channels moved last and back for channels-first layers).
    pub(crate) fn call(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        self.output_shape(&known(x.shape()))?;
        let x = self.args.data_format.to_last(x)?;
        let strides = self.strides();
        let y = match N {
            1 => {
                let [n, steps, c] = [x.shape()[0], x.shape()[1], x.shape()[2]];
                let x4 = x.reshape([n, 1, steps, c])?;
                let (pool, strides) = ([1, self.args.pool_size.0[0]], [1, strides[0]]);
                let y = if self.max {
                    ops::max_pool2d(&x4, pool, strides, self.args.padding.0)?
                } else {
                    ops::avg_pool2d(&x4, pool, strides, self.args.padding.0)?
                };
                let out = y.shape()[2];
                y.reshape([n, out, c])?
            }
            2 => {
                let (pool, strides) =
                    ([self.args.pool_size.0[0], self.args.pool_size.0[1]], [strides[0], strides[1]]);
                if self.max {
                    ops::max_pool2d(&x, pool, strides, self.args.padding.0)?
                } else {
                    ops::avg_pool2d(&x, pool, strides, self.args.padding.0)?
                }
            }
            _ => {
                let pool = [self.args.pool_size.0[0], self.args.pool_size.0[1], self.args.pool_size.0[2]];
                let strides = [strides[0], strides[1], strides[2]];
                ops::pool3d(&x, pool, strides, self.args.padding.0, self.max)?
            }
        };
        self.args.data_format.from_last(&y)
    }

    /// Keras's `get_config`: the base keys, `pool_size`, `padding`, `strides`, `data_format`.
    pub(crate) fn config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
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
            $crate::layers::builders::base_builders!(0.base);
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &serde_json::Value) -> $crate::Result<Self> {
                Ok($name($crate::layers::pooling::base_pooling::Pooling::from_config(
                    $max,
                    stringify!($name),
                    $snake,
                    cfg,
                )?))
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
