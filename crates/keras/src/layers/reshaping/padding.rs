//! `ZeroPadding1D/2D`, `Cropping1D/2D` and `UpSampling1D/2D` (channels-last, and
//! channels-first where Keras takes `data_format`).

use keras_engine::ops;
use serde_json::Value;

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::{
    base_with_positive, cropped_shape, data_format_builder, known, layer_common, ndim_error,
    spatial_arg_layer, Spatial,
};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

spatial_arg_layer! {
    /// Keras `keras.layers.ZeroPadding1D`: zeros before and after the steps of `(batch, steps,
    /// channels)` (or `(batch, channels, steps)` with `data_format("channels_first")`).
    pub struct ZeroPadding1D("ZeroPadding1D", "zero_padding1d") in ZeroPadding1DArgs {
        /// `padding = [before, after]` zero steps.
        padding: [usize; 2] = [1, 1],
    }
    /// Rebuilds from a Keras config (`padding` an int or a pair).
    from_config;
    impl Layer {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            self.args.data_format.map_shape(&self.base.name, 3, s, |s| {
                Ok(vec![s[0], s[1].map(|d| d + self.args.padding.0[0] + self.args.padding.0[1]), s[2]])
            })
        }

        fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
            self.compute_output_shape(&known(x.shape()))?;
            self.args.data_format.map_call(x, |x| Ok(ops::pad(x, &[[0, 0], self.args.padding.0, [0, 0]])?))
        }
    }
}

spatial_arg_layer! {
    /// Keras `keras.layers.ZeroPadding2D`: zero rows and columns around NHWC (or, with
    /// `data_format("channels_first")`, NCHW) images.
    pub struct ZeroPadding2D("ZeroPadding2D", "zero_padding2d") in ZeroPadding2DArgs {
        /// `padding = [[top, bottom], [left, right]]`.
        padding: [[usize; 2]; 2] = [[1, 1], [1, 1]],
    }
    /// Rebuilds from a Keras config.
    from_config;
    impl Layer {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            self.args.data_format.map_shape(&self.base.name, 4, s, |s| {
                let [h, w] = self.args.padding.0;
                Ok(vec![s[0], s[1].map(|d| d + h[0] + h[1]), s[2].map(|d| d + w[0] + w[1]), s[3]])
            })
        }

        fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
            self.compute_output_shape(&known(x.shape()))?;
            self.args.data_format
                .map_call(x, |x| Ok(ops::pad(x, &[[0, 0], self.args.padding.0[0], self.args.padding.0[1], [0, 0]])?))
        }
    }
}

impl ZeroPadding2D {
    /// `[[top, bottom], [left, right]]` when the layer pads channels-last images (for
    /// folding into the convolution after it at inference).
    pub(crate) fn channels_last_padding(&self) -> Option<[[usize; 2]; 2]> {
        (self.args.data_format == DataFormat::ChannelsLast).then_some(self.args.padding.0)
    }
}

/// Keras `keras.layers.Cropping1D`: drops steps at the start and end of `(batch, steps,
/// channels)`.
pub struct Cropping1D {
    base: LayerBase,
    args: Cropping1DArgs,
}

config_args! {
    /// Cropping1D's Keras arguments.
    pub(crate) struct Cropping1DArgs, family LayerArgs {
        /// `[start, end]` steps removed (an int crops both ends).
        cropping: Spatial<[usize; 2]> = Spatial([1, 1]),
    }
}

