//! The one error type of the library.

use std::path::PathBuf;

/// Everything that can go wrong in perftrack.
///
/// Each variant says when it happens and what to change. Errors about files always carry the
/// path, and errors about configuration always name the key.
///
/// ```
/// use perftrack::{Error, LatencyTracker, LatencyConfig, TrackId};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// let err = tracker.stop_tracking(&TrackId::from("never-started")).unwrap_err();
/// assert!(matches!(err, Error::UnknownTrackId { .. }));
/// assert_eq!(err.to_string(), "no active tracking session with id `never-started`");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session id was used that is not active: it was never started, it was already stopped,
    /// or the tracker was reset since. Use the [`TrackId`](crate::TrackId) that `start_tracking`
    /// returned, once.
    #[error("no active tracking session with id `{id}`")]
    UnknownTrackId {
        /// The id as the caller spelled it.
        id: String,
    },

    /// A session id was used whose session was abandoned: more than the tracker's
    /// `max_sessions` sessions started by id were active, and this one was among the oldest, so
    /// it ended without a measurement (counted per label in `abandoned_sessions`). Stop
    /// sessions you start by id, or raise `max_sessions`. The tracker remembers the last
    /// `max_sessions` abandoned ids; an older one is an [`UnknownTrackId`](Self::UnknownTrackId).
    ///
    /// ```
    /// use perftrack::{Error, LatencyConfig, LatencyTracker};
    ///
    /// let tracker = LatencyTracker::new(LatencyConfig { max_sessions: 1, ..Default::default() });
    /// let forgotten = tracker.start_tracking(Some("retrieval"));
    /// let _next = tracker.start_tracking(Some("retrieval"));
    /// let err = tracker.stop_tracking(&forgotten).unwrap_err();
    /// assert!(matches!(err, Error::AbandonedSession { .. }));
    /// assert_eq!(tracker.abandoned_sessions(), 1);
    /// ```
    #[error(
        "tracking session `{id}` was abandoned: more than `max_sessions` sessions were active \
         and it was among the oldest"
    )]
    AbandonedSession {
        /// The id as the caller spelled it.
        id: String,
    },

    /// `start_tracking_with_id` was given an id that is already active. Stop the running session
    /// first, or choose another id; perftrack never overwrites a running session.
    #[error("a tracking session with id `{id}` is already active")]
    DuplicateTrackId {
        /// The id that is already in use.
        id: String,
    },

    /// `current_value(None)` was called while no session was active. Start a session first, or
    /// pass the id of an active one.
    #[error("no active tracking sessions")]
    NoActiveSession,

    /// A configuration key is unknown or its value is not acceptable. The message names the
    /// key, the value given and what is accepted; fix the configuration and try again.
    #[error("invalid configuration: `{key}`: {reason}")]
    InvalidConfig {
        /// The offending key (a dotted path for nested keys, `.` for the whole document).
        key: String,
        /// The value given and what is accepted.
        reason: String,
    },

    /// Reading or writing a file failed at the operating-system level (missing file, missing
    /// directory, permissions, full disk).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A metrics file is not valid JSON, is truncated, or holds a value of the wrong shape.
    /// Line and column are 1-based and point at the problem (0 when the position is unknown).
    #[error("{}:{line}:{column}: malformed metrics file: {message}", path.display())]
    MalformedFile {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },

    /// A metrics file was written by another kind of tracker; load it with a tracker of the
    /// type it names.
    #[error("{}: this is a `{found}` metrics file; a `{expected}` tracker cannot load it", path.display())]
    WrongTrackerType {
        /// The file.
        path: PathBuf,
        /// The tracker type that tried to load the file.
        expected: &'static str,
        /// The tracker type the file names.
        found: String,
    },

    /// A metrics file declares a format version this build does not know (written by a newer
    /// perftrack, or not a perftrack file). Upgrade perftrack to read it.
    #[error("{}: metrics file version {found} is not supported (this build reads versions {supported})", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version the file declares.
        found: String,
        /// The versions this build reads.
        supported: &'static str,
    },

    /// A run container (`"format": "perftrack-run"`, written by `perftrack run -o`) declares a
    /// version this build does not know: a newer perftrack wrote it. Upgrade perftrack to read
    /// it.
    #[error("{}: run container version {found} is not supported (this build reads versions {supported})", path.display())]
    UnsupportedRunVersion {
        /// The file.
        path: PathBuf,
        /// The version the file declares.
        found: String,
        /// The versions this build reads.
        supported: &'static str,
    },

    /// [`get_performance_tracker`](crate::get_performance_tracker) or
    /// [`TrackerKind::from_name`](crate::TrackerKind::from_name) was asked for a kind of
    /// tracker that does not exist. Use one of the kinds the message lists.
    #[error("unknown performance tracker type `{kind}`; valid types are: {valid}")]
    UnknownTrackerType {
        /// The kind as the caller spelled it.
        kind: String,
        /// The kinds that exist.
        valid: &'static str,
    },

    /// A metrics endpoint could not be started: the address does not resolve, is in use, is
    /// not an address of this machine, or needs privileges (ports below 1024). Choose another
    /// address or port.
    #[error("cannot serve metrics on {address}: {reason}")]
    Serve {
        /// The address as given.
        address: String,
        /// What went wrong.
        reason: String,
    },

    /// The OTLP exporter's background thread could not be started (the system is out of
    /// threads or memory). Nothing is exported; free resources and create the exporter again.
    #[error("cannot start exporting to {endpoint}: {reason}")]
    Export {
        /// The endpoint the exporter was for.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },

    /// A generation request measured elsewhere was impossible: a first token with no output
    /// tokens, or one later than the whole request. Nothing was recorded.
    #[error("invalid generation timing: {reason}")]
    InvalidTiming {
        /// What was wrong.
        reason: String,
    },

    /// A span that cannot be a measurement (it ends before it starts): bad data, which
    /// readers of spans count and skip.
    #[error("span `{span}` cannot be measured: {reason}")]
    InvalidSpan {
        /// The span's name.
        span: String,
        /// Why.
        reason: String,
    },

    /// A well-formed metrics file that this tracker cannot take: a generation file whose
    /// requests were judged against other objectives. Nothing was loaded.
    #[error("{}: cannot be loaded into this tracker: {reason}", path.display())]
    IncompatibleFile {
        /// The file.
        path: PathBuf,
        /// Why, naming both sides.
        reason: String,
    },

    /// Serialising metrics failed before anything was written; the file on disk is unchanged.
    #[error("{}: cannot serialise metrics: {source}", path.display())]
    Serialize {
        /// The file that was to be written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// `Result` with [`Error`] as the error type.
///
/// ```
/// fn unit(text: &str) -> perftrack::Result<perftrack::TimeUnit> {
///     text.parse()
/// }
/// assert!(unit("ms").is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
