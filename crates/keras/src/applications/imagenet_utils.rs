//! `keras.applications.imagenet_utils`: the input preprocessing shared by the ImageNet models
//! (`caffe`, `tf` and `torch` modes) and the decoding of their predictions into ImageNet
//! classes (`decode_predictions`, which fetches `imagenet_class_index.json` through
//! [`get_file`] as Keras does).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::utils::python_repr::{py_dims, py_shape};
use crate::utils::{get_file, GetFileArgs};
use crate::{keras_bail, Error, Result, Tensor};

/// Where Keras downloads the ImageNet class index from (`CLASS_INDEX_PATH`).
pub const CLASS_INDEX_PATH: &str =
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json";
/// The md5 hash Keras checks the class index against.
pub const CLASS_INDEX_HASH: &str = "c2c37ea517e94d9795004a39431a14cb";
/// The class index's file name in the cache (`$KERAS_HOME/models/imagenet_class_index.json`).
pub const CLASS_INDEX_FNAME: &str = "imagenet_class_index.json";

/// ImageNet's per-channel means in RGB order (`caffe` mode subtracts them in BGR order).
const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
const TORCH_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const TORCH_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Preprocesses a batch of images (or one image) with values in `[0, 255]`, as Keras's
/// `imagenet_utils.preprocess_input` does:
///
/// * `"caffe"` (the default in Keras): RGB to BGR, then each channel minus ImageNet's mean
///   (`[103.939, 116.779, 123.68]` in BGR order), without scaling;
/// * `"tf"`: `x / 127.5 - 1` (values in `[-1, 1]`);
/// * `"torch"`: `x / 255`, then per channel minus `[0.485, 0.456, 0.406]` and divided by
///   `[0.229, 0.224, 0.225]`.
///
/// `data_format` is `"channels_last"` (the default, `None`) or `"channels_first"`; the channel
/// axis is the last one, or axis 0 of a 3-D / axis 1 of a 4-D tensor. Integer tensors are
/// converted to float32 first. The arithmetic is float32, operation by operation as in Keras,
/// so results match Keras bit for bit. The result is new data (not recorded by a
/// `GradientTape`).
///
/// ```
/// use keras::applications::imagenet_utils::preprocess_input;
/// use keras::Tensor;
/// let x = Tensor::new(vec![0.0, 127.5, 255.0], [1, 1, 1, 3]).unwrap();
/// let y = preprocess_input(&x, None, "tf").unwrap();
/// assert_eq!(y.as_f32().unwrap(), &[-1.0, 0.0, 1.0]);
/// ```
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>, mode: &str) -> Result<Tensor> {
    if !matches!(mode, "caffe" | "tf" | "torch") {
        keras_bail!(
            InvalidArgument,
            "Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}"
        );
    }
    let channels_first = is_channels_first(data_format)?;
    let shape = x.shape().to_vec();
    let mut data = x.to_f32_vec();
    if mode == "tf" {
        for v in &mut data {
            *v /= 127.5;
            *v -= 1.0;
        }
        return Ok(Tensor::new(data, shape)?);
    }
    // The channel axis, and the layout around it: `outer` blocks of `channels * inner` values.
    let axis = if channels_first {
        match shape.len() {
            3 => 0,
            n if n >= 2 => 1,
            _ => usize::MAX,
        }
    } else {
        shape.len().wrapping_sub(1)
    };
    if axis >= shape.len() || shape[axis] < 3 {
        keras_bail!(
            Shape,
            "preprocess_input (mode={mode}) expects 3 color channels on the {} axis; received an input of \
             shape {}",
            if channels_first { "channels_first" } else { "channels_last" },
            py_dims(&shape)
        );
    }
    let channels = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let (mean, std) = if mode == "torch" {
        for v in &mut data {
            *v /= 255.0;
        }
        (TORCH_MEAN, Some(TORCH_STD))
    } else {
        // 'RGB'->'BGR': NumPy's x[..., ::-1] reverses every channel.
        for o in 0..outer {
            let block = &mut data[o * channels * inner..(o + 1) * channels * inner];
            for i in 0..inner {
                for c in 0..channels / 2 {
                    block.swap(c * inner + i, (channels - 1 - c) * inner + i);
                }
            }
        }
        (CAFFE_MEAN_BGR, None)
    };
    for o in 0..outer {
        for c in 0..3 {
            let start = (o * channels + c) * inner;
            for v in &mut data[start..start + inner] {
                *v -= mean[c];
                if let Some(s) = std {
                    *v /= s[c];
                }
            }
        }
    }
    Ok(Tensor::new(data, shape)?)
}

