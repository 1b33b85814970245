//! A 32-bit smoke test of keras-rs: load a Keras-made `.keras` file and predict, in a
//! `wasm32-unknown-unknown` build run by Node.js (`run.mjs`; `.ci/run` builds and runs it).
//!
//! `usize` is 32 bits there, so this is where size limits cast from `u64` break (issue 15: an
//! 8 GiB limit became 0 and every `.keras` load was refused). The same [`check`] runs natively
//! in `cargo test`, so the Node.js run compares a 32-bit build against the 64-bit one's answer.
//!
//! The module exports a C ABI (no wasm-bindgen glue): [`smoke_alloc`] for the host to copy the
//! files in, [`smoke_check`] for the comparison, and [`smoke_error_ptr`]/[`smoke_error_len`] for
//! the error text when it fails.

use std::cell::RefCell;

use keras::{io::npy, Error, PredictArgs};

/// Loads a `.keras` model from `model`, predicts on the `.npy` array `x` and returns the
/// largest absolute difference from the `.npy` array `want` (a single-output model).
///
/// # Errors
/// A file keras-rs cannot read, an input the model refuses, or outputs of another shape.
///
/// # Examples
/// ```no_run
/// let read = |p: &str| std::fs::read(p).unwrap();
/// let diff = keras_wasm_smoke::check(&read("m.keras"), &read("x.npy"), &read("y.npy")).unwrap();
/// assert!(diff < 1e-5);
/// ```
pub fn check(model: &[u8], x: &[u8], want: &[u8]) -> keras::Result<f32> {
    let model = keras::saving::load_model_from_keras_bytes(model)?;
    let x = npy::from_bytes(x)?;
    let want = npy::from_bytes(want)?;
    // verbose 0: the progress bar reads the clock, which this host does not provide.
    let got = model.predict(&x, PredictArgs::default().verbose(0))?;
    let [got] = got.as_slice() else {
        return Err(Error::Shape(format!("expected one output, got {}", got.len())));
    };
    if got.shape() != want.shape() {
        return Err(Error::Shape(format!("output shape {:?}, expected {:?}", got.shape(), want.shape())));
    }
    let (g, w) = (got.to_f32_vec(), want.to_f32_vec());
    Ok(g.iter().zip(&w).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())))
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Allocates `len` bytes the host writes a file into; never freed (the module is short-lived).
#[no_mangle]
pub extern "C" fn smoke_alloc(len: usize) -> *mut u8 {
    let mut buf = vec![0u8; len].into_boxed_slice();
    let p = buf.as_mut_ptr();
    std::mem::forget(buf);
    p
}

/// [`check`] over three buffers the host wrote with [`smoke_alloc`]: the difference, or -1
/// with the error text left for [`smoke_error_ptr`].
///
/// # Safety
/// Each `(ptr, len)` pair must be a live allocation of at least `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn smoke_check(
    model: *const u8,
    model_len: usize,
    x: *const u8,
    x_len: usize,
    want: *const u8,
    want_len: usize,
) -> f32 {
    // SAFETY: the caller passes live buffers of these lengths (see above).
    let (m, x, w) = unsafe {
        (
            std::slice::from_raw_parts(model, model_len),
            std::slice::from_raw_parts(x, x_len),
            std::slice::from_raw_parts(want, want_len),
        )
    };
    match check(m, x, w) {
        Ok(d) => d,
        Err(e) => {
            LAST_ERROR.with(|s| *s.borrow_mut() = e.to_string());
            -1.0
        }
    }
}

/// The address of the last error's UTF-8 text.
#[no_mangle]
pub extern "C" fn smoke_error_ptr() -> *const u8 {
    LAST_ERROR.with(|s| s.borrow().as_ptr())
}

/// The length in bytes of the last error's text.
#[no_mangle]
pub extern "C" fn smoke_error_len() -> usize {
    LAST_ERROR.with(|s| s.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../keras/tests/fixtures/attention_models/");
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    /// The native build gives Keras's outputs for the files `run.mjs` feeds the wasm build.
    #[test]
    fn native_build_predicts_as_keras() {
        for name in ["mha_block", "gqa_block"] {
            let d = check(
                &fixture(&format!("{name}.keras")),
                &fixture(&format!("{name}_x.npy")),
                &fixture(&format!("{name}_y.npy")),
            )
            .unwrap();
            assert!(d < 1e-5, "{name}: {d}");
        }
    }

    #[test]
    fn bad_files_are_errors_through_the_c_abi() {
        let bad = b"not a zip";
        let x = fixture("mha_block_x.npy");
        // SAFETY: live slices of the given lengths.
        let r = unsafe { smoke_check(bad.as_ptr(), bad.len(), x.as_ptr(), x.len(), x.as_ptr(), x.len()) };
        assert_eq!(r, -1.0);
        // SAFETY: the error text lives in the thread-local until the next call.
        let msg = unsafe { std::slice::from_raw_parts(smoke_error_ptr(), smoke_error_len()) };
        assert!(!msg.is_empty());
        // Outputs of another shape are an error, not a zero difference.
        let m = fixture("mha_block.keras");
        let err = check(&m, &x, &x).unwrap_err().to_string();
        assert!(err.contains("output shape"), "{err}");
    }
}
