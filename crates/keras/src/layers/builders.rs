//! Builder methods that many layers share word for word, written once.
//!
//! Each macro is invoked inside a layer's `impl` block; the layer provides `base: LayerBase`.

/// `input_shape` and `name`, for layers that keep their common state in `self.base` (or at
/// the given path, `base_builders!(0.base)` for a wrapper of an inner struct).
macro_rules! base_builders {
    () => {
        crate::layers::builders::base_builders!(base);
    };
    ($($base:tt)+) => {
        /// `input_shape` (without batch) for the first layer of a Sequential model.
        pub fn input_shape(mut self, shape: &[usize]) -> Self {
            self.$($base)+.input_shape = Some(shape.to_vec());
            self
        }

        /// Sets the layer name.
        pub fn name(mut self, name: &str) -> Self {
            self.$($base)+.rename(name);
            self
        }
    };
}

pub(crate) use base_builders;

/// `name`, for layers that keep their common state in `self.base`.
macro_rules! name_builder {
    () => {
        /// Sets the layer name.
        pub fn name(mut self, name: &str) -> Self {
            self.base.rename(name);
            self
        }
    };
}

pub(crate) use name_builder;
