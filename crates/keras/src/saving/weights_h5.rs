//! The Keras 3 weights file (`model.weights.h5`, also the weights inside a `.keras` zip):
//! `layers/<class>[_n]/vars/<i>`, `optimizer/vars/<i>`, and the model's own `vars`.

use super::h5::{Attr, Node, Reader};
use super::layout::{model_groups, VarGroup};
use super::warn;
use crate::layers::Variable;
use crate::models::Sequential;
use crate::trainers::Compiled;
use crate::{keras_bail, Error, Result, Tensor};

/// A model whose weights go to a Keras 3 weights file: its variable groups, its weights in
/// `model.weights` order, its compile state, and how to assign loaded values.
pub(crate) trait WeightsTarget {
    /// Every variable group (without the optimizer), in save order.
    fn var_groups(&self) -> Vec<VarGroup>;
    /// Every weight, in `model.weights` order (what [`VarGroup::weights`] indexes).
    fn all_weights(&self) -> Vec<&Variable>;
    /// The compile state, once compiled.
    fn compile_state(&self) -> Option<&Compiled>;
    /// The compile state, mutable.
    fn compile_state_mut(&mut self) -> Option<&mut Compiled>;
    /// Assigns `(index into all_weights(), value)` pairs.
    fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()>;
}

impl WeightsTarget for Sequential {
    fn var_groups(&self) -> Vec<VarGroup> {
        model_groups(self)
    }
    fn all_weights(&self) -> Vec<&Variable> {
        self.weights()
    }
    fn compile_state(&self) -> Option<&Compiled> {
        Sequential::compile_state(self)
    }
    fn compile_state_mut(&mut self) -> Option<&mut Compiled> {
        Sequential::compile_state_mut(self)
    }
    fn assign_weights(&mut self, values: Vec<(usize, Tensor)>) -> Result<()> {
        Sequential::assign_weights(self, values)
    }
}

/// The weights tree of `model` (and of its optimizer when compiled, as Keras does).
pub(crate) fn to_tree<M: WeightsTarget + ?Sized>(model: &M) -> Node {
    let mut root = Node::default();
    let weights = model.all_weights();
    for g in model.var_groups() {
        let node = root.group(&g.path);
        node.set_attr("name", Attr::Str(g.name.clone()));
        for (i, &w) in g.weights.iter().enumerate() {
            node.dataset(&i.to_string(), weights[w].value());
        }
    }
    if let Some(c) = model.compile_state() {
        let node = root.group("optimizer/vars");
        node.set_attr("name", Attr::Str(c.optimizer.name().to_string()));
        for (i, (_, value)) in c.optimizer.variables().iter().enumerate() {
            node.dataset(&i.to_string(), value);
        }
    }
    root
}

/// Numbered datasets of a `vars` group (`0`, `1`, ...): how many there are, checking that
/// they are exactly `0..n`.
pub(crate) fn count_vars(r: &Reader, path: &str) -> Result<usize> {
    let names = r.datasets(path)?;
    for i in 0..names.len() {
        if !names.iter().any(|n| *n == i.to_string()) {
            keras_bail!(Io, "'{path}' should hold datasets 0..{}, found {names:?}", names.len());
        }
    }
    Ok(names.len())
}

/// Reads the values of one group (Keras `Layer.load_own_variables`): the count must match,
/// then each shape.
pub(crate) fn read_group(
    r: &Reader,
    g: &VarGroup,
    shapes: &[Vec<usize>],
    names: &[String],
) -> Result<Vec<Tensor>> {
    let found = count_vars(r, &g.path)?;
    if found != g.weights.len() {
        keras_bail!(
            Value,
            "Layer '{}' expected {} variables, but received {found} variables during loading. Expected: {:?}",
            g.name,
            g.weights.len(),
            g.weights.iter().map(|&w| names[w].as_str()).collect::<Vec<_>>()
        );
    }
    g.weights.iter().enumerate().map(|(i, &w)| r.read(&format!("{}/{i}", g.path), Some(&shapes[w]))).collect()
}

/// Loads a Keras 3 weights file into `model` (Keras `load_weights` / the weights step of
/// `load_model`). Every value is read and checked before any is assigned, so a failed load
/// leaves the model unchanged. With `skip_mismatch`, objects that do not fit are skipped
/// with a warning instead. The optimizer state is restored when the model is compiled and
/// the optimizer has the same number of variables as the file (else skipped with Keras's
/// warning).
pub(crate) fn load_tree<M: WeightsTarget + ?Sized>(
    model: &mut M,
    r: &Reader,
    skip_mismatch: bool,
) -> Result<()> {
    let (shapes, names): (Vec<Vec<usize>>, Vec<String>) =
        model.all_weights().iter().map(|w| (w.shape().to_vec(), w.name().to_string())).unzip();
    let mut values: Vec<(usize, Tensor)> = Vec::new();
    let mut failures: Vec<(String, Error)> = Vec::new();
    for g in model.var_groups() {
        if g.weights.is_empty() && !r.has_group(&g.path)? {
            continue;
        }
        match read_group(r, &g, &shapes, &names) {
            Ok(vs) => values.extend(g.weights.iter().copied().zip(vs)),
            Err(e) => failures.push((g.name.clone(), e)),
        }
    }
    if let Some((first, e)) = failures.first() {
        let msg = format!(
            "A total of {} objects could not be loaded. Example error message for object {first}: {e} \
             List of objects that could not be loaded: {:?}",
            failures.len(),
            failures.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
        );
        if !skip_mismatch {
            return Err(match e {
                Error::Io(_) => Error::Io(msg),
                _ => Error::Value(msg),
            });
        }
        warn(&msg);
    }
    let optimizer_values = read_optimizer(model, r)?;
    model.assign_weights(values)?;
    if let (Some(vals), Some(c)) = (optimizer_values, model.compile_state_mut()) {
        c.optimizer.set_variables(&vals)?;
    }
    Ok(())
}

/// The optimizer values to restore (Keras `Optimizer.load_own_variables`), or `None` with a
/// warning when the counts differ.
fn read_optimizer<M: WeightsTarget + ?Sized>(model: &M, r: &Reader) -> Result<Option<Vec<Tensor>>> {
    let Some(c) = model.compile_state() else {
        return Ok(None);
    };
    if !r.has_group("optimizer/vars")? {
        return Ok(None);
    }
    let current = c.optimizer.variables();
    let found = count_vars(r, "optimizer/vars")?;
    if found != current.len() {
        let mut msg = format!(
            "Skipping variable loading for optimizer '{}', because it has {} variables whereas the \
             saved optimizer has {found} variables.",
            c.optimizer.name(),
            current.len()
        );
        if !c.optimizer.built() {
            msg += " This is likely because the optimizer has not been called/built yet.";
        }
        warn(&msg);
        return Ok(None);
    }
    let vals = current
        .iter()
        .enumerate()
        .map(|(i, (_, t))| r.read(&format!("optimizer/vars/{i}"), Some(t.shape())))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(vals))
}
