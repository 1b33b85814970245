//! `StackedRNNCells`: a cell made of cells (Keras `keras.layers.StackedRNNCells`), the output
//! of each cell the input of the next, the states of all of them carried together.

use serde_json::{json, Value};

use super::rnn_cell::{deserialize_cell, RnnCell};
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Sublayer, Variable};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.StackedRNNCells`: wraps a list of cells so an [`crate::layers::RNN`] runs
/// them as one (a multi-layer RNN in a single loop). Its states are every cell's states in
/// order; its output is the last cell's. Saved as Keras saves it (`"cells": [...]`, weights
/// under `cell/cells/<cell>`); `RNN::new(vec![...])` builds one, as `RNN([cell1, cell2])` does.
///
/// ```
/// use keras::layers::{GRUCell, LSTMCell, Layer, RnnCell, StackedRNNCells, RNN};
/// let cells = StackedRNNCells::new(vec![Box::new(LSTMCell::new(4)), Box::new(GRUCell::new(3))]);
/// assert_eq!(cells.state_size(), vec![4, 4, 3]);
/// let mut rnn = RNN::new(cells);
/// rnn.build(&[None, Some(5), Some(2)]).unwrap();
/// assert_eq!(rnn.compute_output_shape(&[None, Some(5), Some(2)]).unwrap(), vec![None, Some(3)]);
/// assert_eq!(rnn.weights().len(), 6);
/// ```
pub struct StackedRNNCells {
    base: LayerBase,
    cells: Vec<Box<dyn RnnCell>>,
}

impl StackedRNNCells {
    /// A stack of `cells` (the first one sees the layer's input).
    pub fn new(cells: Vec<Box<dyn RnnCell>>) -> Self {
        let mut base = LayerBase::new("stacked_rnn_cells");
        if cells.is_empty() {
            base.fail(Error::Value(
                "StackedRNNCells needs at least one cell, received an empty list of cells".into(),
            ));
        }
        StackedRNNCells { base, cells }
    }

    /// The cells, in order.
    pub fn cells(&self) -> &[Box<dyn RnnCell>] {
        &self.cells
    }

    /// Sets the name.
    pub fn name(mut self, name: &str) -> Self {
        self.base.rename(name);
        self
    }

    /// Rebuilds the stack from its Keras config (each of `cells` a serialized cell).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let Some(list) = cfg.get("cells").and_then(Value::as_array) else {
            keras_bail!(Config, "StackedRNNCells config needs `cells` (a list of serialized cells)");
        };
        let cells = list.iter().map(deserialize_cell).collect::<Result<Vec<_>>>()?;
        let mut s = StackedRNNCells::new(cells);
        s.base.apply_config(cfg);
        s.base.take_pending()?;
        Ok(s)
    }
}

impl Layer for StackedRNNCells {
    crate::layers::layer::layer_base_methods!("StackedRNNCells");
    /// Builds each cell on the previous one's output: `(batch, features)`, then
    /// `(batch, output_size)` of each cell in turn.
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        if let Some(e) = &self.base.pending_error {
            return Err(e.clone());
        }
        let mut shape: Shape = input_shape.to_vec();
        let batch = input_shape.first().copied().flatten();
        for cell in &mut self.cells {
            if !cell.built() {
                cell.build(&shape)?;
            }
            shape = vec![batch, Some(cell.output_size())];
        }
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        crate::layers::assign_paths(self, "");
        Ok(())
    }
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        Ok(vec![input_shape.first().copied().flatten(), Some(self.output_size())])
    }
    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        keras_bail!(
            State,
            "StackedRNNCells '{}' is a cell: it runs inside an RNN layer (or through RnnCell::step with its states)",
            self.base.name
        )
    }
    fn sublayers(&self) -> Vec<Sublayer<'_>> {
        self.cells.iter().map(|c| Sublayer::item("cells", &**c as &dyn Layer)).collect()
    }
    fn own_weights_and_sublayers_mut(&mut self) -> (Vec<&mut Variable>, Vec<&mut dyn Layer>) {
        (Vec::new(), self.cells.iter_mut().map(|c| &mut **c as &mut dyn Layer).collect())
    }
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("cells".into(), json!(self.cells.iter().map(|c| c.serialize()).collect::<Vec<_>>()));
        Value::Object(m)
    }
}

impl RnnCell for StackedRNNCells {
    fn state_size(&self) -> Vec<usize> {
        self.cells.iter().flat_map(|c| c.state_size()).collect()
    }
    fn output_size(&self) -> usize {
        self.cells.last().map(|c| c.output_size()).unwrap_or(0)
    }
    fn step(
        &self,
        inputs: &Tensor,
        states: &[Tensor],
        ctx: &mut CallContext,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let want: usize = self.cells.iter().map(|c| c.state_size().len()).sum();
        if states.len() != want {
            keras_bail!(
                Value,
                "StackedRNNCells '{}' expects {want} state tensor(s), received {}",
                self.base.name,
                states.len()
            );
        }
        let mut x = inputs.clone();
        let mut at = 0;
        let mut new_states = Vec::with_capacity(want);
        for cell in &self.cells {
            let n = cell.state_size().len();
            let (out, s) = cell.step(&x, &states[at..at + n], ctx)?;
            at += n;
            new_states.extend(s);
            x = out;
        }
        Ok((x, new_states))
    }
    fn reset_sequence(&self) {
        for c in &self.cells {
            c.reset_sequence();
        }
    }
}
