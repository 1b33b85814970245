//! `Sequential`: a plain stack of layers, one input and one output.

use serde_json::{json, Value};

use crate::layers::{self, CallContext, InputLayer, Layer, Shape, Variable};
use crate::models::functional::summary::{layer_row, model_totals};
use crate::trainers::train_model::{not_compiled, train_model_impl};
use crate::trainers::{
    self, trainer, Arrays, Compiled, DataAdapter, EvaluateArgs, FitArgs, History, Logs, Network, PredictArgs,
    SequenceAdapter,
};
use crate::utils::summary::{format_shape, render_summary, SummaryArgs, SummaryRow};
use crate::utils::Sequence;
use crate::{keras_bail, Error, Result, Tensor};

/// A check run on each layer (and its input shape) before it is built.
pub(crate) type LayerCheck<'a> = dyn FnMut(&dyn Layer, &[Option<usize>]) -> Result<()> + 'a;

/// The layer stack of a Sequential model (separate from the compile state so the trainer
/// can borrow both).
pub(crate) struct Stack {
    /// Name and trainable flag (a Sequential model is also a layer of other models).
    base: crate::layers::LayerBase,
    input: Option<InputLayer>,
    layers: Vec<Box<dyn Layer>>,
    /// Output shape of each layer once built.
    output_shapes: Vec<Shape>,
    built: bool,
}

/// What a Sequential model is made of: name, input layer, layers, compile state.
pub(crate) type SequentialParts = (String, Option<InputLayer>, Vec<Box<dyn Layer>>, Option<Compiled>);

/// A linear stack of layers (Keras `keras.Sequential`).
///
/// ```
/// use keras::layers::{Dense, Dropout, Input};
/// use keras::models::Sequential;
///
/// let mut model = Sequential::new();
/// model.add(Input::new(&[784])).unwrap();
/// model.add(Dense::new(64).activation("relu")).unwrap();
/// model.add(Dropout::new(0.2)).unwrap();
/// model.add(Dense::new(10).activation("softmax")).unwrap();
/// assert_eq!(model.count_params(), 784 * 64 + 64 + 64 * 10 + 10);
/// model.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
/// ```
pub struct Sequential {
    stack: Stack,
    compiled: Option<Compiled>,
    /// The captured CUDA graph of `predict_on_batch` (see `trainers/step_graph.rs`).
    #[cfg(feature = "cuda")]
    predict_graphs: std::sync::Mutex<trainers::step_graph::Graphs>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> =
            self.stack.layers.iter().map(|l| format!("{} ({})", l.name(), l.class_name())).collect();
        f.debug_struct("Sequential")
            .field("name", &self.stack.base.name)
            .field("input_shape", &self.stack.input_shape())
            .field("layers", &layers)
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Stack {
    /// The Keras config (`model.get_config()`).
    fn get_config_value(&self) -> Value {
        let mut layers = Vec::new();
        if let Some(i) = &self.input {
            layers.push(i.serialize());
        }
        layers.extend(self.layers.iter().map(|l| l.serialize()));
        let mut cfg = json!({
            "name": self.base.name,
            "trainable": self.base.trainable,
            "dtype": layers::layer::dtype_policy_config(),
            "layers": layers,
        });
        if let Some(s) = self.input_shape() {
            cfg["build_input_shape"] = json!(s);
        }
        cfg
    }

    fn input_shape(&self) -> Option<Shape> {
        self.input.as_ref().map(|i| i.batch_shape().to_vec())
    }

    /// Builds every unbuilt layer from the input shape, recording output shapes.
    fn build_from(&mut self, input_shape: Shape) -> Result<()> {
        let mut shape = input_shape;
        self.output_shapes.clear();
        for layer in self.layers.iter_mut() {
            if !layer.built() {
                layers::build_layer(layer.as_mut(), &shape)?;
            }
            shape = layer.compute_output_shape(&shape)?;
            self.output_shapes.push(shape.clone());
        }
        self.built = true;
        Ok(())
    }
}

impl Stack {
    /// The forward pass on the single input (what `Network::forward` wraps in a Vec).
    fn forward_one(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut h = x.clone();
        if h.dtype() != keras_engine::DType::F32 {
            h = h.cast(keras_engine::DType::F32);
        }
        // The Keras mask (Embedding(mask_zero=True), Masking) flows to the next layer.
        let mut mask: Option<Tensor> = None;
        let mut skip = false;
        for (i, layer) in self.layers.iter().enumerate() {
            if std::mem::take(&mut skip) {
                continue;
            }
            if mask.is_none() {
                let next = self.layers.get(i + 1).map(|l| l.as_ref());
                if let Some(y) = conv_maxpool(layer.as_ref(), next, &h, ctx.training) {
                    h = y?;
                    skip = true;
                    continue;
                }
            }
            let next_mask = layer.compute_mask(&h, mask.as_ref())?;
            h = match mask.as_ref() {
                None => layer.call(&h, ctx)?,
                Some(m) => layer.call_masked(&h, Some(m), ctx)?,
            };
            layer.base().record_activity(&h, ctx)?;
            mask = next_mask;
        }
        Ok(h)
    }
}

/// A Conv2D (its activation included) and the 2x2, stride-2 MaxPooling2D right after it in
/// one fused op that writes only the pooled output: at inference
/// [`keras_engine::ops::conv2d_maxpool2_inference`], in training (a ReLU only)
/// [`keras_engine::ops::conv2d_relu_maxpool2`], both bit-identical to the two calls; `None`
/// where the pair does not qualify (no such pair, an activity regularizer, an input or
/// output shape either layer refuses: those run unfused and report their own errors).
pub(crate) fn conv_maxpool(
    layer: &dyn Layer,
    next: Option<&dyn Layer>,
    x: &Tensor,
    training: bool,
) -> Option<Result<Tensor>> {
    let conv = layer.as_any().downcast_ref::<layers::Conv2D>()?;
    let pool = next?;
    if !pool.as_any().downcast_ref::<layers::MaxPooling2D>()?.halves_channels_last()
        || layer.base().activity_regularizer.is_some()
        || pool.base().activity_regularizer.is_some()
    {
        return None;
    }
    let known: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
    let conv_shape = layer.compute_output_shape(&known).ok()?;
    pool.compute_output_shape(&conv_shape).ok()?;
    if training {
        conv.call_relu_maxpool2_training(x)
    } else {
        conv.call_maxpool2_inference(x)
    }
}

/// The one input of a Sequential model, or Keras's error for any other number of arrays.
fn single_input<'t>(name: &str, xs: &'t [Tensor]) -> Result<&'t Tensor> {
    match xs {
        [x] => Ok(x),
        _ => keras_bail!(
            Value,
            "Layer \"{name}\" expects 1 input(s), but it received {} input tensors.",
            xs.len()
        ),
    }
}

