//! Packing of `op(A)` and `op(B)` blocks into the micro-panels the microkernel reads.
//!
//! A matrix is described by [`View`]: element `(r, c)` is `ptr[r * rs + c * cs]`, which
//! covers row-major, transposed and row-strided operands alike. Panels past the matrix's
//! edge are zero-padded, so the microkernel always runs its full width.

use super::avx512::{MR, NR};

/// A read-only strided matrix: element `(r, c)` at `ptr[r * rs + c * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

// SAFETY: a View is only read, and the caller of the GEMM keeps the buffer alive and
// unaliased by writers for the whole call.
unsafe impl Send for View {}
unsafe impl Sync for View {}

impl View {
    /// Pointer to element `(r, c)`.
    ///
    /// # Safety
    /// `(r, c)` lies inside the matrix.
    #[inline(always)]
    unsafe fn at(&self, r: usize, c: usize) -> *const f32 {
        self.ptr.add(r * self.rs + c * self.cs)
    }
}

/// Packs rows `i0..i0 + mc`, columns `p0..p0 + kc` of `a` into `ceil(mc / MR)` micro-panels
/// of `kc * MR` floats each: panel `q`, step `p`, row `i` at `dst[q * kc * MR + p * MR + i]`.
///
/// # Safety
/// The block lies inside `a`; `dst` holds `ceil(mc / MR) * kc * MR` floats.
pub(crate) unsafe fn pack_a(a: View, i0: usize, mc: usize, p0: usize, kc: usize, dst: *mut f32) {
    for (q, r0) in (0..mc).step_by(MR).enumerate() {
        let rows = MR.min(mc - r0);
        let panel = dst.add(q * kc * MR);
        if a.rs == 1 {
            // op(A) = A^T of a row-major matrix: each step's rows are contiguous.
            for p in 0..kc {
                let src = a.at(i0 + r0, p0 + p);
                let d = panel.add(p * MR);
                std::ptr::copy_nonoverlapping(src, d, rows);
                for i in rows..MR {
                    *d.add(i) = 0.0;
                }
            }
        } else {
            for i in 0..MR {
                if i < rows {
                    let src = a.at(i0 + r0 + i, p0);
                    for p in 0..kc {
                        *panel.add(p * MR + i) = *src.add(p * a.cs);
                    }
                } else {
                    for p in 0..kc {
                        *panel.add(p * MR + i) = 0.0;
                    }
                }
            }
        }
    }
}

/// Packs rows `p0..p0 + kc`, columns `j0..j0 + nc` of `b` into `ceil(nc / NR)` micro-panels
/// of `kc * NR` floats each: panel `q`, step `p`, column `j` at `dst[q * kc * NR + p * NR + j]`.
///
/// # Safety
/// The block lies inside `b`; `dst` holds `ceil(nc / NR) * kc * NR` floats.
pub(crate) unsafe fn pack_b(b: View, p0: usize, kc: usize, j0: usize, nc: usize, dst: *mut f32) {
    for (q, c0) in (0..nc).step_by(NR).enumerate() {
        let cols = NR.min(nc - c0);
        let panel = dst.add(q * kc * NR);
        if b.cs == 1 {
            for p in 0..kc {
                let d = panel.add(p * NR);
                std::ptr::copy_nonoverlapping(b.at(p0 + p, j0 + c0), d, cols);
                for j in cols..NR {
                    *d.add(j) = 0.0;
                }
            }
        } else {
            // op(B) = B^T of a row-major matrix (or any stride): a transposing gather, each
            // source column read along its contiguous run.
            for j in 0..NR {
                if j < cols {
                    let src = b.at(p0, j0 + c0 + j);
                    for p in 0..kc {
                        *panel.add(p * NR + j) = *src.add(p * b.rs);
                    }
                } else {
                    for p in 0..kc {
                        *panel.add(p * NR + j) = 0.0;
                    }
                }
            }
        }
    }
}
