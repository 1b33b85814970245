//! The loops behind `fit`, `evaluate`, `predict` and the `*_on_batch` steps, and the standard
//! training and test steps (Keras `Trainer`), for models with any number of inputs and outputs.

use std::io::Write;

use keras_engine::{with_global_rng, GradientTape, Rng};

use super::args::{EvaluateArgs, FitArgs, PredictArgs};
use super::arrays::{check_cardinality, inputs_in_order, outputs_in_order, sample_weights_in_order, Arrays};
use super::compile::{Compiled, LossValues};
use super::data::check_batch_size;
use super::data_adapter::{DataAdapter, SequenceAdapter, TensorAdapter};
use super::history::{History, Logs};
use super::network::Network;
use super::train_model::TrainModel;
use crate::callbacks::{CallbackList, CallbackModel, CallbackParams, CallbackRef};
use crate::layers::CallContext;
use crate::optimizers::Optimizer;
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result, Tensor};

/// A batch matched to a model: the inputs in input order, and the targets and sample weights
/// per output (`None` for an output the data leaves out).
#[derive(Clone, Debug)]
pub struct ModelBatch {
    /// One tensor per model input.
    pub x: Vec<Tensor>,
    /// One entry per model output.
    pub y: Vec<Option<Tensor>>,
    /// One entry per model output.
    pub sample_weight: Vec<Option<Tensor>>,
    /// Number of samples.
    pub size: usize,
}

impl ModelBatch {
    /// Matches `batch` to a model with inputs `input_names` and outputs `output_names`;
    /// `wanted[i]` says whether output `i` needs a target (it has a loss). Errors name the
    /// wrong count, the unknown or missing names, or the sizes that disagree.
    pub fn new(
        batch: Batch,
        input_names: &[String],
        output_names: &[String],
        wanted: &[bool],
        model: &str,
    ) -> Result<Self> {
        let Batch { x, y, sample_weight } = batch;
        let size = check_cardinality(&[
            ("x", Some(&x)),
            ("y", y.as_ref()),
            ("sample_weight", sample_weight.as_ref()),
        ])?;
        let n_out = output_names.len().max(1);
        let x = match x {
            // The common case (one input): no name matching.
            Arrays::One(t) if input_names.len() <= 1 => vec![t],
            other => inputs_in_order(other, input_names, model)?,
        };
        let one = [String::new()];
        let out_names = if output_names.is_empty() { &one[..] } else { output_names };
        let y = match y {
            Some(Arrays::One(t)) if n_out == 1 => vec![Some(t)],
            Some(other) => outputs_in_order(other, out_names, wanted, "y")?,
            None => vec![None; n_out],
        };
        let sample_weight = match sample_weight {
            Some(Arrays::One(t)) if n_out == 1 => vec![Some(t)],
            Some(other) => sample_weights_in_order(other, out_names, wanted)?,
            None => vec![None; n_out],
        };
        Ok(ModelBatch { x, y, sample_weight, size })
    }
}

/// The loss, the caller's value, the gradients and the state updates of one forward pass.
type Gradients<R> = (Tensor, R, Vec<Option<Tensor>>, Vec<(String, Tensor)>);

/// Gradients of a loss with respect to the trainable variables of `net`: `f` runs the
/// forward pass in training mode and returns the loss (plus anything else the caller wants
/// back); the model's regularization and activity penalties are added to it. Returns the
/// loss (detached), `f`'s extra value, the gradients (in trainable-variable order) and the
/// state updates (moving statistics) the call produced.
fn gradients<N: Network + ?Sized, R>(
    net: &mut N,
    loss_scale: Option<f32>,
    f: impl FnOnce(&N, &mut CallContext) -> Result<(Tensor, R)>,
) -> Result<Gradients<R>> {
    // Keras layers that assign their variables in a training call do it before the forward.
    net.before_training_step()?;
    let tape = GradientTape::new();
    let mut ctx = CallContext::new(true);
    let (loss, extra) = f(&*net, &mut ctx)?;
    let loss = add_extra_losses(&*net, loss, &std::mem::take(&mut ctx.losses))?;
    // Only values leave the step: nothing but the loss may hold the graph, so the backward
    // pass can free each layer's activations as it passes them (`into_gradient`).
    let updates: Vec<(String, Tensor)> = ctx.updates.into_iter().map(|(p, v)| (p, v.detach())).collect();
    let loss_value = loss.detach();
    let vars = net.variables_mut();
    let sources: Vec<&Tensor> = vars.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
    // Keras `train_step`: `loss = optimizer.scale_loss(loss)` before differentiating (the
    // optimizer unscales the gradients).
    let target = match loss_scale {
        Some(s) => keras_engine::ops::mul(&loss, &Tensor::scalar(s))?,
        None => loss,
    };
    let grads = tape.into_gradient(target, &sources)?;
    Ok((loss_value, extra, grads, updates))
}

