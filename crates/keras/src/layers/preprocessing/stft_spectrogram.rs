//! `STFTSpectrogram`: spectrograms of 1-D signals by a strided convolution with (trainable)
//! DFT kernels, as Keras builds it.

use keras_engine::ops::{self, ConvPadding, Unary};
use keras_engine::DType;
use serde_json::Value;

use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::layers::layer_args::LayerArgs;
use crate::layers::preprocessing::audio_common::{checked_from_config, window_builders};
use crate::layers::preprocessing::signal::{self, Window};
use crate::layers::reshaping::args::ndim_error;
use crate::layers::DataFormat;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `backend.epsilon()`, the floor of the power and magnitude before `sqrt` and `log`.
const EPSILON: f32 = 1e-7;

/// Keras's output modes, in its error message's order.
const MODES: [&str; 7] = ["log", "magnitude", "psd", "real", "imag", "angle", "stft"];

/// Keras `keras.layers.STFTSpectrogram`: the short-time Fourier transform of each channel of
/// `(batch, time, channels)` signals (`(batch, channels, time)` channels-first), computed as
/// a convolution with the real and imaginary DFT kernels (`real_kernel`, `imag_kernel`, shape
/// `(frame_length, 1, fft_length // 2 + 1)`, the window and its scaling folded in) strided by
/// `frame_step`. The kernels are weights: trainable by default, so the transform can be
/// fine-tuned, and frozen with `trainable(false)` for plain preprocessing.
///
/// `mode` picks the output: `"log"` (the log magnitude, default), `"magnitude"`, `"psd"` (the
/// one-sided power spectral density), `"real"`, `"imag"`, `"angle"` (the phase) or `"stft"`
/// (real then imaginary parts). Outputs are `(batch, frames, channels * bins)` channels-last
/// and `(batch, channels * bins, frames)` channels-first, or with `expand_dims(true)`
/// `(batch, frames, bins, channels)` and `(batch, channels, frames, bins)`; `bins` is
/// `fft_length // 2 + 1` (twice that for `"stft"`).
///
/// ```
/// use keras::layers::{CallContext, Layer, STFTSpectrogram};
/// use keras::Tensor;
///
/// let mut stft = STFTSpectrogram::new().mode("magnitude").frame_length(64).frame_step(32).fft_length(128);
/// stft.build(&[None, Some(1000), Some(2)]).unwrap();
/// let x = Tensor::new((0..2000).map(|i| (i as f32 * 0.05).sin()).collect(), [1, 1000, 2]).unwrap();
/// let y = stft.call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 30, 2 * 65]);
/// assert_eq!(stft.weights().len(), 2); // real_kernel, imag_kernel
/// ```
pub struct STFTSpectrogram {
    base: LayerBase,
    args: STFTSpectrogramArgs,
    real_kernel: Option<Variable>,
    imag_kernel: Option<Variable>,
}

config_args! {
    /// STFTSpectrogram's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct STFTSpectrogramArgs in STFTSpectrogram.args, family LayerArgs {
        /// The output: `"log"` (default), `"magnitude"`, `"psd"`, `"real"`, `"imag"`,
        /// `"angle"` or `"stft"`.
        mode: String = "log".to_string(); builder mode(mode: &str) => mode.to_string(),
        /// The samples of each frame (the kernel size, default 256).
        frame_length: usize = 256; builder frame_length(frame_length: usize),
        /// The hop between frames (default `frame_length / 2`).
        frame_step: Option<usize> = None; builder frame_step(frame_step: usize) => Some(frame_step),
        /// The DFT size, at least `frame_length` (default: the next power of two).
        fft_length: Option<usize> = None; builder fft_length(fft_length: usize) => Some(fft_length),
        /// A scipy window name (`"hann"`, default; `"hamming"`, `"blackman"`, `"tukey"`, ...).
        window: Value = Value::from("hann"); builder window(name: &str) => Value::from(name),
        /// Whether a named window is periodic (scipy's `fftbins`) rather than symmetric (default).
        periodic: bool = false; builder periodic(periodic: bool),
        /// The window's normalization: `Some("density")` (L2, default), `Some("spectrum")`
        /// (L1) or `None`.
        scaling: Option<String> = Some("density".to_string());
            builder scaling(scaling: Option<&str>) => scaling.map(str::to_string),
        /// `"valid"` (default) or `"same"` (`ceil(time / frame_step)` frames).
        padding: String = "valid".to_string(); builder padding(padding: &str) => padding.to_string(),
        /// Where the channels are (default: the global `image_data_format`).
        data_format: DataFormat = DataFormat::default(); builder data_format(data_format: DataFormat),
        /// Whether to keep channels and bins apart (a 4-D output, for image models).
        expand_dims: bool = false; builder expand_dims(expand_dims: bool),
    }
}

impl Default for STFTSpectrogram {
    fn default() -> Self {
        Self::new()
    }
}

