//! `Embedding`: integer ids -> rows of a `(input_dim, output_dim)` table.

use serde_json::Value;

use crate::constraints::Constraint;
use crate::initializers::Initializer;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::{insert_before, LayerArgs, LayerCfg};
use crate::layers::weight_args::WeightArgs;
use crate::regularizers::Regularizer;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};
use keras_engine::kernels::row_grad::RowGradBuffer;
use std::sync::{Arc, Mutex};

/// Turns non-negative integer ids into dense vectors (Keras `keras.layers.Embedding`).
/// Weight `embedding/embeddings (input_dim, output_dim)`, initialized uniform in
/// `[-0.05, 0.05]`. Inputs are int32/int64 ids (or floats holding integers); the gradient is
/// a scatter-add of the output gradient rows into the table.
///
/// ```
/// use keras::layers::{CallContext, Embedding, Layer};
/// use keras::Tensor;
/// let mut emb = Embedding::new(10, 4).mask_zero(true);
/// emb.build(&[None, Some(3)]).unwrap();
/// let ids = Tensor::from_i32(vec![1, 0, 9], [1, 3]).unwrap();
/// let y = emb.call(&ids, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 3, 4]);
/// let mask = emb.compute_mask(&ids, None).unwrap().unwrap();
/// assert_eq!(mask.to_f32_vec(), vec![1.0, 0.0, 1.0]);
/// assert!(emb.call(&Tensor::from_i32(vec![10], [1, 1]).unwrap(), &mut CallContext::new(false)).is_err());
/// ```
pub struct Embedding {
    pub(crate) base: LayerBase,
    pub(crate) args: EmbeddingArgs,
    embeddings: Option<Variable>,
    /// The table's gradient buffer, reused by the next backward pass once the optimizer is
    /// done with it (no 10 MB zero fill a step for W3's table; the same dense values).
    grad_buffer: Arc<Mutex<RowGradBuffer>>,
}

config_args! {
    /// Embedding's Keras arguments, in Keras's `get_config()` order (`activity_regularizer`,
    /// which Keras writes between the regularizer and the constraint, is not supported and
    /// written as `null` there).
    pub(crate) struct EmbeddingArgs in Embedding.args, family LayerArgs {
        pub(crate) input_dim: usize,
        pub(crate) output_dim: usize,
        /// Initializer of the table.
        pub(crate) embeddings_initializer: Initializer = Initializer::RandomUniform { minval: -0.05, maxval: 0.05, seed: None };
            builder embeddings_initializer(initializer: Initializer),
        /// Penalty of the table added to the training loss (Keras `embeddings_regularizer`).
        embeddings_regularizer: Option<Regularizer> = None;
            builder embeddings_regularizer(regularizer: Regularizer) => Some(regularizer),
        /// Constraint applied to the table after each optimizer update (Keras
        /// `embeddings_constraint`).
        embeddings_constraint: Option<Constraint> = None;
            builder embeddings_constraint(constraint: Constraint) => Some(constraint),
        /// Treat id 0 as padding: the layer emits a mask for the following layers.
        mask_zero: bool = false; builder mask_zero(mask_zero: bool),
    }
}

impl Embedding {
    /// An embedding of `input_dim` ids into `output_dim`-dimensional vectors.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        let mut base = LayerBase::new("embedding");
        for (arg, v) in [("input_dim", input_dim), ("output_dim", output_dim)] {
            if v == 0 {
                base.fail(Error::InvalidArgument(format!(
                    "Received an invalid value for argument `{arg}`. Expected a positive integer. Received: {arg}=0"
                )));
            }
        }
        Embedding {
            base,
            args: EmbeddingArgs { input_dim, output_dim, ..EmbeddingArgs::defaults() },
            embeddings: None,
            grad_buffer: Arc::default(),
        }
    }

    crate::layers::builders::base_builders!();

    /// Vocabulary size.
    pub fn input_dim(&self) -> usize {
        self.args.input_dim
    }

    /// Vector size.
    pub fn output_dim(&self) -> usize {
        self.args.output_dim
    }

    /// Rebuilds the layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = EmbeddingArgs::read_args(&mut LayerCfg::new(cfg, "Embedding"))?;
        // The constructor's checks are the config's checks too.
        let mut e = Embedding::new(args.input_dim, args.output_dim);
        e.args = args;
        e.base.apply_config(cfg);
        e.base.take_pending()?;
        Ok(e)
    }

    /// The ids as row indices, checked against `input_dim`.
    fn ids(&self, x: &Tensor) -> Result<Vec<usize>> {
        let raw = x.to_i64_vec();
        let mut out = Vec::with_capacity(raw.len());
        for (pos, &id) in raw.iter().enumerate() {
            if id < 0 || id as u64 >= self.args.input_dim as u64 {
                keras_bail!(
                    Value,
                    "Layer {}: input id {id} (flat position {pos}) is outside [0, input_dim={})",
                    self.base.name,
                    self.args.input_dim
                );
            }
            out.push(id as usize);
        }
        Ok(out)
    }
}