/// Applies gradients to the trainable variables of `net` with `optimizer`, then the
/// variables' constraints and the state updates of the forward pass.
fn apply<N: Network + ?Sized>(
    net: &mut N,
    optimizer: &mut dyn Optimizer,
    grads: Vec<Option<Tensor>>,
    updates: Vec<(String, Tensor)>,
) -> Result<()> {
    // The graph is gone: variables are uniquely owned again and update in place.
    let mut vars: Vec<_> = net.variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| v).collect();
    let grads: Vec<Tensor> = grads
        .into_iter()
        .zip(vars.iter())
        .map(|(g, v)| g.unwrap_or_else(|| Tensor::zeros(v.shape().to_vec())))
        .collect();
    optimizer.apply_gradients(&grads, &mut vars)?;
    // Keras's optimizer assigns `constraint(variable)` after every update.
    for v in vars.iter_mut() {
        v.apply_constraint()?;
    }
    drop(vars);
    apply_updates(net, updates)
}

/// One optimizer update of `net` (the core of Keras's `train_step`, for custom steps): `f`
/// runs the forward pass with the training context and returns a loss and any value to keep;
/// the model's regularization penalties are added, the gradients of the trainable variables
/// of `net` are taken, and `optimizer` applies them. Other models used inside `f` (a
/// discriminator judging a generator's output) are not updated. Returns the loss and `f`'s
/// value.
///
/// ```
/// use keras::layers::{Dense, Input};
/// use keras::models::Sequential;
/// use keras::optimizers::SGD;
/// use keras::trainers::{minimize, Network};
/// use keras::Tensor;
///
/// let mut m = Sequential::new();
/// m.add(Input::new(&[2])).unwrap();
/// m.add(Dense::new(1)).unwrap();
/// let mut opt = SGD::new().learning_rate(0.1);
/// let x = Tensor::ones([4, 2]);
/// let mean_square = |net: &dyn Network, ctx: &mut keras::layers::CallContext| -> keras::Result<Tensor> {
///     let y = net.forward(&[x.clone()], ctx)?;
///     Ok(keras::ops::mean_all(&keras::ops::mul(&y[0], &y[0])?)?)
/// };
/// let (before, _) = minimize(m.network_mut(), &mut opt, |net, ctx| Ok((mean_square(net, ctx)?, ()))).unwrap();
/// let (after, _) = minimize(m.network_mut(), &mut opt, |net, ctx| Ok((mean_square(net, ctx)?, ()))).unwrap();
/// assert!(after.item().unwrap() < before.item().unwrap());
/// ```
pub fn minimize<N: Network + ?Sized, R>(
    net: &mut N,
    optimizer: &mut dyn Optimizer,
    f: impl FnOnce(&N, &mut CallContext) -> Result<(Tensor, R)>,
) -> Result<(Tensor, R)> {
    let (loss, extra, grads, updates) = gradients(net, optimizer.loss_scale(), f)?;
    apply(net, optimizer, grads, updates)?;
    Ok((loss, extra))
}