impl STFTSpectrogram {
    /// Keras's defaults: log magnitudes of 256-sample hann frames every 128 samples.
    pub fn new() -> Self {
        STFTSpectrogram {
            base: LayerBase::new("stft_spectrogram"),
            args: STFTSpectrogramArgs::defaults(),
            real_kernel: None,
            imag_kernel: None,
        }
    }

    crate::layers::builders::base_builders!();

    window_builders!();

    /// Whether the kernels are trainable (Keras's `trainable` argument, default true).
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.base.trainable = trainable;
        self
    }

    checked_from_config!(STFTSpectrogramArgs, "STFTSpectrogram");

    /// The hop between frames.
    fn step(&self) -> usize {
        self.args.frame_step.unwrap_or(self.args.frame_length / 2)
    }

    /// The DFT size.
    fn fft(&self) -> usize {
        self.args.fft_length.unwrap_or(self.args.frame_length.next_power_of_two())
    }

    /// The window, read from its config value.
    fn parsed_window(&self) -> Result<Option<Window>> {
        Window::from_config(&self.args.window)
    }

    /// Keras's constructor checks, with its messages.
    fn check(&self) -> Result<()> {
        let a = &self.args;
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        if a.frame_length == 0 {
            keras_bail!(
                InvalidArgument,
                "`frame_length` should be a positive integer. Received frame_length=0"
            );
        }
        let step = self.step();
        if step < 1 || step > a.frame_length {
            keras_bail!(
                InvalidArgument,
                "`frame_step` should be a positive integer not greater than `frame_length`. Received frame_step={step}, frame_length={}",
                a.frame_length
            );
        }
        if let Some(n) = a.fft_length.filter(|&n| n < a.frame_length) {
            keras_bail!(
                InvalidArgument,
                "`fft_length` should be not less than `frame_length`. Received fft_length={n}, frame_length={}",
                a.frame_length
            );
        }
        if !MODES.contains(&a.mode.as_str()) {
            keras_bail!(
                InvalidArgument,
                "Output mode is invalid, it must be one of {}. Received: mode={}",
                MODES.join(", "),
                a.mode
            );
        }
        if let Some(s) = a.scaling.as_deref().filter(|s| *s != "density" && *s != "spectrum") {
            keras_bail!(
                InvalidArgument,
                "Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={s}"
            );
        }
        if a.padding != "valid" && a.padding != "same" {
            keras_bail!(
                InvalidArgument,
                "Padding is invalid, it should be 'valid', 'same'. Received: padding={}",
                a.padding
            );
        }
        if let Some(Window::Named(name)) = self.parsed_window()? {
            signal::get_window(&name, 1, true)?;
        }
        Ok(())
    }

    /// `(time, channels)` of a `(batch, time, channels)` shape in this layer's data format,
    /// after Keras's rank check.
    fn time_channels<T: Copy>(&self, shape: &[T], shown: &[Option<usize>]) -> Result<(T, T)> {
        match (shape, self.args.data_format) {
            (&[_, t, c], DataFormat::ChannelsLast) | (&[_, c, t], DataFormat::ChannelsFirst) => Ok((t, c)),
            _ => Err(ndim_error(&self.base.name, 3, shown)),
        }
    }

    /// The frames of a signal of `time` samples (Keras's `compute_conv_output_shape`).
    fn frames(&self, time: usize) -> Result<usize> {
        let (k, s) = (self.args.frame_length, self.step());
        if self.args.padding == "same" {
            return Ok(time.div_ceil(s));
        }
        if time < k {
            keras_bail!(
                Value,
                "Computed output size would be negative. Received `inputs shape={time}` samples, `kernel shape=({k}, 1)`, `strides={s}`."
            );
        }
        Ok((time - k) / s + 1)
    }

    /// One kernel convolved with every channel: `(batch * channels, 1, time, 1)` signals give
    /// `(batch, channels, frames, bins)`.
    fn conv(&self, x: &Tensor, kernel: &Option<Variable>, batch: usize, channels: usize) -> Result<Tensor> {
        let k =
            kernel.as_ref().ok_or_else(|| Error::State(format!("Layer {} is not built", self.base.name)))?;
        let bins = k.value().shape()[2];
        let k4 = k.value().reshape([1, self.args.frame_length, 1, bins])?;
        let padding = if self.args.padding == "same" { ConvPadding::Same } else { ConvPadding::Valid };
        let y = ops::conv2d_ext(x, &k4, None, [1, self.step()], [1, 1], padding, 1, Unary::Linear)?;
        let frames = y.shape()[2];
        Ok(y.reshape([batch, channels, frames, bins])?)
    }

    /// Keras's `_adjust_shapes`, from `(batch, channels, frames, bins)`.
    fn adjust(&self, y: Tensor) -> Result<Tensor> {
        let [b, c, t, f] = [y.shape()[0], y.shape()[1], y.shape()[2], y.shape()[3]];
        Ok(match (self.args.data_format, self.args.expand_dims) {
            (DataFormat::ChannelsLast, true) => ops::transpose(&y, &[0, 2, 3, 1])?,
            (DataFormat::ChannelsLast, false) => ops::transpose(&y, &[0, 2, 1, 3])?.reshape([b, t, c * f])?,
            (DataFormat::ChannelsFirst, true) => y,
            (DataFormat::ChannelsFirst, false) => {
                ops::transpose(&y, &[0, 1, 3, 2])?.reshape([b, c * f, t])?
            }
        })
    }
}

