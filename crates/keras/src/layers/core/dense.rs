//! `Dense`: `activation(inputs @ kernel + bias)` over the last axis.

use keras_engine::ops::{self, Unary};
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::weight_args::{write_weight_args, WeightArgs};
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
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_args: WeightArgs,
    bias_args: WeightArgs,
    kernel: Option<Variable>,
    bias: Option<Variable>,
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
        Dense {
            base,
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_args: WeightArgs::new(Initializer::glorot_uniform()),
            bias_args: WeightArgs::new(Initializer::Zeros),
            kernel: None,
            bias: None,
        }
    }

    /// Sets the activation by Keras name (`"relu"`, `"softmax"`, ...).
    pub fn activation(mut self, name: &str) -> Self {
        match Activation::from_name(name) {
            Ok(a) => self.activation = a,
            Err(e) => self.base.fail(e),
        }
        self
    }

    crate::setters::setters! {
        /// Sets the activation by object.
        with_activation(activation): Activation,
    }

    setters! {
        /// Whether to add a bias (default true).
        use_bias: bool,
        /// Kernel initializer.
        kernel_initializer(kernel_args.initializer): Initializer,
        /// Bias initializer.
        bias_initializer(bias_args.initializer): Initializer,
        /// Penalty of the kernel added to the training loss (Keras `kernel_regularizer`).
        kernel_regularizer(kernel_args.regularizer): Regularizer => Some,
        /// Penalty of the bias added to the training loss (Keras `bias_regularizer`).
        bias_regularizer(bias_args.regularizer): Regularizer => Some,
        /// Penalty of the layer's output added to the loss (Keras `activity_regularizer`).
        activity_regularizer(base.activity_regularizer): Regularizer => Some,
        /// Constraint applied to the kernel after each optimizer update (Keras `kernel_constraint`).
        kernel_constraint(kernel_args.constraint): Constraint => Some,
        /// Constraint applied to the bias after each optimizer update (Keras `bias_constraint`).
        bias_constraint(bias_args.constraint): Constraint => Some,
    }

    crate::layers::builders::base_builders!();

    /// Number of output units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The activation.
    pub fn get_activation(&self) -> Activation {
        self.activation
    }

    /// Rebuilds a Dense layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let units = cfg
            .get("units")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Config("Dense config needs `units`".into()))?;
        let mut d = Dense::new(units as usize);
        d.base.apply_config(cfg);
        d.activation = Activation::from_config(cfg.get("activation").unwrap_or(&Value::Null))?;
        d.use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        d.kernel_args = WeightArgs::from_config(cfg, "kernel", Initializer::glorot_uniform())?;
        d.bias_args = WeightArgs::from_config(cfg, "bias", Initializer::Zeros)?;
        d.base.apply_activity_config(cfg)?;
        // The builder's errors (`units` of 0) are the config's errors too.
        d.base.take_pending()?;
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
        let name = self.base.name.clone();
        self.kernel = Some(self.kernel_args.variable("kernel", &name, &[*input_dim, self.units])?);
        self.bias =
            if self.use_bias { Some(self.bias_args.variable("bias", &name, &[self.units])?) } else { None };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        if input_shape.is_empty() {
            keras_bail!(Shape, "Layer {} expects inputs of rank >= 1, received a scalar", self.base.name);
        }
        let mut s = input_shape.to_vec();
        *s.last_mut().expect("non-empty") = Some(self.units);
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
        match self.activation.fusable() {
            Some(u) => Ok(ops::dense(x, kernel.value(), bias, u)?),
            None => {
                let pre = ops::dense(x, kernel.value(), bias, Unary::Linear)?;
                self.activation.apply(&pre)
            }
        }
    }

    fn own_weights(&self) -> Vec<&Variable> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("units".into(), json!(self.units));
        m.insert("activation".into(), self.activation.to_config());
        m.insert("use_bias".into(), json!(self.use_bias));
        write_weight_args(
            &mut m,
            [("kernel", &self.kernel_args), ("bias", &self.bias_args)].into_iter(),
            None,
        );
        m.insert("quantization_config".into(), Value::Null);
        Value::Object(m)
    }
}
