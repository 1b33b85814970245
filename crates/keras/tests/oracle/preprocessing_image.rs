//! Checks for kind `preprocessing`, image cases:
//! - `image_resize`: `keras.ops.image.resize` for every recorded call (size, interpolation,
//!   antialias, crop/pad to aspect ratio) against Keras's output.
//! - `image_layers`: each recorded layer is rebuilt from its config, must give back exactly
//!   that config, and its inference output must match (Normalization is adapted on the
//!   image first and its adapted mean/variance compared); plus `smart_resize`.
//! - `random_augmentation_configs`: every random layer is rebuilt from its config and must
//!   serialize back to Keras's config and serialized form; in inference mode each one must be
//!   the identity (or match the recorded output where the case has one, `random_crop_inference`);
//!   in training mode it must keep the shape `compute_output_shape` promises. Random values
//!   themselves are not compared (they depend on TensorFlow's generator).

use keras::layers::{deserialize, CallContext, Layer, Normalization};
use keras::preprocessing::image::{resize, smart_resize, Interpolation, ResizeArgs};
use keras::Tensor;
use serde_json::Value;

use crate::common::{compare, compare_values, Case, Check, Outcome};

/// `None` when the case is not an image case (another dispatcher may know it).
pub fn run(case: &Case) -> Option<Outcome> {
    let result = match case.name.as_str() {
        "image_resize" => image_resize(case),
        "image_layers" => image_layers(case),
        "random_augmentation_configs" => random_augmentation_configs(case),
        _ => return None,
    };
    Some(match result {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    })
}

fn size_of(v: &Value, what: &str) -> Result<(usize, usize), String> {
    match v.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect::<Vec<_>>()) {
        Some(s) if s.len() == 2 => Ok((s[0] as usize, s[1] as usize)),
        _ => Err(format!("{what}: `size` must be two integers, got {v}")),
    }
}

fn image_resize(case: &Case) -> Check {
    let image = case.array("image")?;
    let (rtol, atol) = case.tol("forward");
    let calls = case.json["calls"].as_object().ok_or("case has no `calls`")?;
    if calls.is_empty() {
        return Err("case has no calls".into());
    }
    for (name, call) in calls {
        let size = size_of(&call["size"], name)?;
        let interpolation: Interpolation = call["interpolation"]
            .as_str()
            .unwrap_or("bilinear")
            .parse()
            .map_err(|e| format!("{name}: {e}"))?;
        let flag = |k: &str| call.get(k).and_then(Value::as_bool).unwrap_or(false);
        let opts = ResizeArgs {
            interpolation,
            antialias: flag("antialias"),
            crop_to_aspect_ratio: flag("crop_to_aspect_ratio"),
            pad_to_aspect_ratio: flag("pad_to_aspect_ratio"),
            fill_value: call.get("fill_value").and_then(Value::as_f64).unwrap_or(0.0) as f32,
        };
        let got = resize(&image, size, opts).map_err(|e| format!("{name}: {e}"))?;
        compare(name, &got, &case.array(name)?, rtol, atol)?;
    }
    Ok(())
}

