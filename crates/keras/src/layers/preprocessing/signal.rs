//! The signal maths of the audio layers ([`super::STFTSpectrogram`], [`super::MelSpectrogram`])
//! and of `keras.ops.stft` / `keras.ops.rfft`: scipy's window functions, Keras's STFT
//! convolution kernels, an FFT (radix 2, Bluestein for other lengths), TensorFlow's `stft`
//! (framing, periodic windows, centred reflect padding), the HTK mel filter bank, and a
//! differentiable `atan2`.

use std::f64::consts::PI;

use serde_json::Value;

use keras_engine::alloc::{checked_numel, try_filled, try_with_capacity};

use crate::{keras_bail, Error, Result, Tensor};

/// A window: a scipy window name (`"hann"`, `"hamming"`, `"blackman"`, ...) or explicit values.
#[derive(Clone, Debug, PartialEq)]
pub enum Window {
    /// A name `scipy.signal.get_window` knows, with its `_symmetric` / `_periodic` suffixes.
    Named(String),
    /// One value per sample of the frame.
    Values(Vec<f64>),
}

impl Window {
    /// Reads a config's `window`: a name, a list of numbers, a NumPy array as Keras serializes
    /// it (`{"class_name": "__numpy__", "config": {"value": [...]}}`), or `null` for none.
    pub fn from_config(v: &Value) -> Result<Option<Window>> {
        let numbers = |a: &[Value]| -> Option<Vec<f64>> { a.iter().map(Value::as_f64).collect() };
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(Window::Named(s.clone()))),
            Value::Array(a) => numbers(a).map(|w| Some(Window::Values(w))).ok_or_else(|| {
                Error::Config(format!("`window` must be a list of numbers, received window={v}"))
            }),
            Value::Object(o) if o.get("class_name").and_then(Value::as_str) == Some("__numpy__") => o
                .get("config")
                .and_then(|c| c.get("value"))
                .and_then(Value::as_array)
                .and_then(|a| numbers(a))
                .map(|w| Some(Window::Values(w)))
                .ok_or_else(|| {
                    Error::Config(format!("`window` must hold a list of numbers, received window={v}"))
                }),
            _ => keras_bail!(
                Config,
                "`window` must be a string, a list of numbers or null, received window={v}"
            ),
        }
    }

    /// The values for a frame of `n` samples (`periodic`: scipy's `fftbins=True`), or Keras's
    /// error when explicit values have another length (`what` names the length argument).
    pub fn values(&self, n: usize, periodic: bool, what: &str) -> Result<Vec<f64>> {
        match self {
            Window::Named(name) => get_window(name, n, periodic),
            Window::Values(v) if v.len() == n => Ok(v.clone()),
            Window::Values(v) => keras_bail!(
                Value,
                "The shape of `window` must be equal to [{what}].Received: window shape=({},)",
                v.len()
            ),
        }
    }
}

/// The windows of scipy's `_WIN_FUNC_DATA` that take no parameter (Tukey's and the exponential
/// one's are optional; keras-rs uses their defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Barthann,
    Bartlett,
    Blackman,
    BlackmanHarris,
    Bohman,
    Boxcar,
    Cosine,
    Exponential,
    Flattop,
    Hamming,
    Hann,
    Lanczos,
    Nuttall,
    Parzen,
    Triang,
    Tukey,
}

/// scipy's names (aliases included) of the windows keras-rs computes.
const NAMES: &[(&[&str], Kind)] = &[
    (&["barthann", "brthan", "bth"], Kind::Barthann),
    (&["bartlett", "bart", "brt"], Kind::Bartlett),
    (&["blackman", "black", "blk"], Kind::Blackman),
    (&["blackmanharris", "blackharr", "bkh"], Kind::BlackmanHarris),
    (&["bohman", "bman", "bmn"], Kind::Bohman),
    (&["boxcar", "box", "ones", "rect", "rectangular"], Kind::Boxcar),
    (&["cosine", "halfcosine"], Kind::Cosine),
    (&["exponential", "poisson"], Kind::Exponential),
    (&["flattop", "flat", "flt"], Kind::Flattop),
    (&["hamming", "hamm", "ham"], Kind::Hamming),
    (&["hann", "han"], Kind::Hann),
    (&["lanczos", "sinc"], Kind::Lanczos),
    (&["nuttall", "nutl", "nut"], Kind::Nuttall),
    (&["parzen", "parz", "par"], Kind::Parzen),
    (&["triangle", "triang", "tri"], Kind::Triang),
    (&["tukey", "tuk"], Kind::Tukey),
];

