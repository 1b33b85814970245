//! `Hashing`: values to `num_bins` buckets with FarmHash (TensorFlow's
//! `to_hash_bucket_fast`) or, with a `salt`, keyed SipHash (`to_hash_bucket_strong`), as ids
//! or encodings.

use serde_json::{json, Value};

use crate::layers::layer::{configured, dtype_policy_config, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::preprocessing::encoding::{encode, encoded_shape, Mode, ModeSet, OutputMode};
use crate::layers::preprocessing::farmhash::hash_bucket_fast;
use crate::layers::preprocessing::siphash::{hash_bucket_strong, HashSalt};
use crate::layers::reshaping::args::layer_common;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.Hashing`: each value goes to bucket
/// `fingerprint64(value) % num_bins` (numbers hashed as their decimal text, floats truncated to
/// integers first, as Keras does on TensorFlow). With `mask_value`, that value maps to 0 and
/// the others to `1 + bucket` among `num_bins - 1`. With a [`salt`](Self::salt) the bucket is
/// `siphash24(salt, value) % num_bins` instead (TensorFlow's `to_hash_bucket_strong`, a keyed
/// hash a user cannot predict without the salt). `int` output is int64; `one_hot`,
/// `multi_hot` and `count` are float32 encodings. Strings are hashed with
/// [`call_strings`](Self::call_strings).
///
/// ```
/// use keras::layers::{CallContext, Hashing, Layer};
/// use keras::Tensor;
/// let h = Hashing::new(3);
/// let ids = h.call_strings(&["A", "B", "C", "D", "E"], &[5, 1]).unwrap();
/// assert_eq!(ids.to_i64_vec(), vec![1, 0, 1, 1, 2]); // Keras's documented example
/// let y = h.call(&Tensor::from_i64(vec![7, 7], [1, 2]).unwrap(), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_i64_vec()[0], y.to_i64_vec()[1]);
/// // Salted: other buckets, the same for the same salt.
/// let salted = Hashing::new(3).salt(133).call_strings(&["A", "B", "C", "D", "E"], &[5, 1]).unwrap();
/// assert_eq!(salted.to_i64_vec(), Hashing::new(3).salt_pair([133, 133]).call_strings(&["A", "B", "C", "D", "E"], &[5, 1]).unwrap().to_i64_vec());
/// ```
pub struct Hashing {
    base: LayerBase,
    args: HashingArgs,
}

impl ModeSet for Hashing {
    const ALLOWED: &'static [OutputMode] =
        &[OutputMode::Int, OutputMode::OneHot, OutputMode::MultiHot, OutputMode::Count];
    const BINARY_ALIAS: bool = false;
    fn unknown(_class: &str, mode: &str) -> String {
        format!(
            "Invalid value for argument `output_mode`. Expected one of ('int', 'one_hot', 'multi_hot', 'count'). Received: output_mode={mode}"
        )
    }
}

config_args! {
    /// Hashing's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct HashingArgs in Hashing.args, family LayerArgs {
        num_bins: usize,
        /// Keras's `salt=(k0, k1)`: hash with SipHash keyed by the two integers.
        salt: Option<HashSalt> = None; builder salt_pair(salt: [i64; 2]) => Some(HashSalt(salt)),
        /// The value that maps to 0 (a string or an integer).
        mask_value: Option<Value> = None,
        output_mode: Mode<Hashing> = Mode::new(OutputMode::Int),
        /// Always false (keras-rs has no sparse tensors; checked by `from_config`).
        sparse: bool = false,
    }
}

impl Hashing {
    /// `num_bins` buckets (at least 1), `int` output.
    pub fn new(num_bins: usize) -> Self {
        let mut base = LayerBase::new("hashing");
        if num_bins == 0 {
            base.fail(Error::InvalidArgument(
                "The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: num_bins=0."
                    .into(),
            ));
        }
        Hashing { base, args: HashingArgs { num_bins, ..HashingArgs::defaults() } }
    }

    /// The string that maps to 0.
    pub fn mask_string(mut self, mask: &str) -> Self {
        self.args.mask_value = Some(json!(mask));
        self
    }

    /// The number that maps to 0.
    pub fn mask_number(mut self, mask: i64) -> Self {
        self.args.mask_value = Some(json!(mask));
        self
    }

    /// Keras's `salt=s` (an int): hash with SipHash keyed by `[s, s]`.
    pub fn salt(self, salt: i64) -> Self {
        self.salt_pair([salt, salt])
    }