/// One gradient step on a matched batch (Keras `train_step`): forward with the weights before
/// the update, the compiled loss, backward, optimizer step, state updates, metrics.
pub fn train_step<N: Network + ?Sized>(net: &mut N, c: &mut Compiled, data: &ModelBatch) -> Result<()> {
    #[cfg(feature = "cuda")]
    {
        let data = super::step_graph::batch_to_model(&mut *net, data)?;
        if super::step_graph::enabled() && data.x.iter().all(|t| t.device().is_cuda()) {
            return graph_step(net, c, &data);
        }
        let (loss, y_pred) = step_core(net, c, &data.x, &data.y, &data.sample_weight)?;
        finish_step(c, &loss, &y_pred, &data)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let (loss, y_pred) = step_core(net, c, &data.x, &data.y, &data.sample_weight)?;
        finish_step(c, &loss, &y_pred, data)
    }
}

/// A training step through a CUDA graph when it can be captured (see `step_graph.rs`). The
/// graph's inputs are the batch's tensors (inputs, then the present targets, then the present
/// sample weights); its outputs are the total loss, the per-output losses and the predictions.
#[cfg(feature = "cuda")]
fn graph_step<N: Network + ?Sized>(net: &mut N, c: &mut Compiled, data: &ModelBatch) -> Result<()> {
    use super::step_graph::{addresses, Plan};
    let mut inputs: Vec<Option<&Tensor>> = data.x.iter().map(Some).collect();
    inputs.extend(data.y.iter().map(Option::as_ref));
    inputs.extend(data.sample_weight.iter().map(Option::as_ref));
    let vars = {
        let v = net.variables_mut();
        let ts: Vec<&Tensor> = v.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
        addresses(&ts)
    };
    // Splits the graph's outputs back into the loss values and the predictions.
    let n_per = (0..c.num_outputs()).filter(|&i| c.tracks_loss(i)).count();
    let split = |out: Vec<Tensor>, c: &Compiled| -> (LossValues, Vec<Tensor>) {
        let mut it = out.into_iter();
        let total = it.next().expect("total loss");
        let idx: Vec<usize> = (0..c.num_outputs()).filter(|&i| c.tracks_loss(i)).collect();
        let per_output = idx.into_iter().zip(it.by_ref().take(n_per)).collect();
        (LossValues { total, per_output }, it.collect())
    };
    match c.graphs.plan(&inputs, &vars)? {
        Plan::Replay => {
            if c.optimizer.prepare_replay()? {
                let out = c.graphs.replay(&inputs)?;
                let (loss, y_pred) = split(out, c);
                return finish_step(c, &loss, &y_pred, data);
            }
            c.graphs.reset();
            let (loss, y_pred) = step_core(net, c, &data.x, &data.y, &data.sample_weight)?;
            finish_step(c, &loss, &y_pred, data)
        }
        Plan::Capture => {
            let mut graphs = std::mem::take(&mut c.graphs);
            let (nx, pattern_y, pattern_w): (usize, Vec<bool>, Vec<bool>) = (
                data.x.len(),
                data.y.iter().map(Option::is_some).collect(),
                data.sample_weight.iter().map(Option::is_some).collect(),
            );
            let out = graphs.capture(&inputs, |s| {
                // `s` holds the present tensors in order: rebuild the batch from it.
                let mut it = s.iter().cloned();
                let x: Vec<Tensor> = it.by_ref().take(nx).collect();
                let y: Vec<Option<Tensor>> =
                    pattern_y.iter().map(|p| if *p { it.next() } else { None }).collect();
                let w: Vec<Option<Tensor>> =
                    pattern_w.iter().map(|p| if *p { it.next() } else { None }).collect();
                let (loss, y_pred) = step_core(net, c, &x, &y, &w)?;
                let mut out = vec![loss.total];
                out.extend(loss.per_output.into_iter().map(|(_, v)| v));
                out.extend(y_pred);
                Ok(out)
            });
            let v = net.variables_mut();
            let ts: Vec<&Tensor> = v.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
            graphs.recorded(addresses(&ts));
            c.graphs = graphs;
            let (loss, y_pred) = split(out?, c);
            finish_step(c, &loss, &y_pred, data)
        }
        Plan::Eager(before) => {
            let (loss, y_pred) = step_core(net, c, &data.x, &data.y, &data.sample_weight)?;
            c.graphs.eager_done(before, true);
            finish_step(c, &loss, &y_pred, data)
        }
    }
}

