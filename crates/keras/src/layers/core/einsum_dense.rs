//! `EinsumDense`: a dense layer whose contraction is an einsum equation with a kernel of any
//! rank (Keras `keras.layers.EinsumDense`; the projections of MultiHeadAttention).

use keras_engine::ops;
use serde_json::{json, Value};

use crate::activations::Activation;
use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{insert_activity_regularizer, LayerArgs, LayerCfg};
use crate::layers::weight_args::WeightArgs;
use crate::regularizers::Regularizer;
use crate::setters::setters;
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.EinsumDense`: `activation(einsum(equation, inputs, kernel) + bias)`.
///
/// The equation is `"<input>,<kernel>-><output>"` in letters, optionally with an ellipsis on
/// the left of input and output (`"...b,bc->...c"`) or on their right (`"ab...,bc->ac..."`).
/// `output_shape` gives the output without the batch axis (`None` for a dimension taken from
/// the input); the kernel shape follows from the equation. `bias_axes` names the output
/// letters that get a bias.
///
/// ```
/// use keras::layers::{CallContext, EinsumDense, Layer};
/// use keras::Tensor;
///
/// // A Dense layer over the last axis of a sequence, with a bias on the output units.
/// let mut layer = EinsumDense::new("abc,cd->abd", &[None, Some(64)]).bias_axes("d");
/// layer.build(&[None, Some(32), Some(128)]).unwrap();
/// assert_eq!(layer.get_weights()[0].shape(), &[128, 64]);
/// assert_eq!(layer.get_weights()[1].shape(), &[64]);
/// let y = layer.call(&Tensor::ones([2, 32, 128]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[2, 32, 64]);
/// ```
pub struct EinsumDense {
    base: LayerBase,
    args: EinsumDenseArgs,
    kernel: Option<Variable>,
    bias: Option<Variable>,
    /// Prefix of the weight paths (`multi_head_attention/query` inside MultiHeadAttention).
    path_prefix: Option<String>,
}

config_args! {
    /// EinsumDense's Keras arguments, in Keras's `get_config()` order (`activity_regularizer`,
    /// kept in the layer's base, is written between the regularizers and the constraints).
    pub(crate) struct EinsumDenseArgs in EinsumDense.args, family LayerArgs {
        /// The output without the batch axis (`None` where the size comes from the input).
        output_shape: PartialShape,
        equation: String,
        activation: Activation = Activation::Linear,
        /// The output letters that get a bias (`"d"`); none by default.
        bias_axes: Option<String> = None; builder bias_axes(axes: &str) => Some(axes.to_string()),
        /// Kernel initializer (variance-scaling ones use the equation's input and output axes
        /// for their fans, as Keras does).
        kernel_initializer: Initializer = Initializer::glorot_uniform();
            builder kernel_initializer(initializer: Initializer),
        /// Bias initializer.
        bias_initializer: Initializer = Initializer::Zeros; builder bias_initializer(initializer: Initializer),
        /// Kernel regularizer.
        kernel_regularizer: Option<Regularizer> = None;
            builder kernel_regularizer(regularizer: Option<Regularizer>),
        /// Bias regularizer.
        bias_regularizer: Option<Regularizer> = None; builder bias_regularizer(regularizer: Option<Regularizer>),
        /// Kernel constraint.
        kernel_constraint: Option<Constraint> = None; builder kernel_constraint(constraint: Option<Constraint>),
        /// Bias constraint.
        bias_constraint: Option<Constraint> = None; builder bias_constraint(constraint: Option<Constraint>),
    }
}

/// EinsumDense's `output_shape`: a list whose `null` entries come from the input (an int is
/// a one-axis shape).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PartialShape(Shape);

impl ConfigArg<LayerArgs> for PartialShape {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> Result<Self> {
        let shape = match src.cfg.get(key) {
            Some(Value::Number(n)) => vec![n.as_u64().map(|v| v as usize)],
            Some(Value::Array(a)) => {
                a.iter()
                    .map(|d| match d {
                        Value::Null => Ok(None),
                        d => d.as_u64().map(|v| Some(v as usize)).ok_or_else(|| {
                            Error::Config(format!("{} config: bad `{key}` entry {d}", src.class))
                        }),
                    })
                    .collect::<Result<_>>()?
            }
            other => keras_bail!(Config, "{} config needs `{key}`, got {other:?}", src.class),
        };
        Ok(PartialShape(shape))
    }
}

