//! The loops behind `fit`, `evaluate`, `predict` and the `*_on_batch` steps.

use std::io::Write;

use keras_engine::GradientTape;

use super::args::{EvaluateArgs, FitArgs, PredictArgs};
use super::compile::Compiled;
use super::data::{check_batch_size, check_xy};
use super::data_adapter::{DataAdapter, SequenceAdapter, TensorAdapter};
use super::history::{History, Logs};
use super::network::Network;
use crate::layers::CallContext;
use crate::utils::progbar::Progbar;
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
    let (loss_value, y_pred, grads, updates) = {
        let tape = GradientTape::new();
        let mut ctx = CallContext::new(true);
        let y_pred = net.forward(x, &mut ctx)?;
        let loss = c.loss.compute(y, &y_pred, sample_weight)?;
        let loss = add_extra_losses(&*net, loss, &ctx.losses)?;
        let vars = net.variables_mut();
        let sources: Vec<&Tensor> = vars.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
        let grads = tape.gradient(&loss, &sources)?;
        (loss.item()?, y_pred.detach(), grads, ctx.updates)
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
    c.loss_tracker.update_state_value(loss_value, batch as f32);
    c.update_metrics(y, &y_pred, sample_weight)?;
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
    let y_pred = net.forward(x, &mut ctx)?;
    let loss = c.loss.compute(y, &y_pred, sample_weight)?;
    let loss = add_extra_losses(net, loss, &ctx.losses)?;
    c.loss_tracker.update_state_value(loss.item()?, x.shape()[0] as f32);
    c.update_metrics(y, &y_pred, sample_weight)
}

fn progbar_values(logs: &Logs) -> Vec<(String, f64)> {
    logs.iter().map(|(k, v)| (k.clone(), *v as f64)).collect()
}

/// Keras `fit` on in-memory arrays.
pub fn fit<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    args: &FitArgs,
) -> Result<History> {
    check_fit_args(args)?;
    if !(0.0..1.0).contains(&args.validation_split) {
        keras_bail!(
            InvalidArgument,
            "`validation_split` must be in [0, 1), received validation_split={}",
            args.validation_split
        );
    }
    let n_all = check_xy(x, Some(y), args.sample_weight.as_ref())?;
    net.prepare(x)?;
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
    let mut train = TensorAdapter::new(x, Some(y), sw, args.batch_size);
    let mut val = match val {
        Some((vx, vy)) => Some(validation_adapter(net, &vx, &vy, args)?),
        None => explicit_validation(net, args)?,
    };
    fit_adapter(net, c, &mut train, val.as_mut().map(|v| v as &mut dyn DataAdapter), args)
}

/// Keras `fit` on a [`Sequence`] (`PyDataset`). `shuffle` and `batch_size` are the sequence's
/// business; `validation_split` is refused as in Keras.
pub fn fit_sequence<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    data: &mut dyn Sequence,
    args: &FitArgs,
) -> Result<History> {
    check_fit_args(args)?;
    if args.validation_split > 0.0 {
        keras_bail!(
            InvalidArgument,
            "`validation_split` is only supported for Tensors or NumPy arrays, found a `Sequence`; pass `validation_data` instead"
        );
    }
    let mut val = explicit_validation(net, args)?;
    let mut train = SequenceAdapter::new(data)?;
    fit_adapter(net, c, &mut train, val.as_mut().map(|v| v as &mut dyn DataAdapter), args)
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

fn validation_adapter<N: Network + ?Sized>(
    net: &mut N,
    vx: &Tensor,
    vy: &Tensor,
    args: &FitArgs,
) -> Result<TensorAdapter> {
    check_xy(vx, Some(vy), None)?;
    net.prepare(vx)?;
    let vb = args.validation_batch_size.unwrap_or(args.batch_size);
    Ok(TensorAdapter::new(vx.clone(), Some(vy.clone()), None, vb))
}

fn explicit_validation<N: Network + ?Sized>(net: &mut N, args: &FitArgs) -> Result<Option<TensorAdapter>> {
    match &args.validation_data {
        Some((vx, vy)) => Ok(Some(validation_adapter(net, vx, vy, args)?)),
        None => Ok(None),
    }
}

fn targets(batch: &Batch) -> Result<&Tensor> {
    batch.y.as_ref().ok_or_else(|| {
        crate::Error::Value("Training and evaluation need targets: the batch has no `y`".into())
    })
}

/// The epoch loop shared by every kind of training data.
pub fn fit_adapter<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    train: &mut dyn DataAdapter,
    mut val: Option<&mut dyn DataAdapter>,
    args: &FitArgs,
) -> Result<History> {
    let steps = train.num_batches();
    let mut history = History::default();
    for epoch in args.initial_epoch..args.epochs {
        if args.verbose > 0 {
            println!("Epoch {}/{}", epoch + 1, args.epochs);
        }
        c.reset_metrics();
        let mut bar = Progbar::new(Some(steps), args.verbose, "step");
        train.for_each_batch(args.shuffle, &mut |step, batch| {
            net.prepare(&batch.x)?;
            let y = targets(&batch)?;
            if let Some(w) = &batch.sample_weight {
                check_xy(&batch.x, Some(y), Some(w))?;
            }
            train_step(net, c, &batch.x, y, batch.sample_weight.as_ref())?;
            if args.verbose == 1 {
                bar.update(step + 1, &progbar_values(&c.logs()), false);
            }
            Ok(true)
        })?;
        train.on_epoch_end();
        let mut logs = c.logs();
        if let Some(v) = val.as_deref_mut() {
            if (epoch + 1).is_multiple_of(args.validation_freq) {
                let vlogs = evaluate_adapter(net, c, v, 0)?;
                for (k, v) in vlogs {
                    logs.insert(format!("val_{k}"), v);
                }
            }
        }
        if args.verbose > 0 {
            bar.update(steps, &progbar_values(&logs), true);
        }
        history.record(epoch, &logs);
    }
    let _ = std::io::stdout().flush();
    Ok(history)
}

