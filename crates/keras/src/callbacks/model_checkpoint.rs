//! WIP

/// WIP
pub struct ModelCheckpoint;
impl super::Callback for ModelCheckpoint {}
