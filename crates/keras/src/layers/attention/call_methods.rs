//! What MultiHeadAttention and GroupedQueryAttention share, written once: the builders of
//! their common arguments with Keras's checks (`attention_arg_builders!`), and the
//! [`Layer`](crate::layers::Layer) methods (`attention_call_methods!`): both are called as
//! `call(query, value, key=None, ...)` with the same keywords, refuse the one-tensor entry
//! points with Python's missing-argument errors, and delegate the many-tensor ones to their
//! keyword forms.

/// Writes, inside `impl Layer for $ty`, the call, build, shape and mask methods of an
/// attention layer with `call(query, value, key=None, ...)`.
///
/// The layer type provides `build_shapes(&q, &v, k)`, `shapes(q, v, k, scores)`,
/// `attend(built, [query, key, value], mask, scores, ctx)` (its scores and heads on the
/// combined mask), `args.sliding_window` and `scores_dims()` (the attention axes and the rank
/// of its scores); `$class` is the Python class name its errors use. It also writes `sublayers`
/// (`$attrs`: the attribute names of the projections), `own_weights_and_sublayers_mut` and
/// `set_trainable` over the projections in `self.built`.
macro_rules! attention_call_methods {
    ($class:expr, sublayers $attrs:expr) => {
        /// The projection sub-layers under the attribute names Keras 3 saves them with in
        /// `model.weights.h5` (query, key, gate, value, output, in that order); none before
        /// `build`.
        fn sublayers(&self) -> Vec<$crate::layers::Sublayer<'_>> {
            self.built.as_ref().map_or_else(Vec::new, |b| b.proj.sublayers($attrs))
        }
        fn compute_output_shape(&self, _s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> {
            $crate::keras_bail!(
                InvalidArgument,
                "{}.call() missing 1 required positional argument: 'value'",
                $class
            )
        }
        fn build(&mut self, _s: &[Option<usize>]) -> $crate::Result<()> {
            $crate::keras_bail!(
                InvalidArgument,
                "{}.build() missing 1 required positional argument: 'value_shape'",
                $class
            )
        }
        fn call(
            &self,
            _x: &$crate::Tensor,
            _ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<$crate::Tensor> {
            $crate::keras_bail!(
                InvalidArgument,
                "{}.call() missing 1 required positional argument: 'value'",
                $class
            )
        }
        fn build_multi(&mut self, shapes: &[$crate::layers::Shape]) -> $crate::Result<()> {
            self.build_with_kwargs(shapes, &$crate::layers::ShapeKwargs::new())
        }
        fn compute_output_shapes(
            &self,
            shapes: &[$crate::layers::Shape],
        ) -> $crate::Result<Vec<$crate::layers::Shape>> {
            self.compute_output_shapes_with_kwargs(shapes, &$crate::layers::ShapeKwargs::new())
        }
        fn call_multi(
            &self,
            inputs: &[$crate::Tensor],
            masks: &[Option<$crate::Tensor>],
            ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<Vec<$crate::Tensor>> {
            self.call_with_kwargs(inputs, masks, &$crate::layers::CallKwargs::new(), ctx)
        }
        fn compute_masks(
            &self,
            inputs: &[$crate::Tensor],
            masks: &[Option<$crate::Tensor>],
        ) -> $crate::Result<Vec<Option<$crate::Tensor>>> {
            self.compute_masks_with_kwargs(inputs, masks, &$crate::layers::CallKwargs::new())
        }
        fn call_kwarg_names(&self) -> &'static [&'static str] {
            $crate::layers::attention::multi_head_attention::MHA_KWARGS
        }
        fn takes_positional_tensors(&self) -> bool {
            true
        }
        fn build_with_kwargs(
            &mut self,
            shapes: &[$crate::layers::Shape],
            kwargs: &$crate::layers::ShapeKwargs,
        ) -> $crate::Result<()> {
            use $crate::layers::attention::multi_head_attention::{check_kwargs, qvk};
            check_kwargs(kwargs, $class)?;
            let (q, v, k) = qvk(shapes, kwargs, $class)?;
            let (q, v, k) = (q.clone(), v.clone(), k.cloned());
            self.build_shapes(&q, &v, k.as_ref())
        }
        fn compute_output_shapes_with_kwargs(
            &self,
            shapes: &[$crate::layers::Shape],
            kwargs: &$crate::layers::ShapeKwargs,
        ) -> $crate::Result<Vec<$crate::layers::Shape>> {
            use $crate::layers::attention::multi_head_attention::{check_kwargs, qvk};
            check_kwargs(kwargs, $class)?;
            let (q, v, k) = qvk(shapes, kwargs, $class)?;
            kwargs.bool_or("use_causal_mask", $class, false)?;
            self.shapes(q, v, k, kwargs.bool_or("return_attention_scores", $class, false)?)
        }
        fn call_with_kwargs(
            &self,
            inputs: &[$crate::Tensor],
            masks: &[Option<$crate::Tensor>],
            kwargs: &$crate::layers::CallKwargs,
            ctx: &mut $crate::layers::CallContext,
        ) -> $crate::Result<Vec<$crate::Tensor>> {
            use $crate::layers::attention::multi_head_attention::{check_value_key, resolve};
            use $crate::layers::merging::base_merge::known;
            let a = resolve(inputs, masks, kwargs, $class)?;
            $crate::layers::call_kwargs::with_training(ctx, a.training, |ctx| {
                let b = self.built_ref()?;
                let key = a.key.unwrap_or(a.value);
                check_value_key(&known(a.value), &known(key))?;
                let mask = a.combined_mask(self.args.sliding_window)?;
                self.attend(b, [a.query, key, a.value], mask.as_ref(), a.scores, ctx)
            })
        }
        fn compute_masks_with_kwargs(
            &self,
            inputs: &[$crate::Tensor],
            masks: &[Option<$crate::Tensor>],
            kwargs: &$crate::layers::CallKwargs,
        ) -> $crate::Result<Vec<Option<$crate::Tensor>>> {
            let a = $crate::layers::attention::multi_head_attention::resolve(inputs, masks, kwargs, $class)?;
            // The output carries the query's mask.
            let mut out = vec![a.masks[0].map($crate::layers::merging::base_merge::bool_mask).transpose()?];
            if a.scores {
                // The scores come out of Keras's masked Softmax layer, which passes its mask on:
                // the attention mask expanded to the scores' rank.
                let (axes, rank) = self.scores_dims()?;
                let m = a.combined_mask(self.args.sliding_window)?;
                let expand =
                    |m| $crate::layers::attention::scaled_dot_product::expand_for_scores(&m, axes, rank);
                out.push(m.map(expand).transpose()?);
            }
            Ok(out)
        }
        fn own_weights_and_sublayers_mut(
            &mut self,
        ) -> (Vec<&mut $crate::layers::Variable>, Vec<&mut dyn $crate::layers::Layer>) {
            (Vec::new(), self.built.as_mut().map_or_else(Vec::new, |b| b.proj.layers_mut()))
        }
        fn set_trainable(&mut self, trainable: bool) {
            self.base.trainable = trainable;
            if let Some(b) = &mut self.built {
                for l in b.proj.layers_mut() {
                    l.set_trainable(trainable);
                }
            }
        }
    };
}
pub(super) use attention_call_methods;

/// Writes, inside the `impl` of an attention layer with `base`, `args: $Args` and `seeded`
/// fields, the builders of the arguments MultiHeadAttention and GroupedQueryAttention share
/// (`dropout`, `sliding_window`, `seed`, `name`, each with Keras's check), the projections'
/// weight arguments (`maker`), and `finish_config`, the end of `from_config` that runs the
/// same builders on the config's values.
macro_rules! attention_arg_builders {
    ($Args:ident) => {
        /// Dropout rate on the attention scores in training.
        pub fn dropout(mut self, rate: f32) -> Self {
            if !(0.0..1.0).contains(&rate) {
                self.base.fail($crate::Error::InvalidArgument(format!(
                    "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate={rate}"
                )));
            }
            self.args.dropout = rate;
            self
        }

        /// Restricts attention to `|i - j| < window` (Keras 3.15 `sliding_window`; with
        /// `use_causal_mask` the causal sliding window of Mistral and Llama 3).
        pub fn sliding_window(mut self, window: usize) -> Self {
            if window == 0 {
                self.base.fail($crate::Error::InvalidArgument(
                    "`sliding_window` must be `None` or a positive integer. Received: sliding_window=0".into(),
                ));
            }
            self.args.sliding_window = Some(window);
            self
        }

        /// A fixed seed for the dropout masks.
        pub fn seed(mut self, seed: u64) -> Self {
            self.args.seed = Some(seed);
            self.seeded = std::sync::Mutex::new(Some(keras_engine::Rng::new(seed)));
            self
        }

        $crate::layers::builders::name_builder!();

        /// The end of `from_config`: the remaining builders' checks on the config's values,
        /// then the arguments as read and the base config.
        fn finish_config(mut self, args: $Args, cfg: &serde_json::Value) -> $crate::Result<Self> {
            if let Some(w) = args.sliding_window {
                self = self.sliding_window(w);
            }
            if let Some(s) = args.seed {
                self = self.seed(s);
            }
            self.args = args;
            self.base.apply_config_checked(cfg)?;
            Ok(self)
        }

        /// What `build` made, or the not-built error of a call before it.
        fn built_ref(&self) -> $crate::Result<&Built> {
            self.built
                .as_ref()
                .ok_or_else(|| $crate::Error::State(format!("Layer {} is not built", self.base.name)))
        }

        /// The weight arguments of the projections.
        fn maker(&self) -> $crate::layers::attention::projections::ProjectionMaker<'_> {
            use $crate::layers::weight_args::WeightArgs;
            let a = &self.args;
            $crate::layers::attention::projections::ProjectionMaker {
                layer: &self.base,
                kernel: WeightArgs::of(&a.kernel_initializer, &a.kernel_regularizer, &a.kernel_constraint),
                bias: WeightArgs::of(&a.bias_initializer, &a.bias_regularizer, &a.bias_constraint),
                use_bias: a.use_bias,
            }
        }
    };
}
pub(super) use attention_arg_builders;