/// One decoded prediction: Keras's `(class_name, class_description, score)` tuple, with the
/// class's index added.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedPrediction {
    /// Index of the class in the model's output (0..1000).
    pub index: usize,
    /// The WordNet id (`"n01440764"`).
    pub class_name: String,
    /// The label (`"tench"`).
    pub description: String,
    /// The model's score for the class.
    pub score: f32,
}

/// A class index as in `imagenet_class_index.json`: `{"0": ["n01440764", "tench"], ...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassIndex {
    entries: HashMap<String, (String, String)>,
}

/// The ImageNet class index, once loaded (Keras's global `CLASS_INDEX`).
static IMAGENET: Mutex<Option<Arc<ClassIndex>>> = Mutex::new(None);

impl ClassIndex {
    /// Parses the JSON of a class index.
    pub fn from_json(text: &str) -> Result<ClassIndex> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("The class index is not valid JSON: {e}")))?;
        let Some(obj) = value.as_object() else {
            keras_bail!(Config, "The class index must be a JSON object {{\"0\": [id, label], ...}}");
        };
        let mut entries = HashMap::with_capacity(obj.len());
        for (k, v) in obj {
            let pair =
                v.as_array().filter(|a| a.len() == 2).and_then(|a| Some((a[0].as_str()?, a[1].as_str()?)));
            let Some((id, label)) = pair else {
                keras_bail!(
                    Config,
                    "The class index entry \"{k}\" is not a [class_name, description] pair: {v}"
                );
            };
            entries.insert(k.clone(), (id.to_string(), label.to_string()));
        }
        Ok(ClassIndex { entries })
    }

    /// Reads a class index file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ClassIndex> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Io(format!("Cannot read the class index {}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| Error::Config(format!("{} ({})", e.message(), path.display())))
    }

    /// The ImageNet class index Keras uses: `imagenet_class_index.json` from
    /// [`CLASS_INDEX_PATH`], cached as `$KERAS_HOME/models/imagenet_class_index.json` and
    /// checked against [`CLASS_INDEX_HASH`]. Loaded once per process. Without a network, put
    /// the file at that path (the error says where).
    pub fn imagenet() -> Result<Arc<ClassIndex>> {
        Self::imagenet_from(CLASS_INDEX_PATH, CLASS_INDEX_HASH, None)
    }

    /// The `get_file` arguments Keras uses for the ImageNet class index.
    pub fn imagenet_get_file_args() -> GetFileArgs {
        GetFileArgs::default().fname(CLASS_INDEX_FNAME).cache_subdir("models").file_hash(CLASS_INDEX_HASH)
    }

    fn imagenet_from(origin: &str, hash: &str, cache_dir: Option<&Path>) -> Result<Arc<ClassIndex>> {
        let mut slot = IMAGENET.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(idx) = slot.as_ref() {
            return Ok(idx.clone());
        }
        let mut args = Self::imagenet_get_file_args().file_hash(hash);
        if let Some(d) = cache_dir {
            args = args.cache_dir(d);
        }
        let idx = Arc::new(Self::fetch(origin, &args)?);
        *slot = Some(idx.clone());
        Ok(idx)
    }

    /// Fetches a class index through [`get_file`] (cached and hash-checked as `args` say) and
    /// reads it: the way [`ClassIndex::imagenet`] gets Keras's, for an index of your own.
    pub fn fetch(origin: &str, args: &GetFileArgs) -> Result<ClassIndex> {
        Self::from_file(get_file(origin, args)?)
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `(class_name, description)` of class `index`.
    pub fn get(&self, index: usize) -> Option<(&str, &str)> {
        self.entries.get(&index.to_string()).map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// The `top` best classes of each row of `preds` (`[samples, classes]`), best first, as
    /// Keras's `decode_predictions` computes them (`pred.argsort()[-top:][::-1]`, then sorted
    /// by score; as in NumPy, `top = 0` or `top >= classes` returns every class).
    pub fn decode(&self, preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
        let shape = preds.shape();
        if shape.len() != 2 {
            keras_bail!(
                Shape,
                "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape (samples, \
                 classes)). Received array with shape: {}",
                py_dims(shape)
            );
        }
        let (rows, classes) = (shape[0], shape[1]);
        let data = preds.to_f32_vec();
        let mut out = Vec::with_capacity(rows);
        for r in 0..rows {
            let row = &data[r * classes..(r + 1) * classes];
            // NumPy's argsort: ascending, NaN last (ties keep index order here).
            let mut order: Vec<usize> = (0..classes).collect();
            order.sort_by(|&a, &b| nan_last(row[a], row[b]));
            let take = if top == 0 { classes } else { top.min(classes) };
            let mut result = Vec::with_capacity(take);
            for &i in order[classes - take..].iter().rev() {
                let Some((id, label)) = self.get(i) else {
                    keras_bail!(Value, "The class index has no entry for class {i} (KeyError: '{i}')");
                };
                result.push(DecodedPrediction {
                    index: i,
                    class_name: id.to_string(),
                    description: label.to_string(),
                    score: row[i],
                });
            }
            // Python's stable `sort(key=score, reverse=True)`.
            result.sort_by(|a, b| nan_last(b.score, a.score));
            out.push(result);
        }
        Ok(out)
    }
}

fn nan_last(a: f32, b: f32) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

fn check_imagenet_preds(preds: &Tensor) -> Result<()> {
    let shape = preds.shape();
    if shape.len() != 2 || shape[1] != 1000 {
        keras_bail!(
            Shape,
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape (samples, 1000)). \
             Received array with shape: {}",
            py_dims(shape)
        );
    }
    Ok(())
}

