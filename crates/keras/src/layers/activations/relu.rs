//! `ReLU`, `LeakyReLU` and `ELU` layers: the parameterized rectifiers as layers.

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::layers::layer::{configured, CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::layer_common;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.ReLU`: `relu(x, negative_slope, max_value, threshold)`; every
/// argument must be non-negative.
///
/// ```
/// use keras::layers::ReLU;
/// let relu6 = ReLU::new().max_value(6.0);
/// ```
pub struct ReLU {
    base: LayerBase,
    args: ReLUArgs,
}

config_args! {
    /// ReLU's Keras arguments, in Keras's `get_config()` order (the builders validate).
    pub(crate) struct ReLUArgs, family LayerArgs {
        max_value: Option<f64> = None,
        negative_slope: f64 = 0.0,
        threshold: f64 = 0.0,
    }
}

impl Default for ReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl ReLU {
    /// A plain rectifier (no maximum, slope 0, threshold 0).
    pub fn new() -> Self {
        ReLU { base: LayerBase::new("re_lu"), args: ReLUArgs::defaults() }
    }

    /// Saturation value (must be >= 0).
    pub fn max_value(mut self, v: f64) -> Self {
        if v.is_nan() || v < 0.0 {
            self.base.fail(Error::InvalidArgument(format!(
                "max_value of a ReLU layer cannot be a negative value. Received: max_value={v}"
            )));
        }
        self.args.max_value = Some(v);
        self
    }

    /// Slope below the threshold (must be >= 0).
    pub fn negative_slope(mut self, v: f64) -> Self {
        if v.is_nan() || v < 0.0 {
            self.base.fail(Error::InvalidArgument(format!(
                "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope={v}"
            )));
        }
        self.args.negative_slope = v;
        self
    }

    /// Threshold below which values are damped (must be >= 0).
    pub fn threshold(mut self, v: f64) -> Self {
        if v.is_nan() || v < 0.0 {
            self.base.fail(Error::InvalidArgument(format!(
                "threshold of a ReLU layer cannot be a negative value. Received: threshold={v}"
            )));
        }
        self.args.threshold = v;
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let a = ReLUArgs::read_args(&mut LayerCfg::new(cfg, "ReLU"))?;
        // The builders' checks are the config's checks too.
        let mut l = ReLU::new().negative_slope(a.negative_slope).threshold(a.threshold);
        if let Some(v) = a.max_value {
            l = l.max_value(v);
        }
        configured(l, cfg)
    }
}

impl Layer for ReLU {
    layer_common!("ReLU", false, same_shape, args_config);

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(ops::unary(x, self.elementwise())?)
    }
}

/// Keras `keras.layers.LeakyReLU`: `x > 0 ? x : negative_slope * x` (slope 0.3 by default,
/// unlike the `leaky_relu` function's 0.2).
pub struct LeakyReLU {
    base: LayerBase,
    args: LeakyReLUArgs,
}

config_args! {
    /// LeakyReLU's Keras arguments (the builder validates).
    pub(crate) struct LeakyReLUArgs, family LayerArgs {
        negative_slope: f64 = 0.3,
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        Self::new()
    }
}

impl LeakyReLU {
    /// A leaky rectifier with slope 0.3.
    pub fn new() -> Self {
        LeakyReLU { base: LayerBase::new("leaky_re_lu"), args: LeakyReLUArgs::defaults() }
    }

    /// The slope for negative inputs (must be >= 0).
    pub fn negative_slope(mut self, v: f64) -> Self {
        if v.is_nan() || v < 0.0 {
            self.base.fail(Error::InvalidArgument(format!(
                "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. Received: negative_slope={v}"
            )));
        }
        self.args.negative_slope = v;
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config (the deprecated `alpha` key is accepted too).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut src = LayerCfg::new(cfg, "LeakyReLU");
        let mut a = LeakyReLUArgs::read_args(&mut src)?;
        if cfg.get("negative_slope").is_none() {
            a.negative_slope =
                <f64 as ConfigArg<LayerArgs>>::from_config(&mut src, "alpha", Some(a.negative_slope))?;
        }
        configured(LeakyReLU::new().negative_slope(a.negative_slope), cfg)
    }
}

