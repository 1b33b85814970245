//! Fuzz target: `.npy` bytes (`keras::io::npy::from_bytes`) and image bytes
//! (`keras::preprocessing::image::load_img_from_memory`, with a colour mode, a small target
//! size and an interpolation taken from the first byte) must give a value or an error for any
//! input, never panic, hang or allocate without bound.
#![no_main]

use keras::preprocessing::image::{load_img_from_memory, ColorMode, LoadImgArgs, PilInterpolation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keras::io::npy::from_bytes(data);
    let Some((&knob, rest)) = data.split_first() else {
        return;
    };
    let color_mode = match knob % 3 {
        0 => ColorMode::Rgb,
        1 => ColorMode::Grayscale,
        _ => ColorMode::Rgba,
    };
    let interpolation = match (knob / 3) % 4 {
        0 => PilInterpolation::Nearest,
        1 => PilInterpolation::Bilinear,
        2 => PilInterpolation::Bicubic,
        _ => PilInterpolation::Lanczos,
    };
    let size = 1 + (knob as usize % 17);
    let opts = LoadImgArgs {
        color_mode,
        target_size: if knob & 0x80 != 0 { Some((size, size + 1)) } else { None },
        interpolation,
        keep_aspect_ratio: knob & 0x40 != 0,
    };
    let _ = load_img_from_memory(rest, opts);
});