/// Decodes the predictions of an ImageNet model (`[samples, 1000]`) into the `top` classes of
/// each sample, best first (Keras `decode_predictions`). The class index is fetched once with
/// [`ClassIndex::imagenet`] (through `get_file`, cached under `$KERAS_HOME/models`).
///
/// ```no_run
/// # let probabilities = keras::Tensor::zeros([1, 1000]);
/// let top5 = keras::applications::imagenet_utils::decode_predictions(&probabilities, 5)?;
/// for p in &top5[0] {
///     println!("{} {} {:.4}", p.class_name, p.description, p.score);
/// }
/// # Ok::<(), keras::Error>(())
/// ```
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    check_imagenet_preds(preds)?;
    ClassIndex::imagenet()?.decode(preds, top)
}

/// A model module's `preprocess_input` (this module's in `$mode` mode, `$what` saying what
/// it does) and `decode_predictions`, with their rustdoc; `(@decode $module)` writes only
/// `decode_predictions`.
macro_rules! model_io_fns {
    ($module:literal, $mode:literal, $what:literal) => {
        #[doc = concat!(
            "`keras.applications.", $module, ".preprocess_input`: [`imagenet_utils::preprocess_input`] in\n`\"",
            $mode, "\"` mode (", $what, ")."
        )]
        pub fn preprocess_input(x: &$crate::Tensor, data_format: Option<&str>) -> $crate::Result<$crate::Tensor> {
            $crate::applications::imagenet_utils::preprocess_input(x, data_format, $mode)
        }

        $crate::applications::imagenet_utils::model_io_fns!(@decode $module);
    };
    // The families whose models preprocess their input themselves.
    (@passthrough $module:literal, $what:literal) => {
        #[doc = concat!(
            "`keras.applications.", $module, ".preprocess_input`: returns the input unchanged. The model itself ",
            $what, " (Keras keeps this function for backward compatibility only); feed it values in `[0, 255]`. ",
            "`data_format` is accepted and ignored, as in Keras."
        )]
        pub fn preprocess_input(x: &$crate::Tensor, data_format: Option<&str>) -> $crate::Result<$crate::Tensor> {
            let _ = data_format;
            Ok(x.clone())
        }

        $crate::applications::imagenet_utils::model_io_fns!(@decode $module);
    };
    (@decode $module:literal) => {
        #[doc = concat!(
            "`keras.applications.", $module, ".decode_predictions`: [`imagenet_utils::decode_predictions`]."
        )]
        pub fn decode_predictions(
            preds: &$crate::Tensor,
            top: usize,
        ) -> $crate::Result<Vec<Vec<$crate::applications::imagenet_utils::DecodedPrediction>>> {
            $crate::applications::imagenet_utils::decode_predictions(preds, top)
        }
    };
}
pub(crate) use model_io_fns;

