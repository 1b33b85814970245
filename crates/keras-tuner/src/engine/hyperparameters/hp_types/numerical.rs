//! What `Int` and `Float` share (keras-tuner `Numerical`): the sampling argument, the checks
//! on the range, and the maps between a cumulative probability in `[0, 1)` and a value,
//! computed with the same float operations as Python so the same draw gives the same value.

use crate::error::{bail, Result};

/// How a probability in `[0, 1)` maps onto `[min_value, max_value]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sampling {
    /// `min + p * (max - min)`.
    #[default]
    Linear,
    /// `min * (max / min) ^ p`.
    Log,
    /// `max + min - min * (max / min) ^ (1 - p)`.
    ReverseLog,
}

impl Sampling {
    /// Parses `"linear"`, `"log"` or `"reverse_log"` (any case, as keras-tuner lowercases).
    pub fn parse(s: &str, class: &str, name: &str) -> Result<Sampling> {
        match s.to_lowercase().as_str() {
            "linear" => Ok(Sampling::Linear),
            "log" => Ok(Sampling::Log),
            "reverse_log" => Ok(Sampling::ReverseLog),
            _ => bail!(
                Value,
                "For HyperParameters.{class}(name='{name}'), sampling must be one of {{'linear', 'log', 'reverse_log'}}. Received: '{s}'."
            ),
        }
    }

    /// The name keras-tuner stores.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sampling::Linear => "linear",
            Sampling::Log => "log",
            Sampling::ReverseLog => "reverse_log",
        }
    }
}

/// The range, step and sampling of a numerical hyperparameter, in floats.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub min: f64,
    pub max: f64,
    pub step: Option<f64>,
    pub sampling: Sampling,
    /// Int hyperparameters use integer floor division for the linear step index.
    pub integer: bool,
}

/// Python's `float // float` (CPython `_float_div_mod`): `(1.0 - 0.0) // 0.1 == 9.0`.
pub(crate) fn py_floordiv(vx: f64, wx: f64) -> f64 {
    let m = vx % wx; // fmod
    let mut div = (vx - m) / wx;
    if m != 0.0 && (wx < 0.0) != (m < 0.0) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut fd = div.floor();
        if div - fd > 0.5 {
            fd += 1.0;
        }
        fd
    } else {
        (0.0f64).copysign(vx / wx)
    }
}

/// Python's `math.log(x, base)`.
pub(crate) fn py_log(x: f64, base: f64) -> f64 {
    x.ln() / base.ln()
}

/// `hp_utils.prob_to_index`.
pub(crate) fn prob_to_index(prob: f64, n: usize) -> usize {
    let ele = 1.0 / n as f64;
    let index = (prob / ele).floor();
    let index = if index.is_finite() && index > 0.0 { index as usize } else { 0 };
    if index >= n {
        n - 1
    } else {
        index
    }
}

/// `hp_utils.index_to_prob`: the centre of the index's bucket.
pub(crate) fn index_to_prob(index: f64, n: usize) -> f64 {
    (index + 0.5) * (1.0 / n as f64)
}

/// The checks of `Numerical._check_sampling_arg`, with keras-tuner's messages, plus the
/// ones Python leaves to a crash (non-finite bounds, a step that is not positive).
pub(crate) fn check(class: &str, name: &str, r: &Range, show: &dyn Fn(f64) -> String) -> Result<()> {
    if !r.min.is_finite() || !r.max.is_finite() {
        bail!(Value, "For HyperParameters.{class}(name='{name}'), min_value and max_value must be finite.");
    }
    if r.min > r.max {
        bail!(
            Value,
            "For HyperParameters.{class}(name='{name}'), min_value {} is greater than the max_value {}.",
            show(r.min),
            show(r.max)
        );
    }
    if r.sampling != Sampling::Linear && r.min <= 0.0 {
        bail!(
            Value,
            "For HyperParameters.{class}(name='{name}'), sampling='{}' does not support negative values, found min_value: {}.",
            r.sampling.as_str(),
            show(r.min)
        );
    }
    if let Some(step) = r.step {
        if r.sampling != Sampling::Linear && step <= 1.0 {
            bail!(
                Value,
                "For HyperParameters.{class}(name='{name}'), expected step > 1 with sampling='{}'. Received: step={}.",
                r.sampling.as_str(),
                show(step)
            );
        }
        if !(step > 0.0 && step.is_finite()) {
            bail!(
                Value,
                "For HyperParameters.{class}(name='{name}'), step must be positive. Received: step={}.",
                show(step)
            );
        }
    }
    Ok(())
}

impl Range {
    /// `_sample_numerical_value`.
    pub fn sample_value(&self, prob: f64, max: f64) -> f64 {
        match self.sampling {
            Sampling::Linear => prob * (max - self.min) + self.min,
            Sampling::Log => self.min * (max / self.min).powf(prob),
            Sampling::ReverseLog => max + self.min - self.min * (max / self.min).powf(1.0 - prob),
        }
    }

    /// `_numerical_to_prob`.
    pub fn value_prob(&self, value: f64, max: f64) -> f64 {
        if max == self.min {
            return 0.5;
        }
        match self.sampling {
            Sampling::Linear => (value - self.min) / (max - self.min),
            Sampling::Log => (value / self.min).ln() / (max / self.min).ln(),
            Sampling::ReverseLog => 1.0 - ((max + self.min - value) / self.min).ln() / (max / self.min).ln(),
        }
    }

    /// `_get_n_values`.
    pub fn n_values(&self) -> usize {
        let step = self.step.unwrap_or(1.0);
        let n = match self.sampling {
            Sampling::Linear => py_floordiv(self.max - self.min, step) + 1.0,
            _ => (py_log(self.max / self.min, step) + 1e-8).trunc() + 1.0,
        };
        if n.is_finite() && n >= 1.0 {
            n.min(1e15) as usize
        } else {
            1
        }
    }

    /// `_get_value_by_index`.
    pub fn value_by_index(&self, index: usize) -> f64 {
        let step = self.step.unwrap_or(1.0);
        match self.sampling {
            Sampling::Linear => self.min + index as f64 * step,
            Sampling::Log => self.min * step.powi(index as i32),
            Sampling::ReverseLog => self.max + self.min - self.min * step.powi(index as i32),
        }
    }

    /// `_sample_with_step`.
    pub fn sample_with_step(&self, prob: f64) -> f64 {
        self.value_by_index(prob_to_index(prob, self.n_values()))
    }

    /// `_to_prob_with_step`.
    pub fn value_prob_with_step(&self, value: f64) -> f64 {
        let step = self.step.unwrap_or(1.0);
        let index = match self.sampling {
            Sampling::Linear if self.integer => ((value - self.min) / step).floor(),
            Sampling::Linear => py_floordiv(value - self.min, step),
            Sampling::Log => py_log(value / self.min, step),
            Sampling::ReverseLog => py_log((self.max - value + self.min) / self.min, step),
        };
        index_to_prob(index, self.n_values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floordiv_matches_python() {
        assert_eq!(py_floordiv(1.0, 0.1), 9.0);
        assert_eq!(py_floordiv(0.9, 0.3), 3.0);
        assert_eq!(py_floordiv(7.0, 2.0), 3.0);
        assert_eq!(py_floordiv(-7.0, 2.0), -4.0);
    }
}
