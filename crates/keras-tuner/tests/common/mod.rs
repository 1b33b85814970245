//! What several test binaries share: the seeded toy classification data and fresh project
//! directories. (Each test binary compiles this module; not every one uses every item.)
#![allow(dead_code)]

use std::path::PathBuf;

use keras::Tensor;

/// A seeded stream of uniform floats in [0, 1) (a 64-bit LCG's top 24 bits).
pub fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// `n` samples of 4 features in [-1, 1) and 3 classes: `(x0 + x1 > 0) + (x2 > 0.3)`.
pub fn data(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut next = uniform(seed);
    let x: Vec<f32> = (0..n * 4).map(|_| next() * 2.0 - 1.0).collect();
    let y: Vec<i32> =
        (0..n).map(|i| ((x[i * 4] + x[i * 4 + 1] > 0.0) as i32) + (x[i * 4 + 2] > 0.3) as i32).collect();
    (Tensor::new(x, [n, 4]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

/// An empty-to-be directory under the system temp dir, unique to this process and `name`.
pub fn fresh_dir(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `impl HyperModel for $T` for a hypermodel without a model (`Model = ()`): `build` runs
/// the block after `build` (declaring the search space on `hp`), `fit` returns the block after
/// `fit` (a `FitResult` scored from `hp` and the fit arguments `args`).
#[allow(unused_macros)]
macro_rules! objective {
    ($T:ty, |$s:ident, $hp:ident, $args:ident| build $build:block fit $fit:block) => {
        impl keras_tuner::HyperModel for $T {
            type Model = ();
            fn build(&$s, $hp: &mut keras_tuner::HyperParameters) -> keras_tuner::Result<()> {
                $build
                Ok(())
            }
            // Not every score reads the hyperparameters.
            #[allow(unused_variables)]
            fn fit(
                &$s,
                $hp: &mut keras_tuner::HyperParameters,
                _: &mut (),
                _: &keras::trainers::Arrays,
                _: &keras::trainers::Arrays,
                $args: keras::FitArgs<'_>,
            ) -> keras_tuner::Result<keras_tuner::FitResult> {
                $fit
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use objective;