/// scipy's windows that need parameters (a tuple), which a name alone cannot give.
const NEEDS_PARAMETERS: &[&str] = &[
    "chebwin",
    "cheb",
    "dpss",
    "gaussian",
    "gauss",
    "gss",
    "general cosine",
    "general_cosine",
    "general gaussian",
    "general_gaussian",
    "general gauss",
    "general_gauss",
    "ggs",
    "general hamming",
    "general_hamming",
    "kaiser",
    "ksr",
    "kaiser bessel derived",
    "kaiser_bessel_derived",
    "kbd",
];

/// scipy's `get_window(window, nx, fftbins)` for a window name, with scipy's errors.
/// `fftbins` (Keras's `periodic`) makes the window periodic: the symmetric window of `nx + 1`
/// samples without its last one.
///
/// ```
/// use keras::layers::preprocessing::signal::get_window;
/// assert_eq!(get_window("hann", 4, true).unwrap(), vec![0.0, 0.5, 1.0, 0.5]);
/// assert!(get_window("unknowable", 4, true).is_err());
/// ```
pub fn get_window(window: &str, nx: usize, fftbins: bool) -> Result<Vec<f64>> {
    let (kind, sym) = window_kind(window, !fftbins)?;
    if nx == 0 {
        keras_bail!(Value, "Parameter Nx={nx} is not a positive integer");
    }
    Ok(compute_window(kind, nx, sym))
}

/// Resolves a name as `get_window` does (suffixes override `sym`), or scipy's error.
fn window_kind(window: &str, sym: bool) -> Result<(Kind, bool)> {
    let (name, sym) = if let Some(n) = window.strip_suffix("_symmetric") {
        (n, true)
    } else if let Some(n) = window.strip_suffix("_periodic") {
        (n, false)
    } else {
        (window, sym)
    };
    if let Some((_, kind)) = NAMES.iter().find(|(names, _)| names.contains(&name)) {
        return Ok((*kind, sym));
    }
    if NEEDS_PARAMETERS.contains(&name) {
        keras_bail!(Value, "'{name}' must have parameters, but window='{window}'!");
    }
    if name == "taylor" || name == "taylorwin" {
        keras_bail!(Value, "keras-rs does not implement scipy's '{name}' window (window='{window}')");
    }
    keras_bail!(Value, "Invalid window name '{name}' in parameter window='{window}'!")
}

/// NumPy's `linspace(start, stop, n)`: `start + i * step`, the last value exactly `stop`.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = if n > 1 { (stop - start) / (n - 1) as f64 } else { 0.0 };
    let mut v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
    if let Some(last) = v.last_mut().filter(|_| n > 1) {
        *last = stop;
    }
    v
}

/// scipy's `general_cosine(m, a)`: `sum_k a[k] cos(k x)` over `x = linspace(-pi, pi, m)`.
fn general_cosine(m: usize, a: &[f64]) -> Vec<f64> {
    linspace(-PI, PI, m)
        .into_iter()
        .map(|x| a.iter().enumerate().fold(0.0, |w, (k, ak)| w + ak * (k as f64 * x).cos()))
        .collect()
}

/// One of scipy's windows of `m` samples (symmetric, or periodic as scipy's `_extend` /
/// `_truncate` make it: one more sample, then the last dropped).
fn compute_window(kind: Kind, m: usize, sym: bool) -> Vec<f64> {
    if m <= 1 {
        return vec![1.0; m];
    }
    let m_ext = if sym { m } else { m + 1 };
    let mut w = symmetric_window(kind, m_ext);
    w.truncate(m);
    w
}

