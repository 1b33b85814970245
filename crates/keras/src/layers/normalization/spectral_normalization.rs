//! `SpectralNormalization`: a wrapper that divides a layer's kernel by its spectral norm,
//! estimated by power iteration, at every training step.

use serde_json::Value;

use crate::initializers::Initializer;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::sublayers::call_sublayer;
use crate::layers::{Sublayer, Variable};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.SpectralNormalization`: constrains the spectral norm of the wrapped
/// layer's `kernel` (or an Embedding's `embeddings`), which bounds its Lipschitz constant and
/// stabilizes the training of GANs (Miyato et al., 2018).
///
/// In each training step (`fit`, `train_on_batch`, [`minimize`](crate::trainers::minimize))
/// the wrapper runs `power_iterations` steps of power iteration from its non-trainable
/// `vector_u` (shape `(1, units)`), then assigns `kernel / sigma` to the kernel and the new
/// estimate to `vector_u`, as Keras's `call(training=True)` does; the optimizer then updates
/// the normalized kernel. A kernel of zeros is left as it is. Inference calls use the kernel
/// as it stands. The output is cast to the input's dtype, as in Keras (so an Embedding called
/// on integer ids gives integer vectors there and here).
///
/// Its weights, in Keras's order, are the kernel, `vector_u`, then the wrapped layer's others;
/// `.keras` files store the kernel both in the wrapper's own group and in its `layer`, as
/// Keras does.
///
/// ```
/// use keras::layers::{Dense, Layer, SpectralNormalization};
/// let mut sn = SpectralNormalization::new(Dense::new(4)).power_iterations(2);
/// sn.build(&[None, Some(8)]).unwrap();
/// assert_eq!(sn.compute_output_shape(&[None, Some(8)]).unwrap(), vec![None, Some(4)]);
/// let names: Vec<&str> = sn.weights().iter().map(|w| w.name()).collect();
/// assert_eq!(names, ["kernel", "vector_u", "bias"]);
/// // A training step's normalization: the kernel's largest singular value becomes ~1.
/// sn.before_training_step().unwrap();
/// ```
pub struct SpectralNormalization {
    base: LayerBase,
    layer: Box<dyn Layer>,
    vector_u: Option<Variable>,
    args: SpectralNormalizationArgs,
}

config_args! {
    /// SpectralNormalization's own Keras argument (after `layer` in its `get_config()`).
    pub(crate) struct SpectralNormalizationArgs in SpectralNormalization.args, family LayerArgs {
        /// Power-iteration steps per normalization (at least 1; default 1).
        power_iterations: usize = 1,
    }
}

/// Keras's message for a non-positive `power_iterations`.
fn check_power_iterations(n: impl std::fmt::Display + PartialOrd + Default) -> Result<()> {
    if n <= Default::default() {
        keras_bail!(
            InvalidArgument,
            "`power_iterations` should be greater than zero. Received: `power_iterations={n}`"
        );
    }
    Ok(())
}

/// Keras's `numerical_utils.normalize(x, axis=None)`: `x * min(rsqrt(sum(x^2)), 1/epsilon)`.
fn l2_normalize(x: &mut [f32]) {
    let square_sum: f32 = x.iter().map(|v| v * v).sum();
    // 1e-7: Keras's `backend.epsilon()` default.
    let inv_norm = (1.0 / square_sum.sqrt()).min(1e7);
    for v in x {
        *v *= inv_norm;
    }
}

impl SpectralNormalization {
    /// Wraps `layer` (a layer with a `kernel`, such as Dense or Conv2D, or an Embedding).
    pub fn new<L: Layer>(layer: L) -> Self {
        Self::from_boxed(Box::new(layer))
    }

    /// Wraps an already boxed layer.
    pub fn from_boxed(layer: Box<dyn Layer>) -> Self {
        let mut base = LayerBase::new("spectral_normalization");
        if let Err(e) = crate::layers::layer::check_pending(layer.as_ref()) {
            base.fail(e);
        }
        SpectralNormalization { base, layer, vector_u: None, args: SpectralNormalizationArgs::defaults() }
    }

    /// Power-iteration steps per normalization (Keras `power_iterations`, default 1; at
    /// least 1).
    pub fn power_iterations(mut self, n: usize) -> Self {
        if let Err(e) = check_power_iterations(n) {
            self.base.fail(e);
        }
        self.args.power_iterations = n;
        self
    }

    crate::layers::builders::base_builders!();

    /// The wrapped layer.
    pub fn layer(&self) -> &dyn Layer {
        self.layer.as_ref()
    }

