//! Whole-step CUDA graphs: a training step (or a `predict_on_batch` call) whose tensors all
//! live on one GPU is captured once and then replayed with a single launch, for as long as the
//! batch shapes stay the same.
//!
//! A step is captured only after two eager steps of the same shapes made no host copy besides
//! the batch going in (so everything in it runs on the device: nothing would be left out of
//! the graph), and it is replayed only while the variables still sit in the buffers the graph
//! recorded and the optimizer can ready its device state for the replay
//! (`Optimizer::prepare_replay`). Each replay copies the new batch into the graph's input
//! buffers, launches the graph and reads the loss back: the same copies as an eager step.
//!
//! `KERAS_CUDA_GRAPHS=1` turns this on (off by default until verified on a GPU). Host values that a step uses as plain numbers (for
//! example a loss reduction's divisor) are recorded into the graph; they depend only on
//! shapes, which is why the graph is keyed by them. The learning rate and iteration count are
//! read by the kernels from device memory, so schedules and callbacks that change the
//! learning rate stay correct.

use crate::{Result, Tensor};

/// Shapes and dtypes of a step's inputs: a captured graph serves only these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key(Vec<(Vec<usize>, keras_engine::DType)>);

impl Key {
    pub(crate) fn of(ts: &[Option<&Tensor>]) -> Key {
        Key(ts.iter().flatten().map(|t| (t.shape().to_vec(), t.dtype())).collect())
    }
}

/// Whether graphs are enabled: `KERAS_CUDA_GRAPHS=1` (read at every GPU step, so a program
/// can switch it). Off by default until the GPU check has run this path on a GPU (see
/// BENCHMARKS.md): the eager device path is the one verified on an H200.
pub(crate) fn enabled() -> bool {
    std::env::var("KERAS_CUDA_GRAPHS").is_ok_and(|v| v.trim() == "1" || v.eq_ignore_ascii_case("true"))
}

/// Eager steps with no host copy needed before a capture.
const CLEAN_STEPS: u32 = 2;

mod imp {
    use keras_engine::cuda::graph::{self, CudaGraph};
    use keras_engine::device::{transfer_stats, TransferStats};
    use keras_engine::Device;

    use super::{Key, CLEAN_STEPS};
    use crate::{Result, Tensor};

    /// A captured step: the graph, its input buffers, the outputs it rewrites, and the variable
    /// buffers it recorded.
    pub(crate) struct Captured {
        key: Key,
        graph: CudaGraph,
        inputs: Vec<Tensor>,
        outputs: Vec<Tensor>,
        var_addresses: Vec<Option<u64>>,
    }

    /// Per-model graph state: the last key seen, how many clean eager steps it had, and the
    /// captured graph.
    #[derive(Default)]
    pub(crate) struct Graphs {
        key: Option<Key>,
        clean: u32,
        captured: Option<Captured>,
    }

