//! OTLP data points and metrics from perftrack's typed values: distributions as exponential
//! (or explicit) histograms, counts as monotonic sums, readings as gauges.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, Sum, exponential_histogram_data_point::Buckets,
    metric::Data, number_data_point::Value,
};

use super::OtlpHistograms;
use crate::Distribution;

/// Nanoseconds since the Unix epoch as OTLP writes them (0 for an instant before it).
pub(super) type UnixNanos = u64;

/// The attributes of one data point, in the order they are given.
pub(super) type Attributes = Vec<KeyValue>;

pub(super) fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        key_strindex: 0,
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
    }
}

pub(super) fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        key_strindex: 0,
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
    }
}

/// When a point's measurements began and when it was read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Times {
    pub(super) start: UnixNanos,
    pub(super) now: UnixNanos,
}

/// A histogram metric being filled: exponential or explicit, one point per series.
pub(super) enum HistogramPoints {
    Exponential(Vec<ExponentialHistogramDataPoint>),
    Explicit(Vec<HistogramDataPoint>),
}

impl HistogramPoints {
    pub(super) fn new(kind: OtlpHistograms) -> Self {
        match kind {
            OtlpHistograms::Explicit => Self::Explicit(Vec::new()),
            _ => Self::Exponential(Vec::new()),
        }
    }

    /// Adds `dist` as one cumulative point; `bounds` are the explicit histogram's boundaries.
    pub(super) fn push(
        &mut self,
        dist: &Distribution,
        bounds: &[f64],
        times: Times,
        attributes: Attributes,
    ) {
        match self {
            Self::Exponential(points) => points.push(exponential_point(dist, times, attributes)),
            Self::Explicit(points) => points.push(explicit_point(dist, bounds, times, attributes)),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Exponential(p) => p.is_empty(),
            Self::Explicit(p) => p.is_empty(),
        }
    }

    /// The metric, or `None` when no series had a value.
    pub(super) fn metric(self, name: &str, unit: &str, description: &str) -> Option<Metric> {
        if self.is_empty() {
            return None;
        }
        let temporality = AggregationTemporality::Cumulative as i32;
        let data = match self {
            Self::Exponential(data_points) => Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                aggregation_temporality: temporality,
            }),
            Self::Explicit(data_points) => Data::Histogram(Histogram {
                data_points,
                aggregation_temporality: temporality,
            }),
        };
        Some(metric(name, unit, description, data))
    }
}

/// The distribution's exact exponential histogram as an OTLP point: the sketch's grid is
/// OTLP's (scale 6, upper-inclusive buckets), so offsets and counts go across unchanged.
pub(super) fn exponential_point(
    dist: &Distribution,
    times: Times,
    attributes: Attributes,
) -> ExponentialHistogramDataPoint {
    let h = dist.exponential_histogram();
    let buckets = |b: crate::BucketCounts| Buckets {
        offset: b.offset,
        bucket_counts: b.counts,
    };
    ExponentialHistogramDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        count: h.count,
        sum: Some(h.sum),
        scale: h.scale,
        zero_count: h.zero_count,
        positive: Some(buckets(h.positive)),
        negative: Some(buckets(h.negative)),
        flags: 0,
        exemplars: Vec::new(),
        min: h.min,
        max: h.max,
        zero_threshold: h.zero_threshold,
    }
}

/// The distribution counted in explicit buckets `(-inf, b0], (b0, b1], ..., (bn, +inf)`.
fn explicit_point(
    dist: &Distribution,
    bounds: &[f64],
    times: Times,
    attributes: Attributes,
) -> HistogramDataPoint {
    let mut at_most = vec![0; bounds.len()];
    dist.counts_at_most(bounds, &mut at_most);
    let mut bucket_counts = Vec::with_capacity(bounds.len() + 1);
    let mut below = 0;
    for n in at_most {
        bucket_counts.push(n.saturating_sub(below));
        below = below.max(n);
    }
    bucket_counts.push(dist.count().saturating_sub(below));
    let (min, max) = dist.min_max().unzip();
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        count: dist.count(),
        sum: Some(dist.sum()),
        bucket_counts,
        explicit_bounds: bounds.to_vec(),
        exemplars: Vec::new(),
        flags: 0,
        min,
        max,
    }
}

/// A monotonic cumulative count.
pub(super) fn count_point(n: u64, times: Times, attributes: Attributes) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        exemplars: Vec::new(),
        flags: 0,
        value: Some(Value::AsInt(i64::try_from(n).unwrap_or(i64::MAX))),
    }
}

/// A reading: a gauge's value, or a sum's when `times.start` is its start.
pub(super) fn value_point(v: f64, times: Times, attributes: Attributes) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        exemplars: Vec::new(),
        flags: 0,
        value: Some(Value::AsDouble(v)),
    }
}

/// A monotonic cumulative sum, or `None` without points.
pub(super) fn sum(
    name: &str,
    unit: &str,
    description: &str,
    data_points: Vec<NumberDataPoint>,
) -> Option<Metric> {
    (!data_points.is_empty()).then(|| {
        metric(
            name,
            unit,
            description,
            Data::Sum(Sum {
                data_points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        )
    })
}

/// A gauge, or `None` without points.
pub(super) fn gauge(
    name: &str,
    unit: &str,
    description: &str,
    data_points: Vec<NumberDataPoint>,
) -> Option<Metric> {
    (!data_points.is_empty())
        .then(|| metric(name, unit, description, Data::Gauge(Gauge { data_points })))
}

fn metric(name: &str, unit: &str, description: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}