impl Network for Stack {
    fn name(&self) -> &str {
        &self.base.name
    }

    fn before_training_step(&mut self) -> Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.before_training_step())
    }

    fn input_names(&self) -> Vec<String> {
        vec![self.input.as_ref().map_or("input_layer", |i| Layer::name(i)).to_string()]
    }

    fn output_names(&self) -> Vec<String> {
        self.layers.last().map(|l| vec![l.name().to_string()]).unwrap_or_default()
    }

    fn prepare(&mut self, xs: &[Tensor]) -> Result<()> {
        let x = single_input(&self.base.name, xs)?;
        if self.input.is_none() {
            // Deferred build (Keras builds on the first batch when no input shape was given).
            if x.rank() == 0 {
                keras_bail!(
                    Shape,
                    "Input 0 of layer \"{}\" is incompatible with the layer: expected a batch of inputs (ndim >= 1), found a scalar",
                    self.base.name
                );
            }
            let shape: Vec<usize> = x.shape()[1..].to_vec();
            self.input = Some(InputLayer::new(&shape));
            self.built = false;
        }
        let expected = self.input_shape().expect("input set above");
        crate::models::check_input_shape(&self.base.name, 0, x, &expected)?;
        if !self.built {
            self.build_from(expected)?;
        }
        Ok(())
    }

    fn forward(&self, xs: &[Tensor], ctx: &mut CallContext) -> Result<Vec<Tensor>> {
        Ok(vec![self.forward_one(single_input(&self.base.name, xs)?, ctx)?])
    }

    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for layer in &self.layers {
            for l in layer.regularization_losses()? {
                total = Some(match total {
                    None => l,
                    Some(t) => keras_engine::ops::add(&t, &l)?,
                });
            }
        }
        Ok(total)
    }

    fn variables_mut(&mut self) -> Vec<(&mut Variable, bool)> {
        let mut out = Vec::new();
        let model_trainable = self.base.trainable;
        for layer in self.layers.iter_mut() {
            if crate::models::functional::is_model_layer(layer.as_ref()) {
                // A nested model: its own layers' trainable flags count too.
                let mut flags = Vec::new();
                crate::models::functional::graph::trainable_flags(
                    layer.as_ref(),
                    model_trainable,
                    &mut flags,
                );
                out.extend(layer.weights_mut().into_iter().zip(flags));
                continue;
            }
            // The visitor gives sub-layers' weights with their own flags (a frozen model
            // freezes all).
            out.extend(
                layers::weights_with_trainable_mut(layer.as_mut())
                    .into_iter()
                    .map(|(v, t)| (v, t && model_trainable)),
            );
        }
        out
    }
}

