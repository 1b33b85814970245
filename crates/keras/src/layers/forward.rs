//! `forward_layer_methods!`: a layer that is another layer under a new name (a newtype such
//! as `AdditiveAttention(Attention)`) answers the chosen [`Layer`](crate::layers::Layer)
//! methods by asking its inner layer, each signature written here once.

/// Writes, inside `impl Layer for $ty`, the named methods as calls of the same method on the
/// inner layer `self.$inner`. The inner layer's whole weight list is the wrapper's own
/// (`own_weights`, `own_weights_mut`); `get_config` and `serialize` are the inner layer's.
/// Methods not named keep the trait's defaults, so a wrapper names every one its inner layer
/// overrides.
///
/// `forward_layer_methods!(0; build, call, get_config)`.
macro_rules! forward_layer_methods {
    ($inner:tt; $($method:ident),+ $(,)?) => {
        $( $crate::layers::forward::forward_layer_methods!(@one $inner $method); )+
    };
    (@one $i:tt takes_list) => {
        fn takes_list(&self) -> bool { self.$i.takes_list() }
    };
    (@one $i:tt call_kwarg_names) => {
        fn call_kwarg_names(&self) -> &'static [&'static str] { self.$i.call_kwarg_names() }
    };
    (@one $i:tt compute_output_shape) => {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> $crate::Result<$crate::layers::Shape> { self.$i.compute_output_shape(s) }
    };
    (@one $i:tt build) => {
        fn build(&mut self, s: &[Option<usize>]) -> $crate::Result<()> { self.$i.build(s) }
    };
    (@one $i:tt call) => {
        fn call(&self, x: &$crate::Tensor, ctx: &mut $crate::layers::CallContext) -> $crate::Result<$crate::Tensor> { self.$i.call(x, ctx) }
    };
    (@one $i:tt build_multi) => {
        fn build_multi(&mut self, shapes: &[$crate::layers::Shape]) -> $crate::Result<()> { self.$i.build_multi(shapes) }
    };
    (@one $i:tt compute_output_shapes) => {
        fn compute_output_shapes(&self, shapes: &[$crate::layers::Shape]) -> $crate::Result<Vec<$crate::layers::Shape>> { self.$i.compute_output_shapes(shapes) }
    };
    (@one $i:tt call_multi) => {
        fn call_multi(&self, inputs: &[$crate::Tensor], masks: &[Option<$crate::Tensor>], ctx: &mut $crate::layers::CallContext) -> $crate::Result<Vec<$crate::Tensor>> { self.$i.call_multi(inputs, masks, ctx) }
    };
    (@one $i:tt compute_masks) => {
        fn compute_masks(&self, inputs: &[$crate::Tensor], masks: &[Option<$crate::Tensor>]) -> $crate::Result<Vec<Option<$crate::Tensor>>> { self.$i.compute_masks(inputs, masks) }
    };
    (@one $i:tt call_with_kwargs) => {
        fn call_with_kwargs(&self, inputs: &[$crate::Tensor], masks: &[Option<$crate::Tensor>], kwargs: &$crate::layers::CallKwargs, ctx: &mut $crate::layers::CallContext) -> $crate::Result<Vec<$crate::Tensor>> { self.$i.call_with_kwargs(inputs, masks, kwargs, ctx) }
    };
    (@one $i:tt build_with_kwargs) => {
        fn build_with_kwargs(&mut self, shapes: &[$crate::layers::Shape], kwargs: &$crate::layers::ShapeKwargs) -> $crate::Result<()> { self.$i.build_with_kwargs(shapes, kwargs) }
    };
    (@one $i:tt compute_output_shapes_with_kwargs) => {
        fn compute_output_shapes_with_kwargs(&self, shapes: &[$crate::layers::Shape], kwargs: &$crate::layers::ShapeKwargs) -> $crate::Result<Vec<$crate::layers::Shape>> { self.$i.compute_output_shapes_with_kwargs(shapes, kwargs) }
    };
    (@one $i:tt compute_masks_with_kwargs) => {
        fn compute_masks_with_kwargs(&self, inputs: &[$crate::Tensor], masks: &[Option<$crate::Tensor>], kwargs: &$crate::layers::CallKwargs) -> $crate::Result<Vec<Option<$crate::Tensor>>> { self.$i.compute_masks_with_kwargs(inputs, masks, kwargs) }
    };
    (@one $i:tt own_weights) => {
        fn own_weights(&self) -> Vec<&$crate::layers::Variable> { self.$i.weights() }
    };
    (@one $i:tt own_weights_mut) => {
        fn own_weights_mut(&mut self) -> Vec<&mut $crate::layers::Variable> { self.$i.weights_mut() }
    };
    (@one $i:tt get_config) => {
        fn get_config(&self) -> serde_json::Value { $crate::layers::Layer::get_config(&self.$i) }
    };
    (@one $i:tt serialize) => {
        fn serialize(&self) -> serde_json::Value { self.$i.serialize() }
    };
}
pub(crate) use forward_layer_methods;
