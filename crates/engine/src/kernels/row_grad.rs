//! The dense gradient of a row gather (an Embedding's table), in a buffer kept for the next
//! step.
//!
//! A W3 training step's 32 x 80 ids hit at most 2,560 of its 20,000 x 128 table's rows, yet
//! the table's dense gradient was a fresh 10 MB buffer zero-filled every step (~5% of the
//! step, BENCHMARKS.md "Intel Xeon, sixteenth session: W3"). [`RowGradBuffer`] keeps the
//! buffer of the gradient it handed out; when the next backward pass finds nobody else
//! holding it (the optimizer is done with it), it zeroes only the rows it wrote last time
//! and adds the new hits there. Every element then has the value a fresh zero fill plus the
//! scatter gives, bit for bit: rows no id hits are `+0.0`, and a hit row is `0.0` plus its
//! output gradient rows in id order. Optimizers, clipping and the public `GradientTape` see
//! the same dense gradient as before (Keras's optimizers make TensorFlow's `IndexedSlices`
//! dense too: every row of the table and its slots updates each step).
//!
//! ```
//! use keras_engine::kernels::row_grad::RowGradBuffer;
//! let mut buf = RowGradBuffer::new();
//! // Table of 4 rows of 2; ids 3, 1, 3 with output gradient rows [1, 1], [2, 2], [4, 4].
//! let g = buf.gradient(4, 2, &[3, 1, 3], &[1.0, 1.0, 2.0, 2.0, 4.0, 4.0]).unwrap();
//! assert_eq!(g.to_f32_vec(), [0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 5.0, 5.0]);
//! drop(g);
//! // The next step reuses the buffer: row 1 and row 3 are cleared first.
//! let g = buf.gradient(4, 2, &[0], &[7.0, 7.0]).unwrap();
//! assert_eq!(g.to_f32_vec(), [7.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
//! ```

use std::sync::Arc;

use crate::kernels::fresh::{fresh_vec, Out};
use crate::tensor::{Data, Storage, Tensor};
use crate::{bail, Result};

/// Builds the dense `(vocab, d)` gradient of a gather of table rows, reusing the buffer of
/// the gradient it made last time when nobody holds that any more (see the module docs).
#[derive(Default)]
pub struct RowGradBuffer {
    /// The buffer handed out last time and the sorted, distinct rows written into it (every
    /// other element is `+0.0`).
    kept: Option<(Arc<Data>, Vec<usize>)>,
}

impl std::fmt::Debug for RowGradBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGradBuffer").field("kept", &self.kept.as_ref().map(|k| k.0.len)).finish()
    }
}

/// Tables smaller than this (elements) are written by the calling thread alone.
const PARALLEL_MIN: usize = 1 << 19;

impl RowGradBuffer {
    /// An empty buffer (the first gradient is freshly allocated).
    pub fn new() -> Self {
        RowGradBuffer { kept: None }
    }

    /// The `(vocab, d)` gradient of a gather of the table rows `ids` whose output gradient is
    /// `gv` (`ids.len()` rows of `d`): zeros, plus for each row the sum of the output rows
    /// of its ids, added in id order. Errors when an id is outside the table or `gv` has the
    /// wrong length.
    pub fn gradient(&mut self, vocab: usize, d: usize, ids: &[usize], gv: &[f32]) -> Result<Tensor> {
        if gv.len() != ids.len() * d {
            bail!("row gradient: {} output gradient values for {} ids of {d}", gv.len(), ids.len());
        }
        if let Some(&bad) = ids.iter().find(|&&i| i >= vocab) {
            bail!("row gradient: id {bad} is outside a table of {vocab} rows");
        }
        let threads = crate::parallel::num_threads();
        let per = if vocab * d >= PARALLEL_MIN && threads > 1 { vocab.div_ceil(threads) } else { vocab };
        if let Some((mut data, old)) = self.kept.take() {
            if let Some(buf) = reusable(&mut data, vocab * d) {
                let rows = if d == 0 {
                    Vec::new()
                } else {
                    each_piece(buf.chunks_mut(per * d).collect(), |k, piece: &mut [f32]| {
                        let lo = k * per;
                        let hi = lo + piece.len() / d;
                        // Clear last step's rows in this range, then add this step's hits.
                        let a = old.partition_point(|&i| i < lo);
                        let b = old.partition_point(|&i| i < hi);
                        let old = &old[a..b];
                        for (k, &i) in old.iter().enumerate() {
                            if let Some(&ahead) = old.get(k + PREFETCH_ROWS) {
                                prefetch_row(&piece[(ahead - lo) * d..(ahead - lo + 1) * d]);
                            }
                            piece[(i - lo) * d..(i - lo + 1) * d].fill(0.0);
                        }
                        let hits = hits_in(ids, lo, hi);
                        add_rows(piece, lo, d, &hits, gv);
                        distinct_rows(&hits)
                    })
                };
                let t = Tensor::with_data(data.clone(), vec![vocab, d]);
                self.kept = Some((data, rows));
                return Ok(t);
            }
        }
        let mut rows = Vec::new();
        let dt = fresh_vec(vocab * d, |out| {
            if d == 0 {
                out.zeroed();
                return;
            }
            rows = each_piece(out.chunks(per * d), |k, piece| scatter_fresh(piece, k * per, d, ids, gv));
        });
        let t = Tensor::new(dt, vec![vocab, d])?;
        self.kept = Some((t.0.data.clone(), rows));
        Ok(t)
    }
}

