//! `MelSpectrogram`: mel-scaled (and decibel) spectrograms of raw audio, as Keras computes
//! them with TensorFlow's `stft`.

use keras_engine::DType;
use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::LayerArgs;
use crate::layers::preprocessing::audio_common::{checked_from_config, window_builders};
use crate::layers::preprocessing::signal::{self, Window};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.MelSpectrogram`: audio signals `(..., samples)` (one signal, or a
/// batch) to mel spectrograms `(..., num_mel_bins, frames)`. The signal is padded by
/// `fft_length / 2` reflected samples on each side, cut into frames of `fft_length` samples
/// every `sequence_stride` (the `sequence_length`-sample window centred in each), transformed,
/// raised to `mag_exp` (2: power), projected on `num_mel_bins` HTK mel triangles between
/// `min_freq` and `max_freq`, and with `power_to_db` converted to decibels relative to
/// `ref_power`, floored at `min_power` and at `top_db` below the largest value (of the whole
/// batch, as Keras does). A preprocessing layer: no weights, no gradient.
///
/// ```
/// use keras::layers::{CallContext, Layer, MelSpectrogram};
/// use keras::Tensor;
///
/// let mel = MelSpectrogram::new().num_mel_bins(64).sampling_rate(8000.0).sequence_stride(256);
/// let x = Tensor::new((0..16000).map(|i| (i as f32 * 0.3).sin()).collect(), [16000]).unwrap();
/// let y = mel.call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[64, 63]);
/// ```
pub struct MelSpectrogram {
    base: LayerBase,
    args: MelSpectrogramArgs,
}

config_args! {
    /// MelSpectrogram's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct MelSpectrogramArgs in MelSpectrogram.args, family LayerArgs {
        /// The samples of each transformed frame (default 2048).
        fft_length: usize = 2048; builder fft_length(fft_length: usize),
        /// The hop between frames (default 512).
        sequence_stride: usize = 512; builder sequence_stride(sequence_stride: usize),
        /// The window's length, at most `fft_length` (default: `fft_length`).
        sequence_length: Option<usize> = None; builder sequence_length(sequence_length: usize) => Some(sequence_length),
        /// `"hann"` (default, periodic) or `"hamming"`.
        window: Value = Value::from("hann"); builder window(name: &str) => Value::from(name),
        /// The signal's sampling rate in Hz (default 16000).
        sampling_rate: Value = json!(16000); builder sampling_rate(rate: f64) => json!(rate),
        /// The mel bands (default 128).
        num_mel_bins: usize = 128; builder num_mel_bins(num_mel_bins: usize),
        /// The lowest frequency of the mel bands in Hz (default 20).
        min_freq: f64 = 20.0; builder min_freq(min_freq: f64),
        /// The highest frequency of the mel bands in Hz (default: half the sampling rate).
        max_freq: Value = Value::Null; builder max_freq(max_freq: f64) => json!(max_freq),
        /// Whether to convert to decibels (default true).
        power_to_db: bool = true; builder power_to_db(power_to_db: bool),
        /// The decibel range kept below the largest value (default 80).
        top_db: f64 = 80.0; builder top_db(top_db: f64),
        /// The exponent of the magnitudes (1: magnitude, 2: power, default).
        mag_exp: f64 = 2.0; builder mag_exp(mag_exp: f64),
        /// The floor of the power and of `ref_power` before the logarithm (default 1e-10).
        min_power: f64 = 1e-10; builder min_power(min_power: f64),
        /// The power of 0 dB (default 1).
        ref_power: f64 = 1.0; builder ref_power(ref_power: f64),
    }
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        Self::new()
    }
}

impl MelSpectrogram {
    /// Keras's defaults: 128 mel bands of 16 kHz audio, 2048-sample frames every 512 samples,
    /// in decibels.
    pub fn new() -> Self {
        MelSpectrogram { base: LayerBase::new("mel_spectrogram"), args: MelSpectrogramArgs::defaults() }
    }

    crate::layers::builders::base_builders!();

    window_builders!();

    checked_from_config!(MelSpectrogramArgs, "MelSpectrogram");

    /// The window's length.
    fn resolved_sequence_length(&self) -> usize {
        self.args.sequence_length.unwrap_or(self.args.fft_length)
    }

    /// The sampling rate in Hz.
    fn rate_hz(&self) -> Result<f64> {
        self.args.sampling_rate.as_f64().ok_or_else(|| {
            crate::Error::Config(format!(
                "`sampling_rate` must be a number, received {}",
                self.args.sampling_rate
            ))
        })
    }

    /// `max_freq` as Keras keeps it: the argument, or `int(sampling_rate / 2)`.
    fn resolved_max_freq(&self) -> Result<Value> {
        match &self.args.max_freq {
            Value::Null => Ok(json!((self.rate_hz()? / 2.0).trunc() as i64)),
            v if v.is_number() => Ok(v.clone()),
            v => keras_bail!(Config, "`max_freq` must be a number or null, received {v}"),
        }
    }

