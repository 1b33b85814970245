//! The loops behind `fit`, `evaluate`, `predict` and the `*_on_batch` steps.

use std::io::Write;

use keras_engine::{with_global_rng, GradientTape, Rng};

use super::args::{EvaluateArgs, FitArgs, PredictArgs};
use super::compile::Compiled;
use super::data::{check_batch_size, check_xy};
use super::data_adapter::{DataAdapter, SequenceAdapter, TensorAdapter};
use super::history::{History, Logs};
use super::network::Network;
use super::train_model::TrainModel;
use crate::callbacks::{CallbackList, CallbackModel, CallbackParams, CallbackRef};
use crate::layers::CallContext;
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result, Tensor};

/// One gradient step on a batch (Keras `train_step`): forward with the weights before the
/// update, loss, backward, optimizer step, state updates, metrics.
pub fn train_step<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<()> {
    let batch = x.shape()[0];
    #[cfg(feature = "cuda")]
    {
        let (x, y, sw) = super::step_graph::batch_to_model(&mut *net, x, y, sample_weight)?;
        if super::step_graph::enabled() && x.device().is_cuda() {
            return graph_step(net, c, &x, &y, sw.as_ref(), batch);
        }
        let (loss, y_pred) = step_core(net, c, &x, &y, sw.as_ref())?;
        finish_step(c, &loss, &y_pred, &y, sw.as_ref(), batch)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let (loss, y_pred) = step_core(net, c, x, y, sample_weight)?;
        finish_step(c, &loss, &y_pred, y, sample_weight, batch)
    }
}

/// A training step through a CUDA graph when it can be captured (see `step_graph.rs`).
#[cfg(feature = "cuda")]
fn graph_step<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    sw: Option<&Tensor>,
    batch: usize,
) -> Result<()> {
    use super::step_graph::{addresses, Plan};
    let inputs = [Some(x), Some(y), sw];
    let vars = {
        let v = net.variables_mut();
        let ts: Vec<&Tensor> = v.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
        addresses(&ts)
    };
    match c.graphs.plan(&inputs, &vars)? {
        Plan::Replay => {
            if c.optimizer.prepare_replay()? {
                let out = c.graphs.replay(&inputs)?;
                return finish_step(c, &out[0], &out[1], y, sw, batch);
            }
            c.graphs.reset();
            let (loss, y_pred) = step_core(net, c, x, y, sw)?;
            finish_step(c, &loss, &y_pred, y, sw, batch)
        }
        Plan::Capture => {
            let mut graphs = std::mem::take(&mut c.graphs);
            let out = graphs.capture(&inputs, |s| {
                let (loss, y_pred) = step_core(net, c, &s[0], &s[1], s.get(2))?;
                Ok(vec![loss, y_pred])
            });
            let v = net.variables_mut();
            let ts: Vec<&Tensor> = v.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
            graphs.recorded(addresses(&ts));
            c.graphs = graphs;
            let out = out?;
            finish_step(c, &out[0], &out[1], y, sw, batch)
        }
        Plan::Eager(before) => {
            let (loss, y_pred) = step_core(net, c, x, y, sw)?;
            c.graphs.eager_done(before, true);
            finish_step(c, &loss, &y_pred, y, sw, batch)
        }
    }
}

/// The device part of a training step: forward, loss, backward, optimizer update, state
/// updates. Returns the loss and the predictions.
fn step_core<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<(Tensor, Tensor)> {
    let (loss_value, y_pred, grads, updates) = {
        let tape = GradientTape::new();
        let mut ctx = CallContext::new(true);
        let y_pred = one_output(net.forward(std::slice::from_ref(x), &mut ctx)?)?;
        let loss = c.loss.compute(y, &y_pred, sample_weight)?;
        let loss = add_extra_losses(&*net, loss, &ctx.losses)?;
        let vars = net.variables_mut();
        let sources: Vec<&Tensor> = vars.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
        let grads = tape.gradient(&loss, &sources)?;
        (loss.detach(), y_pred.detach(), grads, ctx.updates)
    };
    // The graph is gone: variables are uniquely owned again and update in place.
    let mut vars: Vec<_> = net.variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| v).collect();
    let grads: Vec<Tensor> = grads
        .into_iter()
        .zip(vars.iter())
        .map(|(g, v)| g.unwrap_or_else(|| Tensor::zeros(v.shape().to_vec())))
        .collect();
    c.optimizer.apply_gradients(&grads, &mut vars)?;
    // Keras's optimizer assigns `constraint(variable)` after every update.
    for v in vars.iter_mut() {
        v.apply_constraint()?;
    }
    drop(vars);
    apply_updates(net, updates)?;
    Ok((loss_value, y_pred))
}

/// The single output of a one-output model.
fn one_output(mut outs: Vec<Tensor>) -> Result<Tensor> {
    match outs.len() {
        1 => Ok(outs.pop().expect("one output")),
        n => keras_bail!(Value, "This model has {n} outputs; single-output training needs exactly 1"),
    }
}