/// The evaluation loop shared by every kind of data: loss and metrics over one pass.
pub fn evaluate_adapter<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    data: &mut dyn DataAdapter,
    verbose: u8,
) -> Result<Logs> {
    c.reset_metrics();
    let steps = data.num_batches();
    let mut bar = Progbar::new(Some(steps), verbose, "step");
    data.for_each_batch(false, &mut |step, batch| {
        net.prepare(&batch.x)?;
        let y = targets(&batch)?;
        test_step(net, c, &batch.x, y, batch.sample_weight.as_ref())?;
        if verbose == 1 {
            bar.update(step + 1, &progbar_values(&c.logs()), step + 1 == steps);
        }
        Ok(true)
    })?;
    let logs = c.logs();
    if verbose == 2 {
        bar.update(steps, &progbar_values(&logs), true);
    }
    Ok(logs)
}

/// Keras `evaluate`: the loss and metrics over the data.
pub fn evaluate<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    args: &EvaluateArgs,
) -> Result<Logs> {
    check_batch_size(args.batch_size)?;
    check_xy(x, Some(y), args.sample_weight.as_ref())?;
    net.prepare(x)?;
    let mut data =
        TensorAdapter::new(x.clone(), Some(y.clone()), args.sample_weight.clone(), args.batch_size);
    evaluate_adapter(net, c, &mut data, args.verbose)
}

/// Keras `evaluate` on a [`Sequence`].
pub fn evaluate_sequence<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    data: &mut dyn Sequence,
    args: &EvaluateArgs,
) -> Result<Logs> {
    let mut data = SequenceAdapter::new(data)?;
    evaluate_adapter(net, c, &mut data, args.verbose)
}

/// The prediction loop shared by every kind of data: `check` validates each batch's inputs.
pub fn predict_adapter<N: Network + ?Sized>(
    net: &N,
    data: &mut dyn DataAdapter,
    verbose: u8,
    check: &dyn Fn(&Tensor) -> Result<()>,
) -> Result<Tensor> {
    let steps = data.num_batches();
    let mut bar = Progbar::new(Some(steps), verbose, "step");
    let mut outs = Vec::with_capacity(steps);
    data.for_each_batch(false, &mut |step, batch| {
        check(&batch.x)?;
        let mut ctx = CallContext::new(false);
        outs.push(net.forward(&batch.x, &mut ctx)?.detach());
        if verbose > 0 {
            bar.update(step + 1, &[], step + 1 == steps);
        }
        Ok(true)
    })?;
    if outs.len() == 1 {
        return Ok(outs.pop().expect("one batch"));
    }
    Ok(Tensor::concat_rows(&outs)?)
}

/// Keras `predict`: outputs for every sample, computed in batches.
pub fn predict<N: Network + ?Sized>(net: &N, x: &Tensor, args: &PredictArgs) -> Result<Tensor> {
    check_batch_size(args.batch_size)?;
    check_xy(x, None, None)?;
    let mut data = TensorAdapter::new(x.clone(), None, None, args.batch_size);
    predict_adapter(net, &mut data, args.verbose, &|_| Ok(()))
}
