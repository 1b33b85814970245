//! Whole-step CUDA graphs: run a closure once under stream capture, then replay the recorded
//! kernels with one launch.
//!
//! Allocations made while capturing come from a private pool that lives as long as the graph,
//! and blocks of the shared cache freed during the capture are held back until the graph is
//! dropped, so no address the graph reads or writes is ever handed to other work. Host copies
//! are refused while capturing (they would not be replayed): a step that needs one fails to
//! capture and the caller runs it eagerly instead.

use std::sync::atomic::{AtomicBool, Ordering};

use cudarc::driver::sys as cu;

use super::{check, gpu};
use crate::Result;

static CAPTURING: AtomicBool = AtomicBool::new(false);
static REPLAYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Graph launches so far in this process (tests use it to see that steps were replayed).
pub fn replays() -> u64 {
    REPLAYS.load(Ordering::Relaxed)
}

/// True while a graph is being captured (host copies are refused then).
pub fn is_capturing() -> bool {
    CAPTURING.load(Ordering::Acquire)
}

/// A captured, instantiated CUDA graph.
pub struct CudaGraph {
    dev: usize,
    graph: cu::CUgraph,
    exec: cu::CUgraphExec,
    pool: u32,
}

// SAFETY: graph handles are process-wide; replays go through the GPU's stream.
unsafe impl Send for CudaGraph {}
unsafe impl Sync for CudaGraph {}

impl std::fmt::Debug for CudaGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaGraph(gpu:{})", self.dev)
    }
}

/// Captures the work `f` queues on `gpu:dev` into a graph. `f`'s kernels are recorded, not
/// run: call [`CudaGraph::replay`] to run them (also the first time). Only one capture runs at
/// a time in a process.
pub fn capture<R>(dev: usize, f: impl FnOnce() -> Result<R>) -> Result<(CudaGraph, R)> {
    let g = gpu(dev)?;
    super::synchronize(dev)?;
    if CAPTURING.swap(true, Ordering::AcqRel) {
        crate::bail!("another CUDA graph is being captured");
    }
    let pool = g.begin_pool();
    // SAFETY: our stream; relaxed mode lets the allocator call cuMemAlloc meanwhile.
    let begin = unsafe {
        cu::cuStreamBeginCapture_v2(g.stream, cu::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
    };
    if let Err(e) = check(begin, "cuStreamBeginCapture") {
        CAPTURING.store(false, Ordering::Release);
        g.end_pool();
        g.drop_pool(pool);
        return Err(e);
    }
    let r = f();
    let mut graph = std::ptr::null_mut();
    // SAFETY: ends the capture begun above.
    let end = unsafe { cu::cuStreamEndCapture(g.stream, &mut graph) };
    CAPTURING.store(false, Ordering::Release);
    g.end_pool();
    let fail = |graph: cu::CUgraph| {
        if !graph.is_null() {
            // SAFETY: a graph we own.
            unsafe {
                cu::cuGraphDestroy(graph);
            }
        }
        g.drop_pool(pool);
    };
    let value = match (r, check(end, "cuStreamEndCapture")) {
        (Ok(v), Ok(())) => v,
        (Err(e), _) | (Ok(_), Err(e)) => {
            fail(graph);
            return Err(e);
        }
    };
    let mut exec = std::ptr::null_mut();
    // SAFETY: instantiating the graph we captured.
    if let Err(e) =
        check(unsafe { cu::cuGraphInstantiateWithFlags(&mut exec, graph, 0) }, "cuGraphInstantiate")
    {
        fail(graph);
        return Err(e);
    }
    Ok((CudaGraph { dev, graph, exec, pool }, value))
}

impl CudaGraph {
    /// Queues one run of the recorded work.
    pub fn replay(&self) -> Result<()> {
        let g = gpu(self.dev)?;
        REPLAYS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: an instantiated graph on its GPU's stream.
        check(unsafe { cu::cuGraphLaunch(self.exec, g.stream) }, "cuGraphLaunch")
    }

    /// The GPU it runs on.
    pub fn device(&self) -> usize {
        self.dev
    }
}

impl Drop for CudaGraph {
    fn drop(&mut self) {
        if let Ok(g) = gpu(self.dev) {
            // SAFETY: wait for replays in flight, then free what we own.
            unsafe {
                cu::cuStreamSynchronize(g.stream);
                cu::cuGraphExecDestroy(self.exec);
                cu::cuGraphDestroy(self.graph);
            }
            g.drop_pool(self.pool);
        }
    }
}
