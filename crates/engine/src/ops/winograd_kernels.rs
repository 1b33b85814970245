//! The Winograd-transformed kernels of recent convolutions, so that a model run again with
//! the same weights (inference, evaluation) transforms each kernel once.
//!
//! Tensors are immutable, so a kernel's values are fixed for as long as its buffer lives:
//! an entry is keyed by the buffer's address and holds a `Weak` to it, which keeps that
//! address from being reused while the entry exists. Entries of freed kernels (the weights
//! before an optimizer step) are dropped on the next insert; live ones are evicted least
//! recently used first beyond [`CACHE_BYTES`].

use std::sync::{Arc, Mutex, Weak};

use crate::kernels::conv::Conv2dGeometry;
use crate::kernels::winograd::transform_kernel;
use crate::tensor::{Data, Tensor};
use crate::Result;

/// Most bytes of transformed kernels kept (ResNet50's 3x3 kernels take 181 MB at batch 32).
const CACHE_BYTES: usize = 256 << 20;

struct Entry {
    data: Weak<Data>,
    c_in: usize,
    c_out: usize,
    u: Arc<Vec<f32>>,
    last_use: u64,
}

struct Cache {
    entries: Vec<Entry>,
    clock: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache { entries: Vec::new(), clock: 0 });

/// The transformed kernel of `kernel` (HWIO 3x3, the shape of `g`), from the cache or made
/// and cached.
pub(crate) fn transformed(g: &Conv2dGeometry, kernel: &Tensor) -> Result<Arc<Vec<f32>>> {
    let data = &kernel.0.data;
    let key = Arc::as_ptr(data);
    {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.clock += 1;
        let now = cache.clock;
        if let Some(e) = cache
            .entries
            .iter_mut()
            .find(|e| e.data.as_ptr() == key && e.c_in == g.c_in && e.c_out == g.c_out)
        {
            e.last_use = now;
            return Ok(e.u.clone());
        }
    }
    let u = Arc::new(transform_kernel(g, kernel.as_f32()?));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.entries.retain(|e| e.data.strong_count() > 0);
    let bytes = |es: &[Entry]| es.iter().map(|e| e.u.len() * 4).sum::<usize>();
    while !cache.entries.is_empty() && bytes(&cache.entries) + u.len() * 4 > CACHE_BYTES {
        let oldest = (0..cache.entries.len()).min_by_key(|&i| cache.entries[i].last_use).unwrap_or(0);
        cache.entries.swap_remove(oldest);
    }
    if u.len() * 4 <= CACHE_BYTES {
        let last_use = cache.clock;
        cache.entries.push(Entry {
            data: Arc::downgrade(data),
            c_in: g.c_in,
            c_out: g.c_out,
            u: u.clone(),
            last_use,
        });
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(c: usize) -> Conv2dGeometry {
        Conv2dGeometry::new([1, 8, 8, c], [3, 3], c, [1, 1], [1, 1], true).unwrap()
    }

    #[test]
    fn one_kernel_is_transformed_once_and_a_new_kernel_again() {
        let g = geometry(2);
        let k = Tensor::new((0..36).map(|i| i as f32).collect(), [3, 3, 2, 2]).unwrap();
        let a = transformed(&g, &k).unwrap();
        let b = transformed(&g, &k.clone()).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same buffer hits the cache");
        assert_eq!(*a, transform_kernel(&g, k.as_f32().unwrap()));
        let k2 = Tensor::new((0..36).map(|i| -(i as f32)).collect(), [3, 3, 2, 2]).unwrap();
        let c = transformed(&g, &k2).unwrap();
        assert_eq!(*c, transform_kernel(&g, k2.as_f32().unwrap()), "new values, new transform");
    }

    #[test]
    fn a_freed_kernel_leaves_the_cache() {
        let g = geometry(3);
        let k = Tensor::new(vec![0.5; 81], [3, 3, 3, 3]).unwrap();
        let weak = Arc::downgrade(&k.0.data);
        transformed(&g, &k).unwrap();
        drop(k);
        let k2 = Tensor::new(vec![0.25; 81], [3, 3, 3, 3]).unwrap();
        transformed(&g, &k2).unwrap();
        let cache = CACHE.lock().unwrap();
        assert!(cache.entries.iter().all(|e| !std::ptr::eq(e.data.as_ptr(), weak.as_ptr())));
    }
}