/// The symmetric window of `m` samples.
fn symmetric_window(kind: Kind, m: usize) -> Vec<f64> {
    let mf = m as f64;
    let n = || (0..m).map(|i| i as f64);
    match kind {
        Kind::Boxcar => vec![1.0; m],
        Kind::Hann => general_cosine(m, &[0.5, 0.5]),
        Kind::Hamming => general_cosine(m, &[0.54, 0.46]),
        Kind::Blackman => general_cosine(m, &[0.42, 0.50, 0.08]),
        Kind::Nuttall => general_cosine(m, &[0.3635819, 0.4891775, 0.1365995, 0.0106411]),
        Kind::BlackmanHarris => general_cosine(m, &[0.35875, 0.48829, 0.14128, 0.01168]),
        Kind::Flattop => general_cosine(m, &[0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368]),
        Kind::Bartlett => n()
            .map(|i| {
                let r = 2.0 * i / (mf - 1.0);
                if i <= (mf - 1.0) / 2.0 {
                    r
                } else {
                    2.0 - r
                }
            })
            .collect(),
        Kind::Triang => {
            let half: Vec<f64> = (1..=m.div_ceil(2))
                .map(|k| {
                    if m.is_multiple_of(2) {
                        (2.0 * k as f64 - 1.0) / mf
                    } else {
                        2.0 * k as f64 / (mf + 1.0)
                    }
                })
                .collect();
            let back = if m.is_multiple_of(2) { &half[..] } else { &half[..half.len() - 1] };
            half.iter().chain(back.iter().rev()).copied().collect()
        }
        Kind::Parzen => {
            let x: Vec<f64> = n().map(|i| i - (mf - 1.0) / 2.0).collect();
            let quarter = (mf - 1.0) / 4.0;
            let outer = |v: f64| 2.0 * (1.0 - v.abs() / (mf / 2.0)).powi(3);
            let inner = |v: f64| {
                let r = v.abs() / (mf / 2.0);
                1.0 - 6.0 * r.powi(2) + 6.0 * r.powi(3)
            };
            // scipy keeps the outer samples of the left half and mirrors them to the right.
            let wa: Vec<f64> = x.iter().filter(|&&v| v < -quarter).map(|&v| outer(v)).collect();
            let wb = x.iter().filter(|&&v| v.abs() <= quarter).map(|&v| inner(v));
            wa.iter().copied().chain(wb).chain(wa.iter().rev().copied()).collect()
        }
        Kind::Bohman => {
            let mut w = vec![0.0; m];
            let fac = linspace(-1.0, 1.0, m);
            for i in 1..m - 1 {
                let f = fac[i].abs();
                w[i] = (1.0 - f) * (PI * f).cos() + (PI * f).sin() / PI;
            }
            w
        }
        Kind::Barthann => n()
            .map(|i| {
                let f = (i / (mf - 1.0) - 0.5).abs();
                0.62 - 0.48 * f + 0.38 * (2.0 * PI * f).cos()
            })
            .collect(),
        Kind::Cosine => n().map(|i| (PI / mf * (i + 0.5)).sin()).collect(),
        Kind::Exponential => {
            // scipy's default centre (the middle) and decay tau = 1.
            let center = (mf - 1.0) / 2.0;
            n().map(|i| (-(i - center).abs()).exp()).collect()
        }
        Kind::Lanczos => {
            let sinc = |x: f64| if x == 0.0 { 1.0 } else { (PI * x).sin() / (PI * x) };
            let right = |from: f64| -> Vec<f64> {
                let mut v = Vec::new();
                let mut k = from;
                while k < mf {
                    v.push(sinc(2.0 * k / (mf - 1.0) - 1.0));
                    k += 1.0;
                }
                v
            };
            let wh = if m.is_multiple_of(2) { right(mf / 2.0) } else { right((mf + 1.0) / 2.0) };
            let mid: &[f64] = if m.is_multiple_of(2) { &[] } else { &[1.0] };
            wh.iter().rev().chain(mid).chain(wh.iter()).copied().collect()
        }
        Kind::Tukey => {
            // scipy's default alpha = 0.5.
            let alpha = 0.5;
            let width = (alpha * (mf - 1.0) / 2.0).floor() as usize;
            n().enumerate()
                .map(|(k, i)| {
                    if k <= width {
                        0.5 * (1.0 + (PI * (-1.0 + 2.0 * i / alpha / (mf - 1.0))).cos())
                    } else if k < m - width - 1 {
                        1.0
                    } else {
                        0.5 * (1.0 + (PI * (-2.0 / alpha + 1.0 + 2.0 * i / alpha / (mf - 1.0))).cos())
                    }
                })
                .collect()
        }
    }
}