impl Layer for STFTSpectrogram {
    crate::sublayers!(; real_kernel, imag_kernel);
    crate::layers::reshaping::args::layer_common!("STFTSpectrogram", true, args_config);

    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        self.check()?;
        self.time_channels(input_shape, input_shape)?;
        let a = &self.args;
        let window = match self.parsed_window()? {
            Some(w) => Some(w.values(a.frame_length, a.periodic, "frame_length")?),
            None => None,
        };
        let shape = [a.frame_length, 1, self.fft() / 2 + 1];
        let kernel = |imag: bool, name: &str| -> Result<Variable> {
            let v = signal::stft_kernel(imag, window.as_deref(), a.scaling.as_deref(), shape)?;
            Ok(Variable::new(name, &self.base.name, Tensor::new(v, shape)?, true))
        };
        self.real_kernel = if a.mode != "imag" { Some(kernel(false, "real_kernel")?) } else { None };
        self.imag_kernel = if a.mode != "real" { Some(kernel(true, "imag_kernel")?) } else { None };
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.check()?;
        let (time, channels) = self.time_channels(s, s)?;
        let bins = (self.fft() / 2 + 1) * if self.args.mode == "stft" { 2 } else { 1 };
        let frames = time.map(|t| self.frames(t)).transpose()?;
        let flat = channels.map(|c| c * bins);
        Ok(match (self.args.data_format, self.args.expand_dims) {
            (DataFormat::ChannelsLast, true) => vec![s[0], frames, Some(bins), channels],
            (DataFormat::ChannelsLast, false) => vec![s[0], frames, flat],
            (DataFormat::ChannelsFirst, true) => vec![s[0], channels, frames, Some(bins)],
            (DataFormat::ChannelsFirst, false) => vec![s[0], flat, frames],
        })
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        if x.dtype() != DType::F32 {
            keras_bail!(
                InvalidArgument,
                "Invalid input type. Expected `float16`, `float32` or `float64`. Received: input type={}",
                x.dtype().name()
            );
        }
        let shown: Shape = x.shape().iter().map(|&d| Some(d)).collect();
        let (time, channels) = self.time_channels(x.shape(), &shown)?;
        self.frames(time)?;
        let batch = x.shape()[0];
        // Every channel becomes a signal of its own: (batch * channels, 1, time, 1).
        let x = match self.args.data_format {
            DataFormat::ChannelsLast => ops::transpose(x, &[0, 2, 1])?,
            DataFormat::ChannelsFirst => x.clone(),
        }
        .reshape([batch * channels, 1, time, 1])?;
        let mode = self.args.mode.as_str();
        let real =
            if mode != "imag" { Some(self.conv(&x, &self.real_kernel, batch, channels)?) } else { None };
        let imag =
            if mode != "real" { Some(self.conv(&x, &self.imag_kernel, batch, channels)?) } else { None };
        let y = match (mode, real, imag) {
            ("real", Some(r), _) => r,
            ("imag", _, Some(i)) => i,
            ("angle", Some(r), Some(i)) => signal::atan2(&i, &r)?,
            ("stft", Some(r), Some(i)) => ops::concat(&[&r, &i], 3)?,
            (_, Some(r), Some(i)) => {
                let power = ops::add(&ops::unary(&r, Unary::Square)?, &ops::unary(&i, Unary::Square)?)?;
                if mode == "psd" {
                    // Keras adds the power of the bins other than DC and Nyquist once more.
                    let bins = power.shape()[3];
                    let twice: Vec<f32> =
                        (0..bins).map(|f| if f == 0 || f + 1 == bins { 1.0 } else { 2.0 }).collect();
                    ops::mul(&power, &Tensor::new(twice, [bins])?)?
                } else {
                    let eps = Tensor::scalar(EPSILON);
                    let magnitude = ops::unary(&ops::maximum(&power, &eps)?, Unary::Sqrt)?;
                    if mode == "magnitude" {
                        magnitude
                    } else {
                        ops::unary(&ops::maximum(&magnitude, &eps)?, Unary::Log)?
                    }
                }
            }
            _ => keras_bail!(State, "Layer {} is not built", self.base.name),
        };
        self.adjust(y)
    }
}
