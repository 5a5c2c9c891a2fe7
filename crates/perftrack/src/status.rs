//! How a measurement ended.

use serde::{Deserialize, Serialize};

/// How a measurement ended. Every record carries one.
///
/// ```
/// use perftrack::Status;
/// assert_eq!(serde_json::to_string(&Status::Cancelled)?, "\"cancelled\"");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// The measured work completed.
    #[default]
    Ok,
    /// The measured work panicked or returned an error; its latency still counts.
    Failed,
    /// The measured future was dropped before it completed.
    Cancelled,
}

impl Status {
    /// `Failed` while the current thread is unwinding from a panic, else `Ok`: what a guard
    /// dropped now should record.
    #[inline]
    pub(crate) fn on_drop() -> Self {
        if std::thread::panicking() {
            Self::Failed
        } else {
            Self::Ok
        }
    }
}
