//! The `EinsumDense` projections of MultiHeadAttention and GroupedQueryAttention: `query`,
//! `key`, an optional sigmoid `gate`, `value` and `attention_output`, made with the layer's
//! shared weight arguments and run with its activity regularizer.

use std::sync::Mutex;

use keras_engine::Rng;

use crate::layers::attention::scaled_dot_product::{attend, ScoreSpec};
use crate::layers::core::einsum_dense::EinsumDense;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::weight_args::WeightArgs;
use crate::layers::Sublayer;
use crate::{ops, Result, Tensor};

/// Makes the projection sub-layers of one attention layer.
pub(crate) struct ProjectionMaker<'a> {
    /// The attention layer's base (its name prefixes the weight paths).
    pub layer: &'a LayerBase,
    /// Initializer, regularizer and constraint of every kernel.
    pub kernel: WeightArgs,
    /// Initializer, regularizer and constraint of every bias.
    pub bias: WeightArgs,
    /// Whether the projections have biases.
    pub use_bias: bool,
}

impl ProjectionMaker<'_> {
    /// The projection `name` computing `equation` to `output_shape`, with a bias over
    /// `bias_axes` when the layer uses biases.
    pub fn make(&self, equation: &str, output_shape: Shape, bias_axes: &str, name: &str) -> EinsumDense {
        let mut d = EinsumDense::new(equation, &output_shape)
            .name(name)
            .path_prefix(&format!("{}/{name}", self.layer.name))
            .weight_args(self.kernel.clone(), self.bias.clone())
            .activity_regularizer(self.layer.activity_regularizer.clone());
        if self.use_bias {
            d = d.bias_axes(bias_axes);
        }
        d
    }
}

/// The built projections, in Keras's creation (and weight) order.
pub(crate) struct Projections {
    pub query: EinsumDense,
    pub key: EinsumDense,
    pub gate: Option<EinsumDense>,
    pub value: EinsumDense,
    pub output: EinsumDense,
}

impl Projections {
    /// `d(x)`, with its activity regularizer's loss recorded.
    pub fn project(d: &EinsumDense, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let y = d.call(x, ctx)?;
        d.base().record_activity(&y, ctx)?;
        Ok(y)
    }

    /// Keras's `call` between the projections: the gate (if any), the query, key and value
    /// projected (`heads` maps the projected key and value: GroupedQueryAttention repeats
    /// their heads), [`attend`]ed with `spec`, gated and projected to the output; `[output]`
    /// or `[output, scores]`.
    #[allow(clippy::too_many_arguments)]
    pub fn attend(
        &self,
        [query, key, value]: [&Tensor; 3],
        mask: Option<&Tensor>,
        spec: &ScoreSpec<'_>,
        seeded: &Mutex<Option<Rng>>,
        return_scores: bool,
        ctx: &mut CallContext,
        heads: impl Fn(Tensor) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        let project = Projections::project;
        let gate = match &self.gate {
            Some(g) => Some(project(g, query, ctx)?),
            None => None,
        };
        let q = project(&self.query, query, ctx)?;
        let k = heads(project(&self.key, key, ctx)?)?;
        let v = heads(project(&self.value, value, ctx)?)?;
        let (mut out, weights) = attend(&q, &k, &v, mask, spec, seeded, ctx.training, return_scores)?;
        if let Some(g) = gate {
            out = ops::mul(&out, &g)?;
        }
        let out = project(&self.output, &out, ctx)?;
        Ok(if return_scores { vec![out, weights] } else { vec![out] })
    }

    /// The sub-layers under the attribute names Keras saves them with (query, key, gate,
    /// value, output).
    pub fn sublayers(&self, names: [&'static str; 5]) -> Vec<Sublayer<'_>> {
        let mut v = vec![Sublayer::attr(names[0], &self.query), Sublayer::attr(names[1], &self.key)];
        if let Some(g) = &self.gate {
            v.push(Sublayer::attr(names[2], g));
        }
        v.push(Sublayer::attr(names[3], &self.value));
        v.push(Sublayer::attr(names[4], &self.output));
        v
    }

    /// The sub-layers, mutable, in weight order.
    pub fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        let mut v: Vec<&mut dyn Layer> = vec![&mut self.query, &mut self.key];
        if let Some(g) = &mut self.gate {
            v.push(g);
        }
        v.push(&mut self.value);
        v.push(&mut self.output);
        v
    }
}
