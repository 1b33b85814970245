//! Subclassed models (Keras `class MyModel(keras.Model)` with `__init__` and `call`): a
//! user struct implementing [`Layer`] (its sub-layers, `build` and `call`) wrapped in a
//! [`SubclassedModel`], which compiles, trains, evaluates, predicts and saves its weights
//! through the same trainer as `Sequential`.
//!
//! What it does not do (yet), unlike `Sequential` and `Functional`:
//! * no whole-model file: `model.save("m.keras")` / `.h5` and `load_model` are not available
//!   for it (Keras itself saves a subclassed model's `.keras` file only through
//!   `get_config`/`from_config` the user writes). Save and restore it with `save_weights` /
//!   `load_weights` (Keras 3's `.weights.h5` layout for subclassed models), rebuilding the
//!   struct in code;
//! * no `summary()` table and no `plot_model` drawing: its layers are whatever the user's
//!   struct holds, with no recorded graph to walk.

use std::path::Path;

use serde_json::Value;

use crate::layers::{self, CallContext, Layer, Shape, Variable};
use crate::saving::layout::{subclassed_groups, VarGroup};
use crate::saving::weights_h5::WeightsTarget;
use crate::saving::LoadWeightsArgs;
use crate::trainers::train_model::train_model_impl;
use crate::trainers::{
    self, trainer, Arrays, Compiled, IntoLoss, IntoMetrics, IntoOptimizer, MetricArg, Network, PredictArgs,
};
use crate::{keras_bail, Error, Result, Tensor};

/// The network side of a subclassed model: the user's layer, built on the first batch.
struct Net<L: Layer> {
    layer: L,
    input_shape: Option<Shape>,
}

impl<L: Layer> Net<L> {
    fn check(&self, x: &Tensor) -> Result<()> {
        let Some(expected) = &self.input_shape else {
            keras_bail!(
                State,
                "Model {} has not been built yet: call build(), or fit it first",
                self.layer.name()
            );
        };
        crate::models::check_input_shape(self.layer.name(), 0, x, expected)?;
        Ok(())
    }

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if input_shape.is_empty() {
            keras_bail!(InvalidArgument, "build() needs an input shape with a batch axis, received ()");
        }
        // Keras builds a subclassed model by calling it: `build` makes the weights (the
        // user's `build` builds the sub-layers), then every variable gets its scoped path.
        self.layer.build(input_shape)?;
        for s in self.layer.sublayers_mut() {
            layers::assign_paths(s, "");
        }
        let (own, _) = self.layer.own_weights_and_sublayers_mut();
        for v in own {
            let path = v.name().to_string();
            v.set_path(path);
        }
        self.layer.base_mut().built = true;
        self.input_shape = Some(input_shape.to_vec());
        Ok(())
    }
}

impl<L: Layer> Net<L> {
    /// The one input of a subclassed model's `call`.
    fn one_input<'a>(&self, xs: &'a [Tensor]) -> Result<&'a Tensor> {
        match xs {
            [x] => Ok(x),
            _ => keras_bail!(
                InvalidArgument,
                "Model \"{}\" expects 1 input array, but it received {}",
                self.layer.name(),
                xs.len()
            ),
        }
    }
}

impl<L: Layer> Network for Net<L> {
    fn name(&self) -> &str {
        self.layer.name()
    }

    fn before_training_step(&mut self) -> Result<()> {
        self.layer.before_training_step()
    }

    fn input_names(&self) -> Vec<String> {
        vec!["input_layer".to_string()]
    }

    fn output_names(&self) -> Vec<String> {
        vec![self.layer.name().to_string()]
    }

    fn prepare(&mut self, xs: &[Tensor]) -> Result<()> {
        let x = self.one_input(xs)?;
        if self.input_shape.is_none() {
            let mut shape: Shape = vec![None];
            shape.extend(x.shape()[1..].iter().map(|&d| Some(d)));
            self.build(&shape)?;
        }
        self.check(x)
    }

