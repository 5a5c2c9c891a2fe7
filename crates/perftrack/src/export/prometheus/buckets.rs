//! Histogram bucket bounds.

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share its imports"
)]
use super::*;

/// Histogram bucket upper bounds, in seconds: finite, strictly increasing, at least one. The
/// `+Inf` bucket is always added.
///
/// ```
/// use perftrack::Buckets;
///
/// let default = Buckets::latency();
/// assert_eq!(default.bounds().first(), Some(&0.001));
/// assert_eq!(default.bounds().last(), Some(&81.92));
///
/// let custom = Buckets::new(vec![0.05, 0.1, 0.5])?;
/// assert_eq!(custom.bounds().len(), 3);
/// assert!(Buckets::new(vec![0.1, 0.1]).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Buckets(Vec<f64>);

impl Buckets {
    /// Checks and wraps bucket upper bounds (seconds for latency).
    ///
    /// ```
    /// let err = perftrack::Buckets::new(vec![]).unwrap_err();
    /// assert!(err.to_string().contains("buckets"));
    /// ```
    pub fn new(bounds: Vec<f64>) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidConfig {
            key: "buckets".to_owned(),
            reason,
        };
        if bounds.is_empty() {
            return Err(invalid("at least one bucket bound is needed".to_owned()));
        }
        if let Some(bad) = bounds.iter().find(|b| !b.is_finite()) {
            return Err(invalid(format!(
                "bound {bad} is not finite (the +Inf bucket is always added)"
            )));
        }
        if let Some(pair) = bounds.windows(2).find(|w| w[0] >= w[1]) {
            return Err(invalid(format!(
                "bounds must increase strictly, but {} is followed by {}",
                pair[0], pair[1]
            )));
        }
        Ok(Self(bounds))
    }

    /// The default for latency: 1 ms, 2.5 ms and 5 ms for fast retrieval stages, then the
    /// OpenTelemetry GenAI operation-duration boundaries 0.01, 0.02, 0.04 … 81.92 s.
    ///
    /// ```
    /// let b = perftrack::Buckets::latency();
    /// assert_eq!(&b.bounds()[..5], &[0.001, 0.0025, 0.005, 0.01, 0.02]);
    /// assert_eq!(b.bounds().len(), 17);
    /// ```
    pub fn latency() -> Self {
        let mut bounds = vec![0.001, 0.0025, 0.005];
        bounds.extend((0..14).map(|i| 0.01 * f64::from(1u32 << i)));
        Self(bounds)
    }

    /// `count` bounds from `start`, each `factor` times the one before.
    ///
    /// ```
    /// let b = perftrack::Buckets::exponential(0.001, 10.0, 4)?;
    /// assert_eq!(b.bounds().len(), 4);
    /// assert!((b.bounds()[3] - 1.0).abs() < 1e-12);
    /// assert!(perftrack::Buckets::exponential(0.0, 2.0, 3).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self> {
        if !(start > 0.0 && factor > 1.0) {
            return Err(Error::InvalidConfig {
                key: "buckets".to_owned(),
                reason: format!(
                    "exponential buckets need start > 0 and factor > 1 (got {start} and {factor})"
                ),
            });
        }
        let bounds = std::iter::successors(Some(start), |b| Some(b * factor))
            .take(count)
            .collect();
        Self::new(bounds)
    }

    /// The upper bounds, ascending.
    ///
    /// ```
    /// assert_eq!(perftrack::Buckets::new(vec![1.0])?.bounds(), &[1.0]);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn bounds(&self) -> &[f64] {
        &self.0
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Self::latency()
    }
}

impl TryFrom<Vec<f64>> for Buckets {
    type Error = Error;

    fn try_from(bounds: Vec<f64>) -> Result<Self> {
        Self::new(bounds)
    }
}

impl From<Buckets> for Vec<f64> {
    fn from(buckets: Buckets) -> Self {
        buckets.0
    }
}
