//! A Dense kernel's `bf16` pieces kept packed between steps, so that the products that read
//! the kernel (`x @ W` forward, `dy @ W^T` for the input gradient) pack only their other
//! operand.
//!
//! A kernel `W` (`rows x cols`, row-major) is packed as the `B` operand of those products:
//! [`Layout::Kernel`] (`op(b) = W`) or [`Layout::Transposed`] (`op(b) = W^T`), exactly as the
//! driver packs it per call (the same pieces, so the products' bits are the same). The
//! packed copy lives on the tensor's storage (`Tensor::amx_packed`, made on first use) and is
//! dropped by any write ([`crate::Tensor::f32_mut`]), except where the writer refreshes it as
//! it writes ([`crate::Tensor::f32_mut_keeping_packed`], [`PackedRefresh`]): the optimizers'
//! element-wise pass repacks each piece of a kernel right after updating it, while its rows
//! are still in cache, instead of the next forward reading the new weights back from L3 to
//! pack them (W1's step: the weights were ~80% of the packed `B` elements, and packing them
//! cost ~2.5x what warm data costs).
//!
//! The unit of packing and refreshing is 32 rows of `W`: one 32-step chunk of every column
//! block in [`Layout::Kernel`], two 16-column blocks of every chunk in
//! [`Layout::Transposed`]. Each unit records the range of its magnitudes; the driver checks
//! their union with the other operand's exactly as for operands it packs itself, and
//! declines (the caller packs per call) where the product would need scaling.

use super::pack::{self, Range};
use super::View;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// How a kernel `W` is packed: as `op(b) = W` or as `op(b) = W^T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `op(b) = W` (`k = rows`, `n = cols`): the forward `x @ W`.
    Kernel,
    /// `op(b) = W^T` (`k = cols`, `n = rows`): the input gradient `dy @ W^T`.
    Transposed,
}

/// Rows of `W` in one unit of packing (see the module).
const UNIT_ROWS: usize = 32;

/// A kernel's packed pieces in one [`Layout`].
pub struct Packed {
    layout: Layout,
    rows: usize,
    cols: usize,
    /// `op(b)`'s 32-step chunks and 16-column blocks.
    chunks: usize,
    col_blocks: usize,
    /// Owns the pieces (never touched after construction but through `base`).
    _buf: Vec<u16>,
    /// The pieces, 64-byte aligned in `_buf` (block `cb`'s chunk `c` at `(cb * chunks + c) *
    /// 1536`).
    base: *mut u16,
    /// Owns each unit's range of magnitudes (read and written through `ranges`).
    _ranges: Vec<Range>,
    ranges: *mut Range,
}

// SAFETY: the pointers point into the owned vectors, whose heap buffers never move. They are
// written only while the `Packed` is being made or owned by a `PackedRefresh`, whose callers
// refresh disjoint units (`PackedRefresh::refresh`); every other access reads.
unsafe impl Send for Packed {}
unsafe impl Sync for Packed {}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("layout", &self.layout)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

impl Packed {
    /// `w` (`rows x cols`) packed in `layout`, the units split over the pool's threads where
    /// `parallel`; `None` where AMX is not available, the kernel is empty, or its pieces would
    /// exceed the driver's [`super::MAX_PACKED`].
    pub(crate) fn new(layout: Layout, w: &[f32], rows: usize, cols: usize, parallel: bool) -> Option<Packed> {
        if !super::available() || rows == 0 || cols == 0 || w.len() < rows * cols {
            return None;
        }
        let (k, n) = match layout {
            Layout::Kernel => (rows, cols),
            Layout::Transposed => (cols, rows),
        };
        let (chunks, col_blocks) = (k.div_ceil(32), n.div_ceil(16));
        let len = chunks * col_blocks * 1536;
        if len > super::MAX_PACKED {
            return None;
        }
        let mut buf = vec![0u16; len + 32];
        let off = buf.as_ptr().align_offset(64).min(32);
        let base = buf[off..].as_mut_ptr();
        let mut ranges = vec![Range::EMPTY; rows.div_ceil(UNIT_ROWS)];
        let rp = ranges.as_mut_ptr();
        let p =
            Packed { layout, rows, cols, chunks, col_blocks, _buf: buf, base, _ranges: ranges, ranges: rp };
        let units = p.units();
        let pack = |u: usize| {
            let r0 = u * UNIT_ROWS;
            let r1 = (r0 + UNIT_ROWS).min(rows);
            // SAFETY: each unit is packed once, by one thread; `w` holds the rows.
            unsafe { p.pack_unit(u, &w[r0 * cols..r1 * cols]) };
        };
        if parallel && units > 1 {
            use rayon::prelude::*;
            (0..units).into_par_iter().for_each(pack);
        } else {
            (0..units).for_each(pack);
        }
        Some(p)
    }