/// The device part of a training step: forward, loss, backward, optimizer update, state
/// updates. Returns the loss values and the predictions.
fn step_core<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &[Tensor],
    y: &[Option<Tensor>],
    sample_weight: &[Option<Tensor>],
) -> Result<(LossValues, Vec<Tensor>)> {
    let compiled: &Compiled = c;
    let (total, (per_output, y_pred), grads, updates) =
        gradients(net, compiled.optimizer.loss_scale(), |net, ctx| {
            let y_pred = net.forward(x, ctx)?;
            let loss = compiled.compute_loss(y, &y_pred, sample_weight)?;
            let per_output: Vec<(usize, Tensor)> =
                loss.per_output.into_iter().map(|(i, v)| (i, v.detach())).collect();
            Ok((loss.total, (per_output, y_pred.iter().map(Tensor::detach).collect::<Vec<_>>())))
        })?;
    apply(net, c.optimizer.as_mut(), grads, updates)?;
    Ok((LossValues { total, per_output }, y_pred))
}

/// The host part of a training step: the loss values and the metrics.
fn finish_step(c: &mut Compiled, loss: &LossValues, y_pred: &[Tensor], data: &ModelBatch) -> Result<()> {
    c.loss_tracker.update_state_value(loss.total.item()?, data.size as f32);
    c.record_output_losses(&loss.per_output)?;
    c.update_metrics(&data.y, y_pred, &data.sample_weight)
}

/// The compiled loss plus the model's weight-regularization penalties and the activity
/// penalties recorded during the forward pass (Keras `compute_loss` adds `sum(model.losses)`).
fn add_extra_losses<N: Network + ?Sized>(net: &N, mut loss: Tensor, activity: &[Tensor]) -> Result<Tensor> {
    if let Some(reg) = net.regularization_loss()? {
        loss = keras_engine::ops::add(&loss, &reg)?;
    }
    for a in activity {
        loss = keras_engine::ops::add(&loss, a)?;
    }
    Ok(loss)
}

/// Assigns state updates (moving statistics) produced during a call.
fn apply_updates<N: Network + ?Sized>(net: &mut N, updates: Vec<(String, Tensor)>) -> Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut vars = net.variables_mut();
    for (path, value) in updates {
        if let Some((v, _)) = vars.iter_mut().find(|(v, _)| v.path() == path) {
            v.assign(&value)?;
        }
    }
    Ok(())
}

/// Forward + loss + metrics without an update (Keras `test_step`) on a matched batch.
pub fn test_step<N: Network + ?Sized>(net: &N, c: &mut Compiled, data: &ModelBatch) -> Result<()> {
    let mut ctx = CallContext::new(false);
    let y_pred = net.forward(&data.x, &mut ctx)?;
    let loss = c.compute_loss(&data.y, &y_pred, &data.sample_weight)?;
    let total = add_extra_losses(net, loss.total, &ctx.losses)?;
    c.loss_tracker.update_state_value(total.item()?, data.size as f32);
    c.record_output_losses(&loss.per_output)?;
    c.update_metrics(&data.y, &y_pred, &data.sample_weight)
}

/// Matches a raw batch to `net` (names cached in the compile state), building the model for
/// it if needed.
fn match_batch(net: &mut dyn Network, c: &mut Compiled, batch: Batch) -> Result<ModelBatch> {
    if batch.y.is_none() {
        keras_bail!(Value, "Training and evaluation need targets: the batch has no `y`");
    }
    let (inputs, outputs, wanted) = c.names(&*net)?;
    let data = ModelBatch::new(batch, inputs, outputs, wanted, net.name())?;
    net.prepare(&data.x)?;
    Ok(data)
}

