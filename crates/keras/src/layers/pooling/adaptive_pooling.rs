//! The adaptive pooling layers (Keras's `BaseAdaptivePooling`): pooling to a fixed output size
//! whatever the input's spatial size, as PyTorch's `AdaptiveAvgPool`/`AdaptiveMaxPool`; one
//! implementation, six classes (average or max, 1-D to 3-D).
//!
//! Output index `i` of an axis of length `L` pooled to `O` covers the input window
//! `[floor(i * L / O), ceil((i + 1) * L / O))`; the windows overlap when `L` is not a multiple
//! of `O`. This is the window Keras's two-pool gather selects (`small = ceil(L / O)` or
//! `small + 1` elements from the same start). Each axis is pooled in turn, as Keras does: for
//! averages and maxima over rectangular windows that is the same as pooling every window at
//! once. The average of an axis is a product with a fixed `(L, O)` matrix (so its gradient is
//! the transposed product), the maximum a slice and a reduction per output index.

use keras_engine::ops;
use serde_json::Value;

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::ndim_error;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// An adaptive pooling's `output_size`: one size for every spatial axis (`usize`, Keras's
/// int) or one per axis (`[usize; N]`, Keras's tuple).
pub trait OutputSize<const N: usize> {
    /// One output size per spatial axis.
    fn sizes(self) -> [usize; N];
}

impl<const N: usize> OutputSize<N> for usize {
    fn sizes(self) -> [usize; N] {
        [self; N]
    }
}

impl<const N: usize> OutputSize<N> for [usize; N] {
    fn sizes(self) -> [usize; N] {
        self
    }
}

config_args! {
    /// The Keras arguments every adaptive pooling layer has.
    pub(crate) struct AdaptivePoolArgs, family LayerArgs {
        /// The output size of each spatial axis.
        output_size: Vec<usize>,
        /// `"channels_last"` or `"channels_first"`.
        data_format: DataFormat = DataFormat::default(),
    }
}

/// What the six classes share: the arguments, the layer base and the reduction.
struct AdaptivePool {
    base: LayerBase,
    args: AdaptivePoolArgs,
    max: bool,
}

/// The input windows of one axis of length `len` pooled to `out` outputs.
fn windows(len: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out).map(|i| (i * len / out, ((i + 1) * len).div_ceil(out))).collect()
}

impl AdaptivePool {
    fn new(snake: &str, max: bool, output_size: Vec<usize>) -> Self {
        let mut base = LayerBase::new(snake);
        if output_size.contains(&0) {
            base.fail(Error::InvalidArgument(format!(
                "`output_size` must be positive integers. Received: output_size={output_size:?}"
            )));
        }
        AdaptivePool { base, args: AdaptivePoolArgs { output_size, data_format: DataFormat::default() }, max }
    }

    fn from_config(snake: &str, class: &str, max: bool, spatial: usize, cfg: &Value) -> Result<Self> {
        // Keras writes the tuple; an int (hand-written configs) means every axis.
        let args = match cfg.get("output_size") {
            Some(n @ Value::Number(_)) => {
                let mut cfg = cfg.clone();
                cfg["output_size"] = Value::Array(vec![n.clone(); spatial]);
                AdaptivePoolArgs::read_args(&mut LayerCfg::new(&cfg, class))?
            }
            _ => AdaptivePoolArgs::read_args(&mut LayerCfg::new(cfg, class))?,
        };
        if args.output_size.len() != spatial {
            keras_bail!(
                Config,
                "{class}: `output_size` must hold {spatial} integers, received {:?}",
                args.output_size
            );
        }
        let mut p = AdaptivePool::new(snake, max, args.output_size.clone());
        p.args = args;
        p.base.apply_config(cfg);
        p.base.take_pending()?;
        Ok(p)
    }

    fn output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let spatial = self.args.output_size.len();
        if s.len() != spatial + 2 {
            return Err(ndim_error(&self.base.name, spatial + 2, s));
        }
        let last = self.args.data_format.shape_to_last(s);
        let mut out = vec![last[0]];
        out.extend(self.args.output_size.iter().map(|&o| Some(o)));
        out.push(last[spatial + 1]);
        Ok(self.args.data_format.shape_from_last(&out))
    }

    fn call(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        let known: Vec<Option<usize>> = x.shape().iter().map(|&d| Some(d)).collect();
        self.output_shape(&known)?;
        let mut y = self.args.data_format.to_last(x)?;
        for (i, &out) in self.args.output_size.iter().enumerate() {
            let axis = i + 1;
            let len = y.shape()[axis];
            if len == 0 {
                keras_bail!(
                    Value,
                    "Layer {}: cannot pool an empty spatial axis, received input shape {}",
                    self.base.name,
                    shape_str(&known)
                );
            }
            y = if self.max { max_axis(&y, axis, out)? } else { average_axis(&y, axis, out)? };
        }
        self.args.data_format.from_last(&y)
    }
}

