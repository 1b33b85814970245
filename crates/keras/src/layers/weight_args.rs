//! `WeightArgs`: the initializer, regularizer and constraint of one weight (Keras's
//! `{prefix}_initializer`, `{prefix}_regularizer`, `{prefix}_constraint`, which the layers
//! declare with [`config_args!`](crate::utils::config_args!)), gathered to make the weight's
//! variable: the convolutions, Dense, EinsumDense and MultiHeadAttention.

use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::Variable;
use crate::regularizers::Regularizer;
use crate::{Result, Tensor};

/// The initializer, regularizer and constraint of one weight.
#[derive(Clone)]
pub(crate) struct WeightArgs {
    pub(crate) initializer: Initializer,
    pub(crate) regularizer: Option<Regularizer>,
    pub(crate) constraint: Option<Constraint>,
}

impl WeightArgs {
    /// `initializer`, no regularizer, no constraint.
    pub(crate) fn new(initializer: Initializer) -> Self {
        WeightArgs { initializer, regularizer: None, constraint: None }
    }

    /// The arguments of one weight from a layer's declared `{prefix}_initializer`,
    /// `{prefix}_regularizer` and `{prefix}_constraint` (see [`crate::layers::layer_args`]).
    pub(crate) fn of(
        initializer: &Initializer,
        regularizer: &Option<Regularizer>,
        constraint: &Option<Constraint>,
    ) -> Self {
        WeightArgs {
            initializer: initializer.clone(),
            regularizer: regularizer.clone(),
            constraint: constraint.clone(),
        }
    }

    /// A trainable variable `name` of `layer`, of `shape`, drawn from the initializer.
    pub(crate) fn variable(&self, name: &str, layer: &str, shape: &[usize]) -> Result<Variable> {
        Ok(self.variable_of(name, layer, self.initializer.initialize(shape)?))
    }

    /// A trainable variable `name` of `layer` holding `value`, with the regularizer and
    /// constraint.
    pub(crate) fn variable_of(&self, name: &str, layer: &str, value: Tensor) -> Variable {
        Variable::new(name, layer, value, true)
            .with_regularizer(self.regularizer.clone())
            .with_constraint(self.constraint.clone())
    }
}

/// A [`config_args!`](crate::utils::config_args!) declaration of a layer with a kernel and a
/// bias: the arguments in the first braces, then `kernel_initializer`, `bias_initializer`,
/// `kernel_regularizer`, `bias_regularizer`, `kernel_constraint` and `bias_constraint` (with
/// their builders, Keras's order and defaults: glorot-uniform kernel, zero bias, no penalty, no
/// constraint), then the arguments in the `then` braces. `of` ends each weight's name in the
/// docs (`" of every projection"`).
macro_rules! kernel_bias_args {
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident in $Owner:ident . $slot:ident, family $F:ty, of $of:literal
        { $($before:tt)* } then { $($after:tt)* }
    ) => {
        $crate::utils::config_args::config_args! {
            $(#[$meta])*
            $vis struct $Args in $Owner.$slot, family $F {
                $($before)*
                #[doc = concat!("Kernel initializer", $of, ".")]
                kernel_initializer: Initializer = Initializer::glorot_uniform();
                    builder kernel_initializer(initializer: Initializer),
                #[doc = concat!("Bias initializer", $of, ".")]
                bias_initializer: Initializer = Initializer::Zeros;
                    builder bias_initializer(initializer: Initializer),
                #[doc = concat!("Penalty of the kernel", $of, " added to the training loss (Keras `kernel_regularizer`).")]
                kernel_regularizer: Option<Regularizer> = None;
                    builder kernel_regularizer(regularizer: Regularizer) => Some(regularizer),
                #[doc = concat!("Penalty of the bias", $of, " added to the training loss (Keras `bias_regularizer`).")]
                bias_regularizer: Option<Regularizer> = None;
                    builder bias_regularizer(regularizer: Regularizer) => Some(regularizer),
                #[doc = concat!("Constraint applied to the kernel", $of, " after each optimizer update (Keras `kernel_constraint`).")]
                kernel_constraint: Option<Constraint> = None;
                    builder kernel_constraint(constraint: Constraint) => Some(constraint),
                #[doc = concat!("Constraint applied to the bias", $of, " after each optimizer update (Keras `bias_constraint`).")]
                bias_constraint: Option<Constraint> = None;
                    builder bias_constraint(constraint: Constraint) => Some(constraint),
                $($after)*
            }
        }
    };
}
pub(crate) use kernel_bias_args;