/// What Keras's `_analyze_einsum_string` derives from the equation and shapes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EinsumAnalysis {
    /// The kernel shape.
    pub kernel_shape: Shape,
    /// The bias shape (`None`: no bias).
    pub bias_shape: Option<Shape>,
    /// The full output shape, batch included.
    pub output_shape: Shape,
    /// Kernel axes matched by input letters (the fan-in axes).
    pub input_axes: Vec<usize>,
    /// Kernel axes matched by output letters (the fan-out axes).
    pub output_axes: Vec<usize>,
}

/// Where the ellipsis of an equation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elided {
    None,
    Left,
    Right,
}

/// Splits `equation` into `(input, kernel, output, ellipsis)` as Keras's three regular
/// expressions accept it.
fn split(equation: &str) -> Result<(String, String, String, Elided)> {
    let invalid = || {
        Error::InvalidArgument(format!(
            "Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
        ))
    };
    let s = equation.replace("...", "0");
    let (lhs, out) = s.split_once("->").ok_or_else(invalid)?;
    let (inp, ker) = lhs.split_once(',').ok_or_else(invalid)?;
    let letters = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphabetic());
    if !letters(ker) {
        return Err(invalid());
    }
    if letters(inp) && letters(out) {
        return Ok((inp.into(), ker.into(), out.into(), Elided::None));
    }
    if let (Some(i), Some(o)) = (inp.strip_prefix('0'), out.strip_prefix('0')) {
        if letters(i) && letters(o) {
            return Ok((i.into(), ker.into(), o.into(), Elided::Left));
        }
    }
    if let (Some(i), Some(o)) = (inp.strip_suffix('0'), out.strip_suffix('0')) {
        if letters(i) && i.len() >= 2 && letters(o) {
            return Ok((i.into(), ker.into(), o.into(), Elided::Right));
        }
    }
    Err(invalid())
}

