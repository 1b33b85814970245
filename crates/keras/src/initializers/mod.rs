//! Weight initializers (`keras.initializers`) with Keras's fan rules and distributions.

use keras_engine::{with_global_rng, Rng};
use serde_json::{json, Value};

use crate::utils::python_repr::py_float_json;
use crate::{keras_bail, Result, Tensor};

/// How [`Initializer::VarianceScaling`] picks the fan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Number of input units.
    FanIn,
    /// Number of output units.
    FanOut,
    /// Average of both.
    FanAvg,
}

/// The distribution of [`Initializer::VarianceScaling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Normal truncated at two standard deviations (re-scaled so the std is as asked).
    TruncatedNormal,
    /// Plain normal.
    UntruncatedNormal,
    /// Uniform in `[-limit, limit]`.
    Uniform,
}

/// Which Keras class a variance-scaling initializer serializes as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarianceScalingKind {
    /// `VarianceScaling` itself.
    Plain,
    /// `GlorotUniform`.
    GlorotUniform,
    /// `GlorotNormal`.
    GlorotNormal,
    /// `HeUniform`.
    HeUniform,
    /// `HeNormal`.
    HeNormal,
    /// `LecunUniform`.
    LecunUniform,
    /// `LecunNormal`.
    LecunNormal,
}

/// A Keras initializer.
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// All `value`.
    Constant(f32),
    /// Normal(mean, stddev).
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
        /// Seed (None: the global generator).
        seed: Option<u64>,
    },
    /// Uniform(minval, maxval).
    RandomUniform {
        /// Lower bound.
        minval: f32,
        /// Upper bound (exclusive).
        maxval: f32,
        /// Seed (None: the global generator).
        seed: Option<u64>,
    },
    /// Normal(mean, stddev) truncated to `mean ± 2 stddev`.
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
        /// Seed (None: the global generator).
        seed: Option<u64>,
    },
    /// Variance scaling (the Glorot / He / LeCun family).
    VarianceScaling {
        /// Which class name it serializes as.
        kind: VarianceScalingKind,
        /// Scale factor.
        scale: f32,
        /// Fan mode.
        mode: FanMode,
        /// Distribution.
        distribution: Distribution,
        /// Seed (None: the global generator).
        seed: Option<u64>,
    },
    /// Identity matrix times `gain` (2-D shapes only).
    Identity {
        /// Multiplier of the identity.
        gain: f32,
    },
    /// A random orthogonal matrix times `gain` (Keras `Orthogonal`: QR of a normal matrix,
    /// sign-corrected so the distribution is uniform over orthogonal matrices). Shapes of
    /// rank >= 2 are flattened to `(prod(shape[..-1]), shape[-1])`.
    ///
    /// ```
    /// use keras::initializers::Initializer;
    /// let w = Initializer::Orthogonal { gain: 1.0, seed: Some(1) }.initialize(&[4, 4]).unwrap();
    /// assert_eq!(w.shape(), &[4, 4]);
    /// ```
    Orthogonal {
        /// Multiplier of the orthogonal matrix.
        gain: f32,
        /// Seed (None: the global generator).
        seed: Option<u64>,
    },
    /// Keras `STFT`: a conv kernel of shape `(frame_length, input_channels, fft_bins)` holding
    /// the real (`cos`) or imaginary (`sin`) part of the DFT basis `exp(-2*pi*i*t*f/((F-1)*2))`,
    /// times the window and divided by its scaling (L2 norm for `"density"`, L1 for
    /// `"spectrum"`). Build validated values with [`Initializer::stft`].
    ///
    /// ```
    /// use keras::initializers::Initializer;
    /// let w = Initializer::from_name("stft").unwrap().initialize(&[8, 1, 5]).unwrap();
    /// assert_eq!(w.shape(), &[8, 1, 5]);
    /// ```
    Stft {
        /// `"real"` or `"imag"`.
        side: String,
        /// A scipy window name (`"hann"`, `"hamming"`, `"blackman"`, ...), or `None` for no window.
        window: Option<String>,
        /// `"density"`, `"spectrum"`, or `None` for no scaling.
        scaling: Option<String>,
        /// Whether the window is periodic (scipy `fftbins=True`) instead of symmetric.
        periodic: bool,
    },
}