/// The standard `train_step` on a raw batch: match it to the model, one gradient step, and
/// the logs (what [`TrainModel::train_step`] does unless a model overrides it).
pub fn default_train_step(net: &mut dyn Network, c: &mut Compiled, batch: Batch) -> Result<Logs> {
    let data = match_batch(net, c, batch)?;
    train_step(net, c, &data)?;
    Ok(c.logs())
}

/// The standard `test_step` on a raw batch (see [`default_train_step`]).
pub fn default_test_step(net: &mut dyn Network, c: &mut Compiled, batch: Batch) -> Result<Logs> {
    let data = match_batch(net, c, batch)?;
    test_step(&*net, c, &data)?;
    Ok(c.logs())
}

/// In-memory training data, batched by a fresh [`TensorAdapter`] each epoch so the shuffle
/// order depends only on the random generator's state at the start of the epoch (which
/// `BackupAndRestore` checkpoints), not on the orders of earlier epochs: a resumed run then
/// sees the same batches as an uninterrupted one.
struct EpochTensors {
    x: Arrays,
    y: Option<Arrays>,
    sample_weight: Option<Arrays>,
    batch_size: usize,
    n: usize,
}

impl DataAdapter for EpochTensors {
    fn num_batches(&self) -> usize {
        self.n.div_ceil(self.batch_size)
    }

    fn for_each_batch(
        &mut self,
        shuffle: bool,
        f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
    ) -> Result<()> {
        let mut a =
            TensorAdapter::new(self.x.clone(), self.y.clone(), self.sample_weight.clone(), self.batch_size)?;
        a.for_each_batch(shuffle, f)
    }
}

/// Keras `fit` on in-memory arrays: `x` one array, a list (input order) or a map by input
/// name; `y` likewise by output (none for a model whose own `train_step` needs no targets);
/// `args.sample_weight` one array for every output or one per output.
pub fn fit(model: &mut dyn TrainModel, x: Arrays, y: Option<Arrays>, mut args: FitArgs) -> Result<History> {
    check_fit_args(&args)?;
    if !(0.0..1.0).contains(&args.validation_split) {
        keras_bail!(
            InvalidArgument,
            "`validation_split` must be in [0, 1), received validation_split={}",
            args.validation_split
        );
    }
    let sw = args.sample_weight.take();
    let n_all = check_cardinality(&[("x", Some(&x)), ("y", y.as_ref()), ("sample_weight", sw.as_ref())])?;
    if n_all == 0 {
        keras_bail!(Value, "Expected input data to be non-empty (received x with 0 samples)");
    }
    // Validation data: explicit, or the last fraction of the arrays (before any shuffling).
    let (x, y, sw, val) = if args.validation_data.is_some() || args.validation_split == 0.0 {
        (x, y, sw, None)
    } else {
        let split = ((n_all as f64) * (1.0 - args.validation_split as f64)).floor() as usize;
        if split == 0 || split == n_all {
            keras_bail!(
                Value,
                "Training data contains {n_all} samples, which is not sufficient to split it into a validation and training set as specified by `validation_split={}`. Either provide more data, or a different value for the `validation_split` argument.",
                args.validation_split
            );
        }
        let head = |a: &Arrays| a.slice_rows(0, split);
        let tail = |a: &Arrays| a.slice_rows(split, n_all);
        let val = (tail(&x)?, y.as_ref().map(tail).transpose()?, sw.as_ref().map(tail).transpose()?);
        (head(&x)?, y.as_ref().map(head).transpose()?, sw.as_ref().map(head).transpose()?, Some(val))
    };
    model.prepare_inputs(&x)?;
    let mut train = EpochTensors { x, y, sample_weight: sw, batch_size: args.batch_size, n: 0 };
    train.n = check_cardinality(&[("x", Some(&train.x))])?;
    let vb = args.validation_batch_size.unwrap_or(args.batch_size);
    let val = match (val, args.validation_data.take()) {
        (Some((vx, vy, vw)), _) => Some(TensorAdapter::new(vx, vy, vw, vb)?),
        (None, Some((vx, vy, vw))) => Some(TensorAdapter::new(vx, Some(vy), vw, vb)?),
        (None, None) => None,
    };
    let mut val = val;
    let callbacks = std::mem::take(&mut args.callbacks);
    fit_adapter(model, &mut train, val.as_mut().map(|v| v as &mut dyn DataAdapter), &args, callbacks)
}