/// The host part of a training step: the loss value and the metrics.
fn finish_step(
    c: &mut Compiled,
    loss: &Tensor,
    y_pred: &Tensor,
    y: &Tensor,
    sample_weight: Option<&Tensor>,
    batch: usize,
) -> Result<()> {
    c.loss_tracker.update_state_value(loss.item()?, batch as f32);
    c.update_metrics(y, y_pred, sample_weight)?;
    Ok(())
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

/// Forward + loss + metrics without an update (Keras `test_step`).
pub fn test_step<N: Network + ?Sized>(
    net: &N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    sample_weight: Option<&Tensor>,
) -> Result<()> {
    let mut ctx = CallContext::new(false);
    let y_pred = one_output(net.forward(std::slice::from_ref(x), &mut ctx)?)?;
    let loss = c.loss.compute(y, &y_pred, sample_weight)?;
    let loss = add_extra_losses(net, loss, &ctx.losses)?;
    c.loss_tracker.update_state_value(loss.item()?, x.shape()[0] as f32);
    c.update_metrics(y, &y_pred, sample_weight)
}

/// In-memory training data, batched by a fresh [`TensorAdapter`] each epoch so the shuffle
/// order depends only on the random generator's state at the start of the epoch (which
/// `BackupAndRestore` checkpoints), not on the orders of earlier epochs: a resumed run then
/// sees the same batches as an uninterrupted one.
struct EpochTensors {
    x: Tensor,
    y: Tensor,
    sample_weight: Option<Tensor>,
    batch_size: usize,
}

impl DataAdapter for EpochTensors {
    fn num_batches(&self) -> usize {
        self.x.shape().first().copied().unwrap_or(0).div_ceil(self.batch_size)
    }

    fn for_each_batch(
        &mut self,
        shuffle: bool,
        f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
    ) -> Result<()> {
        let mut a = TensorAdapter::new(
            self.x.clone(),
            Some(self.y.clone()),
            self.sample_weight.clone(),
            self.batch_size,
        );
        a.for_each_batch(shuffle, f)
    }
}

/// Keras `fit` on in-memory arrays.
pub fn fit(model: &mut dyn TrainModel, x: &Tensor, y: &Tensor, mut args: FitArgs) -> Result<History> {
    check_fit_args(&args)?;
    if !(0.0..1.0).contains(&args.validation_split) {
        keras_bail!(
            InvalidArgument,
            "`validation_split` must be in [0, 1), received validation_split={}",
            args.validation_split
        );
    }
    let n_all = check_xy(x, Some(y), args.sample_weight.as_ref())?;
    model.parts_mut()?.0.prepare(std::slice::from_ref(x))?;
    // Validation data: explicit, or the last fraction of x / y (before any shuffling).
    let (x, y, sw, val) = if args.validation_data.is_some() {
        (x.clone(), y.clone(), args.sample_weight.clone(), None)
    } else if args.validation_split > 0.0 {
        let split = ((n_all as f64) * (1.0 - args.validation_split as f64)).floor() as usize;
        if split == 0 || split == n_all {
            keras_bail!(
                Value,
                "Training data contains {n_all} samples, which is not sufficient to split it into a validation and training set as specified by `validation_split={}`. Either provide more data, or a different value for the `validation_split` argument.",
                args.validation_split
            );
        }
        let sw = match &args.sample_weight {
            Some(w) => Some(w.slice_rows(0, split)?),
            None => None,
        };
        (
            x.slice_rows(0, split)?,
            y.slice_rows(0, split)?,
            sw,
            Some((x.slice_rows(split, n_all)?, y.slice_rows(split, n_all)?)),
        )
    } else {
        (x.clone(), y.clone(), args.sample_weight.clone(), None)
    };
    let mut train = EpochTensors { x, y, sample_weight: sw, batch_size: args.batch_size };
    let mut val = match val {
        Some((vx, vy)) => Some(validation_adapter(model, &vx, &vy, &args)?),
        None => explicit_validation(model, &args)?,
    };
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
    let mut val = explicit_validation(model, &args)?;
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

fn validation_adapter(
    model: &mut dyn TrainModel,
    vx: &Tensor,
    vy: &Tensor,
    args: &FitArgs,
) -> Result<TensorAdapter> {
    check_xy(vx, Some(vy), None)?;
    model.parts_mut()?.0.prepare(std::slice::from_ref(vx))?;
    let vb = args.validation_batch_size.unwrap_or(args.batch_size);
    Ok(TensorAdapter::new(vx.clone(), Some(vy.clone()), None, vb))
}

fn explicit_validation(model: &mut dyn TrainModel, args: &FitArgs) -> Result<Option<TensorAdapter>> {
    match &args.validation_data {
        Some((vx, vy)) => Ok(Some(validation_adapter(model, vx, vy, args)?)),
        None => Ok(None),
    }
}

fn targets(batch: &Batch) -> Result<&Tensor> {
    batch.y.as_ref().ok_or_else(|| {
        crate::Error::Value("Training and evaluation need targets: the batch has no `y`".into())
    })
}

/// The epoch loop shared by every kind of training data (Keras `Trainer.fit`): callbacks
/// run at every step; the model's parts are borrowed only inside a step, so callbacks see
/// the whole model in between.
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
        cm.model_mut()?.parts_mut()?.1.reset_metrics();
        cbs.on_epoch_begin(epoch, &mut cm, &mut Logs::new())?;
        train.for_each_batch(args.shuffle, &mut |step, batch| {
            cbs.on_train_batch_begin(step, &mut cm, &mut Logs::new())?;
            let mut logs = {
                let (net, c) = cm.model_mut()?.parts_mut()?;
                net.prepare(std::slice::from_ref(&batch.x))?;
                let y = targets(&batch)?;
                if let Some(w) = &batch.sample_weight {
                    check_xy(&batch.x, Some(y), Some(w))?;
                }
                train_step(net, c, &batch.x, y, batch.sample_weight.as_ref())?;
                c.logs()
            };
            cbs.on_train_batch_end(step, &mut cm, &mut logs)?;
            Ok(!cm.stop_training)
        })?;
        train.on_epoch_end();
        let mut logs = cm.model_mut()?.parts_mut()?.1.logs();
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
        let (net, c) = cm.model_mut()?.parts_mut()?;
        let mut vars: Vec<_> = net.variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| v).collect();
        c.optimizer.finalize_variable_values(&mut vars)?;
    }
    cbs.on_train_end(&mut cm, &mut training_logs)?;
    let _ = std::io::stdout().flush();
    Ok(cbs.history())
}

