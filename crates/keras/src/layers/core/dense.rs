//! `Dense`: `activation(inputs @ kernel + bias)` over the last axis.

use keras_engine::ops::{self, Unary};
use serde_json::Value;

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::weight_args::{kernel_bias_args, WeightArgs};
use crate::regularizers::Regularizer;
use crate::setters::setters;
use crate::{keras_bail, Error, Result, Tensor};

/// Densely-connected layer (Keras `keras.layers.Dense`). Kernel shape `(input_dim, units)`.
///
/// ```
/// use keras::layers::Dense;
/// let layer = Dense::new(64).activation("relu");
/// ```
pub struct Dense {
    base: LayerBase,
    args: DenseArgs,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

kernel_bias_args! {
    /// Dense's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct DenseArgs in Dense.args, family LayerArgs, of ""
    {
        units: usize,
        /// Sets the activation by object.
        activation: Activation = Activation::Linear; builder with_activation(activation: Activation),
        /// Whether to add a bias (default true).
        use_bias: bool = true; builder use_bias(use_bias: bool),
    } then {
    }
}

impl Dense {
    /// A Dense layer with `units` outputs, linear activation, glorot-uniform kernel, zero bias.
    pub fn new(units: usize) -> Self {
        let mut base = LayerBase::new("dense");
        if units == 0 {
            base.fail(Error::InvalidArgument(
                "Received an invalid value for `units`, expected a positive integer. Received: units=0"
                    .into(),
            ));
        }
        Dense { base, args: DenseArgs { units, ..DenseArgs::defaults() }, kernel: None, bias: None }
    }

    /// Sets the activation by Keras name (`"relu"`, `"softmax"`, ...).
    pub fn activation(mut self, name: &str) -> Self {
        self.base.accept(&mut self.args.activation, Activation::from_name(name));
        self
    }

    setters! {
        /// Penalty of the layer's output added to the loss (Keras `activity_regularizer`).
        activity_regularizer(base.activity_regularizer): Regularizer => Some,
    }

    crate::layers::builders::base_builders!();

    /// Number of output units.
    pub fn units(&self) -> usize {
        self.args.units
    }

    /// The activation.
    pub fn get_activation(&self) -> Activation {
        self.args.activation
    }

    /// Rebuilds a Dense layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = DenseArgs::read_args(&mut LayerCfg::new(cfg, "Dense"))?;
        let mut d = Dense::new(args.units);
        d.args = args;
        // The builder's errors (`units` of 0) are the config's errors too.
        d.base.apply_config_checked(cfg)?;
        Ok(d)
    }
}

impl Layer for Dense {
    crate::layers::reshaping::args::layer_common!("Dense", true, passes_mask);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let Some(Some(input_dim)) = input_shape.last() else {
            keras_bail!(
                Shape,
                "Layer {} needs a known last input dimension, received input_shape={}",
                self.base.name,
                crate::layers::layer::shape_str(input_shape)
            );
        };
        let (name, a) = (self.base.name.clone(), &self.args);
        let kernel = WeightArgs::of(&a.kernel_initializer, &a.kernel_regularizer, &a.kernel_constraint);
        self.kernel = Some(kernel.variable("kernel", &name, &[*input_dim, a.units])?);
        self.bias = if a.use_bias {
            let bias = WeightArgs::of(&a.bias_initializer, &a.bias_regularizer, &a.bias_constraint);
            Some(bias.variable("bias", &name, &[a.units])?)
        } else {
            None
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        if input_shape.is_empty() {
            keras_bail!(Shape, "Layer {} expects inputs of rank >= 1, received a scalar", self.base.name);
        }
        let mut s = input_shape.to_vec();
        *s.last_mut().expect("non-empty") = Some(self.args.units);
        Ok(s)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let k = kernel.shape()[0];
        if x.rank() == 0 || x.shape()[x.rank() - 1] != k {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: expected axis -1 of input shape to have value {k}, but received input with shape {:?}",
                self.base.name,
                x.shape()
            );
        }
        let bias = self.bias.as_ref().map(|b| b.value());
        match self.args.activation.fusable() {
            Some(u) => Ok(ops::dense(x, kernel.value(), bias, u)?),
            None => {
                let pre = ops::dense(x, kernel.value(), bias, Unary::Linear)?;
                self.args.activation.apply(&pre)
            }
        }
    }

    crate::sublayers!(; kernel, bias);

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        m.insert("quantization_config".into(), Value::Null);
        Value::Object(m)
    }
}