/// Keras `fit` on a [`Sequence`] (`PyDataset`). `shuffle` and `batch_size` are the sequence's
/// business; `validation_split` is refused as in Keras.
pub fn fit_sequence(
    model: &mut dyn TrainModel,
    data: &mut dyn Sequence,
    mut args: FitArgs,
) -> Result<History> {
    check_fit_args(&args)?;
    if args.validation_split > 0.0 {
        keras_bail!(
            InvalidArgument,
            "`validation_split` is only supported for Tensors or NumPy arrays, found a `Sequence`; pass `validation_data` instead"
        );
    }
    let vb = args.validation_batch_size.unwrap_or(args.batch_size);
    let mut val = match args.validation_data.take() {
        Some((vx, vy, vw)) => Some(TensorAdapter::new(vx, Some(vy), vw, vb)?),
        None => None,
    };
    let mut train = SequenceAdapter::new(data)?;
    let callbacks = std::mem::take(&mut args.callbacks);
    fit_adapter(model, &mut train, val.as_mut().map(|v| v as &mut dyn DataAdapter), &args, callbacks)
}

fn check_fit_args(args: &FitArgs) -> Result<()> {
    check_batch_size(args.batch_size)?;
    if let Some(vb) = args.validation_batch_size {
        check_batch_size(vb)?;
    }
    if args.validation_freq == 0 {
        keras_bail!(InvalidArgument, "`validation_freq` must be a positive integer, received 0");
    }
    Ok(())
}

/// Keras `_get_metrics_result_or_logs`: the model's metric values when they have the keys of
/// the last step's logs (the standard steps), otherwise the last step's logs (a custom step
/// that reports other values).
fn metrics_result_or_logs(model: &dyn TrainModel, logs: Logs) -> Logs {
    let metrics = model.metrics_result();
    if metrics.len() == logs.len() && metrics.keys().eq(logs.keys()) {
        metrics
    } else {
        logs
    }
}

/// The epoch loop shared by every kind of training data (Keras `Trainer.fit`): callbacks
/// run at every step; each batch goes to the model's [`TrainModel::train_step`] (the standard
/// step unless the model overrides it), so callbacks see the whole model in between.
pub fn fit_adapter(
    model: &mut dyn TrainModel,
    train: &mut dyn DataAdapter,
    mut val: Option<&mut dyn DataAdapter>,
    args: &FitArgs,
    callbacks: Vec<CallbackRef<'_>>,
) -> Result<History> {
    let steps = train.num_batches();
    let params = CallbackParams {
        verbose: args.verbose,
        epochs: args.epochs,
        steps: Some(steps),
        validation: val.is_some(),
    };
    let mut cbs = CallbackList::new(callbacks, true, args.verbose != 0, &params);
    let mut cm = CallbackModel::new(model);
    cbs.on_train_begin(&mut cm, &mut Logs::new())?;
    if let Some(state) = cm.restored_rng.take() {
        with_global_rng(|r| *r = Rng::from_state(state));
    }
    let initial_epoch = cm.initial_epoch.unwrap_or(args.initial_epoch);
    let mut training_logs = Logs::new();
    for epoch in initial_epoch..args.epochs {
        cm.model_mut()?.reset_metrics();
        cbs.on_epoch_begin(epoch, &mut cm, &mut Logs::new())?;
        let mut last = Logs::new();
        train.for_each_batch(args.shuffle, &mut |step, batch| {
            cbs.on_train_batch_begin(step, &mut cm, &mut Logs::new())?;
            let mut logs = cm.model_mut()?.train_step(batch)?;
            last.clone_from(&logs);
            cbs.on_train_batch_end(step, &mut cm, &mut logs)?;
            Ok(!cm.stop_training)
        })?;
        train.on_epoch_end();
        let mut logs = metrics_result_or_logs(cm.model(), last);
        if let Some(v) = val.as_deref_mut() {
            if (epoch + 1).is_multiple_of(args.validation_freq) {
                let vlogs = evaluate_loop(&mut cm, v, &mut cbs)?;
                for (k, v) in vlogs {
                    logs.insert(format!("val_{k}"), v);
                }
            }
        }
        cbs.on_epoch_end(epoch, &mut cm, &mut logs)?;
        training_logs = logs;
        if cm.stop_training {
            break;
        }
    }
    if args.epochs > 0 {
        // Keras swaps in the moving averages of the weights when the optimizer uses EMA.
        if let Ok((net, c)) = cm.model_mut()?.parts_mut() {
            let mut vars: Vec<_> =
                net.variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| v).collect();
            c.optimizer.finalize_variable_values(&mut vars)?;
        }
    }
    cbs.on_train_end(&mut cm, &mut training_logs)?;
    let _ = std::io::stdout().flush();
    Ok(cbs.history())
}