impl Layer for Embedding {
    crate::layers::layer::layer_base_methods!("Embedding");

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let a = &self.args;
        let table =
            WeightArgs::of(&a.embeddings_initializer, &a.embeddings_regularizer, &a.embeddings_constraint);
        self.embeddings =
            Some(table.variable("embeddings", &self.base.name, &[a.input_dim, a.output_dim])?);
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        let mut s = input_shape.to_vec();
        s.push(Some(self.args.output_dim));
        Ok(s)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let table = self
            .embeddings
            .as_ref()
            .ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let ids = self.ids(x)?;
        let d = self.args.output_dim;
        let tv = table.value().as_f32()?;
        let mut out = Vec::with_capacity(ids.len() * d);
        for &i in &ids {
            out.extend_from_slice(&tv[i * d..(i + 1) * d]);
        }
        let mut shape = x.shape().to_vec();
        shape.push(d);
        let vocab = self.args.input_dim;
        let grad_buffer = self.grad_buffer.clone();
        Ok(Tensor::from_op(
            out,
            shape,
            &[table.value()],
            Box::new(move |g, _o, _inputs| {
                let gv = g.as_f32()?;
                // A poisoned lock only means another backward pass panicked: the buffer
                // checks itself before reuse.
                let mut buf = grad_buffer.lock().unwrap_or_else(|e| e.into_inner());
                Ok(vec![Some(buf.gradient(vocab, d, &ids, gv)?)])
            }),
        )?)
    }

    fn compute_mask(&self, x: &Tensor, _mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        if !self.args.mask_zero {
            return Ok(None);
        }
        let m: Vec<f32> = x.to_i64_vec().iter().map(|&v| if v != 0 { 1.0 } else { 0.0 }).collect();
        Ok(Some(Tensor::new(m, x.shape().to_vec())?))
    }

    crate::sublayers!(; embeddings);

    fn checks_built_input_shape(&self) -> bool {
        // Keras's Embedding has no input spec: ids of any rank and length (and, here, hidden
        // states for the reverse projection).
        false
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        insert_before(&mut m, "embeddings_constraint", "activity_regularizer", Value::Null);
        m.insert("quantization_config".into(), Value::Null);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keras_engine::GradientTape;

    #[test]
    fn errors_name_layer_argument_and_value() {
        let e = crate::layers::layer::check_pending(&Embedding::new(0, 3)).unwrap_err();
        assert!(e.to_string().contains("input_dim=0"), "{e}");
        let e = crate::layers::layer::check_pending(&Embedding::new(3, 0)).unwrap_err();
        assert!(e.to_string().contains("output_dim=0"), "{e}");
        let mut emb = Embedding::new(5, 2).name("emb");
        emb.build(&[None, Some(2)]).unwrap();
        let mut ctx = CallContext::new(false);
        for bad in [5, -1] {
            let e = emb.call(&Tensor::from_i64(vec![0, bad], [1, 2]).unwrap(), &mut ctx).unwrap_err();
            assert!(matches!(e, Error::Value(_)));
            let s = e.to_string();
            assert!(s.contains("emb") && s.contains(&bad.to_string()) && s.contains("input_dim=5"), "{s}");
        }
        let mut unbuilt = Embedding::new(5, 2);
        assert!(unbuilt.call(&Tensor::from_i32(vec![1], [1]).unwrap(), &mut ctx).is_err());
        unbuilt.build(&[None]).unwrap();
    }

    #[test]
    fn float_ids_and_scatter_add_gradient() {
        let mut emb = Embedding::new(4, 2);
        emb.build(&[None, Some(3)]).unwrap();
        let table = Tensor::new((0..8).map(|v| v as f32).collect(), [4, 2]).unwrap();
        emb.set_weights(&[table]).unwrap();
        let ids = Tensor::new(vec![3.0, 1.0, 3.0], [1, 3]).unwrap();
        let tape = GradientTape::new();
        let y = emb.call(&ids, &mut CallContext::new(true)).unwrap();
        assert_eq!(y.to_f32_vec(), vec![6.0, 7.0, 2.0, 3.0, 6.0, 7.0]);
        let w = emb.weights()[0].value().clone();
        let g = tape.gradient(&y, &[&w]).unwrap()[0].clone().unwrap();
        assert_eq!(g.to_f32_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    }

    #[test]
    fn parallel_scatter_matches_a_serial_scatter_bit_for_bit() {
        // 5000 x 128 takes the parallel path; ids repeat (in both halves of the table) and
        // the output gradient rows have uneven magnitudes, so the order of additions shows.
        // 4099 x 130: blocks of 63 rows that do not divide the threads' row ranges, ids
        // spread over the table with its first and last rows; 9 x 3: the serial path.
        let spread = |n: i64, vocab: i64| -> Vec<i64> {
            let mut v: Vec<i64> = (0..n).map(|k| (k * 7919 + (k % 5) * 2048) % vocab).collect();
            (v[1], v[2], v[3]) = (0, vocab - 1, vocab - 1);
            v
        };
        let few = |n: i64, vocab: i64| -> Vec<i64> {
            (0..n).map(|k| (k * 7919 + (k % 3) * 4999) % 13 * 383 % vocab).collect()
        };
        for (vocab, d, n, ids) in [
            (5000usize, 128usize, 640usize, few(640, 5000)),
            (4099, 130, 900, spread(900, 4099)),
            (9, 3, 40, spread(40, 9)),
        ] {
            let mut emb = Embedding::new(vocab, d);
            emb.build(&[None, Some(n)]).unwrap();
            let x = Tensor::from_i64(ids.clone(), [1, n]).unwrap();
            let tape = GradientTape::new();
            let y = emb.call(&x, &mut CallContext::new(true)).unwrap();
            let up: Vec<f32> =
                (0..n * d).map(|k| ((k as f32) * 0.731).sin() * 10f32.powi((k % 7) as i32 - 3)).collect();
            let up = Tensor::new(up.clone(), [1, n, d]).unwrap();
            let loss = keras_engine::ops::sum_all(&keras_engine::ops::mul(&y, &up).unwrap()).unwrap();
            let w = emb.weights()[0].value().clone();
            let g = tape.gradient(&loss, &[&w]).unwrap()[0].clone().unwrap().to_f32_vec();
            let upv = up.to_f32_vec();
            let mut want = vec![0.0f32; vocab * d];
            for (row, &i) in ids.iter().enumerate() {
                let i = i as usize;
                for j in 0..d {
                    want[i * d + j] += upv[row * d + j];
                }
            }
            let repeated = ids.iter().filter(|&&i| ids.iter().filter(|&&k| k == i).count() > 1).count();
            assert!(repeated > 3, "the ids repeat");
            assert!(ids.iter().any(|&i| i < vocab as i64 / 2) && ids.iter().any(|&i| i >= vocab as i64 / 2));
            assert!(want.iter().any(|&v| v != 0.0));
            // Rows no id hits (zeros between the hits) in the larger tables.
            assert!(vocab < n || want.contains(&0.0));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&g), bits(&want), "{vocab} x {d}");
        }
    }

    #[test]
    fn config_keys_in_keras_order_with_the_table_penalty() {
        let e = Embedding::new(5, 2).embeddings_regularizer(Regularizer::l1(0.1).unwrap()).mask_zero(true);
        let cfg = e.get_config();
        let keys: Vec<&str> = cfg.as_object().unwrap().keys().map(String::as_str).collect();
        let want = [
            "input_dim",
            "output_dim",
            "embeddings_initializer",
            "embeddings_regularizer",
            "activity_regularizer",
            "embeddings_constraint",
            "mask_zero",
            "quantization_config",
        ];
        assert_eq!(keys[keys.len() - want.len()..], want);
        assert!(cfg["embeddings_regularizer"].is_object(), "{cfg}");
        assert_eq!(Embedding::from_config(&cfg).unwrap().get_config(), cfg);
        assert!(Embedding::from_config(&serde_json::json!({"input_dim": 0, "output_dim": 2})).is_err());
        assert!(Embedding::from_config(&serde_json::json!({"output_dim": 2})).is_err());
    }
}
