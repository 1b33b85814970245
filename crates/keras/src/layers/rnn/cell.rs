//! The cell of a recurrent layer (Keras `SimpleRNNCell` / `LSTMCell` / `GRUCell`): where the
//! weights live. keras-rs runs the whole sequence in its RNN layer's fused op, so a cell is
//! a holder of `kernel`, `recurrent_kernel` and `bias` seen as a sub-layer (saved under
//! `cell`, variables `lstm/lstm_cell/kernel`), not called on its own.

use serde_json::{json, Value};

use super::base::RecurrentKind;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape, Variable};
use crate::{keras_bail, Result, Tensor};

/// The weights of a recurrent layer, as Keras's cell layer holds them.
pub struct RecurrentCell {
    pub(crate) base: LayerBase,
    kind: RecurrentKind,
    pub(crate) kernel: Option<Variable>,
    pub(crate) recurrent_kernel: Option<Variable>,
    pub(crate) bias: Option<Variable>,
}

impl RecurrentCell {
    /// An unbuilt cell named as Keras names it (`lstm_cell`, the same in every layer).
    pub(crate) fn new(kind: RecurrentKind) -> Self {
        RecurrentCell {
            base: LayerBase::named(&format!("{}_cell", kind.snake_name())),
            kind,
            kernel: None,
            recurrent_kernel: None,
            bias: None,
        }
    }
}

impl Layer for RecurrentCell {
    crate::layers::layer::layer_base_methods!(|l| match l.kind {
        RecurrentKind::SimpleRnn => "SimpleRNNCell",
        RecurrentKind::Lstm => "LSTMCell",
        RecurrentKind::Gru => "GRUCell",
    });
    fn compute_output_shape(&self, input_shape: &[Option<usize>]) -> Result<Shape> {
        let units = self.recurrent_kernel.as_ref().map(|k| k.shape()[0]);
        Ok(vec![input_shape.first().copied().flatten(), units])
    }
    fn call(&self, _x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        keras_bail!(
            State,
            "{} '{}' runs inside its recurrent layer; keras-rs does not call a cell on its own",
            self.class_name(),
            self.base.name
        )
    }
    crate::sublayers!(; kernel, recurrent_kernel, bias);
    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("units".into(), json!(self.recurrent_kernel.as_ref().map(|k| k.shape()[0])));
        Value::Object(m)
    }
}