/// Keras `_analyze_einsum_string` / `_analyze_split_string`.
pub(crate) fn analyze(
    equation: &str,
    bias_axes: Option<&str>,
    input_shape: &[Option<usize>],
    partial_output_shape: &[Option<usize>],
) -> Result<EinsumAnalysis> {
    let (input_spec, weight_spec, output_spec, elided_at) = split(equation)?;
    let left = elided_at == Elided::Left;
    let elided = input_shape.len() as isize - input_spec.len() as isize;
    if elided < 0 || (elided > 0 && elided_at == Elided::None) {
        keras_bail!(
            InvalidArgument,
            "EinsumDense: equation '{equation}' does not fit an input of rank {} (shape {})",
            input_shape.len(),
            crate::utils::python_repr::py_shape(input_shape)
        );
    }
    let elided = elided as usize;
    let mut output_shape: Shape = partial_output_shape.to_vec();
    output_shape.insert(0, input_shape.first().copied().flatten());
    if elided > 0 && left {
        // In input order (Keras inserts each at position 1, which reverses them in its
        // symbolic shape; the computed tensor has them in order).
        for i in (1..elided).rev() {
            output_shape.insert(1, input_shape[i]);
        }
    } else if elided > 0 {
        for d in &input_shape[input_shape.len() - elided..] {
            output_shape.push(*d);
        }
    }
    let n_in = input_shape.len() as isize;
    let in_pos = |i: usize| -> usize {
        if left {
            (i as isize + elided as isize - n_in).rem_euclid(n_in) as usize
        } else {
            i
        }
    };
    let out_pos = |i: usize| -> usize {
        if left {
            i + elided
        } else {
            i
        }
    };
    let in_map = |c: char| input_spec.find(c).map(in_pos);
    let out_map = |c: char| output_spec.find(c).map(out_pos);
    let get = |s: &Shape, i: usize| -> Result<Option<usize>> {
        s.get(i).copied().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "EinsumDense: output_shape {} does not fit equation '{equation}'",
                crate::utils::python_repr::py_shape(partial_output_shape)
            ))
        })
    };
    let dim = |d: Option<usize>| d.map_or("None".to_string(), |v| v.to_string());
    for c in input_spec.chars() {
        let ind = input_shape[in_map(c).unwrap_or(0)];
        if let Some(o) = out_map(c) {
            let od = get(&output_shape, o)?;
            if od.is_some() && od != ind {
                keras_bail!(
                    InvalidArgument,
                    "Input shape and output shape do not match at shared dimension '{c}'. Input shape is {}, and output shape is {}.",
                    dim(ind),
                    dim(od)
                );
            }
        }
    }
    // Output dimensions left `None` but shared with a known input dimension take its size
    // (Keras leaves them unknown in its symbolic shape; the computed tensor has that size).
    for c in output_spec.chars() {
        if let (Some(o), Some(p)) = (out_map(c), in_map(c)) {
            if output_shape.get(o).is_some_and(Option::is_none) {
                output_shape[o] = input_shape[p];
            }
        }
    }
    for c in output_spec.chars() {
        if !input_spec.contains(c) && !weight_spec.contains(c) {
            keras_bail!(
                InvalidArgument,
                "Dimension '{c}' was specified in the output '{output_spec}' but has no corresponding dim in the input spec '{input_spec}' or weight spec '{output_spec}'"
            );
        }
    }
    let mut kernel_shape = Vec::new();
    let (mut input_axes, mut output_axes) = (Vec::new(), Vec::new());
    for (i, c) in weight_spec.chars().enumerate() {
        if let Some(o) = out_map(c) {
            kernel_shape.push(get(&output_shape, o)?);
            output_axes.push(i);
        } else if let Some(p) = in_map(c) {
            kernel_shape.push(input_shape[p]);
            input_axes.push(i);
        } else {
            keras_bail!(
                InvalidArgument,
                "Weight dimension '{c}' did not have a match in either the input spec '{input_spec}' or the output spec '{output_spec}'. For this layer, the weight must be fully specified."
            );
        }
    }
    let bias_shape = match bias_axes {
        None => None,
        Some(axes) => {
            if let Some(c) = axes.chars().find(|c| !output_spec.contains(*c)) {
                keras_bail!(
                    InvalidArgument,
                    "Bias dimension '{c}' was requested, but is not part of the output spec '{output_spec}'"
                );
            }
            let left_n = if left { elided } else { 0 };
            let first = axes.chars().filter_map(|c| output_spec.find(c)).min().unwrap_or(output_spec.len());
            let mut shape: Shape = Vec::new();
            for (i, c) in output_spec.chars().enumerate().skip(first) {
                shape.push(if axes.contains(c) { get(&output_shape, i + left_n)? } else { Some(1) });
            }
            if !left {
                shape.extend(std::iter::repeat_n(Some(1), elided));
            }
            Some(shape)
        }
    };
    Ok(EinsumAnalysis { kernel_shape, bias_shape, output_shape, input_axes, output_axes })
}

/// The equation with the ellipsis replaced by letters for an input of `rank`.
fn concrete_equation(equation: &str, rank: usize) -> Result<String> {
    let (i, k, o, at) = split(equation)?;
    if at == Elided::None {
        return Ok(format!("{i},{k}->{o}"));
    }
    let n = rank.saturating_sub(i.len());
    let used: String = format!("{i}{k}{o}");
    let free: String = ('a'..='z').chain('A'..='Z').filter(|c| !used.contains(*c)).take(n).collect();
    if free.len() < n {
        keras_bail!(
            InvalidArgument,
            "EinsumDense: equation '{equation}' leaves too few letters for rank {rank}"
        );
    }
    Ok(match at {
        Elided::Left => format!("{free}{i},{k}->{free}{o}"),
        _ => format!("{i}{free},{k}->{o}{free}"),
    })
}

fn known_dims(shape: &Shape, what: &str, name: &str) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|d| {
            d.ok_or_else(|| {
                Error::Shape(format!("Layer {name}: the {what} shape {shape:?} has an unknown dimension"))
            })
        })
        .collect()
}

impl EinsumDense {
    /// An EinsumDense layer. `output_shape` is the output without the batch axis (`None`
    /// where the size comes from the input).
    pub fn new(equation: &str, output_shape: &[Option<usize>]) -> Self {
        let mut base = LayerBase::new("einsum_dense");
        if let Err(e) = split(equation) {
            base.fail(e);
        }
        let args = EinsumDenseArgs {
            output_shape: PartialShape(output_shape.to_vec()),
            equation: equation.to_string(),
            ..EinsumDenseArgs::defaults()
        };
        EinsumDense { base, args, kernel: None, bias: None, path_prefix: None }
    }