    fn forward(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        let x = self.one_input(xs)?;
        let x =
            if x.dtype() == keras_engine::DType::F32 { x.clone() } else { x.cast(keras_engine::DType::F32) };
        let y = self.layer.call(&x, ctx)?;
        self.layer.base().record_activity(&y, ctx)?;
        Ok(vec![y])
    }

    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)> {
        layers::weights_with_trainable_mut(&mut self.layer)
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for l in self.layer.regularization_losses()? {
            total = Some(match total {
                None => l,
                Some(t) => keras_engine::ops::add(&t, &l)?,
            });
        }
        Ok(total)
    }
}

/// A model defined by a struct and its `call` (Keras's subclassed `Model`). The struct
/// implements [`Layer`]: its sub-layers (with [`crate::sublayers!`]), a `build` that builds
/// them, and `call`. The model is built on the first batch it sees (or by
/// [`SubclassedModel::build`]), and trains through the same loops as `Sequential`.
///
/// Weights are named and saved as Keras names and saves a subclassed model's:
/// `<layer>/<variable>` paths, `save_weights` groups at each sub-layer's attribute name.
///
/// ```
/// use keras::layers::{CallContext, Dense, Layer, LayerBase, Shape};
/// use keras::models::SubclassedModel;
/// use keras::{FitArgs, Result, Tensor};
///
/// struct TwoLayers {
///     base: LayerBase,
///     hidden: Dense,
///     out: Dense,
/// }
///
/// impl Layer for TwoLayers {
///     keras::sublayers!(hidden, out);
///     fn class_name(&self) -> &'static str { "TwoLayers" }
///     fn base(&self) -> &LayerBase { &self.base }
///     fn base_mut(&mut self) -> &mut LayerBase { &mut self.base }
///     fn as_any(&self) -> &dyn std::any::Any { self }
///     fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
///         self.hidden.build(shape)?;
///         self.out.build(&self.hidden.compute_output_shape(shape)?)
///     }
///     fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
///         self.out.compute_output_shape(&self.hidden.compute_output_shape(shape)?)
///     }
///     fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
///         self.out.call(&self.hidden.call(x, ctx)?, ctx)
///     }
///     fn get_config(&self) -> serde_json::Value { serde_json::Value::Object(self.base.base_config()) }
/// }
///
/// let net = TwoLayers { base: LayerBase::new("two_layers"), hidden: Dense::new(8).activation("relu"), out: Dense::new(1) };
/// let mut model = SubclassedModel::new(net);
/// model.compile("sgd", "mse", &["mae"]).unwrap();
/// let x = Tensor::new((0..32).map(|i| i as f32 / 32.0).collect::<Vec<_>>(), [16, 2]).unwrap();
/// let y = Tensor::new(vec![0.5; 16], [16, 1]).unwrap();
/// let history = model.fit(&x, &y, FitArgs::default().epochs(2).verbose(0)).unwrap();
/// assert_eq!(history.history["loss"].len(), 2);
/// assert_eq!(model.weights().len(), 4);
/// ```
pub struct SubclassedModel<L: Layer> {
    net: Net<L>,
    compiled: Option<Compiled>,
}

impl<L: Layer> SubclassedModel<L> {
    /// Wraps the user's layer; the model takes the layer's name.
    pub fn new(layer: L) -> Self {
        SubclassedModel { net: Net { layer, input_shape: None }, compiled: None }
    }

    /// The model name.
    pub fn name(&self) -> &str {
        self.net.layer.name()
    }

    /// The user's layer.
    pub fn layer(&self) -> &L {
        &self.net.layer
    }

    /// The user's layer, mutable (to freeze sub-layers, or read its state).
    pub fn layer_mut(&mut self) -> &mut L {
        &mut self.net.layer
    }