/// Runs `f(k, piece)` on each piece (in parallel when there are several) and joins the
/// sorted rows each returns, in piece order.
fn each_piece<P: Send>(pieces: Vec<P>, f: impl Fn(usize, P) -> Vec<usize> + Sync) -> Vec<usize> {
    use rayon::prelude::*;
    let parts: Vec<Vec<usize>> = if pieces.len() > 1 {
        pieces.into_par_iter().enumerate().map(|(k, p)| f(k, p)).collect()
    } else {
        pieces.into_iter().enumerate().map(|(k, p)| f(k, p)).collect()
    };
    parts.concat()
}

/// The distinct table rows of `hits` (sorted by table row), in order.
fn distinct_rows(hits: &[(usize, usize)]) -> Vec<usize> {
    let mut rows: Vec<usize> = hits.iter().map(|&(i, _)| i).collect();
    rows.dedup();
    rows
}

/// The buffer of `data` to write in place: only when nothing else holds it, it lives on the
/// host only, on the device new tensors are placed on, with `len` float32 elements.
fn reusable(data: &mut Arc<Data>, len: usize) -> Option<&mut [f32]> {
    let data = Arc::get_mut(data)?;
    if data.device != crate::device::default_device() {
        return None;
    }
    #[cfg(feature = "cuda")]
    if data.dev.get().is_some() {
        return None;
    }
    match data.host.get_mut()? {
        Storage::F32(v) if v.len() == len => Some(v),
        _ => None,
    }
}

/// How many rows ahead the row loops ask for their table rows: the rows are scattered over a
/// table far larger than the caches, so each is a run of cache misses, and asking early
/// lets several rows' misses overlap.
const PREFETCH_ROWS: usize = 4;