    impl std::fmt::Debug for Graphs {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Graphs(clean: {}, captured: {})", self.clean, self.captured.is_some())
        }
    }

    /// What to do with the step at hand.
    pub(crate) enum Plan {
        /// Run eagerly, and report whether it copied anything with [`Graphs::eager_done`].
        Eager(TransferStats),
        /// Capture it now.
        Capture,
        /// Replay the captured graph.
        Replay,
    }

    fn gpu_of(ts: &[Option<&Tensor>]) -> Option<usize> {
        let mut dev = None;
        for t in ts.iter().flatten() {
            match (t.device(), dev) {
                (Device::Cuda(d), None) => dev = Some(d),
                (Device::Cuda(d), Some(e)) if d == e => {}
                _ => return None,
            }
        }
        dev
    }

    impl Graphs {
        /// Decides how to run a step on `inputs` (the batch) given the variables' addresses.
        pub(crate) fn plan(&mut self, inputs: &[Option<&Tensor>], vars: &[Option<u64>]) -> Result<Plan> {
            let key = Key::of(inputs);
            if let Some(c) = &self.captured {
                if c.key == key && c.var_addresses == vars {
                    return Ok(Plan::Replay);
                }
                // Other shapes, or the variables moved (set_weights, a host update): the
                // graph no longer describes this step.
                self.captured = None;
            }
            if self.key.as_ref() != Some(&key) {
                self.key = Some(key);
                self.clean = 0;
            }
            if self.clean >= CLEAN_STEPS && gpu_of(inputs).is_some() && vars.iter().all(Option::is_some) {
                return Ok(Plan::Capture);
            }
            for t in inputs.iter().flatten() {
                t.prefetch()?;
            }
            Ok(Plan::Eager(transfer_stats()))
        }

        /// Records whether the eager step that began at `before` copied anything.
        pub(crate) fn eager_done(&mut self, before: TransferStats, on_gpu: bool) {
            let d = transfer_stats().since(&before);
            self.clean = if on_gpu && d.h2d == 0 && d.d2h == 0 { self.clean + 1 } else { 0 };
        }

        /// Captures `step` run on private copies of `inputs`; runs it once; returns its outputs.
        pub(crate) fn capture(
            &mut self,
            inputs: &[Option<&Tensor>],
            step: impl FnOnce(&[Tensor]) -> Result<Vec<Tensor>>,
        ) -> Result<Vec<Tensor>> {
            let dev = gpu_of(inputs).expect("planned on one GPU");
            let statics: Vec<Tensor> =
                inputs.iter().flatten().map(|t| t.duplicate()).collect::<keras_engine::Result<_>>()?;
            let (g, outputs) = graph::capture(dev, || {
                step(&statics).map_err(|e| keras_engine::EngineError::new(e.to_string()))
            })
            .map_err(|e| {
                crate::Error::InvalidArgument(format!(
                    "capturing the step into a CUDA graph failed ({e}); set KERAS_CUDA_GRAPHS=0 to run steps eagerly"
                ))
            })?;
            g.replay()?;
            let captured = Captured {
                key: Key::of(inputs),
                graph: g,
                inputs: statics,
                outputs: outputs.iter().map(Tensor::detach).collect(),
                var_addresses: Vec::new(),
            };
            self.captured = Some(captured);
            Ok(outputs)
        }

        /// Replays the captured graph on new `inputs`; returns fresh views of its outputs.
        pub(crate) fn replay(&mut self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
            let c = self.captured.as_mut().expect("planned a replay");
            for (dst, src) in c.inputs.iter_mut().zip(inputs.iter().flatten()) {
                dst.copy_from(src)?;
            }
            c.graph.replay()?;
            for o in c.outputs.iter_mut() {
                o.invalidate_host_copy()?;
            }
            Ok(c.outputs.clone())
        }

        /// Records the variable buffers the captured graph uses.
        pub(crate) fn recorded(&mut self, vars: Vec<Option<u64>>) {
            if let Some(c) = self.captured.as_mut() {
                c.var_addresses = vars;
            }
        }

        /// Drops the graph (the optimizer could not ready a replay).
        pub(crate) fn reset(&mut self) {
            self.captured = None;
            self.clean = 0;
        }
    }
}

pub(crate) use imp::{Graphs, Plan};

/// The batch moved to the device of the model's variables (batches made on another device
/// are copied in, as TensorFlow does for a model placed on a GPU).
pub(crate) fn batch_to_model<N: super::Network + ?Sized>(
    net: &mut N,
    data: &super::ModelBatch,
) -> Result<super::ModelBatch> {
    let dev = net.variables_mut().first().map(|(v, _)| v.value().device());
    let mv = |t: &Tensor| -> Result<Tensor> {
        match dev {
            Some(d) if d != t.device() => Ok(t.to_device(d)?),
            _ => Ok(t.clone()),
        }
    };
    let opt = |ts: &[Option<Tensor>]| -> Result<Vec<Option<Tensor>>> {
        ts.iter().map(|t| t.as_ref().map(mv).transpose()).collect()
    };
    Ok(super::ModelBatch {
        x: data.x.iter().map(mv).collect::<Result<_>>()?,
        y: opt(&data.y)?,
        sample_weight: opt(&data.sample_weight)?,
        size: data.size,
    })
}

/// The variables' device buffers, in order (a graph is valid only while they stay put).
pub(crate) fn addresses(vars: &[&Tensor]) -> Vec<Option<u64>> {
    vars.iter().map(|t| t.device_address()).collect()
}
