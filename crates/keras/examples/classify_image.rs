//! Classifies images with a `keras.applications` model, as the Keras docs' "Classify ImageNet
//! classes" example does: `load_img(target_size)`, the family's `preprocess_input`, `predict`,
//! and the top 5 classes.
//!
//! ```text
//! cargo run --release -p keras --example classify_image -- --model NAME [--alpha A]
//!     [--input-size N] [--weights imagenet|FILE] [--offline] IMAGE...
//! ```
//!
//! `NAME` is the snake_case name of the Keras function (`mobilenet_v2`, `resnet50`,
//! `efficientnet_b0`, ...). `--weights` defaults to `imagenet` (Keras's published file, fetched
//! into `$KERAS_HOME/models` or found there); a path loads that file (a tf.keras 2 `.h5` with
//! layers stored by name, or a `.weights.h5`). For each image it prints the image, then one
//! line per class of the top 5: `rank class_id probability label`. The label comes from
//! ImageNet's class index (`decode_predictions`), downloaded once into the cache; when it is
//! unavailable (offline, or `--offline` and not cached) the label is `-`.

use std::path::PathBuf;

use keras::applications::imagenet_utils::ClassIndex;
use keras::applications::{by_name, preprocess_input_for, ApplicationArgs, Weights};
use keras::preprocessing::image::{img_to_array, load_img, LoadImgArgs};
use keras::{PredictArgs, Result, Tensor};

const USAGE: &str = "usage: classify_image --model NAME [--alpha A] [--input-size N] \
                     [--weights imagenet|FILE] [--offline] IMAGE...";

/// The command line.
#[derive(Debug, Default)]
pub struct Options {
    /// The application's snake_case (or Keras) name.
    pub model: String,
    /// `alpha`, for the MobileNets.
    pub alpha: Option<f32>,
    /// The input size (`input_shape=(N, N, 3)`); the model's default when absent.
    pub input_size: Option<usize>,
    /// `imagenet` or a file.
    pub weights: String,
    /// Never download the class index (labels only from the cache).
    pub offline: bool,
    /// The images.
    pub images: Vec<PathBuf>,
}

fn usage_error(what: String) -> keras::Error {
    keras::Error::InvalidArgument(format!("{what}\n{USAGE}"))
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options { weights: "imagenet".into(), ..Options::default() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |flag: &str| it.next().cloned().ok_or_else(|| usage_error(format!("{flag} needs a value")));
        match a.as_str() {
            "--model" => o.model = value("--model")?,
            "--alpha" => {
                let v = value("--alpha")?;
                o.alpha = Some(v.parse().map_err(|_| usage_error(format!("--alpha: not a number: {v}")))?);
            }
            "--input-size" => {
                let v = value("--input-size")?;
                o.input_size =
                    Some(v.parse().map_err(|_| usage_error(format!("--input-size: not a size: {v}")))?);
            }
            "--weights" => o.weights = value("--weights")?,
            "--offline" => o.offline = true,
            "-h" | "--help" => return Err(usage_error("".into())),
            flag if flag.starts_with("--") => return Err(usage_error(format!("unknown option {flag}"))),
            image => o.images.push(PathBuf::from(image)),
        }
    }
    if o.model.is_empty() {
        return Err(usage_error("--model is required".into()));
    }
    if o.images.is_empty() {
        return Err(usage_error("no image given".into()));
    }
    Ok(o)
}

/// ImageNet's class index if it can be had: from the cache, or (unless `offline`) downloaded
/// as `decode_predictions` does. `None` (with a note on stderr) otherwise.
fn class_index(offline: bool) -> Option<std::sync::Arc<ClassIndex>> {
    let args = ClassIndex::imagenet_get_file_args();
    let origin = keras::applications::imagenet_utils::CLASS_INDEX_PATH;
    let cached = keras::utils::get_file_paths(origin, &args).ok().map(|p| p.download_target);
    if offline && !cached.as_ref().is_some_and(|p| p.is_file()) {
        eprintln!("note: the ImageNet class index is not cached (--offline); labels are `-`");
        return None;
    }
    match ClassIndex::imagenet() {
        Ok(idx) => Some(idx),
        Err(e) => {
            eprintln!("note: no ImageNet class index ({}); labels are `-`", e.message());
            None
        }
    }
}

/// The `top` classes of one row of probabilities, best first, in `decode_predictions`'s order
/// (ties: the higher class id first, as NumPy's `argsort()[-top:][::-1]` gives them).
pub fn top_classes(row: &[f32], top: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap_or(std::cmp::Ordering::Equal).then(b.cmp(&a)));
    order.into_iter().take(top).map(|i| (i, row[i])).collect()
}

/// Builds the model, classifies every image and returns the text to print. `labels` is the
/// class index to name classes with (`None`: `-`).
pub fn classify(o: &Options, labels: Option<&ClassIndex>) -> Result<String> {
    let app = by_name(&o.model)?;
    let mut args = ApplicationArgs::new().weights(Weights::from_keras(&o.weights));
    if let Some(a) = o.alpha {
        args = args.alpha(a);
    }
    if let Some(n) = o.input_size {
        args = args.input_shape(&[n, n, 3]);
    }
    let model = (app.build)(&args)?;
    // The model's own input size (MobileNetV3 takes any: 224 then, as its weights).
    let shape = model.input_shapes()[0].clone();
    let (h, w) = (shape[1].unwrap_or(224), shape[2].unwrap_or(224));
    let preprocess = preprocess_input_for(app.name)?;
    let mut batch = Vec::with_capacity(o.images.len() * h * w * 3);
    for path in &o.images {
        let img = load_img(path, LoadImgArgs { target_size: Some((h, w)), ..Default::default() })?;
        batch.extend(img_to_array(&img)?.to_f32_vec());
    }
    let x = preprocess(&Tensor::new(batch, [o.images.len(), h, w, 3])?, None)?;
    let probs = model.predict(&x, PredictArgs::default().verbose(0))?.swap_remove(0);
    let classes = probs.shape().get(1).copied().unwrap_or(0);
    let p = probs.to_f32_vec();
    let mut out = String::new();
    for (i, path) in o.images.iter().enumerate() {
        out.push_str(&format!("{}\n", path.display()));
        for (rank, (class, prob)) in
            top_classes(&p[i * classes..(i + 1) * classes], 5).into_iter().enumerate()
        {
            let label = labels.and_then(|idx| idx.get(class)).map_or("-", |(_, description)| description);
            out.push_str(&format!("{} {class} {prob:.6} {label}\n", rank + 1));
        }
    }
    Ok(out)
}

#[allow(dead_code)] // The tests include this file for `classify`; they have their own main.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|o| {
        let index = class_index(o.offline);
        classify(&o, index.as_deref())
    });
    match result {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("error: {}", e.message());
            std::process::exit(2);
        }
    }
}