impl Sequential {
    /// An empty model named `sequential` (`sequential_1`, ... for later ones).
    pub fn new() -> Self {
        Sequential {
            stack: Stack {
                base: {
                    let mut b = crate::layers::LayerBase::new("sequential");
                    b.built = false;
                    b
                },
                input: None,
                layers: Vec::new(),
                output_shapes: Vec::new(),
                built: false,
            },
            compiled: None,
            #[cfg(feature = "cuda")]
            predict_graphs: Default::default(),
        }
    }

    /// Sets the model name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.stack.base.rename(name);
        self
    }

    /// The model name.
    pub fn name(&self) -> &str {
        &self.stack.base.name
    }

    /// Adds a layer on top of the stack (Keras `model.add`). An `InputLayer` (or a first
    /// layer given `input_shape`) fixes the input shape; when the input shape is known the
    /// layer is built at once, so invalid shapes are reported here.
    pub fn add<L: Layer>(&mut self, layer: L) -> Result<()> {
        self.add_boxed(Box::new(layer))
    }

    /// [`Sequential::add`] for an already boxed layer.
    pub fn add_boxed(&mut self, layer: Box<dyn Layer>) -> Result<()> {
        layers::layer::check_pending(layer.as_ref())?;
        if layer.as_any().downcast_ref::<InputLayer>().is_some() {
            if !self.stack.layers.is_empty() || self.stack.input.is_some() {
                keras_bail!(
                    InvalidArgument,
                    "Sequential model '{}' already has an input; an InputLayer can only be the first layer",
                    self.stack.base.name
                );
            }
            let shape = layer.compute_output_shape(&[])?;
            let dims: Option<Vec<usize>> = shape.iter().skip(1).copied().collect();
            let Some(dims) = dims else {
                keras_bail!(
                    InvalidArgument,
                    "Sequential inputs need fully known shapes, received {}",
                    layers::layer::shape_str(&shape)
                );
            };
            self.stack.input = Some(InputLayer::new(&dims).name(layer.name()));
            return Ok(());
        }
        if self.stack.layers.iter().any(|l| l.name() == layer.name()) {
            keras_bail!(
                InvalidArgument,
                "All layers added to a Sequential model should have unique names. Name '{}' is already the name of a layer in this model.",
                layer.name()
            );
        }
        if self.stack.layers.is_empty() && self.stack.input.is_none() {
            if let Some(shape) = layer.base().input_shape.clone() {
                self.stack.input = Some(InputLayer::new(&shape));
            }
        }
        self.stack.layers.push(layer);
        if let Some(input) = self.stack.input_shape() {
            // Build the new layer now (and validate its shapes).
            let mut shape = self.stack.output_shapes.last().cloned().unwrap_or(input.clone());
            if self.stack.output_shapes.len() + 1 != self.stack.layers.len() {
                self.stack.built = false;
                return self.stack.build_from(input);
            }
            let layer = self.stack.layers.last_mut().expect("just pushed");
            let r = (|| {
                if !layer.built() {
                    layers::build_layer(layer.as_mut(), &shape)?;
                }
                shape = layer.compute_output_shape(&shape)?;
                Ok::<_, Error>(())
            })();
            if let Err(e) = r {
                self.stack.layers.pop();
                return Err(e);
            }
            self.stack.output_shapes.push(shape);
            self.stack.built = true;
        }
        Ok(())
    }

    /// Removes the last layer (Keras `model.pop`).
    pub fn pop(&mut self) -> Result<Box<dyn Layer>> {
        let Some(l) = self.stack.layers.pop() else {
            keras_bail!(State, "There are no layers in the model.");
        };
        self.stack.output_shapes.truncate(self.stack.layers.len());
        Ok(l)
    }

    /// The layers (without the input layer, as Keras's `model.layers`).
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.stack.layers
    }

    /// The parts a Functional graph is made of: name, input layer, layers, compile state.
    pub(crate) fn into_parts(self) -> SequentialParts {
        (self.stack.base.name, self.stack.input, self.stack.layers, self.compiled)
    }

    /// A layer by name.
    pub fn get_layer(&self, name: &str) -> Result<&dyn Layer> {
        self.stack.layers.iter().find(|l| l.name() == name).map(|l| l.as_ref()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "No such layer: {name}. Existing layers are: {:?}",
                self.layer_names()
            ))
        })
    }

    /// A layer by name, mutable (to freeze it, or set its weights).
    pub fn get_layer_mut(&mut self, name: &str) -> Result<&mut Box<dyn Layer>> {
        let names = self.layer_names();
        self.stack.layers.iter_mut().find(|l| l.name() == name).ok_or_else(|| {
            Error::InvalidArgument(format!("No such layer: {name}. Existing layers are: {names:?}"))
        })
    }

    fn layer_names(&self) -> Vec<String> {
        self.stack.layers.iter().map(|l| l.name().to_string()).collect()
    }

    /// Builds the model for inputs of `input_shape` (batch dimension included, may be None).
    pub fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        let dims: Option<Vec<usize>> = input_shape.iter().skip(1).copied().collect();
        let Some(dims) = dims.filter(|_| !input_shape.is_empty()) else {
            keras_bail!(
                InvalidArgument,
                "build() needs a fully known input shape after the batch axis, received {}",
                layers::layer::shape_str(input_shape)
            );
        };
        self.stack.input = Some(InputLayer::new(&dims));
        self.stack.built = false;
        self.stack.build_from(input_shape.to_vec())
    }

    /// True once weights exist.
    pub fn built(&self) -> bool {
        self.stack.built
    }

    /// The input shape with batch (`[None, 32, 32, 3]`), once known.
    pub fn input_shape(&self) -> Option<Shape> {
        self.stack.input_shape()
    }

    /// The output shape with batch, once built.
    pub fn output_shape(&self) -> Option<Shape> {
        self.stack.output_shapes.last().cloned()
    }

    /// Every weight in `model.weights` order.
    pub fn weights(&self) -> Vec<&Variable> {
        self.stack.layers.iter().flat_map(|l| l.weights()).collect()
    }

    /// The trainable weights.
    pub fn trainable_weights(&self) -> Vec<&Variable> {
        self.stack.layers.iter().flat_map(|l| l.trainable_weights()).collect()
    }

    /// Copies of every weight value (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.weights().iter().map(|w| w.value().detach()).collect()
    }

    /// Sets every weight in order (Keras `set_weights`), checking count and shapes.
    pub fn set_weights(&mut self, values: &[Tensor]) -> Result<()> {
        let name = self.stack.base.name.clone();
        super::assign_weights_in_order(&name, self.stack.variables_mut(), values)
    }

    /// The weight-regularization penalties of every layer (Keras `model.losses` outside a
    /// call), one scalar tensor per regularized trainable weight.
    pub fn losses(&self) -> Result<Vec<Tensor>> {
        let mut out = Vec::new();
        for layer in &self.stack.layers {
            out.extend(layer.regularization_losses()?);
        }
        Ok(out)
    }

    /// Number of scalars in all weights.
    pub fn count_params(&self) -> usize {
        self.weights().iter().map(|w| w.value().numel()).sum()
    }

    crate::models::training_methods! {
        /// Configures training (Keras `model.compile`): an optimizer and a loss by name or
        /// object, and metrics ([`IntoMetrics`](crate::trainers::IntoMetrics)) by name
        /// (`"accuracy"` resolves from the loss as in Keras) or object; `&[]` for none.
        compile,
        /// [`Sequential::compile`] with metric objects.
        compile_with,
        /// Keras `compile` with every argument (`loss`, `loss_weights`, `metrics`,
        /// `weighted_metrics`), each given once, as a list or by output name.
        compile_args,
        /// The compile state (optimizer, loss, metrics), once compiled.
        compile_state,
        /// The compile state, mutable (to change the learning rate between fits).
        compile_state_mut,
        /// Trains the model (Keras `model.fit`) and returns its History. Callbacks given in
        /// `args` run at each step (see [`crate::callbacks`]).
        fit,
        /// Loss and metrics on the data (Keras `model.evaluate(..., return_dict=True)`).
        evaluate,
    }

    fn compiled(&mut self) -> Result<&mut Compiled> {
        self.compiled.as_mut().ok_or_else(not_compiled)
    }

    /// Outputs for `x`, in batches (Keras `model.predict`).
    pub fn predict(&self, x: impl Into<Arrays>, args: PredictArgs) -> Result<Tensor> {
        let x = self.single_input(x.into())?;
        self.check_ready(&x)?;
        let mut out = trainer::predict(self, Arrays::One(x), args)?;
        Ok(out.swap_remove(0))
    }

    /// The one input array of `x` (a tensor, or a list or map holding one).
    fn single_input(&self, x: Arrays) -> Result<Tensor> {
        match x {
            Arrays::One(t) => Ok(t),
            other => {
                let mut v = trainers::arrays::inputs_in_order(
                    other,
                    &self.stack.input_names(),
                    Network::name(&self.stack),
                )?;
                Ok(v.swap_remove(0))
            }
        }
    }

    /// The network (layers and forward pass), as the trainer sees it.
    pub fn network(&self) -> &dyn Network {
        &self.stack
    }

    /// The network, mutable (for custom training steps, see [`trainers::minimize`]).
    pub fn network_mut(&mut self) -> &mut dyn Network {
        &mut self.stack
    }

    /// Trains on a [`Sequence`] (Keras `model.fit(py_dataset, ...)`); `shuffle`, `batch_size`
    /// and `validation_split` of `args` do not apply (the sequence batches and shuffles itself).
    pub fn fit_sequence(&mut self, data: &mut dyn Sequence, args: FitArgs) -> Result<History> {
        self.compiled()?;
        trainer::fit_sequence(self, data, args)
    }

    /// Loss and metrics over a [`Sequence`] (Keras `model.evaluate(py_dataset)`).
    pub fn evaluate_sequence(&mut self, data: &mut dyn Sequence, args: EvaluateArgs) -> Result<Logs> {
        self.compiled()?;
        trainer::evaluate_sequence(self, data, args)
    }

    /// Outputs for every batch of a [`Sequence`] (Keras `model.predict(py_dataset)`); builds
    /// the model from the first batch if it has no input shape yet.
    pub fn predict_sequence(&mut self, data: &mut dyn Sequence, args: PredictArgs) -> Result<Tensor> {
        let mut adapter = SequenceAdapter::new(data)?;
        if !self.stack.built {
            let mut first = None;
            adapter.for_each_batch(false, &mut |_, b| {
                first = Some(b.x);
                Ok(false)
            })?;
            let first = self.single_input(first.expect("non-empty sequence"))?;
            self.stack.prepare(std::slice::from_ref(&first))?;
        }
        let this: &Sequential = self;
        let check = |xs: &[Tensor]| xs.iter().try_for_each(|x| this.check_ready(x));
        let mut out = trainer::predict_adapter(this, &mut adapter, args.verbose, &check, args.callbacks)?;
        Ok(out.swap_remove(0))
    }

    /// Outputs for one batch, no bar (Keras `predict_on_batch`).
    pub fn predict_on_batch(&self, x: impl Into<Arrays>) -> Result<Tensor> {
        let x = &self.single_input(x.into())?;
        self.check_ready(x)?;
        #[cfg(feature = "cuda")]
        if let Some(y) = self.predict_graphed(x)? {
            return Ok(y);
        }
        let mut ctx = CallContext::new(false);
        Ok(self.stack.forward_one(x, &mut ctx)?.detach())
    }

    /// `predict_on_batch` through a captured CUDA graph once the call is device-resident (see
    /// `trainers/step_graph.rs`); `None` runs it eagerly.
    #[cfg(feature = "cuda")]
    fn predict_graphed(&self, x: &Tensor) -> Result<Option<Tensor>> {
        use trainers::step_graph::{addresses, enabled, Plan};
        let dev = self.weights().first().map(|w| w.value().device());
        let x = match dev {
            Some(d) if d != x.device() => x.to_device(d)?,
            _ => x.clone(),
        };
        if !enabled() || !x.device().is_cuda() {
            return Ok(None);
        }
        let Ok(mut graphs) = self.predict_graphs.try_lock() else { return Ok(None) };
        let vars = addresses(&self.weights().iter().map(|w| w.value()).collect::<Vec<_>>());
        let inputs = [Some(&x)];
        let forward = |x: &Tensor| -> Result<Tensor> {
            let mut ctx = CallContext::new(false);
            Ok(self.stack.forward_one(x, &mut ctx)?.detach())
        };
        let y = match graphs.plan(&inputs, &vars)? {
            // The caller owns the result: a copy, since the next replay rewrites the graph's.
            Plan::Replay => graphs.replay(&inputs)?[0].duplicate()?,
            Plan::Capture => {
                let out = graphs.capture(&inputs, |s| Ok(vec![forward(&s[0])?]))?;
                graphs.recorded(vars);
                out[0].duplicate()?
            }
            Plan::Eager(before) => {
                let y = forward(&x)?;
                graphs.eager_done(before, true);
                y
            }
        };
        Ok(Some(y))
    }

    /// Calls the model on a batch (Keras `model(x, training=...)`).
    pub fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_ready(x)?;
        let mut ctx = CallContext::new(training);
        self.stack.forward_one(x, &mut ctx)
    }

    fn check_ready(&self, x: &Tensor) -> Result<()> {
        if !self.stack.built {
            keras_bail!(
                State,
                "Model {} has not been built yet: give it an input shape, call build(), or fit it first",
                self.stack.base.name
            );
        }
        trainers::data::check_xy(x, None, None)?;
        let expected = self.stack.input_shape().expect("built models have inputs");
        crate::models::check_input_shape(&self.stack.base.name, 0, x, &expected)?;
        Ok(())
    }

    crate::models::training_methods! {
        /// One gradient step on one batch; returns the batch's loss and metrics (Keras
        /// `train_on_batch(..., return_dict=True)`).
        train_on_batch,
        /// Loss and metrics of one batch (Keras `test_on_batch(..., return_dict=True)`).
        test_on_batch,
    }

    /// The summary table Keras prints (`model.summary()`), as a string.
    ///
    /// Errors when `line_length` is too small for the columns (Keras's "Insufficient console
    /// width to print summary.").
    pub fn summary_string(&self, line_length: Option<usize>, show_trainable: bool) -> Result<String> {
        let rows: Vec<SummaryRow> = self
            .stack
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let shape = self.stack.output_shapes.get(i).map(|s| format_shape(s));
                layer_row(l.as_ref(), shape.unwrap_or_else(|| "?".into()), Vec::new())
            })
            .collect();
        let totals = model_totals(&self.weights(), &self.trainable_weights(), self.compiled.as_ref());
        let opts = SummaryArgs { line_length, show_trainable, functional: false };
        render_summary(&self.stack.base.name, &rows, &totals, &opts)
    }

    /// Prints the summary table (Keras `model.summary()`).
    pub fn summary(&self) {
        // The default width always fits the columns.
        match self.summary_string(None, false) {
            Ok(s) => print!("{s}"),
            Err(e) => eprintln!("{e}"),
        }
    }

    /// The Keras config (`model.get_config()`).
    pub fn get_config(&self) -> Value {
        self.stack.get_config_value()
    }

    /// The model as a layer of another model (its compile state is dropped).
    pub fn into_layer(self) -> Box<dyn Layer> {
        Box::new(self.stack)
    }

    /// Rebuilds a model (architecture, fresh weights) from `get_config()` output. Unknown
    /// layer classes and Lambda layers are refused.
    pub fn from_config(cfg: &Value) -> Result<Sequential> {
        Self::from_config_with(cfg, &mut |_, _| Ok(()))
    }

    /// [`Sequential::from_config`] calling `check(layer, input_shape)` before each layer is
    /// built (the loaders bound what a file may make us allocate).
    pub(crate) fn from_config_with(cfg: &Value, check: &mut LayerCheck<'_>) -> Result<Sequential> {
        let mut m = Sequential::new();
        if let Some(n) = cfg.get("name").and_then(Value::as_str) {
            m.stack.base.name = n.to_string();
        }
        let trainable = cfg.get("trainable").and_then(Value::as_bool).unwrap_or(true);
        let list = cfg
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config("Sequential config needs `layers`".into()))?;
        // Without an InputLayer, `build_input_shape` fixes the input before the layers are
        // added, so each layer is built (and checked) as it comes.
        let has_input = list.first().is_some_and(|l| {
            l.get("class_name").and_then(Value::as_str) == Some("InputLayer")
                || l.get("config").and_then(|c| c.get("batch_input_shape")).is_some_and(|s| !s.is_null())
        });
        if !has_input {
            if let Some(Value::Array(dims)) = cfg.get("build_input_shape") {
                let dims: Option<Vec<usize>> =
                    dims.iter().skip(1).map(|d| d.as_u64().map(|v| v as usize)).collect();
                if let Some(dims) = dims.filter(|d| !d.is_empty()) {
                    m.stack.input = Some(InputLayer::new(&dims));
                }
            }
        }
        for l in list {
            let layer = layers::deserialize(l)?;
            if layer.as_any().downcast_ref::<InputLayer>().is_none() {
                let input =
                    m.stack.output_shapes.last().cloned().or_else(|| m.stack.input_shape()).or_else(|| {
                        layer.base().input_shape.as_ref().map(|s| {
                            let mut v = vec![None];
                            v.extend(s.iter().map(|&d| Some(d)));
                            v
                        })
                    });
                if let Some(input) = input {
                    check(layer.as_ref(), &input)?;
                }
            }
            m.add_boxed(layer)?;
        }
        if !m.stack.built {
            if let Some(Value::Array(dims)) = cfg.get("build_input_shape") {
                let shape: Shape = dims.iter().map(|d| d.as_u64().map(|v| v as usize)).collect();
                m.build(&shape)?;
            }
        }
        if !trainable {
            Layer::set_trainable(&mut m.stack, false);
        }
        Ok(m)
    }

    /// Assigns `(index into weights(), value)` pairs (the loaders read everything first, then
    /// assign, so a failed load leaves the model unchanged).
    pub(crate) fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()> {
        crate::models::assign_weights_by_index(self.stack.variables_mut(), values)
    }

    /// Creates the optimizer's slots for the trainable weights (Keras
    /// `optimizer.build(model.trainable_variables)`), so saved optimizer state can load.
    pub(crate) fn build_optimizer(&mut self) -> Result<()> {
        let vars: Vec<&Variable> = self.stack.layers.iter().flat_map(|l| l.trainable_weights()).collect();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.build(&vars)?;
        }
        Ok(())
    }

    /// Saves the model (Keras `model.save`): `.keras` (architecture, weights, compile config
    /// and optimizer state in Keras 3's zip format) or `.h5` / `.hdf5` (the legacy HDF5
    /// format). Any other extension is an error, as in Keras. The write is atomic.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::save_model(self, path)
    }

    /// Loads a Sequential model saved by Keras or keras-rs (`.keras` or legacy `.h5`), as
    /// [`load_model`](crate::models::load_model) does; a file holding a Functional model is
    /// an error (load it with `load_model` or [`Functional::load`](crate::models::Functional::load)).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Sequential> {
        crate::saving::load_model(path)?.into_sequential()
    }

    /// Saves the weights (and the optimizer state, when compiled) in Keras 3's
    /// `.weights.h5` layout (Keras `model.save_weights`). The name must end in `.weights.h5`.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::save_weights(self, self.built(), path.as_ref())
    }

    /// Loads weights (Keras `model.load_weights`) from a `.weights.h5` or `.keras` file
    /// (Keras 3 layout, with the optimizer state when the model is compiled) or a legacy
    /// `.h5` file (by position). The model must be built; nothing is assigned on error.
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::saving::load_weights(self, path.as_ref(), crate::saving::LoadWeightsArgs::default())
    }

    /// [`Sequential::load_weights`] with Keras's `by_name` (legacy `.h5` only) and
    /// `skip_mismatch` options.
    pub fn load_weights_with(
        &mut self,
        path: impl AsRef<std::path::Path>,
        opts: crate::saving::LoadWeightsArgs,
    ) -> Result<()> {
        crate::saving::load_weights(self, path.as_ref(), opts)
    }
}