    /// Activation by Keras name.
    pub fn activation(mut self, name: &str) -> Self {
        self.base.accept(&mut self.args.activation, Activation::from_name(name));
        self
    }

    setters! {
        /// Activity regularizer.
        activity_regularizer(base.activity_regularizer): Option<Regularizer>,
    }

    /// The kernel and bias arguments at once (MultiHeadAttention gives its projections its own).
    pub(crate) fn weight_args(mut self, kernel: WeightArgs, bias: WeightArgs) -> Self {
        let a = &mut self.args;
        (a.kernel_initializer, a.kernel_regularizer, a.kernel_constraint) =
            (kernel.initializer, kernel.regularizer, kernel.constraint);
        (a.bias_initializer, a.bias_regularizer, a.bias_constraint) =
            (bias.initializer, bias.regularizer, bias.constraint);
        self
    }

    crate::layers::builders::name_builder!();

    /// Weight paths under `prefix` instead of the layer name (a sub-layer's weights are
    /// `multi_head_attention/query/kernel` in Keras).
    pub(crate) fn path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_string());
        self
    }

    /// The equation.
    pub fn equation(&self) -> &str {
        &self.args.equation
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = EinsumDenseArgs::read_args(&mut LayerCfg::new(cfg, "EinsumDense"))?;
        // The constructor's check of the equation is the config's check too.
        let mut l = EinsumDense::new(&args.equation, &args.output_shape.0);
        l.args = args;
        if let Some(q) = cfg.get("quantization_config").filter(|v| !v.is_null()) {
            keras_bail!(Config, "EinsumDense: quantized layers are not supported (quantization_config={q})");
        }
        l.base.apply_config_checked(cfg)?;
        Ok(l)
    }
}