/// [`decode_predictions`] with a class index at hand (no download).
pub fn decode_predictions_with(
    preds: &Tensor,
    top: usize,
    class_index: &ClassIndex,
) -> Result<Vec<Vec<DecodedPrediction>>> {
    check_imagenet_preds(preds)?;
    class_index.decode(preds, top)
}

/// Keras's `obtain_input_shape`: the input shape an application model is built with, from the
/// user's `input_shape` (`None` for unknown dimensions), the model's `default_size` and
/// `min_size`, and whether a classifier that needs a static shape follows (`require_flatten`,
/// i.e. `include_top`). `weights` is `None`, `Some("imagenet")` or a file path. The errors are
/// Keras's; the "usually expects 1 or 3 input channels" warning is printed as Keras warns.
///
/// ```
/// use keras::applications::imagenet_utils::obtain_input_shape;
/// let s = obtain_input_shape(None, 224, 32, None, false, Some("imagenet")).unwrap();
/// assert_eq!(s, vec![None, None, Some(3)]);
/// let e = obtain_input_shape(Some(&[Some(16), Some(16), Some(3)]), 224, 32, None, false, None).unwrap_err();
/// assert_eq!(e.to_string(), "Input size must be at least 32x32; Received: input_shape=(16, 16, 3)");
/// ```
pub fn obtain_input_shape(
    input_shape: Option<&[Option<usize>]>,
    default_size: usize,
    min_size: usize,
    data_format: Option<&str>,
    require_flatten: bool,
    weights: Option<&str>,
) -> Result<Vec<Option<usize>>> {
    let channels_first = is_channels_first(data_format)?;
    let imagenet = weights == Some("imagenet");
    let d = Some(default_size);
    // Python truthiness: an empty tuple counts as "not given".
    let given = input_shape.filter(|s| !s.is_empty());
    let default_shape: Vec<Option<usize>> = match given {
        Some(s) if !imagenet && s.len() == 3 => {
            let channels = if channels_first { s[0] } else { s[2] };
            if !matches!(channels, Some(1) | Some(3)) {
                let shown = channels.map_or("None".to_string(), |c| c.to_string());
                eprintln!(
                    "UserWarning: This model usually expects 1 or 3 input channels. However, it was passed an \
                     input_shape with {shown} input channels."
                );
            }
            if channels_first {
                vec![s[0], d, d]
            } else {
                vec![d, d, s[2]]
            }
        }
        _ if channels_first => vec![Some(3), d, d],
        _ => vec![d, d, Some(3)],
    };
    if imagenet && require_flatten {
        if let Some(s) = input_shape {
            if s != default_shape.as_slice() {
                keras_bail!(
                    InvalidArgument,
                    "When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be {}.  \
                     Received: input_shape={}",
                    py_shape(&default_shape),
                    py_shape(s)
                );
            }
        }
        return Ok(default_shape);
    }
    let shape = match given {
        Some(s) => {
            if s.len() != 3 {
                keras_bail!(InvalidArgument, "`input_shape` must be a tuple of three integers.");
            }
            let (channels, rows, cols) = if channels_first { (s[0], s[1], s[2]) } else { (s[2], s[0], s[1]) };
            if channels != Some(3) && imagenet {
                keras_bail!(
                    InvalidArgument,
                    "The input must have 3 channels; Received `input_shape={}`",
                    py_shape(s)
                );
            }
            if rows.is_some_and(|r| r < min_size) || cols.is_some_and(|c| c < min_size) {
                keras_bail!(
                    InvalidArgument,
                    "Input size must be at least {min_size}x{min_size}; Received: input_shape={}",
                    py_shape(s)
                );
            }
            s.to_vec()
        }
        None if require_flatten => default_shape,
        None if channels_first => vec![Some(3), None, None],
        None => vec![None, None, Some(3)],
    };
    if require_flatten && shape.contains(&None) {
        keras_bail!(
            InvalidArgument,
            "If `include_top` is True, you should specify a static `input_shape`. Received: input_shape={}",
            py_shape(&shape)
        );
    }
    Ok(shape)
}