    /// The layout.
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// `W`'s shape.
    pub(crate) fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// `op(b)`'s `(k, n)`.
    pub(crate) fn op_shape(&self) -> (usize, usize) {
        match self.layout {
            Layout::Kernel => (self.rows, self.cols),
            Layout::Transposed => (self.cols, self.rows),
        }
    }

    /// `op(b)`'s 32-step chunks (the packed blocks' stride is `chunks * 1536`).
    pub(crate) fn chunks(&self) -> usize {
        self.chunks
    }

    /// The packed pieces as a slice (for the tests' comparisons).
    #[cfg(test)]
    pub(super) fn pieces(&self) -> &[u16] {
        // SAFETY: `base` holds `chunks * col_blocks * 1536` pieces.
        unsafe { std::slice::from_raw_parts(self.base, self.chunks * self.col_blocks * 1536) }
    }

    /// The units' ranges (for the tests' comparisons).
    #[cfg(test)]
    pub(super) fn unit_ranges(&self) -> Vec<Range> {
        // SAFETY: `ranges` holds one range a unit.
        unsafe { std::slice::from_raw_parts(self.ranges, self.units()) }.to_vec()
    }

    /// Units of 32 rows of `W`.
    fn units(&self) -> usize {
        self.rows.div_ceil(UNIT_ROWS)
    }

    /// The packed pieces (64-byte aligned).
    pub(crate) fn ptr(&self) -> *const u16 {
        self.base
    }

    /// The union of the units' ranges of magnitudes.
    pub(super) fn range(&self) -> Range {
        // SAFETY: `ranges` holds one range a unit; no refresh runs while products read.
        let all = unsafe { std::slice::from_raw_parts(self.ranges, self.units()) };
        all.iter().fold(Range::EMPTY, |a, &b| a.merge(b))
    }

    /// Packs unit `u` from `values`, its rows of `W` (`min(32, rows - 32 u)` rows).
    ///
    /// # Safety
    /// No other thread reads or writes unit `u` meanwhile; AMX [`super::available`].
    unsafe fn pack_unit(&self, u: usize, values: &[f32]) {
        let rows = values.len() / self.cols;
        let base = self.base;
        let range = match self.layout {
            Layout::Kernel => {
                // Chunk `u` of every column block; `k` counted from the unit's first row.
                let v = View { ptr: values.as_ptr(), rs: self.cols, cs: 1 };
                let dst = base.add(u * 1536);
                pack::pack_b(v, self.cols, rows, 0, self.col_blocks, (self.chunks, 0, 1), 1.0, dst)
            }
            Layout::Transposed => {
                // Column blocks `2u`, `2u + 1` of every chunk: `op(b)[p][j] = W[j][p]`.
                let v = View { ptr: values.as_ptr(), rs: 1, cs: self.cols };
                let dst = base.add(2 * u * self.chunks * 1536);
                pack::pack_b(
                    v,
                    rows,
                    self.cols,
                    0,
                    rows.div_ceil(16),
                    (self.chunks, 0, self.chunks),
                    1.0,
                    dst,
                )
            }
        };
        *self.ranges.add(u) = range;
    }
}

/// A tensor's packed copies, one slot per [`Layout`], and the write that made them current.
#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) packs: [OnceLock<Packed>; 2],
    /// The last write's number ([`next_write`]): a [`PackedRefresh`] puts its copies back only
    /// where no other write came after the one it refreshed.
    pub(crate) write: u64,
}