/// One pass of evaluation with callbacks (Keras `Trainer.evaluate`'s loop).
fn evaluate_loop(cm: &mut CallbackModel, data: &mut dyn DataAdapter, cbs: &mut CallbackList) -> Result<Logs> {
    cm.stop_evaluating = false;
    cbs.on_test_begin(cm, &mut Logs::new())?;
    cm.model_mut()?.reset_metrics();
    let mut last = Logs::new();
    data.for_each_batch(false, &mut |step, batch| {
        cbs.on_test_batch_begin(step, cm, &mut Logs::new())?;
        let mut logs = cm.model_mut()?.test_step(batch)?;
        last.clone_from(&logs);
        cbs.on_test_batch_end(step, cm, &mut logs)?;
        Ok(!cm.stop_evaluating)
    })?;
    let mut logs = metrics_result_or_logs(cm.model(), last);
    cbs.on_test_end(cm, &mut logs)?;
    Ok(logs)
}

/// The evaluation loop shared by every kind of data: loss and metrics over one pass, with
/// the callbacks' `on_test_*` hooks and a progress bar when `verbose > 0`.
pub fn evaluate_adapter(
    model: &mut dyn TrainModel,
    data: &mut dyn DataAdapter,
    verbose: u8,
    callbacks: Vec<CallbackRef<'_>>,
) -> Result<Logs> {
    let params = CallbackParams { verbose, epochs: 1, steps: Some(data.num_batches()), validation: false };
    let mut cbs = CallbackList::new(callbacks, false, verbose != 0, &params);
    let mut cm = CallbackModel::new(model);
    let logs = evaluate_loop(&mut cm, data, &mut cbs)?;
    let _ = std::io::stdout().flush();
    Ok(logs)
}

/// Keras `evaluate`: the loss and metrics over the data (`x`, `y` and
/// `args.sample_weight` as for [`fit`]).
pub fn evaluate(
    model: &mut dyn TrainModel,
    x: Arrays,
    y: Option<Arrays>,
    mut args: EvaluateArgs,
) -> Result<Logs> {
    check_batch_size(args.batch_size)?;
    let sw = args.sample_weight.take();
    let n = check_cardinality(&[("x", Some(&x)), ("y", y.as_ref()), ("sample_weight", sw.as_ref())])?;
    if n == 0 {
        keras_bail!(Value, "Expected input data to be non-empty (received x with 0 samples)");
    }
    let mut data = TensorAdapter::new(x, y, sw, args.batch_size)?;
    evaluate_adapter(model, &mut data, args.verbose, args.callbacks)
}

/// Keras `evaluate` on a [`Sequence`].
pub fn evaluate_sequence(
    model: &mut dyn TrainModel,
    data: &mut dyn Sequence,
    args: EvaluateArgs,
) -> Result<Logs> {
    let mut data = SequenceAdapter::new(data)?;
    evaluate_adapter(model, &mut data, args.verbose, args.callbacks)
}

