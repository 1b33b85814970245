//! `add_weight`: how a layer makes its variables (Keras `Layer.add_weight`).

use keras_engine::DType;

use super::layer::{LayerBase, Variable};
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::regularizers::Regularizer;
use crate::{keras_bail, Error, Result};

/// Writes a public trait `$Trait` with one method `$method` that resolves a `$T` given as the
/// object itself or by its Keras name (`$T::from_name`), and its two impls.
macro_rules! by_object_or_name {
    ($(#[$doc:meta])* $Trait:ident, $method:ident, $T:ty, $method_doc:literal) => {
        $(#[$doc])*
        pub trait $Trait {
            #[doc = $method_doc]
            fn $method(self) -> Result<$T>;
        }

        impl $Trait for $T {
            fn $method(self) -> Result<$T> {
                Ok(self)
            }
        }

        impl $Trait for &str {
            fn $method(self) -> Result<$T> {
                <$T>::from_name(self)
            }
        }
    };
}

by_object_or_name!(
    /// An initializer given by object or by Keras name (`"zeros"`, `"glorot_uniform"`).
    IntoInitializer, into_initializer, Initializer, "Resolves the initializer."
);
by_object_or_name!(
    /// A regularizer given by object or by Keras name (`"l2"`).
    IntoRegularizer, into_regularizer, Regularizer, "Resolves the regularizer."
);
by_object_or_name!(
    /// A constraint given by object or by Keras name (`"non_neg"`).
    IntoConstraint, into_constraint, Constraint, "Resolves the constraint."
);

/// The arguments of [`LayerBase::add_weight`] (Keras `add_weight(shape, initializer, dtype,
/// trainable, regularizer, constraint, name)`), with Keras's defaults: trainable, float32,
/// `glorot_uniform` for float variables and `zeros` for integer ones. A name that cannot be
/// resolved (`.initializer("nope")`) is reported by `add_weight`.
///
/// ```
/// use keras::layers::{LayerBase, WeightSpec};
/// use keras::regularizers::Regularizer;
///
/// let base = LayerBase::new("my_layer");
/// let w = base
///     .add_weight(WeightSpec::new("w", &[3, 2]).initializer("ones").regularizer(Regularizer::l2(0.1).unwrap()))
///     .unwrap();
/// assert_eq!(w.path(), format!("{}/w", base.name));
/// assert_eq!(w.value().to_f32_vec(), vec![1.0; 6]);
/// let counter = base.add_weight(WeightSpec::new("count", &[]).dtype("int64").trainable(false)).unwrap();
/// assert!(!counter.trainable());
/// ```
#[derive(Clone, Debug)]
pub struct WeightSpec {
    name: String,
    shape: Vec<usize>,
    initializer: Option<Initializer>,
    regularizer: Option<Regularizer>,
    constraint: Option<Constraint>,
    trainable: bool,
    dtype: DType,
    error: Option<Error>,
}

impl WeightSpec {
    /// A weight called `name` of `shape` (`&[]` for a scalar).
    pub fn new(name: &str, shape: &[usize]) -> Self {
        WeightSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            initializer: None,
            regularizer: None,
            constraint: None,
            trainable: true,
            dtype: DType::F32,
            error: None,
        }
    }

    fn keep<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// The initial value's initializer, by object or Keras name.
    pub fn initializer(mut self, i: impl IntoInitializer) -> Self {
        let r = i.into_initializer();
        self.initializer = self.keep(r);
        self
    }

    /// A penalty of the weight added to the training loss while it is trainable.
    pub fn regularizer(mut self, r: impl IntoRegularizer) -> Self {
        let r = r.into_regularizer();
        self.regularizer = self.keep(r);
        self
    }

    /// A projection applied after each optimizer update.
    pub fn constraint(mut self, c: impl IntoConstraint) -> Self {
        let r = c.into_constraint();
        self.constraint = self.keep(r);
        self
    }

    crate::setters::setters! {
        /// Whether the optimizer updates the weight (default true).
        trainable: bool,
    }

    /// The dtype by Keras name: `"float32"` (default), `"int32"` or `"int64"`.
    pub fn dtype(mut self, dtype: &str) -> Self {
        let r = match dtype {
            "float32" | "float" => Ok(DType::F32),
            "int32" => Ok(DType::I32),
            "int64" | "int" => Ok(DType::I64),
            other => Err(Error::Value(format!("Invalid dtype: {other}"))),
        };
        if let Some(d) = self.keep(r) {
            self.dtype = d;
        }
        self
    }
}

impl LayerBase {
    /// Makes a weight of this layer (Keras `Layer.add_weight`): draws its initial value,
    /// attaches the regularizer and constraint, and names it `<layer>/<name>` (inside a
    /// model, the model prefixes the names of the layers around it). The layer keeps what
    /// this returns and lists it in [`crate::layers::Layer::own_weights`].
    pub fn add_weight(&self, spec: WeightSpec) -> Result<Variable> {
        if let Some(e) = spec.error {
            return Err(e);
        }
        if spec.name.is_empty() || spec.name.contains('/') {
            keras_bail!(
                Value,
                "Layer {}: a weight needs a non-empty name without '/', received name='{}'",
                self.name,
                spec.name
            );
        }
        let float = spec.dtype == DType::F32;
        if !float && spec.trainable {
            keras_bail!(
                Value,
                "Layer {}: weight '{}' has an integer dtype and cannot be trainable; pass trainable(false)",
                self.name,
                spec.name
            );
        }
        let init = spec.initializer.unwrap_or(if float {
            Initializer::glorot_uniform()
        } else {
            Initializer::Zeros
        });
        let mut value = init.initialize(&spec.shape)?;
        if !float {
            value = value.cast(spec.dtype);
        }
        Ok(Variable::new(&spec.name, &self.name, value, spec.trainable)
            .with_regularizer(spec.regularizer)
            .with_constraint(spec.constraint))
    }
}
