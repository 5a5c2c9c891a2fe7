//! `GenerationConfig`: what a generation tracker measures in, keeps and judges against.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, TimeUnit};

/// The configuration of a [`GenerationTracker`](crate::GenerationTracker).
///
/// The common keys have the meaning they have for [`LatencyConfig`](crate::LatencyConfig);
/// `slo` sets service-level objectives that each request is judged against (`slo_met`, and the
/// label's goodput), and `operation_name` / `provider_name` are what exporters name the calls
/// with (`gen_ai.operation.name`, `gen_ai.provider.name`). Unknown keys and bad values are
/// errors that name the key.
///
/// ```
/// use perftrack::{GenerationConfig, TimeUnit};
///
/// let config = GenerationConfig::from_json(r#"{"slo": {"ttft": 200, "tpot": 25}}"#)?;
/// assert_eq!(config.time_unit, TimeUnit::Milliseconds);
/// assert_eq!(config.slo.ttft.map(|o| o.get()), Some(200.0));
/// assert_eq!((config.operation_name.as_str(), config.provider_name.as_str()), ("chat", "unknown"));
///
/// let err = GenerationConfig::from_json(r#"{"slo": {"ttft": -1}}"#).unwrap_err();
/// assert!(err.to_string().starts_with("invalid configuration: `slo.ttft`"));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationConfig {
    /// The key records are saved under in a metrics file's `metrics`. Default `"generation"`.
    pub metric_name: String,
    /// The unit times (ttft, tpot, chunk gaps, e2e) and objectives are in. Default
    /// milliseconds (`"ms"`).
    pub time_unit: TimeUnit,
    /// Whether records carry `start_time` and `end_time`. Default `true`.
    pub include_timestamps: bool,
    /// How many recent records the tracker keeps (as for latency). Default `100_000`.
    pub max_records: usize,
    /// How many values each figure of a label keeps exactly (as for latency; a label holds
    /// seven figures, so its worst case is seven times latency's). Default `10_000`.
    pub exact_limit: usize,
    /// How many distinct labels get their own statistics. Default `1_000`.
    pub max_labels: usize,
    /// How many requests started by id may be active at once (as for latency). Default
    /// `10_000`.
    pub max_sessions: usize,
    /// Service-level objectives; none by default.
    pub slo: Slo,
    /// What exporters name the operation (`gen_ai.operation.name`). Default `"chat"`.
    pub operation_name: String,
    /// What exporters name the provider (`gen_ai.provider.name`). Default `"unknown"`.
    pub provider_name: String,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            metric_name: "generation".to_owned(),
            time_unit: TimeUnit::Milliseconds,
            include_timestamps: true,
            max_records: 100_000,
            exact_limit: 10_000,
            max_labels: 1_000,
            max_sessions: 10_000,
            slo: Slo::default(),
            operation_name: "chat".to_owned(),
            provider_name: "unknown".to_owned(),
        }
    }
}

impl GenerationConfig {
    /// Reads a configuration from JSON text; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::GenerationConfig::from_json(r#"{"time_unit": "s"}"#)?;
    /// assert_eq!(config.time_unit, perftrack::TimeUnit::Seconds);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::from_str(text)
    }

    /// Reads a configuration from a JSON value; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::GenerationConfig::from_value(serde_json::json!({"slo": {"e2e": 2000}}))?;
    /// assert!(config.slo.e2e.is_some());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::config::from_value(value)
    }
}

/// Service-level objectives for a generation request, each in the tracker's time unit: a
/// request meets them when it ended [`Ok`](crate::Status::Ok) and every objective set holds
/// (a request with no first token misses a `ttft` objective; one with a single output token
/// has no TPOT and meets a `tpot` objective, as vLLM's goodput counts it).
///
/// ```
/// use perftrack::{Objective, Slo};
///
/// let slo = Slo { ttft: Some(Objective::new(200.0)?), ..Slo::default() };
/// assert!(!slo.is_empty());
/// assert!(Slo::default().is_empty());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Slo {
    /// The longest acceptable time to first token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft: Option<Objective>,
    /// The longest acceptable time per output token (vLLM's TPOT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpot: Option<Objective>,
    /// The longest acceptable whole request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e: Option<Objective>,
}

impl Slo {
    /// Whether no objective is set.
    ///
    /// ```
    /// assert!(perftrack::Slo::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ttft.is_none() && self.tpot.is_none() && self.e2e.is_none()
    }
}

impl fmt::Display for Slo {
    /// `{ttft: 200, tpot: 25}`, or `{}` with none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<String> = [("ttft", self.ttft), ("tpot", self.tpot), ("e2e", self.e2e)]
            .into_iter()
            .filter_map(|(name, o)| o.map(|o| format!("{name}: {}", o.get())))
            .collect();
        write!(f, "{{{}}}", set.join(", "))
    }
}

/// One objective: a positive, finite time in the tracker's unit.
///
/// ```
/// use perftrack::Objective;
/// assert_eq!(Objective::new(25.0)?.get(), 25.0);
/// assert!(Objective::new(f64::NAN).is_err());
/// assert!(Objective::new(0.0).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Objective(f64);

impl Objective {
    /// An objective of `value` in the tracker's time unit; an error unless it is positive and
    /// finite.
    ///
    /// ```
    /// let err = perftrack::Objective::new(-5.0).unwrap_err();
    /// assert!(err.to_string().contains("positive, finite"));
    /// ```
    pub fn new(value: f64) -> Result<Self> {
        Self::try_from(value).map_err(|reason| Error::InvalidConfig {
            key: "slo".to_owned(),
            reason,
        })
    }

    /// The objective, in the tracker's time unit.
    ///
    /// ```
    /// assert_eq!(perftrack::Objective::new(1.5)?.get(), 1.5);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Objective {
    type Error = String;

    fn try_from(value: f64) -> std::result::Result<Self, String> {
        if value.is_finite() && value > 0.0 {
            Ok(Self(value))
        } else {
            Err(format!(
                "an objective must be a positive, finite time in the tracker's unit; got {value}"
            ))
        }
    }
}

impl From<Objective> for f64 {
    fn from(objective: Objective) -> f64 {
        objective.0
    }
}
