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
        if a.rs == 1 && rows == MR {
            // op(A) = A^T of a row-major matrix: each step's rows are contiguous.
            #[cfg(target_arch = "x86_64")]
            avx512::copy_steps(a.at(i0 + r0, p0), a.cs, kc, panel);
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!("the own GEMM runs only on x86-64");
        } else if a.rs == 1 {
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
    let full = nc / NR;
    let mut first = 0;
    if b.cs == 1 && full >= 2 && super::pack_b_rows_outer() {
        // A row-major source walked row by row (every full panel's step `p` from one row):
        // sequential reads, which the hardware prefetchers follow, where a panel at a time
        // reads 128 bytes of every row (rows 2 KiB apart for a 512-column kernel).
        #[cfg(target_arch = "x86_64")]
        for p in 0..kc {
            avx512::copy_row_to_panels(b.at(p0 + p, j0), full, kc, dst.add(p * NR));
        }
        first = full;
    }
    for (q, c0) in (0..nc).step_by(NR).enumerate().skip(first) {
        let cols = NR.min(nc - c0);
        let panel = dst.add(q * kc * NR);
        if b.cs == 1 && cols == NR {
            #[cfg(target_arch = "x86_64")]
            avx512::copy_rows(b.at(p0, j0 + c0), b.rs, kc, panel);
        } else if b.rs == 1 && cols == NR {
            #[cfg(target_arch = "x86_64")]
            {
                avx512::transpose16(b.at(p0, j0 + c0), b.cs, kc, panel);
                avx512::transpose16(b.at(p0, j0 + c0 + 16), b.cs, kc, panel.add(16));
            }
        } else if b.cs == 1 {
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

/// The AVX-512 packing loops of full panels.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// `dst[p * MR .. p * MR + MR] = src[p * ld ..][..MR]` for `p < kc`.
    ///
    /// # Safety
    /// AVX-512F; the source rows and `kc * MR` floats of `dst` are valid.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn copy_steps(src: *const f32, ld: usize, kc: usize, dst: *mut f32) {
        const MASK: __mmask16 = (1 << MR) - 1;
        for p in 0..kc {
            let v = _mm512_maskz_loadu_ps(MASK, src.add(p * ld));
            _mm512_mask_storeu_ps(dst.add(p * MR), MASK, v);
        }
    }

    /// `dst[p * NR .. p * NR + NR] = src[p * ld ..][..NR]` for `p < kc`.
    ///
    /// # Safety
    /// AVX-512F; the source rows and `kc * NR` floats of `dst` are valid.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn copy_rows(src: *const f32, ld: usize, kc: usize, dst: *mut f32) {
        for p in 0..kc {
            let s = src.add(p * ld);
            let d = dst.add(p * NR);
            _mm512_storeu_ps(d, _mm512_loadu_ps(s));
            _mm512_storeu_ps(d.add(16), _mm512_loadu_ps(s.add(16)));
        }
    }

    /// `dst[q * kc * NR + j] = src[q * NR + j]` for `q < panels`, `j < NR`: one source row
    /// into step 0 of `panels` consecutive panels of `kc` steps (`dst` points at the step).
    ///
    /// # Safety
    /// AVX-512F; `panels * NR` source floats and the panels' steps are valid.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn copy_row_to_panels(src: *const f32, panels: usize, kc: usize, dst: *mut f32) {
        for q in 0..panels {
            let (s, d) = (src.add(q * NR), dst.add(q * kc * NR));
            _mm512_storeu_ps(d, _mm512_loadu_ps(s));
            _mm512_storeu_ps(d.add(16), _mm512_loadu_ps(s.add(16)));
        }
    }

    /// `dst[p * NR + j] = src[j * ld + p]` for `j < 16`, `p < kc`: 16 source rows (the
    /// columns of `op(b)`), transposed 16 x 16 at a time in registers.
    ///
    /// # Safety
    /// AVX-512F; 16 source rows of `kc` floats, `ld` apart, and the panel are valid.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transpose16(src: *const f32, ld: usize, kc: usize, dst: *mut f32) {
        let mut p = 0;
        while p + 16 <= kc {
            let r: [__m512; 16] = std::array::from_fn(|j| _mm512_loadu_ps(src.add(j * ld + p)));
            let t: [__m512; 16] = std::array::from_fn(|x| {
                let (a, b) = (r[x / 2 * 2], r[x / 2 * 2 + 1]);
                if x % 2 == 0 {
                    _mm512_unpacklo_ps(a, b)
                } else {
                    _mm512_unpackhi_ps(a, b)
                }
            });
            // u[4g + e]: rows 4g..4g+4 at step 4l + e in 128-bit lane l.
            let u: [__m512; 16] = std::array::from_fn(|x| {
                let (g, e) = (x / 4, x % 4);
                let (a, b) = (_mm512_castps_pd(t[4 * g + e / 2]), _mm512_castps_pd(t[4 * g + 2 + e / 2]));
                _mm512_castpd_ps(if e % 2 == 0 { _mm512_unpacklo_pd(a, b) } else { _mm512_unpackhi_pd(a, b) })
            });
            for e in 0..4 {
                let v0 = _mm512_shuffle_f32x4::<0x88>(u[e], u[4 + e]);
                let v1 = _mm512_shuffle_f32x4::<0xdd>(u[e], u[4 + e]);
                let v2 = _mm512_shuffle_f32x4::<0x88>(u[8 + e], u[12 + e]);
                let v3 = _mm512_shuffle_f32x4::<0xdd>(u[8 + e], u[12 + e]);
                let d = dst.add((p + e) * NR);
                _mm512_storeu_ps(d, _mm512_shuffle_f32x4::<0x88>(v0, v2));
                _mm512_storeu_ps(d.add(4 * NR), _mm512_shuffle_f32x4::<0x88>(v1, v3));
                _mm512_storeu_ps(d.add(8 * NR), _mm512_shuffle_f32x4::<0xdd>(v0, v2));
                _mm512_storeu_ps(d.add(12 * NR), _mm512_shuffle_f32x4::<0xdd>(v1, v3));
            }
            p += 16;
        }
        for q in p..kc {
            for j in 0..16 {
                *dst.add(q * NR + j) = *src.add(j * ld + q);
            }
        }
    }
}
