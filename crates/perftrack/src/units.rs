//! Units of time, rate and memory: parsing (case-insensitive), conversion and display.
//!
//! Every unit parses from the spellings the Python original accepted and from long names;
//! anything else is an [`Error::InvalidConfig`] that lists what is accepted (the original
//! silently fell back to seconds or bytes while keeping the wrong label).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Implements `FromStr`, `Display`, `Serialize` and `Deserialize` for a unit enum through its
/// `parse_reason` and `as_str` methods, so the three unit types cannot drift apart.
macro_rules! unit_traits {
    ($ty:ident, $key:literal) => {
        impl FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse_reason(s).map_err(|reason| Error::InvalidConfig {
                    key: $key.to_owned(),
                    reason,
                })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse_reason(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The unit latencies are reported in.
///
/// Parsed case-insensitively from `s`, `sec`, `second(s)`, `ms`, `millisecond(s)`, `us`, `µs`,
/// `microsecond(s)`, `ns`, `nanosecond(s)`. Displayed and saved as `s`, `ms`, `us`, `ns`.
///
/// ```
/// use perftrack::TimeUnit;
///
/// let unit: TimeUnit = "MS".parse()?;
/// assert_eq!(unit, TimeUnit::Milliseconds);
/// assert_eq!(unit.from_seconds(0.25), 250.0);
/// assert!("minutes".parse::<TimeUnit>().is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Milliseconds (the default).
    #[default]
    Milliseconds,
    /// Microseconds.
    Microseconds,
    /// Nanoseconds.
    Nanoseconds,
}

impl TimeUnit {
    /// Every spelling [`TimeUnit`] accepts, for error messages and documentation.
    ///
    /// ```
    /// assert!(perftrack::TimeUnit::ACCEPTED.contains("µs"));
    /// ```
    pub const ACCEPTED: &'static str = "s, sec, second, seconds, ms, millisecond, milliseconds, \
         us, µs, microsecond, microseconds, ns, nanosecond, nanoseconds (any case)";

    /// The short name: `s`, `ms`, `us` or `ns`.
    ///
    /// ```
    /// assert_eq!(perftrack::TimeUnit::Microseconds.as_str(), "us");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "s",
            Self::Milliseconds => "ms",
            Self::Microseconds => "us",
            Self::Nanoseconds => "ns",
        }
    }

    /// How many of this unit make one second.
    ///
    /// ```
    /// assert_eq!(perftrack::TimeUnit::Microseconds.per_second(), 1e6);
    /// ```
    pub fn per_second(self) -> f64 {
        match self {
            Self::Seconds => 1.0,
            Self::Milliseconds => 1e3,
            Self::Microseconds => 1e6,
            Self::Nanoseconds => 1e9,
        }
    }

    /// Converts seconds to this unit.
    ///
    /// ```
    /// assert_eq!(perftrack::TimeUnit::Nanoseconds.from_seconds(2e-9), 2.0);
    /// ```
    pub fn from_seconds(self, seconds: f64) -> f64 {
        seconds * self.per_second()
    }

    /// Converts a value in this unit to seconds.
    ///
    /// ```
    /// assert_eq!(perftrack::TimeUnit::Milliseconds.to_seconds(1500.0), 1.5);
    /// ```
    pub fn to_seconds(self, value: f64) -> f64 {
        value / self.per_second()
    }

    /// Converts a [`Duration`](std::time::Duration) to this unit.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(perftrack::TimeUnit::Milliseconds.from_duration(Duration::from_micros(1500)), 1.5);
    /// ```
    #[inline]
    pub fn from_duration(self, duration: std::time::Duration) -> f64 {
        // Integer nanoseconds first: `as_secs_f64` would round a long duration before scaling.
        match self {
            Self::Seconds => duration.as_secs_f64(),
            // Through u64 where it fits (584 years): the same rounding, without the slow
            // conversion from u128.
            _ => {
                let nanos = duration
                    .as_secs()
                    .checked_mul(1_000_000_000)
                    .and_then(|n| n.checked_add(u64::from(duration.subsec_nanos())));
                let nanos = nanos.map_or_else(|| duration.as_nanos() as f64, |n| n as f64);
                nanos / self.nanos_per_unit()
            }
        }
    }

    /// Nanoseconds in one of this unit: `1e9 / per_second()`, which each is exactly, as a
    /// constant rather than a division.
    #[inline]
    fn nanos_per_unit(self) -> f64 {
        match self {
            Self::Seconds => 1e9,
            Self::Milliseconds => 1e6,
            Self::Microseconds => 1e3,
            Self::Nanoseconds => 1.0,
        }
    }

    fn parse_reason(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_lowercase();
        Ok(match lower.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Self::Seconds,
            "ms" | "msec" | "millisecond" | "milliseconds" => Self::Milliseconds,
            // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU look the same; accept both.
            "us" | "µs" | "μs" | "usec" | "microsecond" | "microseconds" => Self::Microseconds,
            "ns" | "nsec" | "nanosecond" | "nanoseconds" => Self::Nanoseconds,
            _ => {
                return Err(format!(
                    "`{text}` is not a time unit; expected one of: {}",
                    Self::ACCEPTED
                ));
            }
        })
    }
}

