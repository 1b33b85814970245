//! Output buffers that are zero-filled piece by piece by the threads that then write them.
//!
//! `vec![0.0; n]` zero-fills a whole output on the calling thread, out of cache, before a
//! parallel kernel overwrites it (25 MB per step for the largest W2 CNN activation: 5.6% of
//! a training step, BENCHMARKS.md "W2 training levers"). [`fresh_vec`] instead hands the
//! kernel the vector's uninitialised storage as a [`Fresh`], which can only be split into
//! disjoint pieces and turned into `&mut [f32]` by zero-filling the piece
//! ([`Fresh::zeroed`]): each worker zeroes its block while the block is about to be written
//! anyway (in cache), and the serial pass disappears.
//!
//! Soundness: the pieces are disjoint (a [`Fresh`] is never copied, only split), each piece
//! is zeroed at most once (`zeroed` consumes it) and counts its length, so a total equal to
//! the vector's length means every element was written before [`fresh_vec`] sets the length;
//! otherwise it panics and the vector is dropped without its contents ever being read. No
//! `&mut [f32]` is ever made over uninitialised memory, so kernels that read their output
//! (the `gemm` crate reads edge tiles of its destination) see zeros.
//!
//! ```
//! use keras_engine::kernels::fresh::fresh_vec;
//! let v = fresh_vec(5, |out| {
//!     let (a, b) = out.split_at(2);
//!     a.zeroed().copy_from_slice(&[1.0, 2.0]);
//!     b.zeroed()[0] = 3.0;
//! });
//! assert_eq!(v, [1.0, 2.0, 3.0, 0.0, 0.0]);
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A disjoint piece of a [`fresh_vec`] still to be initialised.
pub struct Fresh<'a> {
    buf: &'a mut [MaybeUninit<f32>],
    done: &'a AtomicUsize,
}

impl<'a> Fresh<'a> {
    /// Number of elements of the piece.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the piece is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The first `mid` elements and the rest.
    ///
    /// # Panics
    /// If `mid > self.len()`.
    pub fn split_at(self, mid: usize) -> (Fresh<'a>, Fresh<'a>) {
        let (a, b) = self.buf.split_at_mut(mid);
        (Fresh { buf: a, done: self.done }, Fresh { buf: b, done: self.done })
    }

    /// Consecutive pieces of `size` elements (the last one shorter).
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn chunks(self, size: usize) -> Vec<Fresh<'a>> {
        assert!(size > 0, "Fresh::chunks: size 0");
        let done = self.done;
        self.buf.chunks_mut(size).map(|buf| Fresh { buf, done }).collect()
    }

    /// Zero-fills the piece and returns it as initialised floats.
    pub fn zeroed(self) -> &'a mut [f32] {
        for v in self.buf.iter_mut() {
            v.write(0.0);
        }
        self.done.fetch_add(self.buf.len(), Ordering::Relaxed);
        // SAFETY: every element was written just above, and `MaybeUninit<f32>` has the
        // layout of `f32`.
        unsafe { &mut *(self.buf as *mut [MaybeUninit<f32>] as *mut [f32]) }
    }
}

impl<'a> Fresh<'a> {
    /// Initialises the piece with `init` and returns it as initialised floats, without a
    /// zero fill first.
    ///
    /// # Safety
    /// `init` must write every element of the slice it is given (through
    /// [`MaybeUninit::write`]) and must not panic before it has.
    pub unsafe fn init_with(self, init: impl FnOnce(&mut [MaybeUninit<f32>])) -> &'a mut [f32] {
        init(&mut *self.buf);
        self.done.fetch_add(self.buf.len(), Ordering::Relaxed);
        // SAFETY: the caller guarantees that `init` wrote every element; `MaybeUninit<f32>`
        // has the layout of `f32`.
        unsafe { &mut *(self.buf as *mut [MaybeUninit<f32>] as *mut [f32]) }
    }
}

/// A kernel's output: an initialised slice (the classic `&mut [f32]` interface) or a
/// [`Fresh`] piece of a [`fresh_vec`], so that one kernel body serves both.
pub enum Out<'a> {
    /// Initialised memory (its old values are stale).
    Init(&'a mut [f32]),
    /// Uninitialised memory of a [`fresh_vec`].
    Fresh(Fresh<'a>),
}

impl<'a> From<&'a mut [f32]> for Out<'a> {
    fn from(s: &'a mut [f32]) -> Self {
        Out::Init(s)
    }
}

