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
