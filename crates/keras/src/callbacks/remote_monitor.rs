//! WIP

/// WIP
pub struct RemoteMonitor;
impl super::Callback for RemoteMonitor {}
