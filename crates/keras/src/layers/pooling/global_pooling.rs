//! The global pooling layers (Keras's `BaseGlobalPooling`): the mean or the maximum over
//! every spatial axis, with `keepdims` and `data_format`; one implementation, six classes.
//! GlobalAveragePooling1D also takes a mask, as in Keras: the mean of the unmasked steps.

use keras_engine::ops;
use serde_json::Value;

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::masked_values::keep_or;
use crate::layers::reshaping::args::{known, layer_common, ndim_error};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// A global pooling layer over `spatial` axes.
struct GlobalPool {
    max: bool,
    spatial: usize,
    args: GlobalPoolingArgs,
}

config_args! {
    /// The global pooling layers' Keras arguments, in Keras's `get_config()` order.
    struct GlobalPoolingArgs, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        keepdims: bool = false,
    }
}

impl GlobalPool {
    fn new(max: bool, spatial: usize) -> Self {
        GlobalPool { max, spatial, args: GlobalPoolingArgs::defaults() }
    }

    /// Reads `keepdims`, `data_format` and the base keys of a config into `base`.
    fn from_config(
        max: bool,
        spatial: usize,
        base: &mut LayerBase,
        class: &str,
        cfg: &Value,
    ) -> Result<Self> {
        let args = GlobalPoolingArgs::read_args(&mut LayerCfg::new(cfg, class))?;
        let p = GlobalPool { max, spatial, args };
        base.apply_config(cfg);
        Ok(p)
    }

    fn output_shape(&self, base: &LayerBase, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != self.spatial + 2 {
            return Err(ndim_error(&base.name, self.spatial + 2, s));
        }
        let last = self.args.data_format.shape_to_last(s);
        let mut out = vec![last[0]];
        if self.args.keepdims {
            out.extend(std::iter::repeat_n(Some(1), self.spatial));
        }
        out.push(last[self.spatial + 1]);
        Ok(self.args.data_format.shape_from_last(&out))
    }

    fn call(&self, base: &LayerBase, x: &Tensor) -> Result<Tensor> {
        if let Some(e) = &base.pending_error {
            return Err(e.clone());
        }
        self.output_shape(base, &known(x.shape()))?;
        let x = self.args.data_format.to_last(x)?;
        let axes: Vec<isize> = (1..=self.spatial as isize).collect();
        let y = if self.max {
            ops::max_axes(&x, &axes, self.args.keepdims)?
        } else {
            ops::mean_axes(&x, &axes, self.args.keepdims)?
        };
        self.args.data_format.from_last(&y)
    }

    /// The call with the mask of the previous layer (`(batch, steps)`, non-zero = a valid
    /// step). Keras's GlobalAveragePooling1D averages the unmasked steps only: masked steps
    /// are replaced by 0 in the sum (`ops.where`) and left out of the count, so a row with
    /// every step masked gives 0 / 0 = NaN, as in Keras. The other global poolings take no
    /// mask (Keras drops it), and neither passes one on.
    fn call_masked(&self, base: &LayerBase, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let Some(mask) = mask.filter(|_| !self.max && self.spatial == 1) else {
            return self.call(base, x);
        };
        if let Some(e) = &base.pending_error {
            return Err(e.clone());
        }
        self.output_shape(base, &known(x.shape()))?;
        let x = self.args.data_format.to_last(x)?;
        let (b, steps, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        if mask.shape() != [b, steps] {
            keras_bail!(
                InvalidArgument,
                "{}: the mask must have shape (batch, steps) = ({b}, {steps}); received mask.shape={:?}",
                base.name,
                mask.shape()
            );
        }
        let valid: Vec<bool> = mask.to_f32_vec().iter().map(|&m| m != 0.0).collect();
        let keep: Vec<bool> = valid.iter().flat_map(|&v| std::iter::repeat_n(v, c)).collect();
        let summed = ops::sum_axis(&keep_or(&x, &keep, 0.0)?, 1, self.args.keepdims)?;
        let counts: Vec<f32> =
            valid.chunks(steps.max(1)).map(|r| r.iter().filter(|&&v| v).count() as f32).collect();
        let counts = Tensor::new(counts, if self.args.keepdims { vec![b, 1, 1] } else { vec![b, 1] })?;
        self.args.data_format.from_last(&ops::div(&summed, &counts)?)
    }

    fn config(&self, base: &LayerBase) -> Value {
        let mut m = base.base_config();
        self.args.write_args(&mut m);
        Value::Object(m)
    }
}

macro_rules! global_pooling_layer {
    ($name:ident, $max:expr, $spatial:expr, $snake:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            base: LayerBase,
            pool: GlobalPool,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// A global pooling layer (`keepdims = false`, the global data format).
            pub fn new() -> Self {
                $name { base: LayerBase::new($snake), pool: GlobalPool::new($max, $spatial) }
            }
            crate::setters::setters! {
                /// Keep the pooled axes with size 1.
                keepdims(pool.args.keepdims): bool,
            }
            /// `"channels_last"` (`(batch, spatial..., channels)`) or `"channels_first"`
            /// (`(batch, channels, spatial...)`); default: [`crate::config::image_data_format`].
            pub fn data_format(mut self, f: &str) -> Self {
                self.base.accept(&mut self.pool.args.data_format, DataFormat::parse(f));
                self
            }
            crate::layers::builders::base_builders!();
            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let mut base = LayerBase::new($snake);
                let pool = GlobalPool::from_config($max, $spatial, &mut base, stringify!($name), cfg)?;
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
            fn call_masked(
                &self,
                x: &Tensor,
                mask: Option<&Tensor>,
                _ctx: &mut CallContext,
            ) -> Result<Tensor> {
                self.pool.call_masked(&self.base, x, mask)
            }
            fn get_config(&self) -> Value {
                self.pool.config(&self.base)
            }
        }
    };
}