    /// Builds the model for inputs of `input_shape` (batch axis included, may be None).
    pub fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        self.net.build(input_shape)
    }

    /// True once the weights exist.
    pub fn built(&self) -> bool {
        self.net.input_shape.is_some()
    }

    /// Every weight in Keras's `model.weights` order (own, then each sub-layer's).
    pub fn weights(&self) -> Vec<&Variable> {
        self.net.layer.weights()
    }

    /// The weights the optimizer trains.
    pub fn trainable_weights(&self) -> Vec<&Variable> {
        self.net.layer.trainable_weights()
    }

    /// Copies of every weight value (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.net.layer.get_weights()
    }

    /// Sets every weight in order (Keras `set_weights`), checking count and shapes.
    pub fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let name = self.name().to_string();
        super::assign_weights_in_order(&name, self.net.variables_mut(), values)
    }

    /// The weight-regularization penalties (Keras `model.losses` outside a call).
    pub fn losses(&self) -> Result<Vec<Tensor>> {
        self.net.layer.regularization_losses()
    }

    /// Number of scalars in all weights.
    pub fn count_params(&self) -> usize {
        self.net.layer.count_params()
    }

    /// Configures training (Keras `model.compile`), as [`crate::models::Sequential::compile`].
    pub fn compile<O: IntoOptimizer, Lo: IntoLoss, M: IntoMetrics>(
        &mut self,
        optimizer: O,
        loss: Lo,
        metrics: M,
    ) -> Result<()> {
        let metrics: Vec<MetricArg> = metrics.into_metrics();
        let identifier = loss.identifier();
        let mut c = Compiled::new(optimizer.into_optimizer()?, loss.into_loss()?, metrics)?;
        if let Some(name) = identifier {
            c.set_loss_identifier(name);
        }
        self.compiled = Some(c);
        Ok(())
    }

    crate::models::training_methods! {
        /// The compile state, once compiled.
        compile_state,
        /// Trains the model (Keras `model.fit`).
        fit,
        /// Loss and metrics on the data (Keras `model.evaluate(..., return_dict=True)`).
        evaluate,
    }

    /// Outputs for `x`, in batches (Keras `model.predict`); the model must be built.
    pub fn predict(&self, x: &Tensor, args: PredictArgs) -> Result<Tensor> {
        trainers::data::check_xy(x, None, None)?;
        self.net.check(x)?;
        Ok(trainer::predict(self, Arrays::One(x.clone()), args)?.swap_remove(0))
    }

    /// Calls the model on a batch (Keras `model(x, training=...)`), building it first if
    /// needed.
    pub fn call(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        let xs = std::slice::from_ref(x);
        self.net.prepare(xs)?;
        let mut ctx = CallContext::new(training);
        Ok(self.net.forward(xs, &mut ctx)?.swap_remove(0))
    }

    crate::models::training_methods! {
        /// One gradient step on one batch (Keras `train_on_batch(..., return_dict=True)`).
        train_on_batch,
    }

    /// Saves the weights (and the optimizer state, when compiled) in Keras 3's
    /// `.weights.h5` layout for a subclassed model (Keras `model.save_weights`).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::saving::save_weights(self, self.built(), path.as_ref())
    }

    /// Loads weights saved by [`SubclassedModel::save_weights`] or by Keras from the same
    /// model (`.weights.h5`, or the weights of a `.keras` file). Legacy `.h5` files are
    /// refused. Nothing is assigned on error.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let built = self.built();
        crate::saving::load_weights_with_legacy(
            self,
            built,
            path.as_ref(),
            LoadWeightsArgs::default(),
            |m, _, _| {
                Err(Error::InvalidArgument(format!(
                    "Model {}: loading legacy `.h5` weights into a subclassed model is not supported; use a \
                     `.weights.h5` file",
                    m.name()
                )))
            },
        )
    }
}

impl<L: Layer> WeightsTarget for SubclassedModel<L> {
    fn var_groups(&self) -> Vec<VarGroup> {
        subclassed_groups(self.name(), &self.net.layer)
    }
    fn all_weights(&self) -> Vec<&Variable> {
        self.weights()
    }
    fn compile_state(&self) -> Option<&Compiled> {
        self.compiled.as_ref()
    }
    fn compile_state_mut(&mut self) -> Option<&mut Compiled> {
        self.compiled.as_mut()
    }
    fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()> {
        crate::models::assign_weights_by_index(self.net.variables_mut(), values)
    }
}

train_model_impl! {
    impl<L: Layer> SubclassedModel<L> {
        net: net,
        forward: [built],
        fn get_config(&self) -> Value {
            self.net.layer.get_config()
        }
    }
}
