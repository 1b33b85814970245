//! WIP

/// WIP
pub struct BackupAndRestore;
impl super::Callback for BackupAndRestore {}