/// One pass of evaluation with callbacks (Keras `Trainer.evaluate`'s loop).
fn evaluate_loop(cm: &mut CallbackModel, data: &mut dyn DataAdapter, cbs: &mut CallbackList) -> Result<Logs> {
    cm.stop_evaluating = false;
    cbs.on_test_begin(cm, &mut Logs::new())?;
    cm.model_mut()?.parts_mut()?.1.reset_metrics();
    data.for_each_batch(false, &mut |step, batch| {
        cbs.on_test_batch_begin(step, cm, &mut Logs::new())?;
        let mut logs = {
            let (net, c) = cm.model_mut()?.parts_mut()?;
            net.prepare(std::slice::from_ref(&batch.x))?;
            let y = targets(&batch)?;
            test_step(net, c, &batch.x, y, batch.sample_weight.as_ref())?;
            c.logs()
        };
        cbs.on_test_batch_end(step, cm, &mut logs)?;
        Ok(!cm.stop_evaluating)
    })?;
    let mut logs = cm.model_mut()?.parts_mut()?.1.logs();
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

/// Keras `evaluate`: the loss and metrics over the data.
pub fn evaluate(model: &mut dyn TrainModel, x: &Tensor, y: &Tensor, args: EvaluateArgs) -> Result<Logs> {
    check_batch_size(args.batch_size)?;
    check_xy(x, Some(y), args.sample_weight.as_ref())?;
    model.parts_mut()?.0.prepare(std::slice::from_ref(x))?;
    let mut data =
        TensorAdapter::new(x.clone(), Some(y.clone()), args.sample_weight.clone(), args.batch_size);
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

/// The prediction loop shared by every kind of data: `check` validates each batch's inputs.
pub fn predict_adapter(
    model: &dyn TrainModel,
    data: &mut dyn DataAdapter,
    verbose: u8,
    check: &dyn Fn(&Tensor) -> Result<()>,
    callbacks: Vec<CallbackRef<'_>>,
) -> Result<Tensor> {
    let steps = data.num_batches();
    let params = CallbackParams { verbose, epochs: 1, steps: Some(steps), validation: false };
    let mut cbs = CallbackList::new(callbacks, false, verbose != 0, &params);
    let mut cm = CallbackModel::read_only(model);
    cbs.on_predict_begin(&mut cm, &mut Logs::new())?;
    let mut outs = Vec::with_capacity(steps);
    data.for_each_batch(false, &mut |step, batch| {
        cbs.on_predict_batch_begin(step, &mut cm, &mut Logs::new())?;
        check(&batch.x)?;
        let mut ctx = CallContext::new(false);
        let out =
            one_output(cm.model().network().forward(std::slice::from_ref(&batch.x), &mut ctx)?)?.detach();
        cbs.on_predict_batch_end(step, &out, &mut cm, &mut Logs::new())?;
        outs.push(out);
        Ok(!cm.stop_predicting)
    })?;
    cbs.on_predict_end(&mut cm, &mut Logs::new())?;
    let _ = std::io::stdout().flush();
    if outs.len() == 1 {
        return Ok(outs.pop().expect("one batch"));
    }
    Ok(Tensor::concat_rows(&outs)?)
}

/// Keras `predict`: outputs for every sample, computed in batches.
pub fn predict(model: &dyn TrainModel, x: &Tensor, args: PredictArgs) -> Result<Tensor> {
    check_batch_size(args.batch_size)?;
    check_xy(x, None, None)?;
    let mut data = TensorAdapter::new(x.clone(), None, None, args.batch_size);
    predict_adapter(model, &mut data, args.verbose, &|_| Ok(()), args.callbacks)
}
