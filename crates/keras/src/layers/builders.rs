//! Builder methods that many layers share word for word, written once.
//!
//! Each macro is invoked inside a layer's `impl` block; the layer provides the fields the
//! methods set (`base: LayerBase`, and for `conv_builders!` `activation`, `use_bias`,
//! `bias_initializer`, optionally `kernel_initializer`).

/// `input_shape` and `name`, for layers that keep their common state in `self.base`.
macro_rules! base_builders {
    () => {
        /// `input_shape` (without batch) for the first layer of a Sequential model.
        pub fn input_shape(mut self, shape: &[usize]) -> Self {
            self.base.input_shape = Some(shape.to_vec());
            self
        }

        /// Sets the layer name.
        pub fn name(mut self, name: &str) -> Self {
            self.base.rename(name);
            self
        }
    };
}

/// `activation` / `with_activation`, `use_bias`, `bias_initializer` and, with the `kernel`
/// argument, `kernel_initializer`: the options every convolution shares.
macro_rules! conv_builders {
    (kernel) => {
        $crate::layers::builders::conv_builders!();

        /// Kernel initializer.
        pub fn kernel_initializer(mut self, i: Initializer) -> Self {
            self.kernel_initializer = i;
            self
        }
    };
    () => {
        /// Activation by Keras name.
        pub fn activation(mut self, name: &str) -> Self {
            match Activation::from_name(name) {
                Ok(a) => self.activation = a,
                Err(e) => self.base.fail(e),
            }
            self
        }

        /// Activation by object.
        pub fn with_activation(mut self, a: Activation) -> Self {
            self.activation = a;
            self
        }

        /// Whether to add a bias.
        pub fn use_bias(mut self, yes: bool) -> Self {
            self.use_bias = yes;
            self
        }

        /// Bias initializer.
        pub fn bias_initializer(mut self, i: Initializer) -> Self {
            self.bias_initializer = i;
            self
        }
    };
}

pub(crate) use {base_builders, conv_builders};
