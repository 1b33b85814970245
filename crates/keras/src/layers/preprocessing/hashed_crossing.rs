//! `HashedCrossing`: feature crosses with the hashing trick, bucket by bucket as TensorFlow's
//! `tf.sparse.cross_hashed` computes them.

use serde_json::{json, Map, Value};

use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::merging::base_merge::{known, serialize_with_build_shapes};
use crate::layers::preprocessing::encoding::{encode, Mode, ModeSet, OutputMode};
use crate::layers::preprocessing::farmhash::fingerprint64;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};
use keras_engine::DType;

/// TensorFlow's `_DEFAULT_HASH_KEY`, the start of every cross's fingerprint chain.
const HASH_KEY: u64 = 0xDE_CAFC_AFFE;

/// One column of a cross: one value per example, strings or integers.
///
/// Strings enter the cross as their FarmHash `Fingerprint64`, integers as their 64-bit value
/// (int32 columns are widened first), as TensorFlow's `SparseCrossHashed` does.
#[derive(Debug, Clone, Copy)]
pub enum CrossColumn<'a> {
    /// A string feature.
    Strings(&'a [&'a str]),
    /// An integer feature.
    Ints(&'a [i64]),
}

impl CrossColumn<'_> {
    fn len(&self) -> usize {
        match self {
            CrossColumn::Strings(s) => s.len(),
            CrossColumn::Ints(v) => v.len(),
        }
    }

    /// The value example `i` contributes to the fingerprint chain.
    fn feature(&self, i: usize) -> u64 {
        match self {
            CrossColumn::Strings(s) => fingerprint64(s[i].as_bytes()),
            CrossColumn::Ints(v) => v[i] as u64,
        }
    }
}

/// TensorFlow's `FingerprintCat64`: appends the fingerprint `fp2` to the chain `fp1`.
fn fingerprint_cat64(fp1: u64, fp2: u64) -> u64 {
    const MUL: u64 = 0xc6a4_a793_5bd1_e995;
    let shift_mix = |v: u64| v ^ (v >> 47);
    let mut result = fp1 ^ MUL;
    result ^= shift_mix(fp2.wrapping_mul(MUL)).wrapping_mul(MUL);
    result = result.wrapping_mul(MUL);
    result = shift_mix(result).wrapping_mul(MUL);
    shift_mix(result)
}

/// Keras `keras.layers.HashedCrossing`: crosses scalar categorical features with the "hashing
/// trick", `hash(concatenate(features)) % num_bins`, bucket for bucket as Keras on TensorFlow
/// (`tf.sparse.cross_hashed`: FarmHash fingerprints chained with `FingerprintCat64`).
///
/// Called on a list of at least two integer tensors of equal shape `()`, `(batch,)` or
/// `(batch, 1)` (in a Functional model: `HashedCrossing::new(n).apply_list(&[&a, &b])`). String
/// features, which keras-rs tensors do not hold, are crossed with [`cross`](Self::cross).
/// `int` output is int64 of the input shape; `one_hot` output is float32 with `num_bins`
/// columns (a last axis of size 1 is replaced).
///
/// ```
/// use keras::layers::{CrossColumn, HashedCrossing};
/// let layer = HashedCrossing::new(5);
/// let ids = layer
///     .cross(&[CrossColumn::Strings(&["A", "B", "A", "B", "A"]), CrossColumn::Ints(&[101, 101, 101, 102, 102])], &[5])
///     .unwrap();
/// assert_eq!(ids.to_i64_vec(), vec![1, 4, 1, 1, 3]); // Keras's documented example
/// ```
pub struct HashedCrossing {
    base: LayerBase,
    args: HashedCrossingArgs,
    build_shapes: Option<Vec<Shape>>,
}

impl ModeSet for HashedCrossing {
    const ALLOWED: &'static [OutputMode] = &[OutputMode::Int, OutputMode::OneHot];
    const BINARY_ALIAS: bool = false;
    fn unknown(_class: &str, mode: &str) -> String {
        format!(
            "Unknown value for `output_mode` argument of HashedCrossing. Allowed values are: ('int', 'one_hot'). Received: output_mode={mode}"
        )
    }
}

