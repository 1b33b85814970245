//! The [`Layer`](crate::layers::Layer) methods MultiHeadAttention and GroupedQueryAttention
//! share: both are called as `call(query, value, key=None, ...)` with the same keywords, refuse
//! the one-tensor entry points with Python's missing-argument errors, and delegate the
//! many-tensor ones to their keyword forms.

/// Writes, inside `impl Layer for $ty`, the call, build, shape and mask methods of an
/// attention layer with `call(query, value, key=None, ...)`.
///
/// The layer type provides `build_shapes(&q, &v, k)`, `shapes(q, v, k, scores)`,
/// `run(query, value, key, masks, attention_mask, scores, causal, ctx)` and
/// `scores_mask(&CallArgs)` (the mask its scores output carries); `$class` is the Python class
/// name its errors use. It also writes `own_weights_and_sublayers_mut` and `set_trainable`
/// over the projections in `self.built`.
macro_rules! attention_call_methods {
    ($class:expr) => {
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
            let a = $crate::layers::attention::multi_head_attention::resolve(inputs, masks, kwargs, $class)?;
            $crate::layers::call_kwargs::with_training(ctx, a.training, |ctx| {
                self.run(a.query, a.value, a.key, a.masks, a.attention_mask, a.scores, a.causal, ctx)
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
                // The scores come out of Keras's masked Softmax layer, which passes its mask on.
                out.push(self.scores_mask(&a)?);
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
