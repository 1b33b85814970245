//! Cache-blocked transpose of a row-major f32 matrix.
//!
//! [`crate::kernels::matmul::matmul`] uses it to hand the `gemm` crate a contiguous copy of a
//! transposed right operand: `gemm` would otherwise gather that operand element by element
//! with a stride, on the calling thread, before the parallel part starts (the `dx = dy @ W^T`
//! GEMM of every Dense backward pass; 8.6% of a W1 MLP training step, BENCHMARKS.md "W1 MLP
//! profile").
//!
//! ```
//! use keras_engine::kernels::transpose::transpose;
//! let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
//! let mut t = [0.0; 6];
//! transpose(&a, 2, 3, &mut t);
//! assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // 3 x 2
//! ```

use crate::kernels::simd::multiversion;

/// Side of the square tiles the transpose walks (a tile of source rows and destination rows
/// stays in L1).
const TILE: usize = 16;

/// Writes the transpose of `src` (`rows x cols`, row-major) into `dst` (`cols x rows`,
/// row-major).
///
/// # Panics
/// If `src` or `dst` is shorter than `rows * cols` (a caller bug).
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols, "transpose: buffer too short");
    tiles(src, rows, cols, dst);
}

multiversion! {
    /// The tiled walk of [`transpose`].
    fn tiles(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + TILE).min(rows);
            let mut c0 = 0;
            while c0 < cols {
                let c1 = (c0 + TILE).min(cols);
                for c in c0..c1 {
                    let out = &mut dst[c * rows + r0..c * rows + r1];
                    for (o, r) in out.iter_mut().zip(r0..r1) {
                        *o = src[r * cols + c];
                    }
                }
                c0 = c1;
            }
            r0 = r1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_lands_at_its_transposed_place_for_odd_sizes() {
        for (rows, cols) in [(0, 5), (1, 1), (1, 7), (7, 1), (17, 33), (33, 16), (64, 48)] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut dst = vec![-1.0; rows * cols];
            transpose(&src, rows, cols, &mut dst);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(dst[c * rows + r], src[r * cols + c], "({r}, {c}) of {rows}x{cols}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "buffer too short")]
    fn a_short_destination_is_a_caller_bug() {
        transpose(&[0.0; 6], 2, 3, &mut [0.0; 5]);
    }
}