/// Keras's `STFT.__init__` checks on `side`, `window` and `scaling`.
fn check_stft(side: &str, window: Option<&str>, scaling: Option<&str>) -> Result<()> {
    if side != "real" && side != "imag" {
        keras_bail!(InvalidArgument, "side should be 'real' or 'imag', not {side}");
    }
    if let Some(w) = window {
        // scipy's `get_window(window, 1)`, which Keras calls to reject unknown names.
        crate::layers::preprocessing::signal::get_window(w, 1, true)?;
    }
    if let Some(sc) = scaling {
        if sc != "density" && sc != "spectrum" {
            keras_bail!(
                InvalidArgument,
                "Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={sc}"
            );
        }
    }
    Ok(())
}

/// Keras `compute_fans`: `(fan_in, fan_out)` for a weight shape.
pub fn compute_fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            let receptive: usize = shape[..n - 2].iter().product();
            ((shape[n - 2] * receptive) as f64, (shape[n - 1] * receptive) as f64)
        }
    }
}

fn vs(kind: VarianceScalingKind, scale: f32, mode: FanMode, distribution: Distribution) -> Initializer {
    Initializer::VarianceScaling { kind, scale, mode, distribution, seed: None }
}

impl Initializer {
    /// `glorot_uniform`, the default kernel initializer of Dense and Conv layers.
    pub fn glorot_uniform() -> Self {
        vs(VarianceScalingKind::GlorotUniform, 1.0, FanMode::FanAvg, Distribution::Uniform)
    }
    /// `glorot_normal`.
    pub fn glorot_normal() -> Self {
        vs(VarianceScalingKind::GlorotNormal, 1.0, FanMode::FanAvg, Distribution::TruncatedNormal)
    }
    /// `he_uniform`.
    pub fn he_uniform() -> Self {
        vs(VarianceScalingKind::HeUniform, 2.0, FanMode::FanIn, Distribution::Uniform)
    }
    /// `he_normal`.
    pub fn he_normal() -> Self {
        vs(VarianceScalingKind::HeNormal, 2.0, FanMode::FanIn, Distribution::TruncatedNormal)
    }
    /// `lecun_uniform`.
    pub fn lecun_uniform() -> Self {
        vs(VarianceScalingKind::LecunUniform, 1.0, FanMode::FanIn, Distribution::Uniform)
    }
    /// `lecun_normal`.
    pub fn lecun_normal() -> Self {
        vs(VarianceScalingKind::LecunNormal, 1.0, FanMode::FanIn, Distribution::TruncatedNormal)
    }

    /// Keras `STFT(side, window, scaling, periodic)`, with Keras's argument checks.
    pub fn stft(side: &str, window: Option<&str>, scaling: Option<&str>, periodic: bool) -> Result<Self> {
        check_stft(side, window, scaling)?;
        Ok(Initializer::Stft {
            side: side.to_string(),
            window: window.map(str::to_string),
            scaling: scaling.map(str::to_string),
            periodic,
        })
    }

