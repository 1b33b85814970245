//! Layer assets in a `.keras` archive (Keras `save_assets` / `load_assets`): files under
//! `assets/layers/<layer name>/`, such as the lookup layers' `vocabulary.txt`.

use super::zip::Archive;
use crate::layers::Layer;

/// Assets are small text files; 256 MiB bounds a hostile archive.
const MAX_ASSET_BYTES: usize = 256 << 20;

/// The archive entries of every layer's assets.
pub(crate) fn entries(layers: &[&dyn Layer]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for l in layers {
        for (file, bytes) in l.save_assets() {
            out.push((format!("assets/layers/{}/{file}", l.name()), bytes));
        }
    }
    out
}

/// Reads the assets of the layer `name` (what its `load_assets` receives).
pub(crate) fn reader<'a>(zip: &'a Archive, name: &str) -> impl Fn(&str) -> Option<Vec<u8>> + 'a {
    let prefix = format!("assets/layers/{name}/");
    move |file: &str| {
        let path = format!("{prefix}{file}");
        if zip.contains(&path) {
            zip.read(&path, MAX_ASSET_BYTES).ok()
        } else {
            None
        }
    }
}
