//! Bounds on what a loaded configuration may make us allocate.
//!
//! A model built from a file allocates its weights before they are read, so a hostile
//! `config.json` (`Dense(units=10**12)`) could exhaust memory before any check on the
//! weights themselves. Every weight must be present in the weights file, and Keras writes
//! weights uncompressed, so a layer is refused before it is built when the parameters it
//! would create exceed what the weights file can hold.

use serde_json::Value;

use crate::layers::Layer;
use crate::{keras_bail, Result};

/// Largest integer accepted anywhere in a layer config (seeds and object ids excepted).
const MAX_CONFIG_INT: u64 = 1 << 31;
/// Most elements one sample may have between two layers.
const MAX_SAMPLE_ELEMENTS: u128 = 1 << 32;
/// Most layers in a loaded model.
pub(crate) const MAX_LAYERS: usize = 100_000;

/// Refuses integers larger than [`MAX_CONFIG_INT`] in a layer config (they can only make
/// shape arithmetic overflow).
pub(crate) fn check_config_ints(v: &Value, depth: usize) -> Result<()> {
    if depth > 64 {
        keras_bail!(Config, "The layer config nests deeper than 64 levels");
    }
    match v {
        Value::Number(n) => {
            if n.as_u64().is_some_and(|x| x > MAX_CONFIG_INT)
                || n.as_i64().is_some_and(|x| x < -(MAX_CONFIG_INT as i64))
            {
                keras_bail!(Config, "The layer config holds an out-of-range integer ({n})");
            }
            if n.as_f64().is_some_and(|x| !x.is_finite()) {
                keras_bail!(Config, "The layer config holds a non-finite number ({n})");
            }
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_config_ints(x, depth + 1))?,
        Value::Object(o) => {
            for (k, x) in o {
                if k != "seed" && k != "shared_object_id" {
                    check_config_ints(x, depth + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn int(cfg: &Value, key: &str) -> u128 {
    match cfg.get(key) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as u128,
        Some(Value::Array(a)) => a.iter().map(|x| x.as_u64().unwrap_or(0) as u128).product(),
        _ => 0,
    }
}

fn known(shape: &[Option<usize>]) -> Vec<u128> {
    shape.iter().skip(1).map(|d| d.unwrap_or(1) as u128).collect()
}

/// Checks that one sample of `shape` is of a sane size.
pub(crate) fn check_shape(shape: &[Option<usize>]) -> Result<()> {
    let n = known(shape).iter().try_fold(1u128, |a, &d| a.checked_mul(d));
    if n.is_none_or(|n| n > MAX_SAMPLE_ELEMENTS) {
        keras_bail!(Config, "A layer of the model would take inputs of shape {shape:?}, which is too large");
    }
    Ok(())
}

/// An upper bound on the number of parameters `layer` creates for inputs of `input`.
pub(crate) fn param_bound(layer: &dyn Layer, input: &[Option<usize>]) -> u128 {
    bound(layer.class_name(), &layer.get_config(), input)
}

fn bound(class: &str, cfg: &Value, input: &[Option<usize>]) -> u128 {
    let dims = known(input);
    let last = dims.last().copied().unwrap_or(1);
    let all: u128 = dims.iter().product();
    let rnn = |gates: u128, units: u128, bias_rows: u128| gates * units * (last + units + bias_rows);
    match class {
        "Dense" => int(cfg, "units") * (last + 1),
        "Conv1D" | "Conv2D" | "Conv2DTranspose" => {
            let filters = int(cfg, "filters");
            let groups = int(cfg, "groups").max(1);
            int(cfg, "kernel_size") * (last / groups).max(1) * filters + filters
        }
        "DepthwiseConv2D" => {
            let dm = int(cfg, "depth_multiplier").max(1);
            int(cfg, "kernel_size") * last * dm + last * dm
        }
        "SeparableConv2D" => {
            let dm = int(cfg, "depth_multiplier").max(1);
            let filters = int(cfg, "filters");
            int(cfg, "kernel_size") * last * dm + last * dm * filters + filters
        }
        "Embedding" => int(cfg, "input_dim") * int(cfg, "output_dim"),
        "SimpleRNN" => rnn(1, int(cfg, "units"), 1),
        "LSTM" => rnn(4, int(cfg, "units"), 1),
        "GRU" => rnn(3, int(cfg, "units"), 2),
        "ConvLSTM1D" | "ConvLSTM2D" | "ConvLSTM3D" => {
            // Kernel (k.., c, 4f), recurrent kernel (k.., f, 4f), bias (4f); the channels are
            // the last axis or (channels_first) the one after time; unknown: the larger.
            let filters = int(cfg, "filters");
            let after_time = dims.get(1).copied().unwrap_or(1);
            let channels = match cfg.get("data_format").and_then(Value::as_str) {
                Some("channels_last") => last,
                Some("channels_first") => after_time,
                _ => after_time.max(last),
            };
            4 * filters * (int(cfg, "kernel_size") * (channels + filters) + 1)
        }
        "Bidirectional" => {
            let sub = |k: &str| {
                let s = &cfg[k];
                bound(s["class_name"].as_str().unwrap_or(""), &s["config"], input)
            };
            sub("layer") + sub("backward_layer")
        }
        "TimeDistributed" => {
            let s = &cfg["layer"];
            let mut inner: Vec<Option<usize>> = vec![None];
            inner.extend(input.iter().skip(2));
            bound(s["class_name"].as_str().unwrap_or(""), &s["config"], &inner)
        }
        "BatchNormalization" => 4 * dims.iter().copied().max().unwrap_or(1),
        "LayerNormalization" | "PReLU" => 2 * all,
        _ => 0,
    }
}

/// The inner `config` of a serialized model, with its layer count (at most [`MAX_LAYERS`])
/// and its integers ([`check_config_ints`]) checked.
pub(crate) fn checked_model_config(cfg: &Value) -> Result<&Value> {
    let inner = cfg.get("config").unwrap_or(&Value::Null);
    let n = inner.get("layers").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
    if n > MAX_LAYERS {
        keras_bail!(Config, "The model has {n} layers (at most {MAX_LAYERS} are loaded)");
    }
    check_config_ints(inner, 0)?;
    Ok(inner)
}

/// The parameters the layers of a loaded model may create: what a weights file of
/// `weights_bytes` can hold. Each float32 weight takes 4 bytes of the (uncompressed) file;
/// the bound allows for rounding and a small header.
pub(crate) struct ParamBudget {
    weights_bytes: usize,
    budget: u128,
    used: u128,
}

impl ParamBudget {
    /// The budget of a weights file of `weights_bytes`.
    pub(crate) fn new(weights_bytes: usize) -> Self {
        ParamBudget { weights_bytes, budget: (weights_bytes as u128) / 4 * 2 + 4096, used: 0 }
    }

    /// Counts the parameters `layer` would create for `input` ([`param_bound`]): an error,
    /// before the layer is built, once the model's total passes the budget.
    pub(crate) fn take(&mut self, layer: &dyn Layer, input: &[Option<usize>]) -> Result<()> {
        self.used += param_bound(layer, input);
        if self.used > self.budget {
            keras_bail!(
                Value,
                "The weights file is too small for the architecture: layer '{}' would bring the model to more \
                 parameters than the {}-byte weights file can hold",
                layer.name(),
                self.weights_bytes
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{ConvLSTM2D, Dense, Embedding, LSTM};

    #[test]
    fn bounds_cover_the_real_counts() {
        let d = Dense::new(7);
        assert_eq!(param_bound(&d, &[None, Some(5)]), 5 * 7 + 7);
        let mut l = LSTM::new(3);
        l.build(&[None, Some(4), Some(2)]).unwrap();
        assert!(param_bound(&l, &[None, Some(4), Some(2)]) >= l.count_params() as u128);
        let e = Embedding::new(1000, 8);
        assert_eq!(param_bound(&e, &[None, Some(3)]), 8000);
        let shape = [None, Some(3), Some(5), Some(4), Some(2)];
        let mut c = ConvLSTM2D::new(3, [2, 3]);
        c.build(&shape).unwrap();
        assert_eq!(param_bound(&c, &shape), c.count_params() as u128);
        let mut c = ConvLSTM2D::new(3, [2, 3]).data_format("channels_first");
        let shape = [None, Some(3), Some(2), Some(5), Some(4)];
        c.build(&shape).unwrap();
        assert_eq!(param_bound(&c, &shape), c.count_params() as u128);
    }

    #[test]
    fn huge_integers_and_shapes_are_refused() {
        let v: Value = serde_json::json!({"units": 1u64 << 40, "seed": 1u64 << 50});
        assert!(check_config_ints(&v, 0).is_err());
        let v: Value = serde_json::json!({"units": 10, "seed": 1u64 << 50});
        assert!(check_config_ints(&v, 0).is_ok());
        assert!(check_shape(&[None, Some(1 << 20), Some(1 << 20)]).is_err());
        assert!(check_shape(&[None, Some(224), Some(224), Some(3)]).is_ok());
    }
}