/// The windows' maxima along `axis`: one slice and reduction per output, concatenated.
fn max_axis(x: &Tensor, axis: usize, out: usize) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let parts = windows(shape[axis], out)
        .into_iter()
        .map(|(start, end)| {
            let mut begin = vec![0; shape.len()];
            let mut size = shape.clone();
            begin[axis] = start;
            size[axis] = end - start;
            Ok(ops::max_axes(&ops::slice(x, &begin, &size)?, &[axis as isize], true)?)
        })
        .collect::<Result<Vec<Tensor>>>()?;
    Ok(ops::concat(&parts.iter().collect::<Vec<_>>(), axis as isize)?)
}

/// The windows' means along `axis`: `axis` moved last and multiplied by the `(len, out)`
/// matrix whose column `i` holds `1 / size` over window `i`.
fn average_axis(x: &Tensor, axis: usize, out: usize) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let (rank, len) = (shape.len(), shape[axis]);
    let mut weights = vec![0.0f32; len * out];
    for (i, (start, end)) in windows(len, out).into_iter().enumerate() {
        let w = 1.0 / (end - start) as f32;
        for row in start..end {
            weights[row * out + i] = w;
        }
    }
    let weights = Tensor::new(weights, [len, out])?;
    let mut perm: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
    perm.push(axis);
    let moved = ops::transpose(x, &perm)?;
    let rows = moved.numel() / len;
    let pooled = ops::matmul(&moved.reshape([rows, len])?, &weights)?;
    let mut moved_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    moved_shape[rank - 1] = out;
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    Ok(ops::transpose(&pooled.reshape(moved_shape)?, &inverse)?)
}

/// One adaptive pooling class: `adaptive_pooling_layer!(Name, N, max?, "snake", "doc")`.
macro_rules! adaptive_pooling_layer {
    ($name:ident, $n:literal, $max:expr, $snake:literal, $doc:literal, $example:literal) => {
        #[doc = $doc]
        ///
        /// ```
        #[doc = concat!("use keras::layers::{CallContext, Layer, ", stringify!($name), "};")]
        /// use keras::Tensor;
        #[doc = $example]
        /// # Ok::<(), keras::Error>(())
        /// ```
        pub struct $name(AdaptivePool);

        impl $name {
            /// Pools every input to `output_size` along the spatial axes: a `usize` for every
            /// axis or one size per axis.
            pub fn new(output_size: impl OutputSize<$n>) -> Self {
                $name(AdaptivePool::new($snake, $max, output_size.sizes().to_vec()))
            }

            /// `"channels_last"` (`(batch, spatial..., channels)`) or `"channels_first"`
            /// (`(batch, channels, spatial...)`); default: [`crate::config::image_data_format`].
            pub fn data_format(mut self, f: &str) -> Self {
                match DataFormat::parse(f) {
                    Ok(d) => self.0.args.data_format = d,
                    Err(e) => self.0.base.fail(e),
                }
                self
            }

            $crate::layers::builders::base_builders!(0.base);

            /// Rebuilds from a Keras config.
            pub fn from_config(cfg: &Value) -> Result<Self> {
                Ok($name(AdaptivePool::from_config($snake, stringify!($name), $max, $n, cfg)?))
            }
        }

        impl Layer for $name {
            crate::layers::layer::layer_base_methods!(stringify!($name), 0.base);

            fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
                self.0.output_shape(s)
            }

            fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
                self.0.call(x)
            }

            fn get_config(&self) -> Value {
                let mut m = self.0.base.base_config();
                self.0.args.write_args(&mut m);
                Value::Object(m)
            }
        }
    };
}