    /// Resolves a Keras string name (`"glorot_uniform"`, `"zeros"`, ...).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "zeros" | "Zeros" | "zero" => Initializer::Zeros,
            "ones" | "Ones" | "one" => Initializer::Ones,
            "glorot_uniform" | "GlorotUniform" => Self::glorot_uniform(),
            "glorot_normal" | "GlorotNormal" => Self::glorot_normal(),
            "he_uniform" | "HeUniform" => Self::he_uniform(),
            "he_normal" | "HeNormal" => Self::he_normal(),
            "lecun_uniform" | "LecunUniform" => Self::lecun_uniform(),
            "lecun_normal" | "LecunNormal" => Self::lecun_normal(),
            "random_normal" | "RandomNormal" => {
                Initializer::RandomNormal { mean: 0.0, stddev: 0.05, seed: None }
            }
            "random_uniform" | "RandomUniform" => {
                Initializer::RandomUniform { minval: -0.05, maxval: 0.05, seed: None }
            }
            "truncated_normal" | "TruncatedNormal" => {
                Initializer::TruncatedNormal { mean: 0.0, stddev: 0.05, seed: None }
            }
            "identity" | "Identity" => Initializer::Identity { gain: 1.0 },
            "orthogonal" | "Orthogonal" => Initializer::Orthogonal { gain: 1.0, seed: None },
            "stft" | "STFT" | "STFTInitializer" => Self::stft("real", Some("hann"), Some("density"), false)?,
            other => keras_bail!(InvalidArgument, "Could not interpret initializer identifier: {other}"),
        })
    }

    /// Reads a serialized initializer (a string or `{"class_name", "config"}`).
    pub fn from_config(v: &Value) -> Result<Self> {
        let (class, cfg) = match v {
            Value::String(s) => return Self::from_name(s),
            Value::Object(o) => (
                o.get("class_name").and_then(Value::as_str).unwrap_or(""),
                o.get("config").cloned().unwrap_or(json!({})),
            ),
            _ => keras_bail!(Config, "cannot read initializer {v}"),
        };
        let f = |k: &str, d: f32| cfg.get(k).and_then(Value::as_f64).map(|x| x as f32).unwrap_or(d);
        let seed = cfg.get("seed").and_then(Value::as_u64);
        let mut init = match class {
            "Constant" | "VarianceScaling" => Initializer::Zeros, // replaced below
            _ => Self::from_name(class)?,
        };
        match &mut init {
            Initializer::Constant(_) => {}
            Initializer::RandomNormal { mean, stddev, seed: s }
            | Initializer::TruncatedNormal { mean, stddev, seed: s } => {
                *mean = f("mean", *mean);
                *stddev = f("stddev", *stddev);
                *s = seed;
            }
            Initializer::RandomUniform { minval, maxval, seed: s } => {
                *minval = f("minval", *minval);
                *maxval = f("maxval", *maxval);
                *s = seed;
            }
            Initializer::VarianceScaling { seed: s, .. } => *s = seed,
            Initializer::Identity { gain } => *gain = f("gain", 1.0),
            Initializer::Orthogonal { gain, seed: s } => {
                *gain = f("gain", 1.0);
                *s = seed;
            }
            Initializer::Stft { side, window, scaling, periodic } => {
                let opt = |k: &str, d: &Option<String>| -> Result<Option<String>> {
                    match cfg.get(k) {
                        None => Ok(d.clone()),
                        Some(Value::Null) => Ok(None),
                        Some(Value::String(x)) => Ok(Some(x.clone())),
                        Some(x) => {
                            keras_bail!(InvalidArgument, "STFT `{k}` must be a string or None, got {x}")
                        }
                    }
                };
                if let Some(x) = cfg.get("side") {
                    *side = x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string());
                }
                *window = opt("window", window)?;
                *scaling = opt("scaling", scaling)?;
                *periodic = cfg.get("periodic").and_then(Value::as_bool).unwrap_or(*periodic);
                check_stft(side, window.as_deref(), scaling.as_deref())?;
            }
            _ => {}
        }
        if class == "Constant" {
            init = Initializer::Constant(f("value", 0.0));
        }
        if class == "VarianceScaling" {
            let mode = match cfg.get("mode").and_then(Value::as_str).unwrap_or("fan_in") {
                "fan_in" => FanMode::FanIn,
                "fan_out" => FanMode::FanOut,
                "fan_avg" => FanMode::FanAvg,
                m => keras_bail!(InvalidArgument, "Invalid `mode` argument: {m}"),
            };
            let distribution =
                match cfg.get("distribution").and_then(Value::as_str).unwrap_or("truncated_normal") {
                    "truncated_normal" => Distribution::TruncatedNormal,
                    "untruncated_normal" => Distribution::UntruncatedNormal,
                    "uniform" => Distribution::Uniform,
                    d => keras_bail!(InvalidArgument, "Invalid `distribution` argument: {d}"),
                };
            init = Initializer::VarianceScaling {
                kind: VarianceScalingKind::Plain,
                scale: f("scale", 1.0),
                mode,
                distribution,
                seed,
            };
        }
        Ok(init)
    }

    fn class_name(&self) -> &'static str {
        match self {
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
            Initializer::Constant(_) => "Constant",
            Initializer::RandomNormal { .. } => "RandomNormal",
            Initializer::RandomUniform { .. } => "RandomUniform",
            Initializer::TruncatedNormal { .. } => "TruncatedNormal",
            Initializer::Identity { .. } => "Identity",
            Initializer::Orthogonal { .. } => "Orthogonal",
            Initializer::Stft { .. } => "STFT",
            Initializer::VarianceScaling { kind, .. } => match kind {
                VarianceScalingKind::Plain => "VarianceScaling",
                VarianceScalingKind::GlorotUniform => "GlorotUniform",
                VarianceScalingKind::GlorotNormal => "GlorotNormal",
                VarianceScalingKind::HeUniform => "HeUniform",
                VarianceScalingKind::HeNormal => "HeNormal",
                VarianceScalingKind::LecunUniform => "LecunUniform",
                VarianceScalingKind::LecunNormal => "LecunNormal",
            },
        }
    }

    /// The serialized form Keras writes into layer configs.
    pub fn to_config(&self) -> Value {
        let seed = |s: &Option<u64>| s.map(Value::from).unwrap_or(Value::Null);
        let config = match self {
            Initializer::Zeros | Initializer::Ones => json!({}),
            Initializer::Constant(v) => json!({ "value": py_float_json(*v) }),
            Initializer::RandomNormal { mean, stddev, seed: s }
            | Initializer::TruncatedNormal { mean, stddev, seed: s } => {
                json!({ "seed": seed(s), "mean": py_float_json(*mean), "stddev": py_float_json(*stddev) })
            }
            Initializer::RandomUniform { minval, maxval, seed: s } => {
                json!({ "seed": seed(s), "minval": py_float_json(*minval), "maxval": py_float_json(*maxval) })
            }
            // Keras's Identity has no get_config of its own: the gain is not serialized.
            Initializer::Identity { .. } => json!({}),
            Initializer::Orthogonal { gain, seed: s } => {
                json!({ "seed": seed(s), "gain": py_float_json(*gain) })
            }
            Initializer::Stft { side, window, scaling, periodic } => {
                json!({ "side": side, "window": window, "periodic": periodic, "scaling": scaling })
            }
            Initializer::VarianceScaling {
                kind: VarianceScalingKind::Plain,
                scale,
                mode,
                distribution,
                seed: s,
            } => {
                json!({
                    "seed": seed(s),
                    "scale": py_float_json(*scale),
                    "mode": match mode { FanMode::FanIn => "fan_in", FanMode::FanOut => "fan_out", FanMode::FanAvg => "fan_avg" },
                    "distribution": match distribution {
                        Distribution::TruncatedNormal => "truncated_normal",
                        Distribution::UntruncatedNormal => "untruncated_normal",
                        Distribution::Uniform => "uniform",
                    },
                    "input_axes": null,
                    "output_axes": null,
                })
            }
            Initializer::VarianceScaling { seed: s, .. } => {
                json!({ "seed": seed(s), "input_axes": null, "output_axes": null })
            }
        };
        json!({
            "module": "keras.initializers",
            "class_name": self.class_name(),
            "config": config,
            "registered_name": null,
        })
    }

    /// Draws a float32 tensor of `shape`.
    pub fn initialize(&self, shape: &[usize]) -> Result<Tensor> {
        // The shape can come from a config (`Dense(units=10**12)`): an overflowing or
        // unallocatable size is an error here, before any work (`vec!` would abort).
        let n = keras_engine::alloc::checked_numel(shape, 4)?;
        drop(keras_engine::alloc::try_with_capacity::<f32>(n)?);
        let draw = |seed: &Option<u64>, f: &mut dyn FnMut(&mut Rng) -> f32| -> Vec<f32> {
            let mut gen = |rng: &mut Rng| (0..n).map(|_| f(rng)).collect::<Vec<f32>>();
            match seed {
                Some(s) => gen(&mut Rng::new(*s)),
                None => with_global_rng(|r| gen(r)),
            }
        };
        let truncated = |rng: &mut Rng, mean: f64, std: f64| -> f32 {
            loop {
                let z = rng.normal_f64();
                if z.abs() <= 2.0 {
                    return (mean + std * z) as f32;
                }
            }
        };
        let data = match self {
            Initializer::Zeros => vec![0.0; n],
            Initializer::Ones => vec![1.0; n],
            Initializer::Constant(v) => vec![*v; n],
            Initializer::RandomNormal { mean, stddev, seed } => {
                draw(seed, &mut |r| (*mean as f64 + *stddev as f64 * r.normal_f64()) as f32)
            }
            Initializer::RandomUniform { minval, maxval, seed } => {
                draw(seed, &mut |r| minval + (maxval - minval) * r.uniform_f32())
            }
            Initializer::TruncatedNormal { mean, stddev, seed } => {
                draw(seed, &mut |r| truncated(r, *mean as f64, *stddev as f64))
            }
            Initializer::Stft { side, window, scaling, periodic } => {
                check_stft(side, window.as_deref(), scaling.as_deref())?;
                let &[frame_length, channels, fft_bins] = shape else {
                    keras_bail!(
                        InvalidArgument,
                        "STFT expects a kernel shape (frame_length, input_channels, fft_bins). Received: shape={shape:?}"
                    );
                };
                let win = match window {
                    Some(w) => {
                        Some(crate::layers::preprocessing::signal::get_window(w, frame_length, *periodic)?)
                    }
                    None => None,
                };
                crate::layers::preprocessing::signal::stft_kernel(
                    side == "imag",
                    win.as_deref(),
                    scaling.as_deref(),
                    [frame_length, channels, fft_bins],
                )?
            }
            Initializer::Orthogonal { gain, seed } => {
                if shape.len() < 2 {
                    keras_bail!(
                        InvalidArgument,
                        "The tensor to initialize must be at least two-dimensional. Received: shape={shape:?} of rank {}.",
                        shape.len()
                    );
                }
                let rows: usize = shape[..shape.len() - 1].iter().product();
                let cols = shape[shape.len() - 1];
                // The QR works on a float64 copy.
                drop(keras_engine::alloc::try_with_capacity::<f64>(n)?);
                let normal = |rng: &mut Rng| {
                    let (m, k) = (rows.max(cols), rows.min(cols));
                    let a: Vec<f64> = (0..m * k).map(|_| rng.normal_f64()).collect();
                    orthogonal_from_normal(a, m, k)
                };
                let q = match seed {
                    Some(s) => normal(&mut Rng::new(*s)),
                    None => with_global_rng(|r| normal(r)),
                };
                // q is (max, min) with orthonormal columns; transpose when rows < cols.
                let (m, k) = (rows.max(cols), rows.min(cols));
                let mut v = vec![0.0f32; n];
                for i in 0..m {
                    for j in 0..k {
                        let val = (*gain as f64 * q[i * k + j]) as f32;
                        if rows >= cols {
                            v[i * cols + j] = val;
                        } else {
                            v[j * cols + i] = val;
                        }
                    }
                }
                v
            }
            Initializer::Identity { gain } => {
                if shape.len() != 2 {
                    keras_bail!(
                        InvalidArgument,
                        "Identity initializer can only be used for 2D matrices. Received: shape={shape:?} of rank {}",
                        shape.len()
                    );
                }
                let mut v = vec![0.0; n];
                for i in 0..shape[0].min(shape[1]) {
                    v[i * shape[1] + i] = *gain;
                }
                v
            }
            Initializer::VarianceScaling { scale, mode, distribution, seed, .. } => {
                let (fan_in, fan_out) = compute_fans(shape);
                let fan = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                };
                let s = *scale as f64 / fan.max(1.0);
                match distribution {
                    // 0.879... is the std of a unit normal truncated to [-2, 2].
                    Distribution::TruncatedNormal => {
                        let std = s.sqrt() / 0.879_625_661_034_239_8;
                        draw(seed, &mut |r| truncated(r, 0.0, std))
                    }
                    Distribution::UntruncatedNormal => {
                        let std = s.sqrt();
                        draw(seed, &mut |r| (std * r.normal_f64()) as f32)
                    }
                    Distribution::Uniform => {
                        let limit = (3.0 * s).sqrt() as f32;
                        draw(seed, &mut |r| -limit + 2.0 * limit * r.uniform_f32())
                    }
                }
            }
        };
        Ok(Tensor::new(data, shape.to_vec())?)
    }
}