/// Asks the CPU to bring `row`'s cache lines in (a hint: no effect on any value).
#[inline]
fn prefetch_row(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in row.chunks(16) {
        // SAFETY: a prefetch reads nothing architecturally; the address is in `row`.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// `(table row, output row)` of the ids in table rows `lo..hi`, by table row then output
/// row (the order the additions must follow).
fn hits_in(ids: &[usize], lo: usize, hi: usize) -> Vec<(usize, usize)> {
    let mut hits: Vec<(usize, usize)> =
        ids.iter().enumerate().filter(|&(_, &i)| (lo..hi).contains(&i)).map(|(row, &i)| (i, row)).collect();
    hits.sort_unstable();
    hits
}

/// Adds output gradient row `r` of `gv` into table row `i` of `piece` (whose first row is
/// table row `lo`) for each `(i, r)` of `hits`, in the order given.
fn add_rows(piece: &mut [f32], lo: usize, d: usize, hits: &[(usize, usize)], gv: &[f32]) {
    for (k, &(i, r)) in hits.iter().enumerate() {
        if let Some(&(ahead, _)) = hits.get(k + PREFETCH_ROWS) {
            prefetch_row(&piece[(ahead - lo) * d..(ahead - lo + 1) * d]);
        }
        piece[(i - lo) * d..(i - lo + 1) * d]
            .iter_mut()
            .zip(&gv[r * d..(r + 1) * d])
            .for_each(|(a, &b)| *a += b);
    }
}

/// Writes table rows `lo..lo + piece.len() / d` of a fresh gradient: zeros, plus the hits;
/// returns the rows hit.
/// The rows go in blocks of about 32 KiB, each zero-filled and then added to while in L1
/// (one zero fill per block: each counts itself in the shared total of its `fresh_vec`, an
/// atomic add that cost 3% of a W3 step when made per row).
fn scatter_fresh(piece: Out<'_>, lo: usize, d: usize, ids: &[usize], gv: &[f32]) -> Vec<usize> {
    let hi = lo + piece.len() / d;
    let all = hits_in(ids, lo, hi);
    let block_rows = (8192 / d).max(1);
    let mut hits = all.as_slice();
    for (k, block) in piece.chunks(block_rows * d).into_iter().enumerate() {
        let b0 = lo + k * block_rows;
        let block = block.zeroed();
        let here = hits.partition_point(|&(i, _)| i < b0 + block_rows);
        add_rows(block, b0, d, &hits[..here], gv);
        hits = &hits[here..];
    }
    distinct_rows(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh zero fill and a serial scatter, the reference.
    fn reference(vocab: usize, d: usize, ids: &[usize], gv: &[f32]) -> Vec<u32> {
        let mut want = vec![0.0f32; vocab * d];
        for (r, &i) in ids.iter().enumerate() {
            for j in 0..d {
                want[i * d + j] += gv[r * d + j];
            }
        }
        want.iter().map(|v| v.to_bits()).collect()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect()
    }

    /// Ids of step `s`: repeated ids, both ends of the table, and a different set each step
    /// (rows hit in one step and not the next); output rows with mixed magnitudes and signed
    /// zeros, so both the order of additions and `0.0 + -0.0` show.
    fn step(s: usize, vocab: usize, d: usize, n: usize) -> (Vec<usize>, Vec<f32>) {
        let mut ids: Vec<usize> = (0..n).map(|k| (k * 7919 + s * 104_729 + (k % 5) * 2048) % vocab).collect();
        ids[0] = 0;
        ids[1] = vocab - 1;
        ids[2] = ids[3];
        let gv = (0..n * d)
            .map(|k| match (k + s) % 11 {
                0 => -0.0,
                1 => 0.0,
                _ => ((k as f32 + s as f32) * 0.731).sin() * 10f32.powi((k % 7) as i32 - 3),
            })
            .collect();
        (ids, gv)
    }

    #[test]
    fn reused_buffer_gives_the_fresh_bits_step_after_step() {
        // 5000 x 128 takes the parallel path, 4099 x 130 pieces that end mid-block, 9 x 3
        // the serial path.
        for (vocab, d, n) in [(5000usize, 128usize, 640usize), (4099, 130, 900), (9, 3, 40)] {
            let mut buf = RowGradBuffer::new();
            let mut first = None;
            for s in 0..4 {
                let (ids, gv) = step(s, vocab, d, n);
                let g = buf.gradient(vocab, d, &ids, &gv).unwrap();
                assert_eq!(g.shape(), &[vocab, d]);
                assert_eq!(bits(&g), reference(vocab, d, &ids, &gv), "{vocab} x {d}, step {s}");
                let addr = g.as_f32().unwrap().as_ptr();
                match first {
                    None => first = Some(addr),
                    Some(a) => assert_eq!(a, addr, "the buffer is reused once dropped"),
                }
            }
        }
    }

    #[test]
    fn a_gradient_still_held_is_never_overwritten() {
        let (vocab, d, n) = (5000, 128, 640);
        let mut buf = RowGradBuffer::new();
        let (ids0, gv0) = step(0, vocab, d, n);
        let held = buf.gradient(vocab, d, &ids0, &gv0).unwrap();
        let view = held.reshape([vocab * d]).unwrap();
        drop(held);
        // A view shares the buffer: the next gradient is a new buffer, the view keeps its values.
        let (ids1, gv1) = step(1, vocab, d, n);
        let g1 = buf.gradient(vocab, d, &ids1, &gv1).unwrap();
        assert_ne!(g1.as_f32().unwrap().as_ptr(), view.as_f32().unwrap().as_ptr());
        assert_eq!(bits(&view), reference(vocab, d, &ids0, &gv0));
        assert_eq!(bits(&g1), reference(vocab, d, &ids1, &gv1));
        drop(view);
        // Now the second buffer is held (g1) and the first is gone: a third fresh one.
        let (ids2, gv2) = step(2, vocab, d, n);
        let g2 = buf.gradient(vocab, d, &ids2, &gv2).unwrap();
        assert_eq!(bits(&g1), reference(vocab, d, &ids1, &gv1));
        assert_eq!(bits(&g2), reference(vocab, d, &ids2, &gv2));
        drop((g1, g2));
        // Another table shape never reuses the buffer.
        let g3 = buf.gradient(10, 4, &[9, 0], &[1.0; 8]).unwrap();
        assert_eq!(bits(&g3), reference(10, 4, &[9, 0], &[1.0; 8]));
    }

    #[test]
    fn bad_ids_and_lengths_are_errors() {
        let mut buf = RowGradBuffer::new();
        let e = buf.gradient(4, 2, &[4], &[1.0, 2.0]).unwrap_err().to_string();
        assert!(e.contains("id 4") && e.contains("4 rows"), "{e}");
        let e = buf.gradient(4, 2, &[1], &[1.0]).unwrap_err().to_string();
        assert!(e.contains("1 output gradient values"), "{e}");
        assert_eq!(buf.gradient(4, 0, &[1], &[]).unwrap().shape(), &[4, 0]);
    }
}