config_args! {
    /// HashedCrossing's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct HashedCrossingArgs in HashedCrossing.args, family LayerArgs {
        num_bins: usize,
        output_mode: Mode<HashedCrossing> = Mode::new(OutputMode::Int),
        /// Always false (keras-rs has no sparse tensors; checked by `from_config`).
        sparse: bool = false,
    }
}

impl HashedCrossing {
    /// Crosses into `num_bins` buckets (at least 1), `int` output.
    pub fn new(num_bins: usize) -> Self {
        let mut base = LayerBase::new("hashed_crossing");
        if num_bins == 0 {
            base.fail(Error::InvalidArgument(format!(
                "HashedCrossing: `num_bins` must be at least 1. Received: num_bins={num_bins}"
            )));
        }
        HashedCrossing {
            base,
            args: HashedCrossingArgs { num_bins, ..HashedCrossingArgs::defaults() },
            build_shapes: None,
        }
    }

    /// `"int"` (the default) or `"one_hot"`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.base.accept(&mut self.args.output_mode, Mode::parse("HashedCrossing", mode));
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config (`num_bins`, `output_mode`, `sparse`, `name`, `dtype`).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = HashedCrossingArgs::read_args(&mut LayerCfg::new(cfg, "HashedCrossing"))?;
        if args.num_bins == 0 {
            keras_bail!(Config, "HashedCrossing: `num_bins` must be at least 1. Received: num_bins=0");
        }
        if args.sparse {
            keras_bail!(Config, "HashedCrossing: `sparse=True` is not supported by keras-rs");
        }
        let mut layer = HashedCrossing::new(args.num_bins);
        layer.args = args;
        configured(layer, cfg)
    }

    /// The bucket of every example, the columns crossed in order.
    fn buckets(&self, columns: &[CrossColumn<'_>]) -> Vec<i64> {
        let n = columns.first().map_or(0, CrossColumn::len);
        let bins = self.args.num_bins as u64;
        (0..n)
            .map(|i| {
                let fp = columns.iter().fold(HASH_KEY, |fp, c| fingerprint_cat64(fp, c.feature(i)));
                (fp % bins) as i64
            })
            .collect()
    }

    /// The output for the buckets of inputs of `shape`: int64 ids of that shape, or float32
    /// one-hot rows (a scalar input gives one row, as Keras's encoding uprank does).
    fn output(&self, ids: Vec<i64>, shape: &[usize]) -> Result<Tensor> {
        let mode = self.args.output_mode.get();
        let shape = if shape.is_empty() && mode != OutputMode::Int { vec![1] } else { shape.to_vec() };
        encode(&ids, &shape, mode, self.args.num_bins, None, None, &self.base.name)
    }

    /// Crosses `columns` (at least two, each holding the values of `shape`, row-major), for
    /// string features or any mix of strings and integers. `shape` is `[]`, `[batch]` or
    /// `[batch, 1]`, as for [`Layer::call_multi`].
    pub fn cross(&self, columns: &[CrossColumn<'_>], shape: &[usize]) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        check_at_least_two(columns.len())?;
        check_shape(&shape.iter().map(|&d| Some(d)).collect::<Vec<_>>())?;
        let n: usize = shape.iter().product();
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            keras_bail!(
                InvalidArgument,
                "All `HashedCrossing` inputs should have equal shape. Received a column of {} values for the shape {shape:?}",
                c.len()
            );
        }
        self.output(self.buckets(columns), shape)
    }
}

/// Keras's check that a cross has at least two inputs.
fn check_at_least_two(inputs: usize) -> Result<()> {
    if inputs < 2 {
        keras_bail!(
            InvalidArgument,
            "`HashedCrossing` should be called on at least two inputs. Received: {inputs} input(s)"
        );
    }
    Ok(())
}

/// Keras's check that a crossed input is a scalar or a batch of scalars (an unknown last axis
/// passes).
fn check_shape(shape: &[Option<usize>]) -> Result<()> {
    if shape.len() > 2 || (shape.len() == 2 && shape[1].is_some_and(|d| d != 1)) {
        keras_bail!(
            InvalidArgument,
            "All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or `(batch_size, 1)`. Received: shape={}",
            crate::layers::layer::shape_str(shape)
        );
    }
    Ok(())
}