impl Cache {
    /// The slot of `layout`.
    pub(crate) fn slot(&self, layout: Layout) -> &OnceLock<Packed> {
        &self.packs[layout as usize]
    }

    /// Whether any copy exists.
    pub(crate) fn any(&self) -> bool {
        self.packs.iter().any(|p| p.get().is_some())
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("packs", &self.packs).field("write", &self.write).finish()
    }
}

/// A fresh number for a write to a tensor's values (unique in the process).
pub(crate) fn next_write() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Whether Dense kernels are kept packed between steps where their products run on AMX: on
/// by default, off with `KERAS_AMX_PREPACK=0` (read once) or [`set_enabled`]. Either way the
/// products' bits are the same; off, every product packs the kernel again.
pub fn enabled() -> bool {
    switch().load(Ordering::Relaxed)
}

/// Turns keeping kernels packed on or off for the whole process (copies made already are
/// used no more while off). For measuring and tests: the results do not change.
///
/// ```
/// use keras_engine::kernels::amx::prepacked;
/// prepacked::set_enabled(false);
/// assert!(!prepacked::enabled());
/// prepacked::set_enabled(true);
/// ```
pub fn set_enabled(on: bool) {
    switch().store(on, Ordering::Relaxed)
}

fn switch() -> &'static AtomicBool {
    static V: OnceLock<AtomicBool> = OnceLock::new();
    V.get_or_init(|| AtomicBool::new(std::env::var("KERAS_AMX_PREPACK").as_deref() != Ok("0")))
}

/// A tensor's packed copies taken out for one write ([`crate::Tensor::f32_mut_keeping_packed`]):
/// the writer calls [`PackedRefresh::refresh`] on every part of the values after its last
/// write to that part, and hands this back with [`crate::Tensor::restore_packed`], which
/// keeps the copies only where every unit was refreshed and no other write came between.
///
/// Parts start at multiples of [`PackedRefresh::unit_len`] elements (32 rows of the 2-D
/// tensor) and end at one or at the end; a part that does not makes the copies be dropped
/// (the next product packs again: the bits are the same either way).
pub struct PackedRefresh {
    pub(crate) packs: Vec<Packed>,
    pub(crate) write: u64,
    pub(crate) len: usize,
    done: AtomicUsize,
    failed: AtomicBool,
}

impl std::fmt::Debug for PackedRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedRefresh").field("packs", &self.packs.len()).field("len", &self.len).finish()
    }
}

impl PackedRefresh {
    /// The copies taken out after write number `write` of a tensor of `len` elements.
    pub(crate) fn new(packs: Vec<Packed>, write: u64, len: usize) -> PackedRefresh {
        PackedRefresh { packs, write, len, done: AtomicUsize::new(0), failed: AtomicBool::new(false) }
    }

    /// Elements per unit (32 rows): parts to refresh start at multiples of it.
    pub fn unit_len(&self) -> usize {
        self.packs.first().map_or(1, |p| UNIT_ROWS * p.cols)
    }

    /// Repacks elements `offset..offset + values.len()` of the tensor from `values` (those
    /// elements, as written). Parts refreshed from several threads must not overlap.
    pub fn refresh(&self, offset: usize, values: &[f32]) {
        if self.packs.is_empty() {
            return;
        }
        let unit = self.unit_len();
        let Some(end) = offset.checked_add(values.len()) else {
            self.failed.store(true, Ordering::Relaxed);
            return;
        };
        if !offset.is_multiple_of(unit) || (!end.is_multiple_of(unit) && end != self.len) || end > self.len {
            self.failed.store(true, Ordering::Relaxed);
            return;
        }
        let (u0, u1) = (offset / unit, end.div_ceil(unit));
        for u in u0..u1 {
            let r0 = (u - u0) * unit;
            let part = &values[r0..(r0 + unit).min(values.len())];
            for p in &self.packs {
                // SAFETY: this refresher owns the copies; callers refresh disjoint parts.
                unsafe { p.pack_unit(u, part) };
            }
        }
        self.done.fetch_add(u1 - u0, Ordering::Relaxed);
    }

