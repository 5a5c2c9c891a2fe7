//! Wall-clock timestamps: RFC 3339 in UTC when written, naive local time accepted when read.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in wall-clock time with nanosecond resolution, used to label records.
///
/// Written as RFC 3339 in UTC with exactly nine fractional digits
/// (`2026-11-29T14:18:32.057875123Z`), so every timestamp has the same length and a saved
/// timestamp reads back exactly. Parsed from RFC 3339
/// with any offset, and from the Python original's naive ISO strings
/// (`2026-11-29T14:18:32.057875`), which are read as local time.
///
/// ```
/// use perftrack::Timestamp;
///
/// let t: Timestamp = "2026-11-29T14:18:32.5+01:00".parse()?;
/// assert_eq!(t.to_string(), "2026-11-29T13:18:32.500000000Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_nanos: i64,
}

impl Timestamp {
    /// The timestamp `unix_nanos` nanoseconds after 1970-01-01T00:00:00Z (negative: before).
    ///
    /// ```
    /// let t = perftrack::Timestamp::from_unix_nanos(1_500_000_000);
    /// assert_eq!(t.to_string(), "1970-01-01T00:00:01.500000000Z");
    /// ```
    pub const fn from_unix_nanos(unix_nanos: i64) -> Self {
        Self { unix_nanos }
    }

    /// Nanoseconds since 1970-01-01T00:00:00Z.
    ///
    /// ```
    /// let t = perftrack::Timestamp::from_unix_nanos(42);
    /// assert_eq!(t.as_unix_nanos(), 42);
    /// ```
    pub const fn as_unix_nanos(self) -> i64 {
        self.unix_nanos
    }

    /// Seconds since the Unix epoch, as a float.
    ///
    /// ```
    /// let t = perftrack::Timestamp::from_unix_nanos(2_500_000_000);
    /// assert_eq!(t.as_unix_seconds_f64(), 2.5);
    /// ```
    pub fn as_unix_seconds_f64(self) -> f64 {
        self.unix_nanos as f64 / 1e9
    }

    /// The current wall-clock time.
    ///
    /// ```
    /// assert!(perftrack::Timestamp::now().as_unix_nanos() > 0);
    /// ```
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    #[inline]
    pub(crate) fn saturating_add(self, d: Duration) -> Self {
        Self::from_unix_nanos(self.unix_nanos.saturating_add(duration_nanos(d)))
    }

    #[inline]
    pub(crate) fn saturating_sub(self, d: Duration) -> Self {
        Self::from_unix_nanos(self.unix_nanos.saturating_sub(duration_nanos(d)))
    }

    fn to_jiff(self) -> jiff::Timestamp {
        // Every i64 nanosecond count lies inside jiff's supported range (years -9999..=9999).
        jiff::Timestamp::from_nanosecond(i128::from(self.unix_nanos))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    fn from_jiff(t: jiff::Timestamp) -> Option<Self> {
        i64::try_from(t.as_nanosecond())
            .ok()
            .map(Self::from_unix_nanos)
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX` (292 years); 64-bit arithmetic only,
/// as this runs on every recorded measurement.
#[inline]
fn duration_nanos(d: Duration) -> i64 {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    secs.saturating_mul(1_000_000_000)
        .saturating_add(i64::from(d.subsec_nanos()))
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => Self::from_unix_nanos(i64::try_from(after.as_nanos()).unwrap_or(i64::MAX)),
            Err(before) => Self::from_unix_nanos(
                i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
            ),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_jiff().strftime("%Y-%m-%dT%H:%M:%S%.9fZ"))
    }
}

/// The error of parsing a [`Timestamp`].
///
/// ```
/// assert!("yesterday".parse::<perftrack::Timestamp>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 timestamp (nor a naive ISO 8601 local time)")]
pub struct ParseTimestampError {
    text: String,
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || ParseTimestampError {
            text: text.chars().take(64).collect(),
        };
        if let Ok(t) = text.parse::<jiff::Timestamp>() {
            return Self::from_jiff(t).ok_or_else(fail);
        }
        // The Python original wrote naive local times; read them as local time, as it meant.
        let civil: jiff::civil::DateTime = text.parse().map_err(|_| fail())?;
        let zoned = civil
            .to_zoned(jiff::tz::TimeZone::system())
            .map_err(|_| fail())?;
        Self::from_jiff(zoned.timestamp()).ok_or_else(fail)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_fixed_width_utc() {
        assert_eq!(
            Timestamp::from_unix_nanos(0).to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(1_764_426_112_057_875_000).to_string(),
            "2025-11-29T14:21:52.057875000Z"
        );
    }

    #[test]
    fn parses_its_own_output_and_offsets() {
        let t = Timestamp::from_unix_nanos(1_764_426_112_057_875_000);
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        let shifted: Timestamp = "2025-11-29T15:21:52.057875+01:00".parse().unwrap();
        assert_eq!(shifted, t);
    }

    #[test]
    fn naive_python_timestamps_are_local_time() {
        let naive = "2026-11-29T14:18:32.057875";
        let parsed: Timestamp = naive.parse().unwrap();
        let expected = naive
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::system())
            .unwrap()
            .timestamp();
        assert_eq!(i128::from(parsed.as_unix_nanos()), expected.as_nanosecond());
        // Python drops the fraction when it is zero.
        assert!("2026-11-29T14:18:32".parse::<Timestamp>().is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert!("".parse::<Timestamp>().is_err());
        assert!("2026-13-01T00:00:00Z".parse::<Timestamp>().is_err());
    }
}