global_pooling_layer!(
    GlobalAveragePooling1D,
    false,
    1,
    "global_average_pooling1d",
    "Mean over the steps of `(batch, steps, channels)` (Keras `keras.layers.GlobalAveragePooling1D`). \
     With a mask from the layer before (`Embedding(mask_zero=True)`, `Masking`), the mean of the \
     unmasked steps only, as in Keras; a row with every step masked gives NaN."
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
    use serde_json::json;

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
        assert!(GlobalAveragePooling1D::from_config(&json!({"data_format": "nchw"})).is_err());
        assert!(GlobalAveragePooling1D::new().data_format("nchw").call(&x, &mut ctx).is_err());
    }

    #[test]
    fn average_pooling_1d_mask() {
        // (batch 2, steps 3, channels 2); row 0 keeps steps 0 and 2, row 1 keeps none.
        let x =
            Tensor::new(vec![1.0, 2.0, f32::NAN, 100.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [2, 3, 2])
                .unwrap();
        let mask = Tensor::new(vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0], [2, 3]).unwrap();
        let mut ctx = CallContext::new(false);
        let y = GlobalAveragePooling1D::new().call_masked(&x, Some(&mask), &mut ctx).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        let y = y.to_f32_vec();
        // The NaN at a masked step does not leak (Keras uses `where`, not a product).
        assert_eq!(&y[..2], &[2.0, 3.0]);
        assert!(y[2].is_nan() && y[3].is_nan(), "a fully masked row is 0 / 0 in Keras: {y:?}");
        let k = GlobalAveragePooling1D::new().keepdims(true).call_masked(&x, Some(&mask), &mut ctx).unwrap();
        assert_eq!(k.shape(), &[2, 1, 2]);
        // channels_first: (batch, channels, steps), the same numbers.
        let xc = Tensor::new(vec![1.0, f32::NAN, 3.0, 2.0, 100.0, 4.0], [1, 2, 3]).unwrap();
        let yc = GlobalAveragePooling1D::new()
            .data_format("channels_first")
            .call_masked(&xc, Some(&mask.slice_rows(0, 1).unwrap()), &mut ctx)
            .unwrap();
        assert_eq!(yc.to_f32_vec(), vec![2.0, 3.0]);
        // The max pooling takes no mask (Keras drops it).
        let m = GlobalMaxPooling1D::new().call_masked(&x, Some(&mask), &mut ctx).unwrap();
        assert!(m.to_f32_vec()[0].is_nan());
        // A mask of the wrong shape is an error, not a panic.
        let bad = Tensor::new(vec![1.0; 4], [2, 2]).unwrap();
        let e = GlobalAveragePooling1D::new().call_masked(&x, Some(&bad), &mut ctx).unwrap_err();
        assert!(e.to_string().contains("the mask must have shape (batch, steps) = (2, 3)"), "{e}");
    }

    #[test]
    fn average_pooling_1d_mask_gradient() {
        let x = Tensor::new((0..24).map(|v| (v as f32 * 0.37).sin()).collect::<Vec<_>>(), [2, 4, 3]).unwrap();
        let mask = Tensor::new(vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0], [2, 4]).unwrap();
        let layer = GlobalAveragePooling1D::new();
        keras_engine::testing::check_grad(
            &[&x],
            |xs| Ok(layer.call_masked(xs[0], Some(&mask), &mut CallContext::new(false)).unwrap()),
            1e-3,
        );
    }

    #[test]
    fn global_pooling_channels_first() {
        // (batch 1, channels 2, 1 x 2): channel 0 is [1, -1], channel 1 is [3, 2]
        let x = Tensor::new(vec![1.0, -1.0, 3.0, 2.0], [1, 2, 1, 2]).unwrap();
        let mut ctx = CallContext::new(false);
        let avg = GlobalAveragePooling2D::new().data_format("channels_first");
        assert_eq!(avg.call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[0.0, 2.5]);
        let max = GlobalMaxPooling2D::new().data_format("channels_first").keepdims(true);
        let y = max.call(&x, &mut ctx).unwrap();
        assert_eq!((y.shape(), y.as_f32().unwrap()), (&[1, 2, 1, 1][..], &[1.0, 3.0][..]));
        let s = [None, Some(2), Some(5), Some(7)];
        assert_eq!(max.compute_output_shape(&s).unwrap(), vec![None, Some(2), Some(1), Some(1)]);
        assert_eq!(avg.compute_output_shape(&s).unwrap(), vec![None, Some(2)]);
        let cfg = max.get_config();
        assert_eq!(cfg["data_format"], "channels_first");
        let back = GlobalMaxPooling2D::from_config(&cfg).unwrap();
        assert_eq!(back.get_config(), cfg);
    }
}