impl Layer for HashedCrossing {
    crate::layers::layer::layer_base_methods!("HashedCrossing");

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, _s: &[Option<usize>]) -> Result<Shape> {
        not_a_list_call()
    }

    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        not_a_list_call()
    }

    fn build(&mut self, _s: &[Option<usize>]) -> Result<()> {
        not_a_list_call()
    }

    fn build_multi(&mut self, shapes: &[Shape]) -> Result<()> {
        self.compute_output_shapes(shapes)?;
        self.build_shapes = Some(shapes.to_vec());
        self.base.built = true;
        Ok(())
    }

    /// Keras's `compute_output_shape`: the first input's shape for `int`; for `one_hot` that
    /// shape with a last axis of `num_bins` (replacing a last axis of 1).
    fn compute_output_shapes(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        crate::layers::layer::check_pending(self)?;
        check_at_least_two(shapes.len())?;
        let first = &shapes[0];
        check_shape(first)?;
        if shapes[1..].iter().any(|s| s.len() != first.len() || s.last() != first.last()) {
            keras_bail!(
                InvalidArgument,
                "Expected the two input tensors to have identical shapes. Received input_shape={shapes:?}"
            );
        }
        let bins = Some(self.args.num_bins);
        Ok(vec![match (self.args.output_mode.get(), first.as_slice()) {
            (OutputMode::Int, _) => first.clone(),
            (_, []) => vec![bins],
            (_, [rest @ .., Some(1)]) => rest.iter().copied().chain([bins]).collect(),
            _ => first.iter().copied().chain([bins]).collect(),
        }])
    }

    fn call_multi(
        &self,
        inputs: &[Tensor],
        _masks: &[Option<Tensor>],
        _ctx: &mut CallContext,
    ) -> Result<Vec<Tensor>> {
        crate::layers::layer::check_pending(self)?;
        check_at_least_two(inputs.len())?;
        let shape = inputs[0].shape();
        check_shape(&known(&inputs[0]))?;
        if let Some(other) = inputs[1..].iter().find(|x| x.shape() != shape) {
            keras_bail!(
                InvalidArgument,
                "All `HashedCrossing` inputs should have equal shape. Received shapes {:?} and {:?}",
                known(&inputs[0]),
                known(other)
            );
        }
        if let Some(x) = inputs.iter().find(|x| x.dtype() == DType::F32) {
            keras_bail!(
                InvalidArgument,
                "All `HashedCrossing` inputs should have an integer or string dtype. Received an input of dtype {:?}",
                x.dtype()
            );
        }
        let values: Vec<Vec<i64>> = inputs.iter().map(Tensor::to_i64_vec).collect();
        let columns: Vec<CrossColumn<'_>> = values.iter().map(|v| CrossColumn::Ints(v)).collect();
        Ok(vec![self.output(self.buckets(&columns), shape)?])
    }

    /// Keras's own `get_config`: the arguments, `name`, and `dtype` as a plain name (`int64`
    /// for `int` output, else `float32`); no `trainable`.
    fn get_config(&self) -> Value {
        let mut m = Map::new();
        self.args.write_args(&mut m);
        m.insert("name".into(), json!(self.base.name));
        let dtype = if self.args.output_mode.get() == OutputMode::Int { "int64" } else { "float32" };
        m.insert("dtype".into(), json!(dtype));
        Value::Object(m)
    }

    fn serialize(&self) -> Value {
        serialize_with_build_shapes(self, self.build_shapes.as_deref())
    }
}

/// The single-tensor entry points: HashedCrossing takes a list.
fn not_a_list_call<T>() -> Result<T> {
    keras_bail!(
        InvalidArgument,
        "`HashedCrossing` should be called on a list or tuple of inputs. Received: a single tensor"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_chain_is_order_sensitive() {
        let a = fingerprint_cat64(fingerprint_cat64(HASH_KEY, 1), 2);
        let b = fingerprint_cat64(fingerprint_cat64(HASH_KEY, 2), 1);
        assert_ne!(a, b);
    }
}