    /// Rebuilds the wrapper from its Keras config (`layer`, `power_iterations`).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        if let Some(n) = cfg.get("power_iterations").and_then(Value::as_i64) {
            check_power_iterations(n)?;
        }
        let args = SpectralNormalizationArgs::read_args(&mut LayerCfg::new(cfg, "SpectralNormalization"))?;
        let inner = crate::layers::reshaping::args::required(cfg, "layer", "SpectralNormalization")?;
        configured(
            SpectralNormalization::from_boxed(crate::layers::deserialize(inner)?)
                .power_iterations(args.power_iterations),
            cfg,
        )
    }

    /// Where the normalized variable is in the wrapped layer's `weights()`: its own `kernel`,
    /// else its own `embeddings` (Keras reads the attribute `layer.kernel`, then
    /// `layer.embeddings`).
    fn kernel_index(&self) -> Result<usize> {
        let own = self.layer.own_weights();
        let kernel = own
            .iter()
            .find(|v| v.name() == "kernel")
            .or_else(|| own.iter().find(|v| v.name() == "embeddings"))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{} object has no attribute 'kernel' nor 'embeddings'",
                    self.layer.class_name()
                ))
            })?;
        let all = self.layer.weights();
        all.iter().position(|w| std::ptr::eq(*w, *kernel)).ok_or_else(|| {
            Error::State(format!(
                "SpectralNormalization: the kernel of {} is not among its weights",
                self.layer.name()
            ))
        })
    }

    /// The kernel's width (its last axis), which `vector_u` matches.
    fn kernel_units(&self) -> Result<usize> {
        let k = self.kernel_index()?;
        let shape = self.layer.weights()[k].shape().to_vec();
        match shape.last() {
            Some(&u) if u > 0 => Ok(u),
            _ => keras_bail!(Shape, "SpectralNormalization: the kernel of shape {shape:?} has no units axis"),
        }
    }

    /// Keras's `normalized_weights`: `power_iterations` steps of power iteration on the kernel
    /// seen as a `(rows, units)` matrix, then `sigma = v W u^T`. Returns the new `vector_u`
    /// and `kernel / sigma`, or `None` for a kernel of zeros (Keras's `ops.cond`).
    fn normalized_weights(&self) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let (k, u_var) = match (self.kernel_index(), &self.vector_u) {
            (Ok(k), Some(u)) => (k, u),
            (Err(e), _) => return Err(e),
            (_, None) => keras_bail!(State, "Layer {} is not built", self.base.name),
        };
        let w = self.layer.weights()[k].value().to_f32_vec();
        if w.iter().all(|&x| x == 0.0) {
            return Ok(None);
        }
        let mut u = u_var.value().to_f32_vec();
        let units = u.len();
        let rows = w.len() / units;
        let mut v = vec![0f32; rows];
        // v W, as a (1, units) row.
        let v_w = |v: &[f32]| -> Vec<f32> {
            let mut out = vec![0f32; units];
            for (vi, row) in v.iter().zip(w.chunks_exact(units)) {
                for (o, x) in out.iter_mut().zip(row) {
                    *o += vi * x;
                }
            }
            out
        };
        for _ in 0..self.args.power_iterations {
            for (vi, row) in v.iter_mut().zip(w.chunks_exact(units)) {
                *vi = row.iter().zip(&u).map(|(x, uj)| x * uj).sum();
            }
            l2_normalize(&mut v);
            u = v_w(&v);
            l2_normalize(&mut u);
        }
        let sigma: f32 = v_w(&v).iter().zip(&u).map(|(a, b)| a * b).sum();
        Ok(Some((u, w.iter().map(|x| x / sigma).collect())))
    }
}

impl Layer for SpectralNormalization {
    crate::layers::layer::layer_base_methods!("SpectralNormalization");

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        if !self.layer.built() {
            self.layer.build(input_shape)?;
        }
        let units = self.kernel_units()?;
        let init = Initializer::TruncatedNormal { mean: 0.0, stddev: 0.02, seed: None };
        self.vector_u =
            Some(Variable::new("vector_u", &self.base.name, init.initialize(&[1, units])?, false));
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        self.layer.compute_output_shape(input_shape)
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        let y = call_sublayer(self.layer.as_ref(), x, ctx)?;
        Ok(if y.dtype() == x.dtype() { y } else { y.cast(x.dtype()) })
    }

    fn before_training_step(&mut self) -> Result<()> {
        if self.base.built {
            if let Some((u, kernel)) = self.normalized_weights()? {
                let k = self.kernel_index()?;
                let kernel_var = &mut self.layer.weights_mut()[k];
                let shape = kernel_var.shape().to_vec();
                kernel_var.assign(&Tensor::new(kernel, shape)?)?;
                if let Some(u_var) = self.vector_u.as_mut() {
                    let shape = u_var.shape().to_vec();
                    u_var.assign(&Tensor::new(u, shape)?)?;
                }
            }
        }
        self.layer.before_training_step()
    }

    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        vec![Sublayer::attr("layer", self.layer.as_ref())]
    }

    /// Keras tracks the wrapped kernel as the wrapper's own variable too (`self.kernel =
    /// self.layer.kernel`), so its own group is `[kernel, vector_u]`.
    fn own_weights(&self) -> Vec<&Variable> {
        match (self.kernel_index(), &self.vector_u) {
            (Ok(k), Some(u)) => vec![self.layer.weights()[k], u],
            _ => self.vector_u.iter().collect(),
        }
    }

    fn own_weights_mut(&mut self) -> Vec<&mut Variable> {
        self.vector_u.iter_mut().collect()
    }

    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        (self.vector_u.iter_mut().collect(), vec![self.layer.as_mut()])
    }

    /// Keras's order: the kernel, `vector_u`, then the wrapped layer's other weights.
    fn weights(&self) -> Vec<&Variable> {
        let mut inner = self.layer.weights();
        match (self.kernel_index(), &self.vector_u) {
            (Ok(k), Some(u)) => {
                let kernel = inner.remove(k);
                [kernel, u].into_iter().chain(inner).collect()
            }
            _ => inner,
        }
    }

    fn weights_mut(&mut self) -> Vec<&mut Variable> {
        let k = self.kernel_index().ok();
        let mut inner = self.layer.weights_mut();
        match (k, self.vector_u.as_mut()) {
            (Some(k), Some(u)) => {
                let kernel = inner.remove(k);
                [kernel, u].into_iter().chain(inner).collect()
            }
            _ => inner,
        }
    }

    /// The base config, the wrapped layer, then `power_iterations` (Keras's order).
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("layer".into(), self.layer.serialize());
        self.args.write_args(&mut m);
        Value::Object(m)
    }
}
