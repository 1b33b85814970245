//! WIP

/// WIP
pub struct TensorBoard;
impl super::Callback for TensorBoard {}