/// Equal JSON including key order (Keras's configs are ordered).
fn same_text(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// Rebuilds a layer and checks that its config survives the round trip unchanged.
fn rebuild(name: &str, class_name: &str, config: &Value) -> Result<Box<dyn Layer>, String> {
    let layer = deserialize(&serde_json::json!({"class_name": class_name, "config": config}))
        .map_err(|e| format!("{name}: deserialize: {e}"))?;
    let back = layer.get_config();
    if !same_text(&back, config) {
        return Err(format!("{name}: get_config differs:\n  got  {back}\n  want {config}"));
    }
    Ok(layer)
}

fn call(layer: &dyn Layer, x: &Tensor, training: bool) -> Result<Tensor, String> {
    layer.call(x, &mut CallContext::new(training)).map_err(|e| format!("{}: call: {e}", layer.name()))
}

fn image_layers(case: &Case) -> Check {
    let image = case.array("image")?;
    let (rtol, atol) = case.tol("forward");
    let results = case.json["results"].as_object().ok_or("case has no `results`")?;
    if results.is_empty() {
        return Err("case has no results".into());
    }
    for (name, r) in results {
        let want = case.file(r["output"].as_str().ok_or(format!("{name}: no output file"))?)?;
        if let Some(f) = r.get("function").and_then(Value::as_str) {
            if !f.contains("smart_resize") {
                return Err(format!("{name}: unknown function {f}"));
            }
            let size = size_of(&r["size"], name)?;
            let one = Tensor::new(
                image.to_f32_vec()[..image.numel() / image.shape()[0]].to_vec(),
                &image.shape()[1..],
            )
            .map_err(|e| e.to_string())?;
            let got =
                smart_resize(&one, size, Interpolation::Bilinear).map_err(|e| format!("{name}: {e}"))?;
            compare(name, &got, &want, rtol, atol)?;
            continue;
        }
        let class_name = r["class_name"].as_str().ok_or(format!("{name}: no class_name"))?;
        let mut layer = rebuild(name, class_name, &r["config"])?;
        if let Some(mean) = r.get("adapted_mean") {
            let norm = layer
                .as_any()
                .downcast_ref::<Normalization>()
                .ok_or(format!("{name}: adapted statistics recorded for a non-Normalization layer"))?;
            let mut norm = Normalization::from_config(&norm.get_config()).map_err(|e| e.to_string())?;
            norm.adapt(&image).map_err(|e| format!("{name}: adapt: {e}"))?;
            let flat = |v: &Value| -> Vec<f32> {
                fn walk(v: &Value, out: &mut Vec<f32>) {
                    match v {
                        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                        Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN) as f32),
                        _ => {}
                    }
                }
                let mut out = Vec::new();
                walk(v, &mut out);
                out
            };
            let (m, var) = norm.adapted_statistics().ok_or(format!("{name}: adapt left no statistics"))?;
            compare_values(&format!("{name} mean"), &m.to_f32_vec(), &flat(mean), 1e-5, 1e-3)?;
            compare_values(
                &format!("{name} variance"),
                &var.to_f32_vec(),
                &flat(&r["adapted_variance"]),
                1e-5,
                1e-2,
            )?;
            layer = Box::new(norm);
        }
        let got = call(layer.as_ref(), &image, false)?;
        compare(name, &got, &want, rtol, atol)?;
    }
    Ok(())
}

fn random_augmentation_configs(case: &Case) -> Check {
    let image = case.array("image")?;
    let layers = case.json["layers"].as_array().ok_or("case has no `layers`")?;
    if layers.is_empty() {
        return Err("case has no layers".into());
    }
    for l in layers {
        let class_name = l["class_name"].as_str().ok_or("layer without class_name")?;
        let layer = rebuild(class_name, class_name, &l["config"])?;
        let serialized = layer.serialize();
        if !same_text(&serialized, &l["serialized"]) {
            return Err(format!(
                "{class_name}: serialize differs:\n  got  {serialized}\n  want {}",
                l["serialized"]
            ));
        }
        // Inference: the recorded output where there is one, otherwise the identity.
        let inference = call(layer.as_ref(), &image, false)?;
        let key = format!("{}_inference", layer.name());
        let want = if case.has(&key) { case.array(&key)? } else { image.clone() };
        compare(&format!("{class_name} (training=False)"), &inference, &want, 1e-6, 1e-6)?;
        // Training: random values, but the promised shape and finite values.
        let trained = call(layer.as_ref(), &image, true)?;
        let dims: Vec<Option<usize>> = image.shape().iter().map(|&d| Some(d)).collect();
        let promised: Vec<usize> = layer
            .compute_output_shape(&dims)
            .map_err(|e| format!("{class_name}: compute_output_shape: {e}"))?
            .into_iter()
            .map(|d| d.unwrap_or(0))
            .collect();
        if trained.shape() != promised.as_slice() {
            return Err(format!(
                "{class_name}: training output shape {:?}, compute_output_shape says {promised:?}",
                trained.shape()
            ));
        }
        if trained.to_f32_vec().iter().any(|v| !v.is_finite()) {
            return Err(format!("{class_name}: training output has non-finite values"));
        }
    }
    Ok(())
}