unit_traits!(TimeUnit, "time_unit");

/// The unit rates are reported in: events per second, minute or hour.
///
/// Parsed case-insensitively from `s`/`sec`/`second`, `m`/`min`/`minute`, `h`/`hour` (the
/// original's spellings plus long names). Displayed as `s`, `m`, `h`; a rate's label is
/// `events/s`, `events/m` or `events/h`.
///
/// ```
/// use perftrack::RateUnit;
///
/// let unit: RateUnit = "min".parse()?;
/// assert_eq!(unit, RateUnit::PerMinute);
/// assert_eq!(unit.from_per_second(2.0), 120.0);
/// assert_eq!(unit.events_label(), "events/m");
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateUnit {
    /// Events per second (the default).
    #[default]
    PerSecond,
    /// Events per minute.
    PerMinute,
    /// Events per hour.
    PerHour,
}

impl RateUnit {
    /// Every spelling [`RateUnit`] accepts.
    ///
    /// ```
    /// assert!(perftrack::RateUnit::ACCEPTED.contains("min"));
    /// ```
    pub const ACCEPTED: &'static str =
        "s, sec, second, m, min, minute, h, hr, hour (any case, plural allowed)";

    /// The short name: `s`, `m` or `h`.
    ///
    /// ```
    /// assert_eq!(perftrack::RateUnit::PerHour.as_str(), "h");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerSecond => "s",
            Self::PerMinute => "m",
            Self::PerHour => "h",
        }
    }

    /// The label of a rate in this unit: `events/s`, `events/m` or `events/h`.
    ///
    /// ```
    /// assert_eq!(perftrack::RateUnit::PerSecond.events_label(), "events/s");
    /// ```
    pub fn events_label(self) -> &'static str {
        match self {
            Self::PerSecond => "events/s",
            Self::PerMinute => "events/m",
            Self::PerHour => "events/h",
        }
    }

    /// The length of this unit in seconds.
    ///
    /// ```
    /// assert_eq!(perftrack::RateUnit::PerMinute.seconds(), 60.0);
    /// ```
    pub fn seconds(self) -> f64 {
        match self {
            Self::PerSecond => 1.0,
            Self::PerMinute => 60.0,
            Self::PerHour => 3600.0,
        }
    }

    /// Converts a per-second rate to this unit.
    ///
    /// ```
    /// assert_eq!(perftrack::RateUnit::PerHour.from_per_second(1.0), 3600.0);
    /// ```
    pub fn from_per_second(self, rate: f64) -> f64 {
        rate * self.seconds()
    }

    fn parse_reason(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_lowercase();
        Ok(match lower.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Self::PerSecond,
            "m" | "min" | "mins" | "minute" | "minutes" => Self::PerMinute,
            "h" | "hr" | "hrs" | "hour" | "hours" => Self::PerHour,
            _ => {
                return Err(format!(
                    "`{text}` is not a rate unit; expected one of: {}",
                    Self::ACCEPTED
                ));
            }
        })
    }
}

unit_traits!(RateUnit, "time_unit");

/// The unit memory is reported in.
///
/// `KB`, `MB` and `GB` are 1024-based, as in the Python original (so `MB` is the same as
/// `MiB`); the `KiB`, `MiB` and `GiB` spellings say so explicitly. Parsing is case-insensitive.
/// Percentages (`system_percent`, `gpu_percent`) are never converted.
///
/// ```
/// use perftrack::MemoryUnit;
///
/// let unit: MemoryUnit = "mb".parse()?;
/// assert_eq!(unit, MemoryUnit::MB);
/// assert_eq!(unit.from_bytes(3.0 * 1024.0 * 1024.0), 3.0);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemoryUnit {
    /// Bytes.
    B,
    /// 1024 bytes, spelled `KB` as in the original.
    KB,
    /// 1024² bytes, spelled `MB` as in the original (the default).
    #[default]
    MB,
    /// 1024³ bytes, spelled `GB` as in the original.
    GB,
    /// 1024 bytes.
    KiB,
    /// 1024² bytes.
    MiB,
    /// 1024³ bytes.
    GiB,
}

impl MemoryUnit {
    /// Every spelling [`MemoryUnit`] accepts.
    ///
    /// ```
    /// assert!(perftrack::MemoryUnit::ACCEPTED.contains("GiB"));
    /// ```
    pub const ACCEPTED: &'static str = "B, KB, MB, GB, KiB, MiB, GiB (any case; all 1024-based)";