/// The prediction loop shared by every kind of data: each batch's inputs are matched to the
/// model's inputs, checked with `check`, and run forward; returns one array per output.
pub fn predict_adapter(
    model: &dyn TrainModel,
    data: &mut dyn DataAdapter,
    verbose: u8,
    check: &dyn Fn(&[Tensor]) -> Result<()>,
    callbacks: Vec<CallbackRef<'_>>,
) -> Result<Vec<Tensor>> {
    let steps = data.num_batches();
    let params = CallbackParams { verbose, epochs: 1, steps: Some(steps), validation: false };
    let mut cbs = CallbackList::new(callbacks, false, verbose != 0, &params);
    let mut cm = CallbackModel::read_only(model);
    let net = model.network();
    let names = net.input_names();
    cbs.on_predict_begin(&mut cm, &mut Logs::new())?;
    let mut outs: Vec<Vec<Tensor>> = Vec::new();
    data.for_each_batch(false, &mut |step, batch| {
        cbs.on_predict_batch_begin(step, &mut cm, &mut Logs::new())?;
        check_cardinality(&[("x", Some(&batch.x))])?;
        let x = match batch.x {
            Arrays::One(t) if names.len() <= 1 => vec![t],
            other => inputs_in_order(other, &names, net.name())?,
        };
        check(&x)?;
        let mut ctx = CallContext::new(false);
        let out: Vec<Tensor> = net.forward(&x, &mut ctx)?.iter().map(Tensor::detach).collect();
        // Keras hands callbacks the batch outputs; with several outputs, the first one.
        if let Some(first) = out.first() {
            cbs.on_predict_batch_end(step, first, &mut cm, &mut Logs::new())?;
        }
        outs.push(out);
        Ok(!cm.stop_predicting)
    })?;
    cbs.on_predict_end(&mut cm, &mut Logs::new())?;
    let _ = std::io::stdout().flush();
    if outs.len() == 1 {
        return Ok(outs.pop().expect("one batch"));
    }
    let n_out = outs.first().map_or(0, Vec::len);
    (0..n_out)
        .map(|i| {
            let parts: Vec<Tensor> = outs.iter().map(|o| o[i].clone()).collect();
            Ok(Tensor::concat_rows(&parts)?)
        })
        .collect()
}

/// Keras `predict`: every output for every sample, computed in batches (`x` as for [`fit`]).
pub fn predict(model: &dyn TrainModel, x: Arrays, args: PredictArgs) -> Result<Vec<Tensor>> {
    check_batch_size(args.batch_size)?;
    let n = check_cardinality(&[("x", Some(&x))])?;
    if n == 0 {
        keras_bail!(Value, "Expected input data to be non-empty (received x with 0 samples)");
    }
    let mut data = TensorAdapter::new(x, None, None, args.batch_size)?;
    predict_adapter(model, &mut data, args.verbose, &|_| Ok(()), args.callbacks)
}

/// Keras `train_on_batch(..., return_dict=True)`: one step (the model's
/// [`TrainModel::train_step`]) on one batch, with the metrics reset first.
pub fn train_on_batch(
    model: &mut dyn TrainModel,
    x: Arrays,
    y: Option<Arrays>,
    sample_weight: Option<Arrays>,
) -> Result<Logs> {
    model.reset_metrics();
    model.train_step(Batch { x, y, sample_weight })
}

/// Keras `test_on_batch(..., return_dict=True)`: the loss and metrics of one batch.
pub fn test_on_batch(
    model: &mut dyn TrainModel,
    x: Arrays,
    y: Option<Arrays>,
    sample_weight: Option<Arrays>,
) -> Result<Logs> {
    model.reset_metrics();
    model.test_step(Batch { x, y, sample_weight })
}

/// Keras `predict_on_batch`: every output for one batch.
pub fn predict_on_batch(model: &dyn TrainModel, x: Arrays) -> Result<Vec<Tensor>> {
    check_cardinality(&[("x", Some(&x))])?;
    let net = model.network();
    let x = match x {
        Arrays::One(t) => vec![t],
        other => inputs_in_order(other, &net.input_names(), net.name())?,
    };
    let mut ctx = CallContext::new(false);
    Ok(net.forward(&x, &mut ctx)?.iter().map(Tensor::detach).collect())
}