impl Layer for LeakyReLU {
    layer_common!("LeakyReLU", false, same_shape, args_config);

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let u = Unary::ReluParams {
            negative_slope: self.args.negative_slope as f32,
            max_value: f32::INFINITY,
            threshold: 0.0,
        };
        Ok(ops::unary(x, u)?)
    }
}

/// Keras `keras.layers.ELU`: `x > 0 ? x : alpha * (exp(x) - 1)`.
pub struct ELU {
    base: LayerBase,
    args: ELUArgs,
}

config_args! {
    /// ELU's Keras arguments (the builder validates).
    pub(crate) struct ELUArgs, family LayerArgs {
        alpha: f64 = 1.0,
    }
}

impl Default for ELU {
    fn default() -> Self {
        Self::new()
    }
}

impl ELU {
    /// An ELU with `alpha = 1`.
    pub fn new() -> Self {
        ELU { base: LayerBase::new("elu"), args: ELUArgs::defaults() }
    }

    /// The scale of the negative part.
    pub fn alpha(mut self, a: f64) -> Self {
        if !a.is_finite() {
            self.base.fail(Error::InvalidArgument(format!(
                "The `alpha` argument of an ELU layer must be a finite number. Received: alpha={a}"
            )));
        }
        self.args.alpha = a;
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let a = ELUArgs::read_args(&mut LayerCfg::new(cfg, "ELU"))?;
        configured(ELU::new().alpha(a.alpha), cfg)
    }
}

impl Layer for ELU {
    layer_common!("ELU", false, same_shape, args_config);

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        Ok(ops::unary(x, Unary::Elu(self.args.alpha as f32))?)
    }
}

impl ReLU {
    /// The element-wise function this layer applies (for fusing into a convolution at
    /// inference).
    pub(crate) fn elementwise(&self) -> Unary {
        Unary::ReluParams {
            negative_slope: self.args.negative_slope as f32,
            max_value: self.args.max_value.map_or(f32::INFINITY, |m| m as f32),
            threshold: self.args.threshold as f32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;
    use serde_json::json;

    #[test]
    fn negative_arguments_are_rejected() {
        for l in [ReLU::new().max_value(-1.0), ReLU::new().negative_slope(-0.1), ReLU::new().threshold(-0.5)]
        {
            let e = check_pending(&l).unwrap_err().to_string();
            assert!(e.contains("ReLU") && e.contains("-"), "{e}");
        }
        assert!(check_pending(&LeakyReLU::new().negative_slope(-0.3))
            .unwrap_err()
            .to_string()
            .contains("-0.3"));
        assert!(check_pending(&ELU::new().alpha(f64::NAN)).is_err());
        assert!(ReLU::from_config(&json!({"threshold": -1.0})).is_err());
        assert!(ReLU::from_config(&json!({"threshold": "x"})).is_err());
    }

    #[test]
    fn values_and_configs() {
        let x = Tensor::new(vec![-2.0, 0.25, 0.75, 8.0], [1, 4]).unwrap();
        let mut ctx = CallContext::new(false);
        let r = ReLU::new().max_value(6.0).negative_slope(0.1).threshold(0.5);
        assert_eq!(r.call(&x, &mut ctx).unwrap().as_f32().unwrap(), &[-0.25, -0.025, 0.75, 6.0]);
        let l = LeakyReLU::new();
        let y = l.call(&x, &mut ctx).unwrap();
        assert!((y.as_f32().unwrap()[0] + 0.6).abs() < 1e-6);
        let cfg = r.get_config();
        let keys: Vec<&String> = cfg.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "trainable", "dtype", "max_value", "negative_slope", "threshold"]);
        let back = ReLU::from_config(&cfg).unwrap();
        assert_eq!(back.get_config(), cfg);
        assert_eq!(LeakyReLU::new().get_config()["negative_slope"], json!(0.3));
        assert_eq!(LeakyReLU::from_config(&json!({"alpha": 0.1})).unwrap().args.negative_slope, 0.1);
        let e = ELU::from_config(&json!({"alpha": 0.5})).unwrap();
        assert!((e.call(&x, &mut ctx).unwrap().as_f32().unwrap()[0] - 0.5 * (-2.0f32).exp_m1()).abs() < 1e-6);
    }
}