impl Cropping1D {
    /// `cropping = [start, end]` steps removed.
    pub fn new(cropping: [usize; 2]) -> Self {
        Cropping1D {
            base: LayerBase::new("cropping1d"),
            args: Cropping1DArgs { cropping: Spatial(cropping) },
        }
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = Cropping1DArgs::read_args(&mut LayerCfg::new(cfg, "Cropping1D"))?;
        let mut l = Cropping1D { base: LayerBase::new("cropping1d"), args };
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for Cropping1D {
    layer_common!("Cropping1D", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 3 {
            return Err(ndim_error(&self.base.name, 3, s));
        }
        let steps = match s[1] {
            Some(d) if d > self.args.cropping.0[0] + self.args.cropping.0[1] => Some(d - self.args.cropping.0[0] - self.args.cropping.0[1]),
            Some(_) => keras_bail!(
                InvalidArgument,
                "`cropping` parameter of `Cropping1D` layer must be smaller than the input length. Received: input_shape={}, cropping={:?}",
                shape_str(s),
                self.args.cropping.0
            ),
            None => None,
        };
        Ok(vec![s[0], steps, s[2]])
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let out = self.compute_output_shape(&known(x.shape()))?;
        let size: Vec<usize> = out.iter().map(|d| d.unwrap_or(0)).collect();
        Ok(ops::slice(x, &[0, self.args.cropping.0[0], 0], &size)?)
    }
}

spatial_arg_layer! {
    /// Keras `keras.layers.Cropping2D`: drops rows and columns at the borders of NHWC (or, with
    /// `data_format("channels_first")`, NCHW) images.
    pub struct Cropping2D("Cropping2D", "cropping2d") in Cropping2DArgs {
        /// `cropping = [[top, bottom], [left, right]]`.
        cropping: [[usize; 2]; 2] = [[0, 0], [0, 0]],
    }
    /// Rebuilds from a Keras config.
    from_config;
    impl Layer {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            self.args.data_format.map_shape(&self.base.name, 4, s, |last| cropped_shape(last, &self.args.cropping.0, s))
        }

        fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
            self.compute_output_shape(&known(x.shape()))?;
            self.args.data_format.map_call(x, |x| {
                let out = cropped_shape(&known(x.shape()), &self.args.cropping.0, &known(x.shape()))?;
                let size: Vec<usize> = out.iter().map(|d| d.unwrap_or(0)).collect();
                Ok(ops::slice(x, &[0, self.args.cropping.0[0][0], self.args.cropping.0[1][0], 0], &size)?)
            })
        }
    }
}

/// Keras `keras.layers.UpSampling1D`: repeats every step `size` times.
pub struct UpSampling1D {
    base: LayerBase,
    args: UpSampling1DArgs,
}

config_args! {
    /// UpSampling1D's Keras arguments.
    pub(crate) struct UpSampling1DArgs, family LayerArgs {
        size: usize = 2,
    }
}

impl UpSampling1D {
    /// Repeat factor `size` (> 0).
    pub fn new(size: usize) -> Self {
        UpSampling1D {
            base: base_with_positive("up_sampling1d", "size", size),
            args: UpSampling1DArgs { size },
        }
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = UpSampling1DArgs::read_args(&mut LayerCfg::new(cfg, "UpSampling1D"))?;
        // The constructor's check is the config's check too.
        configured(UpSampling1D::new(args.size), cfg)
    }
}

impl Layer for UpSampling1D {
    layer_common!("UpSampling1D", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 3 {
            return Err(ndim_error(&self.base.name, 3, s));
        }
        Ok(vec![s[0], s[1].map(|d| d * self.args.size), s[2]])
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        Ok(ops::repeat(x, self.args.size, 1)?)
    }
}

/// Keras `keras.layers.UpSampling2D`: scales NHWC images by `size`, with `"nearest"`
/// (repeat) or `"bilinear"` interpolation.
pub struct UpSampling2D {
    base: LayerBase,
    args: UpSampling2DArgs,
}

config_args! {
    /// UpSampling2D's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct UpSampling2DArgs, family LayerArgs {
        /// `[rows, cols]` (an int scales both).
        size: Spatial<[usize; 2]> = Spatial([2, 2]),
        data_format: DataFormat = DataFormat::default(),
        /// `"nearest"` or `"bilinear"` (the builder checks and lowercases it).
        interpolation: String = "nearest".to_string(),
    }
}