    /// `"int"`, `"one_hot"`, `"multi_hot"` or `"count"`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.base.accept(&mut self.args.output_mode, Mode::parse("Hashing", mode));
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        // Keras's message for a missing or non-positive `num_bins`.
        let n = match cfg.get("num_bins") {
            Some(v) => match v.as_i64() {
                Some(n) if n > 0 => n as usize,
                _ => keras_bail!(
                    Config,
                    "The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: num_bins={v}."
                ),
            },
            None => keras_bail!(Config, "The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: num_bins=None."),
        };
        let args = HashingArgs::read_args(&mut LayerCfg::new(cfg, "Hashing"))?;
        if args.sparse {
            keras_bail!(Config, "Hashing: `sparse=True` is not supported by keras-rs");
        }
        match &args.mask_value {
            None | Some(Value::String(_)) => {}
            Some(v) if v.as_i64().is_some() => {}
            Some(v) => {
                keras_bail!(Config, "Hashing: `mask_value` must be a string or an integer, received {v}")
            }
        }
        let mut h = Hashing::new(n);
        h.args = args;
        configured(h, cfg)
    }

    /// Buckets of the keys (their bytes), the mask first.
    fn bins(&self, keys: &[Vec<u8>], masked: &[bool]) -> Vec<i64> {
        let with_mask = self.args.mask_value.is_some() && self.args.num_bins > 1;
        let bins = if with_mask { self.args.num_bins - 1 } else { self.args.num_bins } as u64;
        let bucket = |k: &[u8]| match self.args.salt {
            Some(HashSalt(key)) => hash_bucket_strong(k, bins, key) as i64,
            None => hash_bucket_fast(k, bins) as i64,
        };
        keys.iter()
            .zip(masked)
            .map(|(k, &m)| match (with_mask, m) {
                (true, true) => 0,
                (true, false) => bucket(k) + 1,
                _ => bucket(k),
            })
            .collect()
    }

    fn output(&self, ids: Vec<i64>, shape: &[usize]) -> Result<Tensor> {
        let shape = if shape.is_empty() && self.args.output_mode.get() != OutputMode::Int {
            vec![1]
        } else {
            shape.to_vec()
        };
        encode(&ids, &shape, self.args.output_mode.get(), self.args.num_bins, None, None, &self.base.name)
    }

    /// The layer on strings laid out as `shape` (row-major).
    pub fn call_strings<S: AsRef<str>>(&self, strings: &[S], shape: &[usize]) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        if shape.iter().product::<usize>() != strings.len() {
            keras_bail!(Shape, "Hashing: {} strings do not fill the shape {shape:?}", strings.len());
        }
        let mask = self.args.mask_value.as_ref().and_then(Value::as_str);
        let masked: Vec<bool> = strings.iter().map(|s| Some(s.as_ref()) == mask).collect();
        let keys: Vec<Vec<u8>> = strings.iter().map(|s| s.as_ref().as_bytes().to_vec()).collect();
        self.output(self.bins(&keys, &masked), shape)
    }
}

impl Layer for Hashing {
    // Keras builds it at `__init__`: no build_config in a saved model.
    layer_common!("Hashing", false);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(encoded_shape(s, self.args.output_mode.get(), Some(self.args.num_bins), Some(1), |d| d == Some(1)))
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        let mask = self.args.mask_value.as_ref().and_then(Value::as_f64);
        // Floats are compared with the mask as they are, then truncated and hashed as text.
        let (masked, keys): (Vec<bool>, Vec<Vec<u8>>) = match x.dtype() {
            keras_engine::DType::F32 => x
                .to_f32_vec()
                .iter()
                .map(|&v| (Some(v as f64) == mask, (v as i64).to_string().into_bytes()))
                .unzip(),
            _ => x.to_i64_vec().iter().map(|&v| (Some(v as f64) == mask, v.to_string().into_bytes())).unzip(),
        };
        self.output(self.bins(&keys, &masked), x.shape())
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        // Keras's int output is int64: its config names that dtype policy.
        if self.args.output_mode.get() == OutputMode::Int {
            let mut policy = dtype_policy_config();
            policy["config"]["name"] = json!("int64");
            m.insert("dtype".into(), policy);
        }
        self.args.write_args(&mut m);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_config_round_trip_and_errors() {
        let h = Hashing::new(5).salt(-3);
        assert_eq!(h.get_config()["salt"], json!([-3, -3]));
        let back = Hashing::from_config(&h.get_config()).unwrap();
        assert_eq!(back.get_config(), h.get_config());
        assert_eq!(
            Hashing::from_config(&json!({"num_bins": 5, "salt": 7})).unwrap().get_config()["salt"],
            json!([7, 7])
        );
        assert_eq!(Hashing::new(5).get_config()["salt"], Value::Null);
        for bad in [json!([1, 2, 3]), json!("x"), json!(1.5), json!([1, "a"])] {
            let e = Hashing::from_config(&json!({"num_bins": 5, "salt": bad})).err().unwrap().to_string();
            assert!(
                e.contains("The `salt` argument for `Hashing` can only be a tuple of size 2 integers"),
                "{e}"
            );
        }
        // A salt changes the buckets (FarmHash and SipHash disagree on some of 20 words).
        let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
        let plain = Hashing::new(97).call_strings(&words, &[20]).unwrap().to_i64_vec();
        let salted = Hashing::new(97).salt(1).call_strings(&words, &[20]).unwrap().to_i64_vec();
        assert_ne!(plain, salted);
    }
}