    /// Keras's constructor check, and positive sizes.
    fn check(&self) -> Result<()> {
        let a = &self.args;
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        if a.fft_length < self.resolved_sequence_length() {
            keras_bail!(
                InvalidArgument,
                "`fft_length` must be greater than or equal to   `sequence_length`. Received: `sequence_length`={}, `fft_length`={}.",
                self.resolved_sequence_length(),
                a.fft_length
            );
        }
        if a.fft_length == 0
            || a.sequence_stride == 0
            || a.num_mel_bins == 0
            || self.resolved_sequence_length() == 0
        {
            keras_bail!(
                InvalidArgument,
                "`fft_length`, `sequence_stride`, `sequence_length` and `num_mel_bins` must be positive integers. Received: fft_length={}, sequence_stride={}, sequence_length={}, num_mel_bins={}",
                a.fft_length,
                a.sequence_stride,
                self.resolved_sequence_length(),
                a.num_mel_bins
            );
        }
        self.resolved_max_freq()?;
        Window::from_config(&a.window)?;
        Ok(())
    }

    /// Keras's `_dbscale`: `10 log10(max(x, min_power) / max(|ref_power|, min_power))`,
    /// floored at `top_db` below the largest value.
    fn db_scale(&self, v: &mut [f32]) {
        let a = &self.args;
        let min_power = a.min_power as f32;
        let reference = 10.0 * (a.ref_power as f32).abs().max(min_power).log10();
        for x in v.iter_mut() {
            *x = 10.0 * x.max(min_power).log10() - reference;
        }
        let floor = v.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) - a.top_db as f32;
        for x in v.iter_mut() {
            *x = x.max(floor);
        }
    }
}

impl Layer for MelSpectrogram {
    crate::layers::reshaping::args::layer_common!("MelSpectrogram", true);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        self.check()?;
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    /// Keras's shape: `(..., num_mel_bins, (samples + sequence_stride + 1) // sequence_stride)`.
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.check()?;
        let Some((&samples, lead)) = s.split_last() else {
            keras_bail!(Shape, "MelSpectrogram expects inputs of shape (..., samples), received a scalar");
        };
        let stride = self.args.sequence_stride;
        let mut out = lead.to_vec();
        out.extend([Some(self.args.num_mel_bins), samples.map(|t| (t + stride + 1) / stride)]);
        Ok(out)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.check()?;
        let a = &self.args;
        let x = if x.dtype() == DType::F32 { x.clone() } else { x.cast(DType::F32) };
        let window = Window::from_config(&a.window)?;
        let (re, im) = signal::stft(
            &x,
            self.resolved_sequence_length(),
            a.sequence_stride,
            a.fft_length,
            window.as_ref(),
            true,
        )?;
        let shape = re.shape().to_vec();
        let (frames, bins) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let lead = &shape[..shape.len() - 2];
        let rows = lead.iter().product::<usize>() * frames;
        let mag_exp = a.mag_exp as f32;
        let spec: Vec<f32> = re
            .as_f32()?
            .iter()
            .zip(im.as_f32()?)
            .map(|(r, i)| (r * r + i * i).sqrt().powf(mag_exp))
            .collect();
        let max_freq = self.resolved_max_freq()?.as_f64().unwrap_or(0.0);
        let mels = a.num_mel_bins;
        let matrix = signal::linear_to_mel_weight_matrix(mels, bins, self.rate_hz()?, a.min_freq, max_freq);
        let mut out =
            keras_engine::alloc::try_filled(keras_engine::alloc::checked_numel(&[rows, mels], 4)?, 0.0f32)?;
        // (..., frames, bins) @ (bins, mels), written transposed: (..., mels, frames).
        let per_signal = frames * mels;
        for (row, s) in spec.chunks(bins.max(1)).enumerate().take(rows) {
            let (sig, frame) = (row / frames, row % frames);
            for m in 0..mels {
                let v: f64 =
                    s.iter().enumerate().map(|(b, &p)| f64::from(p) * f64::from(matrix[b * mels + m])).sum();
                out[sig * per_signal + m * frames + frame] = v as f32;
            }
        }
        if a.power_to_db {
            self.db_scale(&mut out);
        }
        let mut out_shape = lead.to_vec();
        out_shape.extend([mels, frames]);
        Ok(Tensor::new(out, out_shape)?)
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        // Keras keeps the resolved defaults.
        m.insert("sequence_length".into(), json!(self.resolved_sequence_length()));
        m.insert("max_freq".into(), self.resolved_max_freq().unwrap_or(Value::Null));
        Value::Object(m)
    }
}
