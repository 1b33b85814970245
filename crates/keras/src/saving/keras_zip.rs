//! The Keras 3 `.keras` format: a zip with `metadata.json`, `config.json` (the serialized
//! model with its `compile_config`) and `model.weights.h5`.

use serde_json::{json, Map, Value};

use super::compile_config::{compile_config, compile_from_config, parse_json_object};
use super::h5::Reader;
use super::zip::{write_stored, Archive};
use super::{model_from_config_checked, weights_h5, KERAS_VERSION};
use crate::layers::Layer;
use crate::models::Sequential;
use crate::{keras_bail, Result};

/// `config.json` and `metadata.json` are small; 64 MiB leaves room for huge configs.
const MAX_JSON_BYTES: usize = 64 << 20;
/// The weights member may be as large as the loaders accept.
const MAX_WEIGHTS_BYTES: usize = super::h5::usize_limit(super::h5::MAX_FILE_BYTES);

/// `serialize_keras_object(model)` with `build_config` and `compile_config`.
pub(crate) fn model_json(model: &Sequential) -> Value {
    let mut v = json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": model.get_config(),
        "registered_name": null,
    });
    if let Some(s) = model.input_shape() {
        v["build_config"] = json!({ "input_shape": s });
    }
    if let Some(c) = model.compile_state() {
        v["compile_config"] = compile_config(c);
    }
    v
}

/// The bytes of a `.keras` file for `model`.
pub(crate) fn to_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let weights = weights_h5::to_tree(model).to_bytes()?;
    let layers: Vec<&dyn Layer> = model.layers().iter().map(|l| l.as_ref()).collect();
    archive_bytes(&model_json(model), &weights, &layers)
}

/// The bytes of a `.keras` zip: `metadata.json` (this Keras version, the date), `config.json`
/// (`config`), `model.weights.h5` (`weights`) and the assets of `layers`.
pub(crate) fn archive_bytes(config: &Value, weights: &[u8], layers: &[&dyn Layer]) -> Result<Vec<u8>> {
    let metadata = json!({ "keras_version": KERAS_VERSION, "date_saved": date_saved() }).to_string();
    let config = config.to_string();
    let assets = super::assets::entries(layers);
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("metadata.json", metadata.as_bytes()),
        ("config.json", config.as_bytes()),
        ("model.weights.h5", weights),
    ];
    entries.extend(assets.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    write_stored(&entries)
}

/// `YYYY-MM-DD@HH:MM:SS` (UTC) as Keras writes `date_saved`.
pub(crate) fn date_saved() -> String {
    let secs =
        web_time::SystemTime::now().duration_since(web_time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}@{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The `class_name` in a `.keras` file's `config.json` (`""` when absent).
pub(crate) fn saved_class(bytes: &[u8]) -> Result<String> {
    let cfg = read_config(&Archive::new(bytes)?)?;
    Ok(cfg.get("class_name").and_then(Value::as_str).unwrap_or("").to_string())
}

/// The parsed `config.json` of a `.keras` archive (an error when it is missing, too large,
/// not UTF-8 or not a JSON object).
pub(crate) fn read_config(zip: &Archive) -> Result<Map<String, Value>> {
    if !zip.contains("config.json") {
        keras_bail!(Io, "There is no item named 'config.json' in the archive: this is not a .keras file");
    }
    let text = String::from_utf8(zip.read("config.json", MAX_JSON_BYTES)?)
        .map_err(|_| crate::Error::Config("config.json is not valid UTF-8".into()))?;
    parse_json_object(&text, "config.json")
}

/// Loads a model from the bytes of a `.keras` file (Keras `saving_lib.load_model`).
pub(crate) fn from_bytes(bytes: &[u8], compile: bool) -> Result<Sequential> {
    let zip = Archive::new(bytes)?;
    let cfg = Value::Object(read_config(&zip)?);
    if !zip.contains("model.weights.h5") {
        if zip.contains("model.weights.npz") {
            keras_bail!(Io, "Weights stored as model.weights.npz are not supported (only .h5)");
        }
        keras_bail!(Io, "Expected a model.weights.h5 or model.weights.npz file.");
    }
    let weights = zip.read("model.weights.h5", MAX_WEIGHTS_BYTES)?;
    let reader = Reader::from_bytes(weights, "model.weights.h5")?;
    let mut model = model_from_config_checked(&cfg, reader.len())?;
    if compile {
        if let Some(cc) = cfg.get("compile_config").filter(|c| !c.is_null()) {
            compile_from_config(&mut model, cc)?;
        }
    }
    weights_h5::load_tree(&mut model, &reader, false)?;
    let names: Vec<String> = model.layers().iter().map(|l| l.name().to_string()).collect();
    for name in names {
        let read = super::assets::reader(&zip, &name);
        model.get_layer_mut(&name)?.load_assets(&read)?;
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_format_matches_keras() {
        let d = date_saved();
        assert_eq!(d.len(), 19, "{d}");
        assert_eq!(&d[10..11], "@");
        assert!(d.starts_with("20"), "{d}");
    }
}