impl UpSampling2D {
    /// Scale factors `[rows, cols]` (> 0), nearest interpolation.
    pub fn new(size: [usize; 2]) -> Self {
        let mut base = LayerBase::new("up_sampling2d");
        if size.contains(&0) {
            base.fail(Error::InvalidArgument(format!(
                "The `size` argument must be a tuple of 2 positive integers. Received size={size:?}"
            )));
        }
        UpSampling2D { base, args: UpSampling2DArgs { size: Spatial(size), ..UpSampling2DArgs::defaults() } }
    }

    /// `"nearest"` or `"bilinear"` (case-insensitive).
    pub fn interpolation(mut self, how: &str) -> Self {
        match how.to_lowercase().as_str() {
            how @ ("nearest" | "bilinear") => self.args.interpolation = how.to_string(),
            _ => self.base.fail(Error::InvalidArgument(format!(
                "Layer {}: `interpolation` must be \"nearest\" or \"bilinear\" (the interpolations keras-rs supports). Received: interpolation={how}",
                self.base.name
            ))),
        }
        self
    }

    crate::layers::builders::base_builders!();
    data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = UpSampling2DArgs::read_args(&mut LayerCfg::new(cfg, "UpSampling2D"))?;
        // The constructor's and builder's checks are the config's checks too.
        let mut l = UpSampling2D::new(args.size.0).interpolation(&args.interpolation);
        l.args.data_format = args.data_format;
        configured(l, cfg)
    }
}