impl Layer for EinsumDense {
    crate::layers::layer::layer_base_methods!("EinsumDense");

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        let a = analyze(
            &self.args.equation,
            self.args.bias_axes.as_deref(),
            input_shape,
            &self.args.output_shape.0,
        )?;
        let name = self.base.name.clone();
        let kernel_shape = known_dims(&a.kernel_shape, "kernel", &name)?;
        let w = &self.args;
        let kernel_args = WeightArgs::of(&w.kernel_initializer, &w.kernel_regularizer, &w.kernel_constraint);
        let bias_args = WeightArgs::of(&w.bias_initializer, &w.bias_regularizer, &w.bias_constraint);
        let kernel = match &kernel_args.initializer {
            // Keras passes the equation's axes to variance scaling: fan_in is the product of
            // the input axes, fan_out of the output axes (they cover every kernel axis).
            Initializer::VarianceScaling { .. } => {
                let fan_in: usize = a.input_axes.iter().map(|&i| kernel_shape[i]).product();
                let fan_out: usize = a.output_axes.iter().map(|&i| kernel_shape[i]).product();
                kernel_args.initializer.initialize(&[fan_in, fan_out])?.reshape(kernel_shape.clone())?
            }
            init => init.initialize(&kernel_shape)?,
        };
        let owner = self.path_prefix.clone().unwrap_or(name.clone());
        self.kernel = Some(kernel_args.variable_of("kernel", &owner, kernel));
        self.bias = match &a.bias_shape {
            Some(s) => Some(bias_args.variable("bias", &owner, &known_dims(s, "bias", &name)?)?),
            None => None,
        };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(analyze(
            &self.args.equation,
            self.args.bias_axes.as_deref(),
            input_shape,
            &self.args.output_shape.0,
        )?
        .output_shape)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let shape: Shape = x.shape().iter().map(|&d| Some(d)).collect();
        let a =
            analyze(&self.args.equation, self.args.bias_axes.as_deref(), &shape, &self.args.output_shape.0)?;
        if a.kernel_shape.iter().zip(kernel.shape()).any(|(k, &w)| *k != Some(w))
            || a.kernel_shape.len() != kernel.shape().len()
        {
            keras_bail!(
                Shape,
                "Input 0 of layer \"{}\" is incompatible with the layer: the kernel has shape {:?}, but an input of shape {:?} needs {:?}",
                self.base.name,
                kernel.shape(),
                x.shape(),
                a.kernel_shape
            );
        }
        let eq = concrete_equation(&self.args.equation, x.rank())?;
        let mut y = ops::einsum(&eq, x, kernel.value())?;
        if let Some(b) = &self.bias {
            y = ops::add(&y, b.value())?;
        }
        self.args.activation.apply(&y)
    }

    crate::sublayers!(; kernel, bias);

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        insert_activity_regularizer(&mut m, &self.base);
        m.insert("quantization_config".into(), Value::Null);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[Option<usize>]) -> Shape {
        v.to_vec()
    }

    #[test]
    fn analysis_matches_keras_for_mha_projections() {
        // MultiHeadAttention's query projection for (B, T, dim=16), 2 heads of 4.
        let a = analyze(
            "abc,cde->abde",
            Some("de"),
            &s(&[None, Some(5), Some(16)]),
            &s(&[None, Some(2), Some(4)]),
        )
        .unwrap();
        assert_eq!(a.kernel_shape, s(&[Some(16), Some(2), Some(4)]));
        assert_eq!(a.bias_shape, Some(s(&[Some(2), Some(4)])));
        assert_eq!(a.output_shape, s(&[None, Some(5), Some(2), Some(4)]));
        assert_eq!((a.input_axes, a.output_axes), (vec![0], vec![1, 2]));
        // The output projection contracts two axes.
        let a = analyze(
            "abcd,cde->abe",
            Some("e"),
            &s(&[None, Some(5), Some(2), Some(4)]),
            &s(&[None, Some(16)]),
        )
        .unwrap();
        assert_eq!(a.kernel_shape, s(&[Some(2), Some(4), Some(16)]));
        assert_eq!(a.bias_shape, Some(s(&[Some(16)])));
    }

    #[test]
    fn ellipsis_forms() {
        let a = analyze("...b,bc->...c", Some("c"), &s(&[None, Some(3), Some(7), Some(4)]), &s(&[Some(6)]))
            .unwrap();
        assert_eq!(a.output_shape, s(&[None, Some(3), Some(7), Some(6)]));
        assert_eq!(a.kernel_shape, s(&[Some(4), Some(6)]));
        assert_eq!(concrete_equation("...b,bc->...c", 4).unwrap(), "ade b,bc->adec".replace(' ', ""));
        let a = analyze("ab...,bc->ac...", Some("c"), &s(&[None, Some(4), Some(3)]), &s(&[Some(6)])).unwrap();
        assert_eq!(a.output_shape, s(&[None, Some(6), Some(3)]));
        assert_eq!(a.bias_shape, Some(s(&[Some(6), Some(1)])));
        assert_eq!(concrete_equation("ab...,bc->ac...", 3).unwrap(), "abd,bc->acd");
    }

    #[test]
    fn keras_errors() {
        let e = analyze("ab,bc->ac", None, &s(&[None, Some(4)]), &s(&[Some(3)])).unwrap();
        assert_eq!(e.kernel_shape, s(&[Some(4), Some(3)]));
        let err =
            analyze("abc,cd->abd", None, &s(&[None, Some(5), Some(4)]), &s(&[Some(6), Some(3)])).unwrap_err();
        assert_eq!(
            err.message(),
            "Input shape and output shape do not match at shared dimension 'b'. Input shape is 5, and output shape is 6."
        );
        let err = analyze("ab,bc->acx", None, &s(&[None, Some(4)]), &s(&[Some(3), Some(2)])).unwrap_err();
        assert!(err.message().starts_with("Dimension 'x' was specified in the output 'acx'"), "{err}");
        let err = analyze("ab,bcz->ac", None, &s(&[None, Some(4)]), &s(&[Some(3)])).unwrap_err();
        assert!(err.message().starts_with("Weight dimension 'z' did not have a match"), "{err}");
        let err = analyze("ab,bc->ac", Some("q"), &s(&[None, Some(4)]), &s(&[Some(3)])).unwrap_err();
        assert_eq!(
            err.message(),
            "Bias dimension 'q' was requested, but is not part of the output spec 'ac'"
        );
        let err = split("ab,bc").unwrap_err();
        assert!(err.message().starts_with("Invalid einsum equation 'ab,bc'"), "{err}");
        let mut l = EinsumDense::new("a.b,bc->ac", &[Some(3)]);
        assert!(l.build(&[None, Some(4)]).is_err());
    }
}
