//! The loops behind `fit`, `evaluate`, `predict` and the `*_on_batch` steps.

use std::io::Write;

use keras_engine::{with_global_rng, GradientTape};

use super::args::{EvaluateArgs, FitArgs, PredictArgs};
use super::compile::Compiled;
use super::data::{batch_ranges, check_batch_size, check_xy, take};
use super::history::{History, Logs};
use super::network::Network;
use crate::layers::CallContext;
use crate::utils::progbar::Progbar;
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

/// Keras `fit`.
pub fn fit<N: Network + ?Sized>(
    net: &mut N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    args: &FitArgs,
) -> Result<History> {
    check_batch_size(args.batch_size)?;
    if !(0.0..1.0).contains(&args.validation_split) {
        keras_bail!(
            InvalidArgument,
            "`validation_split` must be in [0, 1), received validation_split={}",
            args.validation_split
        );
    }
    if args.validation_freq == 0 {
        keras_bail!(InvalidArgument, "`validation_freq` must be a positive integer, received 0");
    }
    let n_all = check_xy(x, Some(y), args.sample_weight.as_ref())?;
    net.prepare(x)?;
    // Validation data: explicit, or the last fraction of x / y (before any shuffling).
    let (x, y, sw, val) = if let Some((vx, vy)) = &args.validation_data {
        check_xy(vx, Some(vy), None)?;
        net.prepare(vx)?;
        (x.clone(), y.clone(), args.sample_weight.clone(), Some((vx.clone(), vy.clone())))
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
    let n = x.shape()[0];
    let steps = n.div_ceil(args.batch_size);
    let mut history = History::default();
    let mut order: Vec<usize> = (0..n).collect();
    for epoch in args.initial_epoch..args.epochs {
        if args.verbose > 0 {
            println!("Epoch {}/{}", epoch + 1, args.epochs);
        }
        c.reset_metrics();
        if args.shuffle {
            with_global_rng(|r| r.shuffle(&mut order));
        }
        let mut bar = Progbar::new(Some(steps), args.verbose, "step");
        for (step, (s, e)) in batch_ranges(n, args.batch_size).into_iter().enumerate() {
            let idx = &order[s..e];
            let xb = take(&x, idx)?;
            let yb = take(&y, idx)?;
            let wb = match &sw {
                Some(w) => Some(take(w, idx)?),
                None => None,
            };
            train_step(net, c, &xb, &yb, wb.as_ref())?;
            if args.verbose == 1 {
                bar.update(step + 1, &progbar_values(&c.logs()), false);
            }
        }
        let mut logs = c.logs();
        if let Some((vx, vy)) = &val {
            if (epoch + 1).is_multiple_of(args.validation_freq) {
                let vb = args.validation_batch_size.unwrap_or(args.batch_size);
                let vlogs = evaluate_inner(net, c, vx, vy, None, vb, 0)?;
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

fn evaluate_inner<N: Network + ?Sized>(
    net: &N,
    c: &mut Compiled,
    x: &Tensor,
    y: &Tensor,
    sw: Option<&Tensor>,
    batch_size: usize,
    verbose: u8,
) -> Result<Logs> {
    check_batch_size(batch_size)?;
    let n = check_xy(x, Some(y), sw)?;
    c.reset_metrics();
    let ranges = batch_ranges(n, batch_size);
    let mut bar = Progbar::new(Some(ranges.len()), verbose, "step");
    for (step, (s, e)) in ranges.iter().enumerate() {
        let xb = x.slice_rows(*s, *e)?;
        let yb = y.slice_rows(*s, *e)?;
        let wb = match sw {
            Some(w) => Some(w.slice_rows(*s, *e)?),
            None => None,
        };
        test_step(net, c, &xb, &yb, wb.as_ref())?;
        if verbose == 1 {
            bar.update(step + 1, &progbar_values(&c.logs()), step + 1 == ranges.len());
        }
    }
    let logs = c.logs();
    if verbose == 2 {
        bar.update(ranges.len(), &progbar_values(&logs), true);
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
    evaluate_inner(net, c, x, y, args.sample_weight.as_ref(), args.batch_size, args.verbose)
}

/// Keras `predict`: outputs for every sample, computed in batches.
pub fn predict<N: Network + ?Sized>(net: &N, x: &Tensor, args: &PredictArgs) -> Result<Tensor> {
    check_batch_size(args.batch_size)?;
    let n = check_xy(x, None, None)?;
    let ranges = batch_ranges(n, args.batch_size);
    let mut bar = Progbar::new(Some(ranges.len()), args.verbose, "step");
    let mut outs = Vec::with_capacity(ranges.len());
    for (step, (s, e)) in ranges.iter().enumerate() {
        let xb = if ranges.len() == 1 { x.clone() } else { x.slice_rows(*s, *e)? };
        let mut ctx = CallContext::new(false);
        outs.push(net.forward(&xb, &mut ctx)?.detach());
        if args.verbose > 0 {
            bar.update(step + 1, &[], step + 1 == ranges.len());
        }
    }
    if outs.len() == 1 {
        return Ok(outs.pop().expect("one batch"));
    }
    Ok(Tensor::concat_rows(&outs)?)
}