impl Layer for UpSampling2D {
    layer_common!("UpSampling2D", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.args.data_format.map_shape(&self.base.name, 4, s, |s| {
            Ok(vec![s[0], s[1].map(|d| d * self.args.size.0[0]), s[2].map(|d| d * self.args.size.0[1]), s[3]])
        })
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        self.args.data_format.map_call(x, |x| {
            if self.args.interpolation == "bilinear" {
                let (h, w) = (x.shape()[1] * self.args.size.0[0], x.shape()[2] * self.args.size.0[1]);
                return Ok(ops::resize_bilinear(x, h, w)?);
            }
            Ok(ops::repeat(&ops::repeat(x, self.args.size.0[0], 1)?, self.args.size.0[1], 2)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;
    use serde_json::json;

    fn run(l: &dyn Layer, x: &Tensor) -> Result<Tensor> {
        l.call(x, &mut CallContext::new(false))
    }

    #[test]
    fn padding_layers() {
        let l = ZeroPadding2D::from_config(&json!({"padding": [[1, 0], [2, 1]]})).unwrap();
        let y = run(&l, &Tensor::ones([1, 3, 4, 2])).unwrap();
        assert_eq!(y.shape(), &[1, 4, 7, 2]);
        assert_eq!(l.get_config()["padding"], json!([[1, 0], [2, 1]]));
        assert_eq!(
            ZeroPadding2D::from_config(&json!({"padding": 2})).unwrap().args.padding.0,
            [[2, 2], [2, 2]]
        );
        assert_eq!(
            ZeroPadding2D::from_config(&json!({"padding": [1, 3]})).unwrap().args.padding.0,
            [[1, 1], [3, 3]]
        );
        assert!(ZeroPadding2D::from_config(&json!({"padding": [1, 2, 3]})).is_err());
        assert!(ZeroPadding2D::from_config(&json!({"padding": -1})).is_err());
        assert!(ZeroPadding2D::from_config(&json!({"padding": "same"})).is_err());
        assert!(ZeroPadding2D::from_config(&json!({"data_format": "nhwc"})).is_err());
        assert!(check_pending(&ZeroPadding2D::new([[1, 1], [1, 1]]).data_format("nhwc")).is_err());
        assert!(run(&l, &Tensor::ones([3, 4, 2])).is_err());
        let l1 = ZeroPadding1D::from_config(&json!({"padding": 2})).unwrap();
        assert_eq!(run(&l1, &Tensor::ones([1, 3, 2])).unwrap().shape(), &[1, 7, 2]);
        assert!(ZeroPadding1D::from_config(&json!({"padding": [1, -1]})).is_err());
    }

    #[test]
    fn cropping_layers() {
        let x = Tensor::new((0..12).map(|v| v as f32).collect(), [1, 6, 2]).unwrap();
        let c = Cropping1D::new([1, 2]);
        assert_eq!(run(&c, &x).unwrap().as_f32().unwrap(), &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let e = run(&Cropping1D::new([3, 3]), &x).unwrap_err().to_string();
        assert!(e.contains("cropping"), "{e}");
        let c2 = Cropping2D::from_config(&json!({"cropping": [[1, 0], [0, 1]]})).unwrap();
        assert_eq!(run(&c2, &Tensor::ones([2, 3, 3, 1])).unwrap().shape(), &[2, 2, 2, 1]);
        assert!(run(&Cropping2D::new([[2, 1], [0, 0]]), &Tensor::ones([2, 3, 3, 1])).is_err());
        assert!(Cropping2D::from_config(&json!({"cropping": -1})).is_err());
        assert_eq!(c2.get_config()["cropping"], json!([[1, 0], [0, 1]]));
    }

    #[test]
    fn upsampling_layers() {
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 2, 1]).unwrap();
        let u = UpSampling2D::new([2, 1]);
        assert_eq!(run(&u, &x).unwrap().as_f32().unwrap(), &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
        let b = UpSampling2D::from_config(&json!({"size": 2, "interpolation": "bilinear"})).unwrap();
        assert_eq!(run(&b, &x).unwrap().shape(), &[1, 4, 4, 1]);
        assert_eq!(b.get_config()["interpolation"], json!("bilinear"));
        assert!(check_pending(&UpSampling2D::new([2, 2]).interpolation("bicubic")).is_err());
        assert!(check_pending(&UpSampling2D::new([0, 2])).is_err());
        assert!(UpSampling2D::from_config(&json!({"size": [2, 0]})).is_err());
        let u1 = UpSampling1D::new(3);
        assert_eq!(run(&u1, &Tensor::ones([1, 2, 2])).unwrap().shape(), &[1, 6, 2]);
        assert!(check_pending(&UpSampling1D::new(0)).is_err());
        assert!(UpSampling1D::from_config(&json!({"size": 0})).is_err());
    }

    #[test]
    fn channels_first_shapes_configs_and_errors() {
        let z = ZeroPadding2D::new([[1, 0], [2, 1]]).data_format("channels_first");
        let s = [None, Some(3), Some(4), Some(5)];
        assert_eq!(z.compute_output_shape(&s).unwrap(), vec![None, Some(3), Some(5), Some(8)]);
        assert_eq!(run(&z, &Tensor::ones([1, 3, 4, 5])).unwrap().shape(), &[1, 3, 5, 8]);
        let cfg = z.get_config();
        assert_eq!(cfg["data_format"], "channels_first");
        assert_eq!(ZeroPadding2D::from_config(&cfg).unwrap().get_config(), cfg);
        let c = Cropping2D::new([[2, 2], [0, 0]]).data_format("channels_first");
        let e = c.compute_output_shape(&[None, Some(3), Some(4), Some(5)]).unwrap_err().to_string();
        assert!(e.contains("input_shape=(None, 3, 4, 5)"), "{e}");
        let e = c.compute_output_shape(&[None, Some(3), Some(4)]).unwrap_err().to_string();
        assert!(e.contains("expected ndim=4, found ndim=3. Full shape received: (None, 3, 4)"), "{e}");
        let u = UpSampling2D::from_config(&json!({"size": [2, 1], "data_format": "channels_first"})).unwrap();
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 1, 2]).unwrap();
        assert_eq!(run(&u, &x).unwrap().as_f32().unwrap(), &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
        let p1 = ZeroPadding1D::new([1, 0]).data_format("channels_first");
        assert_eq!(
            run(&p1, &Tensor::ones([1, 2, 3])).unwrap().as_f32().unwrap(),
            &[0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
        );
        assert!(UpSampling2D::from_config(&json!({"data_format": 1})).is_err());
    }
}