adaptive_pooling_layer!(
    AdaptiveAveragePooling1D,
    1,
    false,
    "adaptive_average_pooling1d",
    "Average pooling of sequences to a fixed length (Keras `keras.layers.AdaptiveAveragePooling1D`).",
    "let y = AdaptiveAveragePooling1D::new(3).call(&Tensor::ones([2, 7, 4]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[2, 3, 4]);"
);
adaptive_pooling_layer!(
    AdaptiveMaxPooling1D,
    1,
    true,
    "adaptive_max_pooling1d",
    "Max pooling of sequences to a fixed length (Keras `keras.layers.AdaptiveMaxPooling1D`).",
    "let y = AdaptiveMaxPooling1D::new(5).call(&Tensor::ones([2, 7, 4]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[2, 5, 4]);"
);
adaptive_pooling_layer!(
    AdaptiveAveragePooling2D,
    2,
    false,
    "adaptive_average_pooling2d",
    "Average pooling of images to a fixed size (Keras `keras.layers.AdaptiveAveragePooling2D`): the head of a network that takes any image size.",
    "let pool = AdaptiveAveragePooling2D::new([7, 7]);\nlet y = pool.call(&Tensor::ones([1, 30, 23, 8]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[1, 7, 7, 8]);"
);
adaptive_pooling_layer!(
    AdaptiveMaxPooling2D,
    2,
    true,
    "adaptive_max_pooling2d",
    "Max pooling of images to a fixed size (Keras `keras.layers.AdaptiveMaxPooling2D`).",
    "let pool = AdaptiveMaxPooling2D::new(2).data_format(\"channels_first\");\nlet y = pool.call(&Tensor::ones([1, 3, 9, 5]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[1, 3, 2, 2]);"
);
adaptive_pooling_layer!(
    AdaptiveAveragePooling3D,
    3,
    false,
    "adaptive_average_pooling3d",
    "Average pooling of volumes to a fixed size (Keras `keras.layers.AdaptiveAveragePooling3D`).",
    "let y = AdaptiveAveragePooling3D::new([2, 3, 4]).call(&Tensor::ones([1, 5, 4, 6, 2]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[1, 2, 3, 4, 2]);"
);
adaptive_pooling_layer!(
    AdaptiveMaxPooling3D,
    3,
    true,
    "adaptive_max_pooling3d",
    "Max pooling of volumes to a fixed size (Keras `keras.layers.AdaptiveMaxPooling3D`).",
    "let y = AdaptiveMaxPooling3D::new(2).call(&Tensor::ones([1, 5, 4, 6, 2]), &mut CallContext::new(false))?;\nassert_eq!(y.shape(), &[1, 2, 2, 2, 2]);"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_axis_like_pytorch() {
        assert_eq!(windows(7, 3), vec![(0, 3), (2, 5), (4, 7)]);
        assert_eq!(windows(7, 5), vec![(0, 2), (1, 3), (2, 5), (4, 6), (5, 7)]);
        assert_eq!(windows(3, 5), vec![(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]);
        assert_eq!(windows(6, 3), vec![(0, 2), (2, 4), (4, 6)]);
    }

    #[test]
    fn errors_instead_of_panics() {
        let mut ctx = CallContext::new(false);
        let zero = AdaptiveAveragePooling2D::new([0, 2]);
        assert!(zero
            .call(&Tensor::ones([1, 4, 4, 1]), &mut ctx)
            .unwrap_err()
            .to_string()
            .contains("positive"));
        let pool = AdaptiveMaxPooling2D::new(2);
        let e = pool.call(&Tensor::ones([4, 4, 1]), &mut ctx).unwrap_err().to_string();
        assert!(e.contains("expected ndim=4"), "{e}");
        assert!(pool.call(&Tensor::ones([1, 0, 4, 1]), &mut ctx).is_err());
        let cfg = serde_json::json!({"output_size": [2, 2, 2], "data_format": "channels_last"});
        let e = AdaptiveMaxPooling2D::from_config(&cfg).err().unwrap().to_string();
        assert!(e.contains("must hold 2 integers"), "{e}");
        let bad = serde_json::json!({"output_size": "big"});
        assert!(AdaptiveMaxPooling1D::from_config(&bad).is_err());
        assert!(AdaptiveMaxPooling1D::from_config(&serde_json::json!({})).is_err());
    }

    #[test]
    fn an_int_output_size_in_a_config_means_every_axis() {
        let p = AdaptiveAveragePooling3D::from_config(&serde_json::json!({"output_size": 2})).unwrap();
        assert_eq!(p.get_config()["output_size"], serde_json::json!([2, 2, 2]));
    }
}