/// The `Q` factor of the reduced QR decomposition of the row-major `(m, k)` matrix `a`
/// (`m >= k`), with the sign convention `diag(R) > 0` that Keras's `q * sign(diag(r))`
/// produces. Householder-free: modified Gram-Schmidt with one re-orthogonalization pass.
fn orthogonal_from_normal(mut a: Vec<f64>, m: usize, k: usize) -> Vec<f64> {
    for j in 0..k {
        for _pass in 0..2 {
            for p in 0..j {
                let dot: f64 = (0..m).map(|i| a[i * k + p] * a[i * k + j]).sum();
                for i in 0..m {
                    a[i * k + j] -= dot * a[i * k + p];
                }
            }
        }
        let norm = (0..m).map(|i| a[i * k + j] * a[i * k + j]).sum::<f64>().sqrt();
        let norm = if norm > 0.0 { norm } else { 1.0 };
        for i in 0..m {
            a[i * k + j] /= norm;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(t: &Tensor) -> (f64, f64, f32, f32) {
        let v = t.as_f32().unwrap();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let mn = v.iter().cloned().fold(f32::INFINITY, f32::min);
        let mx = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        (mean, var.sqrt(), mn, mx)
    }

    #[test]
    fn glorot_uniform_fans_and_limits() {
        assert_eq!(compute_fans(&[3, 3, 8, 16]), (72.0, 144.0));
        let t = Initializer::glorot_uniform().initialize(&[64, 128]).unwrap();
        let (mean, std, mn, mx) = stats(&t);
        let limit = (6.0f64 / 192.0).sqrt();
        assert!(mean.abs() < 4.0 * std / (8192f64).sqrt());
        assert!((std / (limit / 3f64.sqrt()) - 1.0).abs() < 0.05);
        assert!(mn >= -limit as f32 && mx <= limit as f32);
    }

    #[test]
    fn he_normal_is_truncated_with_right_std() {
        let t = Initializer::he_normal().initialize(&[3, 3, 8, 16]).unwrap();
        let (_, std, mn, mx) = stats(&t);
        let want = (2.0f64 / 72.0).sqrt();
        assert!((std / want - 1.0).abs() < 0.05, "{std} vs {want}");
        let bound = 2.0 * want / 0.879_625_661_034_239_8;
        assert!(mn as f64 >= -bound - 1e-6 && mx as f64 <= bound + 1e-6);
    }

    #[test]
    fn configs_round_trip_and_seeds_repeat() {
        for i in [Initializer::Zeros, Initializer::glorot_uniform(), Initializer::Constant(0.3)] {
            assert_eq!(Initializer::from_config(&i.to_config()).unwrap(), i);
        }
        let a = Initializer::RandomUniform { minval: -1.0, maxval: 1.0, seed: Some(3) };
        assert_eq!(
            a.initialize(&[10]).unwrap().as_f32().unwrap(),
            a.initialize(&[10]).unwrap().as_f32().unwrap()
        );
        assert!(Initializer::from_name("bogus").is_err());
        assert!(Initializer::Identity { gain: 1.0 }.initialize(&[2, 2, 2]).is_err());
    }

    #[test]
    fn orthogonal_is_orthogonal_times_gain() {
        for (shape, gain) in [(vec![6usize, 4usize], 1.0f32), (vec![3, 7], 2.0), (vec![2, 3, 5], 0.5)] {
            let init = Initializer::Orthogonal { gain, seed: Some(7) };
            let w = init.initialize(&shape).unwrap();
            let cols = *shape.last().unwrap();
            let rows = w.numel() / cols;
            let v = w.as_f32().unwrap();
            // The smaller Gram matrix is gain^2 * I.
            let (outer, inner, by_cols) = if rows >= cols { (cols, rows, true) } else { (rows, cols, false) };
            for a in 0..outer {
                for b in 0..outer {
                    let dot: f32 = (0..inner)
                        .map(|i| {
                            if by_cols {
                                v[i * cols + a] * v[i * cols + b]
                            } else {
                                v[a * cols + i] * v[b * cols + i]
                            }
                        })
                        .sum();
                    let want = if a == b { gain * gain } else { 0.0 };
                    assert!((dot - want).abs() < 1e-4, "{shape:?}: {dot} vs {want}");
                }
            }
            assert_eq!(init.initialize(&shape).unwrap().as_f32().unwrap(), v);
        }
        let o = Initializer::from_name("orthogonal").unwrap();
        assert_eq!(o.to_config()["config"], json!({"seed": null, "gain": 1.0}));
        assert_eq!(Initializer::from_config(&o.to_config()).unwrap(), o);
        assert!(o.initialize(&[5]).is_err());
    }

    #[test]
    fn stft_config_round_trip_and_errors() {
        let d = Initializer::from_name("stft").unwrap();
        assert_eq!(
            d.to_config()["config"],
            json!({"side": "real", "window": "hann", "periodic": false, "scaling": "density"})
        );
        let cfg = d.to_config();
        let keys: Vec<&String> = cfg["config"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["side", "window", "periodic", "scaling"]);
        assert_eq!(d.to_config()["class_name"], "STFT");
        let i = Initializer::stft("imag", None, None, true).unwrap();
        assert_eq!(
            i.to_config()["config"],
            json!({"side": "imag", "window": null, "periodic": true, "scaling": null})
        );
        for x in [d, i, Initializer::stft("real", Some("hamming"), Some("spectrum"), false).unwrap()] {
            assert_eq!(Initializer::from_config(&x.to_config()).unwrap(), x);
        }
        let e = Initializer::stft("both", None, None, false).unwrap_err().to_string();
        assert!(e.contains("side should be 'real' or 'imag', not both"), "{e}");
        let e = Initializer::stft("real", Some("boxcarr"), None, false).unwrap_err().to_string();
        assert!(e.contains("Invalid window name 'boxcarr' in parameter window='boxcarr'!"), "{e}");
        let e = Initializer::stft("real", None, Some("l2"), false).unwrap_err().to_string();
        assert!(e.contains("Received scaling=l2"), "{e}");
        let bad = json!({"class_name": "STFT", "config": {"side": "real", "scaling": "bad"}});
        assert!(Initializer::from_config(&bad).is_err());
        assert!(Initializer::from_name("stft").unwrap().initialize(&[4, 3]).is_err());
    }

    #[test]
    fn stft_values_match_hand_computed() {
        let get = |side: &str, w: Option<&str>, sc: Option<&str>, p: bool| {
            Initializer::stft(side, w, sc, p)
                .unwrap()
                .initialize(&[4, 1, 3])
                .unwrap()
                .as_f32()
                .unwrap()
                .to_vec()
        };
        let close = |got: Vec<f32>, want: [f32; 12]| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
            }
        };
        // arg = -2*pi*t*f/4, rows t = 0..4, columns f = 0..3.
        close(get("real", None, None, false), [1., 1., 1., 1., 0., -1., 1., -1., 1., 1., 0., -1.]);
        close(get("imag", None, Some("density"), false), [0., 0., 0., 0., -1., 0., 0., 0., 0., 0., 1., 0.]);
        // Symmetric hann(4) = [0, .75, .75, 0]; L2 norm = sqrt(1.125), so .75 / norm = 1/sqrt(2).
        close(
            get("real", Some("hann"), None, false),
            [0., 0., 0., 0.75, 0., -0.75, 0.75, -0.75, 0.75, 0., 0., 0.],
        );
        let h = std::f32::consts::FRAC_1_SQRT_2;
        close(
            get("real", Some("hann"), Some("density"), false),
            [0., 0., 0., h, 0., -h, h, -h, h, 0., 0., 0.],
        );
        // Periodic hann(4) = [0, .5, 1, .5]; L1 norm = 2.
        close(
            get("real", Some("hann"), Some("spectrum"), true),
            [0., 0., 0., 0.25, 0., -0.25, 0.5, -0.5, 0.5, 0.25, 0., -0.25],
        );
        // Symmetric hamming(4) = [.08, .77, .77, .08], imaginary side, no scaling.
        close(
            get("imag", Some("hamming"), None, false),
            [0., 0., 0., 0., -0.77, 0., 0., 0., 0., 0., 0.08, 0.],
        );
    }
}