    /// Whether every unit was refreshed once and no part failed.
    pub(crate) fn complete(&self) -> bool {
        let units = self.packs.first().map_or(0, |p| p.units());
        !self.failed.load(Ordering::Relaxed) && self.done.load(Ordering::Relaxed) == units
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 16777216.0 - 0.5)
            .collect()
    }

    fn same(p: &Packed, w: &[f32]) -> bool {
        let (rows, cols) = p.shape();
        let fresh = Packed::new(p.layout(), w, rows, cols, false).unwrap();
        p.pieces() == fresh.pieces() && p.unit_ranges() == fresh.unit_ranges()
    }

    /// A trainable leaf's copies are made on first use and match its values; a write drops
    /// them; a writer that refreshes every part keeps them current; a refresher that missed a
    /// part, or one put back after another write, is dropped; op results, leaves without
    /// gradients and 1-D tensors get none.
    #[test]
    fn a_tensors_copies_follow_its_values() {
        if !super::super::available() {
            eprintln!("amx: not available here, test skipped");
            return;
        }
        let (rows, cols) = (70, 48);
        let mut w = Tensor::new(values(rows * cols, 1), [rows, cols]).unwrap().requiring_grad();
        let made = w.amx_packed(Layout::Kernel).unwrap() as *const Packed;
        assert_eq!(w.amx_packed(Layout::Kernel).unwrap() as *const Packed, made, "kept");
        assert!(same(w.amx_packed(Layout::Transposed).unwrap(), w.as_f32().unwrap()));
        // A plain write drops both.
        w.f32_mut().unwrap()[5] = 3.0;
        assert!(!w.0.data.amx.any());
        // A refreshing writer keeps them current.
        let _ = (w.amx_packed(Layout::Kernel), w.amx_packed(Layout::Transposed));
        let (vals, r) = w.f32_mut_keeping_packed().unwrap();
        let r = r.expect("copies handed out");
        vals.copy_from_slice(&values(rows * cols, 2));
        let unit = r.unit_len();
        r.refresh(0, &vals[..unit]);
        r.refresh(unit, &vals[unit..]);
        w.restore_packed(r);
        let now = w.as_f32().unwrap().to_vec();
        assert!(same(w.0.data.amx.slot(Layout::Kernel).get().unwrap(), &now));
        assert!(same(w.0.data.amx.slot(Layout::Transposed).get().unwrap(), &now));
        // A part left out: dropped.
        let (vals, r) = w.f32_mut_keeping_packed().unwrap();
        vals[0] = 7.0;
        let r = r.unwrap();
        r.refresh(0, &vals[..unit]);
        w.restore_packed(r);
        assert!(!w.0.data.amx.any());
        // Another write before putting them back: dropped.
        let _ = w.amx_packed(Layout::Kernel);
        let (vals, r) = w.f32_mut_keeping_packed().unwrap();
        let r = r.unwrap();
        r.refresh(0, vals);
        w.f32_mut().unwrap()[1] = 9.0;
        w.restore_packed(r);
        assert!(!w.0.data.amx.any());
        // Only leaves of 2-D float32 get copies, and none while switched off.
        let tape = crate::autodiff::GradientTape::new();
        let a = tape.watch(&Tensor::new(values(rows * cols, 5), [rows, cols]).unwrap().requiring_grad());
        let y = crate::ops::linalg::matmul(&a, &Tensor::new(values(cols * cols, 3), [cols, cols]).unwrap())
            .unwrap();
        assert!(y.0.node.is_some() && y.amx_packed(Layout::Kernel).is_none(), "an op's result");
        set_enabled(false);
        let off = Tensor::new(values(rows * cols, 6), [rows, cols])
            .unwrap()
            .requiring_grad()
            .amx_packed(Layout::Kernel)
            .is_none();
        set_enabled(true);
        assert!(off, "switched off");
        assert!(Tensor::new(values(64, 4), [64])
            .unwrap()
            .requiring_grad()
            .amx_packed(Layout::Kernel)
            .is_none());
        let frozen = Tensor::new(values(rows * cols, 7), [rows, cols]).unwrap();
        assert!(frozen.amx_packed(Layout::Kernel).is_none(), "no gradient");
    }
}
