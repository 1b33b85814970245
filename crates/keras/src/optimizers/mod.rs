//! Optimizers (`keras.optimizers`), by object or by the strings `compile` accepts.
//!
//! Every optimizer is a [`BaseOptimizer`] driving one [`UpdateRule`]: [`SGD`], [`Adam`],
//! [`AdamW`], [`RMSprop`], [`Adagrad`], [`Adadelta`], [`Adamax`], [`Nadam`], [`Ftrl`],
//! [`Lion`], [`Adafactor`], [`Lamb`], [`Muon`] and [`ScheduleFreeAdamW`], with Keras's
//! defaults and builder methods named like the Keras arguments. [`LossScaleOptimizer`] wraps
//! any of them with dynamic loss scaling:
//!
//! ```
//! use keras::optimizers::{Adam, Optimizer};
//! let opt = Adam::new().learning_rate(1e-3).beta_1(0.9).amsgrad(true).clipnorm(1.0);
//! assert_eq!(opt.get_config()["amsgrad"], true);
//! ```
//!
//! Learning-rate schedules live in [`schedules`].
//!
//! Submodules:
//! - `base`: The state and the `apply` pipeline every Keras optimizer shares ([`BaseOptimizer`]), and the per-optimizer [`UpdateRule`] it drives
//! - `rule_args`: One declaration for an optimizer's own Keras arguments: fields, defaults, builders and config keys (`optimizer_rule!`)
//! - `device`: Optimizer state for variables that live on a GPU
//! - `schedules`: Learning-rate schedules (`keras.optimizers.schedules`)
//! - `adadelta`: `keras.optimizers.Adadelta`
//! - `adafactor`: `keras.optimizers.Adafactor`
//! - `adagrad`: `keras.optimizers.Adagrad`
//! - `adam`: `keras.optimizers.Adam` and `keras.optimizers.AdamW`
//! - `adamax`: `keras.optimizers.Adamax`
//! - `ftrl`: `keras.optimizers.Ftrl`
//! - `lamb`: `keras.optimizers.Lamb`
//! - `lion`: `keras.optimizers.Lion`
//! - `loss_scale_optimizer`: `keras.optimizers.LossScaleOptimizer`
//! - `muon`: `keras.optimizers.Muon`
//! - `nadam`: `keras.optimizers.Nadam`
//! - `rmsprop`: `keras.optimizers.RMSprop`
//! - `schedule_free_adamw`: `keras.optimizers.ScheduleFreeAdamW`
//! - `sgd`: `keras.optimizers.SGD`

use serde_json::{json, Value};

use crate::layers::Variable;
use crate::{keras_bail, Result, Tensor};

pub mod base;
mod device;
pub mod schedules;

mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod ftrl;
mod lamb;
mod lion;
mod loss_scale_optimizer;
mod muon;
mod nadam;
mod rmsprop;
mod rule_args;
mod schedule_free_adamw;
mod sgd;

pub use adadelta::{Adadelta, AdadeltaRule};
pub use adafactor::{Adafactor, AdafactorRule};
pub use adagrad::{Adagrad, AdagradRule};
pub use adam::{Adam, AdamRule, AdamW, AdamWRule};
pub use adamax::{Adamax, AdamaxRule};
pub use base::{
    BaseOptimizer, BaseState, LearningRate, SlotDef, SlotInit, SlotName, StepInfo, UpdateRule, VarInfo,
};
pub use ftrl::{Ftrl, FtrlRule};
pub use lamb::{Lamb, LambRule};
pub use lion::{Lion, LionRule};
pub use loss_scale_optimizer::LossScaleOptimizer;
pub use muon::{Muon, MuonRule};
pub use nadam::{Nadam, NadamRule};
pub use rmsprop::{RMSprop, RMSpropRule};
pub use schedule_free_adamw::{ScheduleFreeAdamW, ScheduleFreeAdamWRule};
pub use sgd::{SGDRule, SGD};

/// A Keras optimizer.
pub trait Optimizer: Send {
    /// The Keras name (`adam`).
    fn name(&self) -> &str;
    /// Applies one step: `grads[i]` is the gradient of `vars[i]` (Keras `apply_gradients`).
    fn apply_gradients(&mut self, grads: &[Tensor], vars: &mut [&mut Variable]) -> Result<()>;
    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f32;
    /// Sets a constant learning rate (replacing a schedule, if there was one).
    fn set_learning_rate(&mut self, lr: f32);
    /// Number of steps applied.
    fn iterations(&self) -> u64;
    /// The Keras config (`optimizer.get_config()`).
    fn get_config(&self) -> Value;
    /// The optimizer's variables in Keras's order: iteration, learning_rate, then slots.
    ///
    /// Each entry is `(path, value)` with the Keras variable path (`adam/iteration`,
    /// `adam/learning_rate`, `adam/dense_kernel_momentum`, ...); the iteration counter is an
    /// int64 scalar, everything else float32. There is no `learning_rate` variable when the
    /// learning rate is a schedule, and no slot before the first step (or [`build`]).
    ///
    /// [`build`]: Optimizer::build
    fn variables(&self) -> Vec<(String, Tensor)>;