/// Keras's `STFT` initializer values: a conv kernel of shape `(frame_length, channels,
/// fft_bins)` holding the real (`cos`) or imaginary (`sin`) part of `exp(-2 pi i t f /
/// ((fft_bins - 1) * 2))`, times `window` and divided by its scaling (the L2 norm for
/// `"density"`, the L1 norm for `"spectrum"`). The arithmetic is Keras's, in float32 and in
/// its order, so the kernels equal the ones Keras makes.
pub(crate) fn stft_kernel(
    imag: bool,
    window: Option<&[f64]>,
    scaling: Option<&str>,
    shape: [usize; 3],
) -> Result<Vec<f32>> {
    let [frame_length, channels, fft_bins] = shape;
    let win: Option<Vec<f32>> = window.map(|w| w.iter().map(|&v| v as f32).collect());
    if let Some(w) = &win {
        if w.len() != frame_length {
            keras_bail!(
                Value,
                "The shape of `window` must be equal to [frame_length].Received: window shape=({},)",
                w.len()
            );
        }
    }
    let scale: f32 = match (&win, scaling) {
        (Some(w), Some("density")) => (w.iter().map(|&v| f64::from(v * v)).sum::<f64>() as f32).sqrt(),
        (Some(w), Some("spectrum")) => w.iter().map(|&v| f64::from(v.abs())).sum::<f64>() as f32,
        _ => 1.0,
    };
    let full = (fft_bins.saturating_sub(1) * 2) as f32;
    let pi = (-1.0f32).acos();
    let mut v = try_with_capacity::<f32>(checked_numel(&shape, 4)?)?;
    for t in 0..frame_length {
        let row: Vec<f32> = (0..fft_bins)
            .map(|f| {
                let arg = -2.0 * t as f32 * (f as f32 / full) * pi;
                let k = if imag { arg.sin() } else { arg.cos() };
                match &win {
                    Some(w) => k * w[t] / scale,
                    None => k,
                }
            })
            .collect();
        for _ in 0..channels {
            v.extend_from_slice(&row);
        }
    }
    Ok(v)
}