    /// The name as configured: `B`, `KB`, `MB`, `GB`, `KiB`, `MiB` or `GiB`.
    ///
    /// ```
    /// assert_eq!(perftrack::MemoryUnit::GiB.as_str(), "GiB");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::B => "B",
            Self::KB => "KB",
            Self::MB => "MB",
            Self::GB => "GB",
            Self::KiB => "KiB",
            Self::MiB => "MiB",
            Self::GiB => "GiB",
        }
    }

    /// How many bytes one of this unit holds.
    ///
    /// ```
    /// assert_eq!(perftrack::MemoryUnit::KB.bytes(), 1024.0);
    /// ```
    pub fn bytes(self) -> f64 {
        match self {
            Self::B => 1.0,
            Self::KB | Self::KiB => 1024.0,
            Self::MB | Self::MiB => 1024.0 * 1024.0,
            Self::GB | Self::GiB => 1024.0 * 1024.0 * 1024.0,
        }
    }

    /// Converts bytes to this unit.
    ///
    /// ```
    /// assert_eq!(perftrack::MemoryUnit::KiB.from_bytes(2048.0), 2.0);
    /// ```
    pub fn from_bytes(self, bytes: f64) -> f64 {
        bytes / self.bytes()
    }

    fn parse_reason(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_lowercase();
        Ok(match lower.as_str() {
            "b" | "byte" | "bytes" => Self::B,
            "kb" => Self::KB,
            "mb" => Self::MB,
            "gb" => Self::GB,
            "kib" => Self::KiB,
            "mib" => Self::MiB,
            "gib" => Self::GiB,
            _ => {
                return Err(format!(
                    "`{text}` is not a memory unit; expected one of: {}",
                    Self::ACCEPTED
                ));
            }
        })
    }
}

unit_traits!(MemoryUnit, "unit");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_units_parse_every_spelling_in_any_case() {
        for (text, unit) in [
            ("s", TimeUnit::Seconds),
            ("Seconds", TimeUnit::Seconds),
            ("MS", TimeUnit::Milliseconds),
            ("milliseconds", TimeUnit::Milliseconds),
            ("us", TimeUnit::Microseconds),
            ("µs", TimeUnit::Microseconds),
            ("μs", TimeUnit::Microseconds),
            ("Microsecond", TimeUnit::Microseconds),
            ("NS", TimeUnit::Nanoseconds),
            ("nanoseconds", TimeUnit::Nanoseconds),
        ] {
            assert_eq!(text.parse::<TimeUnit>().unwrap(), unit, "{text}");
        }
    }

    #[test]
    fn unknown_time_unit_lists_the_accepted_spellings() {
        let err = "minutes".parse::<TimeUnit>().unwrap_err().to_string();
        assert!(err.contains("`time_unit`"), "{err}");
        assert!(err.contains("`minutes`"), "{err}");
        assert!(err.contains(TimeUnit::ACCEPTED), "{err}");
    }

    #[test]
    fn units_round_trip_through_serde() {
        for unit in [
            TimeUnit::Seconds,
            TimeUnit::Milliseconds,
            TimeUnit::Microseconds,
            TimeUnit::Nanoseconds,
        ] {
            let json = serde_json::to_string(&unit).unwrap();
            assert_eq!(serde_json::from_str::<TimeUnit>(&json).unwrap(), unit);
        }
        for unit in [RateUnit::PerSecond, RateUnit::PerMinute, RateUnit::PerHour] {
            let json = serde_json::to_string(&unit).unwrap();
            assert_eq!(serde_json::from_str::<RateUnit>(&json).unwrap(), unit);
        }
        let unit: MemoryUnit = serde_json::from_str("\"gib\"").unwrap();
        assert_eq!(unit, MemoryUnit::GiB);
        assert!(serde_json::from_str::<MemoryUnit>("\"TB\"").is_err());
        assert!(serde_json::from_str::<RateUnit>("\"ms\"").is_err());
    }

    #[test]
    fn conversions_are_exact_for_whole_durations() {
        let d = std::time::Duration::from_millis(50);
        assert_eq!(TimeUnit::Milliseconds.from_duration(d), 50.0);
        assert_eq!(TimeUnit::Microseconds.from_duration(d), 50_000.0);
        assert_eq!(TimeUnit::Nanoseconds.from_duration(d), 50_000_000.0);
        assert_eq!(TimeUnit::Seconds.from_duration(d), 0.05);
        for unit in [
            TimeUnit::Seconds,
            TimeUnit::Milliseconds,
            TimeUnit::Microseconds,
            TimeUnit::Nanoseconds,
        ] {
            assert_eq!(unit.nanos_per_unit(), 1e9 / unit.per_second(), "{unit:?}");
        }
    }
}