/// Keras's `correct_pad`: the `((top, bottom), (left, right))` zero padding that makes a
/// strided `kernel_size` convolution downsample as the reference implementations do, from the
/// input's spatial size (`None` when unknown).
pub fn correct_pad(input_size: [Option<usize>; 2], kernel_size: [usize; 2]) -> [[usize; 2]; 2] {
    let adjust = match input_size {
        [None, _] => [1, 1],
        [Some(h), w] => [1 - h % 2, 1 - w.map_or(1, |w| w % 2)],
    };
    let correct = [kernel_size[0] / 2, kernel_size[1] / 2];
    [[correct[0] - adjust[0], correct[0]], [correct[1] - adjust[1], correct[1]]]
}

/// Keras's `validate_activation`: with pretrained `weights`, the classifier's activation must
/// be `None` (linear) or `"softmax"`.
pub fn validate_activation(classifier_activation: Option<&str>, weights: Option<&str>) -> Result<()> {
    if weights.is_none() {
        return Ok(());
    }
    match classifier_activation {
        None | Some("softmax") | Some("linear") => Ok(()),
        Some(other) => keras_bail!(
            InvalidArgument,
            "Only `None` and `softmax` activations are allowed for the `classifier_activation` argument when using \
             pretrained weights, with `include_top=True`; Received: classifier_activation={other}"
        ),
    }
}

/// `data_format` as Keras's imagenet_utils reads it: `None` or `"channels_last"` (false),
/// `"channels_first"` (true), anything else an error with Keras's message.
fn is_channels_first(data_format: Option<&str>) -> Result<bool> {
    match data_format {
        None | Some("channels_last") => Ok(false),
        Some("channels_first") => Ok(true),
        Some(other) => keras_bail!(
            InvalidArgument,
            "Expected data_format to be one of `channels_first` or `channels_last`. Received: data_format={other}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caffe_flips_every_channel_as_numpy_does() {
        // Four channels: NumPy reverses all four, then subtracts the means from the first three.
        let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 4]).unwrap();
        let y = preprocess_input(&x, None, "caffe").unwrap();
        assert_eq!(y.as_f32().unwrap(), &[4.0 - 103.939, 3.0 - 116.779, 2.0 - 123.68, 1.0]);
        let e = preprocess_input(&Tensor::new(vec![1.0, 2.0], [1, 2]).unwrap(), None, "torch").unwrap_err();
        assert!(e.to_string().contains("3 color channels"), "{e}");
    }
}