/// An in-place complex FFT of a power-of-two length (iterative radix 2).
fn fft_pow2(re: &mut [f64], im: &mut [f64], inverse: bool) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let ang = sign * 2.0 * PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (ang * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// A forward DFT plan of one length: radix 2 for powers of two, Bluestein's chirp-z
/// (three power-of-two FFTs) for the other lengths, so every length costs `O(n log n)`.
pub(crate) struct Fft {
    n: usize,
    /// Bluestein's chirp (for lengths that are not powers of two).
    chirp: Option<Chirp>,
}

/// Bluestein's chirp `exp(-i pi k^2 / n)` (real, imaginary parts) and the FFT of its
/// conjugate, wrapped and zero-padded to a power of two.
struct Chirp(Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

impl Fft {
    /// A plan for length `n` (at least 1).
    pub(crate) fn new(n: usize) -> Fft {
        if n.is_power_of_two() {
            return Fft { n, chirp: None };
        }
        let m = (2 * n - 1).next_power_of_two();
        // k^2 mod 2n keeps the angle exact for long signals.
        let (cr, ci): (Vec<f64>, Vec<f64>) = (0..n)
            .map(|k| {
                let a = PI * ((k * k) % (2 * n)) as f64 / n as f64;
                (a.cos(), -a.sin())
            })
            .unzip();
        let (mut br, mut bi) = (vec![0.0; m], vec![0.0; m]);
        for k in 0..n {
            br[k] = cr[k];
            bi[k] = -ci[k];
            if k > 0 {
                br[m - k] = cr[k];
                bi[m - k] = -ci[k];
            }
        }
        fft_pow2(&mut br, &mut bi, false);
        Fft { n, chirp: Some(Chirp(cr, ci, br, bi)) }
    }

    /// The DFT of a real signal (zero-padded or cut to the plan's length): the `n / 2 + 1`
    /// non-negative frequencies, real and imaginary parts.
    pub(crate) fn rfft(&self, x: &[f32], re_out: &mut [f32], im_out: &mut [f32]) {
        let n = self.n;
        let mut re: Vec<f64> = (0..n).map(|i| x.get(i).map_or(0.0, |&v| f64::from(v))).collect();
        let mut im = vec![0.0; n];
        match &self.chirp {
            None => fft_pow2(&mut re, &mut im, false),
            Some(Chirp(cr, ci, br, bi)) => {
                let m = br.len();
                let (mut ar, mut ai) = (vec![0.0; m], vec![0.0; m]);
                for k in 0..n {
                    ar[k] = re[k] * cr[k] - im[k] * ci[k];
                    ai[k] = re[k] * ci[k] + im[k] * cr[k];
                }
                fft_pow2(&mut ar, &mut ai, false);
                for k in 0..m {
                    let (r, i) = (ar[k] * br[k] - ai[k] * bi[k], ar[k] * bi[k] + ai[k] * br[k]);
                    ar[k] = r;
                    ai[k] = i;
                }
                fft_pow2(&mut ar, &mut ai, true);
                for k in 0..n {
                    let (r, i) = (ar[k] / m as f64, ai[k] / m as f64);
                    re[k] = r * cr[k] - i * ci[k];
                    im[k] = r * ci[k] + i * cr[k];
                }
            }
        }
        for k in 0..re_out.len().min(n / 2 + 1) {
            re_out[k] = re[k] as f32;
            im_out[k] = im[k] as f32;
        }
    }
}

/// The float32 values of a signal, or Keras's `stft` dtype error.
fn float_signal<'a>(x: &'a Tensor, what: &str) -> Result<&'a [f32]> {
    x.as_f32().map_err(|_| {
        Error::InvalidArgument(format!(
            "Invalid input type. Expected {what}. Received: input type={}",
            x.dtype().name()
        ))
    })
}

/// Keras `keras.ops.rfft(x, fft_length=None)`: the DFT of the real signals on the last axis
/// (zero-padded or cut to `fft_length`, by default the axis length), as `(real, imag)`, each
/// of shape `(..., fft_length // 2 + 1)`. Not differentiable.
///
/// ```
/// use keras::Tensor;
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [4]).unwrap();
/// let (re, im) = keras::ops::rfft(&x, None).unwrap();
/// assert_eq!(re.to_f32_vec(), vec![10.0, -2.0, -2.0]);
/// assert_eq!(im.to_f32_vec(), vec![0.0, 2.0, 0.0]);
/// ```
pub fn rfft(x: &Tensor, fft_length: Option<usize>) -> Result<(Tensor, Tensor)> {
    let data = float_signal(x, "`float32`")?;
    let Some((&len, lead)) = x.shape().split_last() else {
        keras_bail!(InvalidArgument, "Input should have rank >= 1. Received: input.shape=()");
    };
    let n = fft_length.unwrap_or(len);
    if n == 0 {
        keras_bail!(InvalidArgument, "`fft_length` must be a positive integer. Received: fft_length={n}");
    }
    // The FFT's tables and frame hold `n` values each (see `stft`).
    checked_numel(&[n, 4], 8)?;
    let bins = n / 2 + 1;
    let rows: usize = lead.iter().product();
    let out_len = checked_numel(&[rows, bins], 4)?;
    let (mut re, mut im) = (try_filled(out_len, 0.0f32)?, try_filled(out_len, 0.0f32)?);
    if len > 0 {
        let plan = Fft::new(n);
        for (r, row) in data.chunks(len).enumerate() {
            plan.rfft(row, &mut re[r * bins..(r + 1) * bins], &mut im[r * bins..(r + 1) * bins]);
        }
    }
    let mut shape = lead.to_vec();
    shape.push(bins);
    Ok((Tensor::new(re, shape.clone())?, Tensor::new(im, shape)?))
}