train_model_impl! {
    impl Sequential {
        net: stack,
        forward: [built, get_config, save],
    }
}

/// A Sequential model's stack is a layer of other models (Keras: models nest).
impl Layer for Stack {
    fn class_name(&self) -> &'static str {
        "Sequential"
    }
    fn base(&self) -> &crate::layers::LayerBase {
        &self.base
    }
    fn base_mut(&mut self) -> &mut crate::layers::LayerBase {
        &mut self.base
    }
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if self.built {
            return Ok(());
        }
        self.build_from(input_shape.to_vec())
    }
    fn built(&self) -> bool {
        self.built
    }
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        let mut shape = input_shape.to_vec();
        for layer in &self.layers {
            shape = layer.compute_output_shape(&shape)?;
        }
        Ok(shape)
    }
    fn call(&self, inputs: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.forward_one(inputs, ctx)
    }
    fn weights(&self) -> Vec<&Variable> {
        self.layers.iter().flat_map(|l| l.weights()).collect()
    }
    fn weights_mut(&mut self) -> Vec<&mut Variable> {
        self.layers.iter_mut().flat_map(|l| l.weights_mut()).collect()
    }
    fn before_training_step(&mut self) -> Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.before_training_step())
    }
    fn trainable_weights(&self) -> Vec<&Variable> {
        let mut flags = Vec::new();
        crate::models::functional::graph::trainable_flags(self, true, &mut flags);
        Layer::weights(self).into_iter().zip(flags).filter(|(_, t)| *t).map(|(w, _)| w).collect()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.base.trainable = trainable;
        for l in self.layers.iter_mut() {
            l.set_trainable(trainable);
        }
    }
    fn regularization_losses(&self) -> Result<Vec<Tensor>> {
        if !self.base.trainable {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for layer in &self.layers {
            out.extend(layer.regularization_losses()?);
        }
        Ok(out)
    }
    fn get_config(&self) -> Value {
        self.get_config_value()
    }
    fn serialize(&self) -> Value {
        let mut v = json!({
            "module": "keras",
            "class_name": "Sequential",
            "config": self.get_config_value(),
            "registered_name": null,
        });
        if let Some(s) = self.input_shape() {
            v["build_config"] = json!({ "input_shape": s });
        }
        v
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Whether a layer is a nested Sequential model.
pub(crate) fn is_stack(layer: &dyn Layer) -> bool {
    layer.as_any().is::<Stack>()
}

/// The layers of a nested Sequential model.
pub(crate) fn stack_layers(layer: &dyn Layer) -> Option<Vec<&dyn Layer>> {
    layer.as_any().downcast_ref::<Stack>().map(|s| s.layers.iter().map(|l| l.as_ref()).collect())
}

/// A nested Sequential model's name, input shape (once built) and layers, for `plot_model`.
pub(crate) fn stack_parts(layer: &dyn Layer) -> Option<(&str, Option<Shape>, Vec<&dyn Layer>)> {
    let s = layer.as_any().downcast_ref::<Stack>()?;
    let shape = s.input_shape().filter(|_| s.built);
    Some((s.base.name.as_str(), shape, s.layers.iter().map(|l| l.as_ref()).collect()))
}

/// Calling a Sequential model on symbolic tensors nests it as a layer of a Functional
/// graph (its compile state is dropped, as Keras ignores a nested model's).
impl crate::models::SymbolicCall for Sequential {
    fn into_shared(self) -> crate::models::SharedLayer {
        crate::models::SharedLayer::from_boxed(self.into_layer())
    }
}