impl<'a> Out<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Out::Init(s) => s.len(),
            Out::Fresh(f) => f.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `mid` elements and the rest.
    ///
    /// # Panics
    /// If `mid > self.len()`.
    pub fn split_at(self, mid: usize) -> (Out<'a>, Out<'a>) {
        match self {
            Out::Init(s) => {
                let (a, b) = s.split_at_mut(mid);
                (Out::Init(a), Out::Init(b))
            }
            Out::Fresh(f) => {
                let (a, b) = f.split_at(mid);
                (Out::Fresh(a), Out::Fresh(b))
            }
        }
    }

    /// Consecutive pieces of `size` elements (the last one shorter).
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn chunks(self, size: usize) -> Vec<Out<'a>> {
        match self {
            Out::Init(s) => s.chunks_mut(size).map(Out::Init).collect(),
            Out::Fresh(f) => f.chunks(size).into_iter().map(Out::Fresh).collect(),
        }
    }

    /// The elements, all zero.
    pub fn zeroed(self) -> &'a mut [f32] {
        match self {
            Out::Init(s) => {
                s.fill(0.0);
                s
            }
            Out::Fresh(f) => f.zeroed(),
        }
    }

    /// The elements after `init` wrote every one of them: an initialised slice is handed to
    /// `init` as it is (stale values), a fresh piece without a zero fill first.
    ///
    /// # Safety
    /// As [`Fresh::init_with`]: `init` must write every element, only through
    /// [`MaybeUninit::write`], and must not panic before it has.
    pub unsafe fn init_with(self, init: impl FnOnce(&mut [MaybeUninit<f32>])) -> &'a mut [f32] {
        match self {
            Out::Init(s) => {
                // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and `init` only stores
                // initialised floats, so `s` stays initialised.
                init(unsafe { &mut *(s as *mut [f32] as *mut [MaybeUninit<f32>]) });
                s
            }
            // SAFETY: the caller's guarantee.
            Out::Fresh(f) => unsafe { f.init_with(init) },
        }
    }

    /// The elements, for a kernel that writes every one of them before reading any: an
    /// initialised slice as it is (stale values), a fresh piece zero-filled.
    pub fn writable(self) -> &'a mut [f32] {
        match self {
            Out::Init(s) => s,
            Out::Fresh(f) => f.zeroed(),
        }
    }
}

/// A vector of `len` floats that `fill` initialises through [`Out`] pieces (every element
/// must go through [`Out::zeroed`] or [`Out::writable`] exactly once; the kernel then
/// overwrites what it likes).
///
/// # Panics
/// If `fill` leaves part of the vector uninitialised (an engine bug).
pub fn fresh_vec(len: usize, fill: impl FnOnce(Out<'_>)) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    let done = AtomicUsize::new(0);
    fill(Out::Fresh(Fresh { buf: &mut v.spare_capacity_mut()[..len], done: &done }));
    assert_eq!(done.into_inner(), len, "fresh_vec: part of the output was never initialised");
    // SAFETY: the pieces handed out were disjoint sub-slices of the first `len` elements
    // (only `split_at` and `chunks` make new ones), each counted its length once when it
    // was zero-filled, and the counts sum to `len`: every element is initialised.
    unsafe { v.set_len(len) };
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn pieces_filled_in_parallel_make_the_whole_vector() {
        let v = fresh_vec(1000, |out| {
            out.chunks(64).into_par_iter().enumerate().for_each(|(i, piece)| {
                for (j, x) in piece.zeroed().iter_mut().enumerate() {
                    *x = (i * 64 + j) as f32;
                }
            });
        });
        assert_eq!(v, (0..1000).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn pieces_initialised_by_their_writer_need_no_zero_fill() {
        let v = fresh_vec(6, |out| {
            let (a, b) = out.split_at(4);
            // SAFETY: each closure writes every element it is given.
            let a =
                unsafe { a.init_with(|s| s.iter_mut().enumerate().for_each(|(i, x)| _ = x.write(i as f32))) };
            a[0] = 9.0;
            unsafe { b.init_with(|s| s.iter_mut().for_each(|x| _ = x.write(5.0))) };
        });
        assert_eq!(v, [9.0, 1.0, 2.0, 3.0, 5.0, 5.0]);
        let mut init = vec![1.0f32; 3];
        // SAFETY: as above.
        unsafe { Out::Init(&mut init).init_with(|s| _ = s[1].write(7.0)) };
        assert_eq!(init, [1.0, 7.0, 1.0]);
    }

    #[test]
    fn an_untouched_piece_is_left_zero_only_once_zeroed() {
        let v = fresh_vec(4, |out| {
            let (a, b) = out.split_at(1);
            a.zeroed()[0] = 7.0;
            b.zeroed();
        });
        assert_eq!(v, [7.0, 0.0, 0.0, 0.0]);
        assert!(fresh_vec(0, |out| assert!(out.is_empty())).is_empty());
    }

    #[test]
    #[should_panic(expected = "never initialised")]
    fn a_piece_left_uninitialised_is_caught() {
        fresh_vec(4, |out| {
            let (a, _b) = out.split_at(2);
            a.zeroed();
        });
    }
}