/// TensorFlow's `hann_window` / `hamming_window(n, periodic=True)`: a raised cosine over
/// `n` samples for even `n`, but over `n - 1` for odd `n` (TensorFlow's periodic windows are
/// symmetric at odd lengths).
fn tf_periodic_window(hamming: bool, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    let (a, b) = if hamming { (0.54, 0.46) } else { (0.5, 0.5) };
    let denom = (n + (1 - n % 2) - 1) as f32;
    (0..n)
        .map(|i| {
            let arg = 2.0 * std::f32::consts::PI * i as f32 / denom;
            f64::from(a as f32 - b as f32 * arg.cos())
        })
        .collect()
}

/// Keras `keras.ops.stft(x, sequence_length, sequence_stride, fft_length, window="hann",
/// center=True)` with TensorFlow's semantics: the signals on the last axis (padded by
/// `fft_length // 2` reflected samples on each side when `center`) cut into frames of
/// `fft_length` samples every `sequence_stride`, each multiplied by the window (`"hann"` or
/// `"hamming"`, periodic, or `sequence_length` explicit values, centred with zeros to
/// `fft_length`; `None` for none) and transformed. Returns `(real, imag)`, each of shape
/// `(..., frames, fft_length // 2 + 1)`. Not differentiable.
///
/// ```
/// use keras::layers::preprocessing::signal::Window;
/// use keras::Tensor;
/// let x = Tensor::new((0..32).map(|i| (i as f32 * 0.4).sin()).collect(), [2, 16]).unwrap();
/// let hann = Window::Named("hann".into());
/// let (re, im) = keras::ops::stft(&x, 8, 4, 8, Some(&hann), true).unwrap();
/// assert_eq!(re.shape(), &[2, 5, 5]);
/// assert_eq!(im.shape(), re.shape());
/// ```
pub fn stft(
    x: &Tensor,
    sequence_length: usize,
    sequence_stride: usize,
    fft_length: usize,
    window: Option<&Window>,
    center: bool,
) -> Result<(Tensor, Tensor)> {
    let data = float_signal(x, "`float32` or `float64`")?;
    if fft_length < sequence_length {
        keras_bail!(
            Value,
            "`fft_length` must equal or larger than `sequence_length`. Received: sequence_length={sequence_length}, fft_length={fft_length}"
        );
    }
    if sequence_length == 0 || sequence_stride == 0 {
        keras_bail!(
            Value,
            "`sequence_length` and `sequence_stride` must be positive integers. Received: sequence_length={sequence_length}, sequence_stride={sequence_stride}"
        );
    }
    // The window (f64), the frame and the FFT's tables hold `fft_length` values each: a huge
    // length is refused under the tensor size limit instead of aborting on allocation.
    checked_numel(&[fft_length, 4], 8)?;
    let win = match window {
        None => None,
        Some(Window::Named(name)) => match name.as_str() {
            "hann" | "hamming" => Some(tf_periodic_window(name == "hamming", sequence_length)),
            _ => keras_bail!(
                Value,
                "If a string is passed to `window`, it must be one of `\"hann\"`, `\"hamming\"`. Received: window={name}"
            ),
        },
        Some(w @ Window::Values(_)) => Some(w.values(sequence_length, true, "sequence_length")?),
    };
    // The window, centred in the frame of `fft_length` samples with zeros.
    let l_pad = (fft_length - sequence_length) / 2;
    let frame_win: Vec<f32> = (0..fft_length)
        .map(|i| match &win {
            None => 1.0,
            Some(w) if i >= l_pad && i < l_pad + sequence_length => w[i - l_pad] as f32,
            Some(_) => 0.0,
        })
        .collect();
    let Some((&len, lead)) = x.shape().split_last() else {
        keras_bail!(InvalidArgument, "Input should have rank >= 1. Received: input.shape=()");
    };
    let pad = if center { fft_length / 2 } else { 0 };
    if center && len <= pad {
        keras_bail!(
            InvalidArgument,
            "stft with center=True pads the signal by {pad} reflected samples on each side, which needs more than {pad} samples; received {len}"
        );
    }
    let padded = len + 2 * pad;
    let frames = if padded >= fft_length { 1 + (padded - fft_length) / sequence_stride } else { 0 };
    let bins = fft_length / 2 + 1;
    let rows: usize = lead.iter().product();
    let out_len = checked_numel(&[rows, frames, bins], 4)?;
    let (mut re, mut im) = (try_filled(out_len, 0.0f32)?, try_filled(out_len, 0.0f32)?);
    let plan = Fft::new(fft_length);
    let mut frame = vec![0.0f32; fft_length];
    for r in 0..rows {
        let sig = &data[r * len..(r + 1) * len];
        // Sample `i` of the padded signal (NumPy's / TensorFlow's "reflect": the edge once).
        let at = |i: usize| -> f32 {
            let j = i as isize - pad as isize;
            let n = len as isize;
            let k = if j < 0 {
                -j
            } else if j >= n {
                2 * (n - 1) - j
            } else {
                j
            };
            sig[k as usize]
        };
        for f in 0..frames {
            for (i, v) in frame.iter_mut().enumerate() {
                *v = at(f * sequence_stride + i) * frame_win[i];
            }
            let o = (r * frames + f) * bins;
            plan.rfft(&frame, &mut re[o..o + bins], &mut im[o..o + bins]);
        }
    }
    let mut shape = lead.to_vec();
    shape.extend([frames, bins]);
    Ok((Tensor::new(re, shape.clone())?, Tensor::new(im, shape)?))
}