    /// The factor the training step multiplies the loss by before differentiating (Keras
    /// `scale_loss`): the dynamic scale of a [`LossScaleOptimizer`], an optimizer's
    /// `loss_scale_factor`, else `None`.
    fn loss_scale(&self) -> Option<f32> {
        None
    }
    /// The Keras class name (`Adam`).
    fn class_name(&self) -> &str {
        "Optimizer"
    }
    /// Readies one replay of a captured training step (CUDA graphs): the replay updates the
    /// device-resident state as [`apply_gradients`](Optimizer::apply_gradients) would, so this
    /// advances `iterations` and writes the learning rate where the graph reads it. Returns
    /// false when this optimizer's steps cannot be replayed (then the step runs eagerly).
    fn prepare_replay(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Sets a constant learning rate as Keras's `optimizer.learning_rate = lr` does: an error
    /// when the optimizer was created with a schedule.
    fn try_set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.set_learning_rate(lr);
        Ok(())
    }
    /// Whether the slots exist (after the first step or [`build`](Optimizer::build)).
    fn built(&self) -> bool {
        false
    }
    /// Creates the slots for `vars` (Keras `optimizer.build(variables)`); a no-op once built.
    fn build(&mut self, _vars: &[&Variable]) -> Result<()> {
        keras_bail!(State, "optimizer '{}' cannot be built explicitly", self.name())
    }
    /// Overwrites every optimizer variable, in [`variables`](Optimizer::variables) order
    /// (Keras `set_weights` / `load_own_variables`, i.e. `optimizer/vars/<i>` of a `.keras`
    /// file). The optimizer must be built.
    fn set_variables(&mut self, _values: &[Tensor]) -> Result<()> {
        keras_bail!(State, "optimizer '{}' cannot load variables", self.name())
    }
    /// With `use_ema`, overwrites `vars` with their moving averages (Keras
    /// `finalize_variable_values`, called by `fit` at the end); otherwise nothing.
    fn finalize_variable_values(&self, _vars: &mut [&mut Variable]) -> Result<()> {
        Ok(())
    }
    /// The serialized form `{"module", "class_name", "config", "registered_name"}`.
    fn serialize(&self) -> Value {
        json!({
            "module": "keras.optimizers",
            "class_name": self.class_name(),
            "config": self.get_config(),
            "registered_name": null,
        })
    }
    /// A boxed copy (same configuration and state).
    fn box_clone(&self) -> Box<dyn Optimizer>;
}

/// The optimizer for a class name, case-insensitive as Keras (`"adam"`, `"Adam"`, `"SGD"`),
/// built from `config` (`{}` or `null` for the defaults).
fn from_class_name(class_name: &str, config: &Value) -> Result<Box<dyn Optimizer>> {
    Ok(match class_name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(SGD::from_config(config)?),
        "adam" => Box::new(Adam::from_config(config)?),
        "adamw" => Box::new(AdamW::from_config(config)?),
        "rmsprop" => Box::new(RMSprop::from_config(config)?),
        "adagrad" => Box::new(Adagrad::from_config(config)?),
        "adadelta" => Box::new(Adadelta::from_config(config)?),
        "adamax" => Box::new(Adamax::from_config(config)?),
        "nadam" => Box::new(Nadam::from_config(config)?),
        "ftrl" => Box::new(Ftrl::from_config(config)?),
        "lion" => Box::new(Lion::from_config(config)?),
        "adafactor" => Box::new(Adafactor::from_config(config)?),
        "lamb" => Box::new(Lamb::from_config(config)?),
        "muon" => Box::new(Muon::from_config(config)?),
        "schedulefreeadamw" => Box::new(ScheduleFreeAdamW::from_config(config)?),
        "lossscaleoptimizer" => Box::new(LossScaleOptimizer::from_config(config)?),
        _ => keras_bail!(
            InvalidArgument,
            "Could not locate class '{class_name}'. Make sure custom classes are decorated \
             with `@keras.saving.register_keras_serializable()`. Full object config: \
             {{'class_name': '{class_name}', 'config': {config}}}"
        ),
    })
}

/// `keras.optimizers.get(name)`: the optimizer for a string `compile` accepts (`"sgd"`,
/// `"adam"`, `"rmsprop"`, `"adamw"`, `"adagrad"`, `"adadelta"`, `"adamax"`, `"nadam"`,
/// `"ftrl"`, `"lion"`; case-insensitive), with Keras's defaults.
pub fn get(name: &str) -> Result<Box<dyn Optimizer>> {
    from_class_name(name, &json!({}))
}

/// `keras.optimizers.deserialize`: an optimizer from its serialized form
/// (`{"class_name": "Adam", "config": {...}}`, as in a `.keras` file or `compile.optimizer`),
/// or from a plain string name.
pub fn deserialize(config: &Value) -> Result<Box<dyn Optimizer>> {
    match config {
        Value::String(name) => get(name),
        Value::Object(m) => {
            let Some(class_name) = m.get("class_name").and_then(Value::as_str) else {
                keras_bail!(Config, "Could not interpret optimizer identifier: {config} (no `class_name`)");
            };
            let cfg = m.get("config").cloned().unwrap_or(Value::Null);
            from_class_name(class_name, &cfg)
        }
        other => keras_bail!(InvalidArgument, "Could not interpret optimizer identifier: {other}"),
    }
}

/// `keras.optimizers.serialize`: the serialized form of an optimizer.
pub fn serialize(optimizer: &dyn Optimizer) -> Value {
    optimizer.serialize()
}

/// `sign(x)` as TensorFlow: 0 at 0 (Rust's `signum` gives 1).
#[inline(always)]
pub(crate) fn tf_sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests;