/// Keras `MelSpectrogram.linear_to_mel_weight_matrix` (TensorFlow's HTK mel filter bank,
/// float32 as Keras computes it): a `(num_spectrogram_bins, num_mel_bins)` matrix, row-major,
/// of triangles with peak 1 that are linear in `mel(f) = 1127 ln(1 + f / 700)`, spread over
/// `[lower_edge_hertz, upper_edge_hertz]`; the DC bin gets no weight.
pub(crate) fn linear_to_mel_weight_matrix(
    num_mel_bins: usize,
    num_spectrogram_bins: usize,
    sampling_rate: f64,
    lower_edge_hertz: f64,
    upper_edge_hertz: f64,
) -> Vec<f32> {
    let mel = |hz: f32| 1127.0f32 * (1.0 + hz / 700.0).ln();
    // TensorFlow's `linspace` in float32: `start + i * delta`, the last value `stop`.
    let tf_linspace = |start: f32, stop: f32, n: usize| -> Vec<f32> {
        let delta = if n > 1 { (stop - start) / (n - 1) as f32 } else { 0.0 };
        (0..n).map(|i| if i + 1 == n && n > 1 { stop } else { start + i as f32 * delta }).collect()
    };
    let nyquist = sampling_rate as f32 / 2.0;
    let bins_mel: Vec<f32> =
        tf_linspace(0.0, nyquist, num_spectrogram_bins).into_iter().skip(1).map(mel).collect();
    let edges = tf_linspace(mel(lower_edge_hertz as f32), mel(upper_edge_hertz as f32), num_mel_bins + 2);
    let mut w = vec![0.0f32; num_spectrogram_bins * num_mel_bins];
    for (b, &s) in bins_mel.iter().enumerate() {
        for m in 0..num_mel_bins {
            let (lo, c, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let lower = (s - lo) / (c - lo);
            let upper = (hi - s) / (hi - c);
            w[(b + 1) * num_mel_bins + m] = lower.min(upper).max(0.0);
        }
    }
    w
}

/// `atan2(y, x)` element-wise (same shapes), differentiable as TensorFlow's: `dy = x / (x^2 +
/// y^2)`, `dx = -y / (x^2 + y^2)`.
pub(crate) fn atan2(y: &Tensor, x: &Tensor) -> Result<Tensor> {
    if y.shape() != x.shape() {
        keras_bail!(Shape, "atan2 needs tensors of one shape, received {:?} and {:?}", y.shape(), x.shape());
    }
    let (ys, xs) = (y.to_f32_vec(), x.to_f32_vec());
    let out: Vec<f32> = ys.iter().zip(&xs).map(|(a, b)| a.atan2(*b)).collect();
    Ok(Tensor::from_op(
        out,
        y.shape().to_vec(),
        &[y, x],
        Box::new(|g, _out, inputs| {
            let (ys, xs, gs) = (inputs[0].to_f32_vec(), inputs[1].to_f32_vec(), g.to_f32_vec());
            let mut dy = Vec::with_capacity(gs.len());
            let mut dx = Vec::with_capacity(gs.len());
            for ((&a, &b), &gv) in ys.iter().zip(&xs).zip(&gs) {
                let r = a * a + b * b;
                dy.push(gv * b / r);
                dx.push(-gv * a / r);
            }
            let shape = inputs[0].shape().to_vec();
            Ok(vec![Some(Tensor::new(dy, shape.clone())?), Some(Tensor::new(dx, shape)?)])
        }),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct DFT in f64, the reference of the FFT.
    fn dft(x: &[f32], n: usize) -> (Vec<f64>, Vec<f64>) {
        (0..n / 2 + 1)
            .map(|k| {
                (0..n).fold((0.0, 0.0), |(r, i), t| {
                    let v = x.get(t).map_or(0.0, |&v| f64::from(v));
                    let a = -2.0 * PI * (k * t) as f64 / n as f64;
                    (r + v * a.cos(), i + v * a.sin())
                })
            })
            .unzip()
    }

    #[test]
    fn fft_matches_a_direct_dft_at_every_length() {
        for n in [1usize, 2, 3, 5, 8, 12, 17, 64, 100, 715] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
            let (mut re, mut im) = (vec![0.0; n / 2 + 1], vec![0.0; n / 2 + 1]);
            Fft::new(n).rfft(&x, &mut re, &mut im);
            let (wr, wi) = dft(&x, n);
            for k in 0..=n / 2 {
                assert!((f64::from(re[k]) - wr[k]).abs() < 1e-4 * (1.0 + wr[k].abs()), "n={n} k={k}");
                assert!((f64::from(im[k]) - wi[k]).abs() < 1e-4 * (1.0 + wi[k].abs()), "n={n} k={k}");
            }
        }
    }

    #[test]
    fn tf_periodic_windows_are_symmetric_at_odd_lengths() {
        let w = tf_periodic_window(false, 5);
        assert!((w[1] - w[3]).abs() < 1e-7 && w[0] == 0.0 && w[4].abs() < 1e-7);
        let even = tf_periodic_window(false, 4);
        for (g, w) in even.iter().zip([0.0, 0.5, 1.0, 0.5]) {
            assert!((g - w).abs() < 1e-7, "{even:?}");
        }
    }

    #[test]
    fn atan2_gradient_matches_finite_differences() {
        let y = Tensor::new(vec![0.3, -1.2, 2.0], [3]).unwrap();
        let x = Tensor::new(vec![1.5, 0.7, -0.4], [3]).unwrap();
        keras_engine::testing::check_grad(
            &[&y, &x],
            |t| atan2(t[0], t[1]).map_err(|e| keras_engine::EngineError::new(e.to_string())),
            1e-2,
        );
    }
}
