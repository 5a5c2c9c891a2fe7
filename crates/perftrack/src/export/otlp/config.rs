//! The OTLP exporter's configuration: a plain struct, and the standard `OTEL_*` environment.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The path an OTLP/HTTP metrics endpoint has under a base `OTEL_EXPORTER_OTLP_ENDPOINT`.
const METRICS_PATH: &str = "v1/metrics";

/// The longest timeout and retry delay accepted: an hour, in milliseconds.
const HOUR_MS: u64 = 3_600_000;
/// The longest interval accepted: 365 days, in milliseconds.
const YEAR_MS: u64 = 365 * 24 * HOUR_MS;

/// How latency and generation distributions become OTLP histograms.
///
/// ```
/// use perftrack::OtlpHistograms;
/// let h: OtlpHistograms = serde_json::from_str(r#""explicit""#)?;
/// assert_eq!(h, OtlpHistograms::Explicit);
/// assert_eq!(OtlpHistograms::default(), OtlpHistograms::Exponential);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OtlpHistograms {
    /// Base-2 exponential histograms at scale 6, every bucket count exact (the sketch's own
    /// grid, [`Distribution::exponential_histogram`](crate::Distribution::exponential_histogram)).
    #[default]
    Exponential,
    /// Explicit-bucket histograms with the advised boundaries of the naming table
    /// ([`FigureNames::buckets`](crate::FigureNames::buckets)); latency uses those of
    /// `gen_ai.client.operation.duration`. Exact while a label holds exact values, within the
    /// sketch's relative accuracy of a bound otherwise.
    Explicit,
}

/// The configuration of an [`OtlpExporter`](crate::OtlpExporter): where to push, how often, and
/// how to retry. [`from_env`](Self::from_env) reads the standard OpenTelemetry environment.
///
/// ```
/// use perftrack::OtlpConfig;
///
/// let config: OtlpConfig = serde_json::from_str(
///     r#"{"endpoint": "http://collector:4318/v1/metrics", "interval_ms": 10000}"#,
/// )?;
/// assert_eq!(config.timeout_ms, 10_000);
/// assert!(serde_json::from_str::<OtlpConfig>(r#"{"endpont": "x"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// The full URL metrics are posted to (OTLP/HTTP with protobuf). `http://` always;
    /// `https://` needs the `otlp-tls` feature. Default `http://localhost:4318/v1/metrics`.
    pub endpoint: String,
    /// Headers sent with every push (an API key, a tenant). Default none.
    pub headers: BTreeMap<String, String>,
    /// How long one push may take, connecting included, in milliseconds (1 to an hour); also
    /// the most that [`OtlpExporter::shutdown`](crate::OtlpExporter::shutdown) waits. Default
    /// `10000`.
    pub timeout_ms: u64,
    /// How often the state is pushed, in milliseconds (1 to 365 days). Default `60000`.
    pub interval_ms: u64,
    /// The resource's `service.name`. Default none: `service.name` from
    /// `resource_attributes`, or else `unknown_service`.
    pub service_name: Option<String>,
    /// Further resource attributes (`deployment.environment`, `host.name`, ...). Default none.
    pub resource_attributes: BTreeMap<String, String>,
    /// Exponential (default) or explicit-bucket histograms.
    pub histograms: OtlpHistograms,
    /// How many times a push that failed for a passing reason (a 429, 502, 503 or 504 answer,
    /// a refused connection, a timeout) is tried again before it is given up; the next push
    /// starts afresh from the newest state. Default `5`.
    pub max_retries: u32,
    /// The wait before the first retry, in milliseconds; it doubles with each retry. A
    /// `Retry-After` in seconds in a 429 or 503 answer replaces it (one in the HTTP-date
    /// form is not read: the backoff holds). At most an hour. Default `1000`.
    pub retry_backoff_ms: u64,
    /// The longest wait before a retry, in milliseconds, a `Retry-After` included (at most an
    /// hour). Default `30000`.
    pub max_retry_delay_ms: u64,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: format!("http://localhost:4318/{METRICS_PATH}"),
            headers: BTreeMap::new(),
            timeout_ms: 10_000,
            interval_ms: 60_000,
            service_name: None,
            resource_attributes: BTreeMap::new(),
            histograms: OtlpHistograms::Exponential,
            max_retries: 5,
            retry_backoff_ms: 1_000,
            max_retry_delay_ms: 30_000,
        }
    }
}

/// A configuration checked once, as the exporter's thread uses it.
#[derive(Clone, Debug)]
pub(super) struct Checked {
    pub(super) config: OtlpConfig,
    pub(super) timeout: Duration,
    pub(super) interval: Duration,
    pub(super) service_name: String,
}

fn invalid(key: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

impl OtlpConfig {
    /// The default configuration changed by the standard OpenTelemetry environment variables
    /// that are set:
    ///
    /// | variable | field |
    /// |---|---|
    /// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | `endpoint`, as it is |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | `endpoint`: the base URL with `/v1/metrics` appended |
    /// | `OTEL_EXPORTER_OTLP_METRICS_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS` | `headers`: `key=value,...`, values percent-decoded |
    /// | `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT` | `timeout_ms` |
    /// | `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL` | must be `http/protobuf`: `grpc` and `http/json` are errors |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | `interval_ms` |
    /// | `OTEL_SERVICE_NAME` | `service_name` |
    /// | `OTEL_RESOURCE_ATTRIBUTES` | `resource_attributes`: `key=value,...`, percent-decoded |
    ///
    /// A malformed value is an [`Error::InvalidConfig`] naming the variable. See
    /// [`from_env_with`](Self::from_env_with) for examples.
    ///
    /// ```
    /// let config = perftrack::OtlpConfig::from_env()?;
    /// assert!(config.endpoint.starts_with("http"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) reading the variables through `var` (the value of a
    /// variable, `None` when unset), so that a program or a test can supply them.
    ///
    /// ```
    /// use perftrack::OtlpConfig;
    ///
    /// let vars = |name: &str| match name {
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318/".to_owned()),
    ///     "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=a%20b, tenant = t1".to_owned()),
    ///     "OTEL_RESOURCE_ATTRIBUTES" => Some("deployment.environment=prod%2Ceu".to_owned()),
    ///     "OTEL_SERVICE_NAME" => Some("rag-api".to_owned()),
    ///     _ => None,
    /// };
    /// let config = OtlpConfig::from_env_with(vars)?;
    /// assert_eq!(config.endpoint, "http://collector:4318/v1/metrics");
    /// assert_eq!(config.headers["api-key"], "a b");
    /// assert_eq!(config.headers["tenant"], "t1");
    /// assert_eq!(config.resource_attributes["deployment.environment"], "prod,eu");
    /// assert_eq!(config.service_name.as_deref(), Some("rag-api"));
    ///
    /// let grpc = |name: &str| (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned());
    /// let err = OtlpConfig::from_env_with(grpc).unwrap_err();
    /// assert!(err.to_string().contains("grpc is not supported"), "{err}");
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let either = |specific: &'static str, general: &'static str| {
            var(specific)
                .map(|v| (specific, v))
                .or_else(|| var(general).map(|v| (general, v)))
        };
        let mut config = Self::default();
        if let Some(endpoint) = var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            config.endpoint = endpoint.trim().to_owned();
        } else if let Some(base) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let base = base.trim();
            let slash = if base.ends_with('/') { "" } else { "/" };
            config.endpoint = format!("{base}{slash}{METRICS_PATH}");
        }
        if let Some((name, headers)) = either(
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ) {
            config.headers = parse_pairs(name, &headers)?;
        }
        if let Some((name, timeout)) = either(
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            config.timeout_ms = parse_ms(name, &timeout)?;
        }
        if let Some((name, protocol)) = either(
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            check_protocol(name, protocol.trim())?;
        }
        if let Some(interval) = var("OTEL_METRIC_EXPORT_INTERVAL") {
            config.interval_ms = parse_ms("OTEL_METRIC_EXPORT_INTERVAL", &interval)?;
        }
        if let Some(attributes) = var("OTEL_RESOURCE_ATTRIBUTES") {
            config.resource_attributes = parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &attributes)?;
        }
        if let Some(name) = var("OTEL_SERVICE_NAME") {
            config.service_name = Some(name.trim().to_owned());
        }
        Ok(config)
    }

    /// Checks every field once; the exporter's thread then never meets a bad value.
    pub(super) fn check(self) -> Result<Checked> {
        check_endpoint(&self.endpoint)?;
        for (name, value) in &self.headers {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                return Err(invalid(
                    "headers",
                    format!(
                        "`{name}` is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
                    ),
                ));
            }
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(invalid(
                    "headers",
                    format!("the value of `{name}` holds a control character"),
                ));
            }
        }
        for (key, value, max) in [
            ("timeout_ms", self.timeout_ms, HOUR_MS),
            ("interval_ms", self.interval_ms, YEAR_MS),
            ("retry_backoff_ms", self.retry_backoff_ms, HOUR_MS),
            ("max_retry_delay_ms", self.max_retry_delay_ms, HOUR_MS),
        ] {
            let min = u64::from(key != "retry_backoff_ms" && key != "max_retry_delay_ms");
            if !(min..=max).contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value} ms is out of range; give {min} to {max}"),
                ));
            }
        }
        let service_name = self
            .service_name
            .clone()
            .or_else(|| self.resource_attributes.get("service.name").cloned())
            .unwrap_or_else(|| "unknown_service".to_owned());
        Ok(Checked {
            timeout: Duration::from_millis(self.timeout_ms),
            interval: Duration::from_millis(self.interval_ms),
            service_name,
            config: self,
        })
    }
}

/// Only OTLP/HTTP with protobuf is spoken.
fn check_protocol(name: &str, protocol: &str) -> Result<()> {
    match protocol {
        "http/protobuf" => Ok(()),
        "grpc" => Err(invalid(
            name,
            "grpc is not supported: perftrack pushes OTLP over HTTP only; set `http/protobuf` \
             and the collector's HTTP port (4318)",
        )),
        "http/json" => Err(invalid(
            name,
            "http/json is not supported: perftrack sends protobuf; set `http/protobuf`",
        )),
        other => Err(invalid(
            name,
            format!("`{other}` is not an OTLP protocol; the one supported is `http/protobuf`"),
        )),
    }
}

fn check_endpoint(endpoint: &str) -> Result<()> {
    let rest = if let Some(rest) = endpoint.strip_prefix("http://") {
        rest
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        if !cfg!(feature = "otlp-tls") {
            return Err(invalid(
                "endpoint",
                format!(
                    "`{endpoint}` is https, which needs perftrack's `otlp-tls` feature (rustls); \
                     enable it or use an http:// endpoint"
                ),
            ));
        }
        rest
    } else {
        return Err(invalid(
            "endpoint",
            format!("`{endpoint}` is not an http:// or https:// URL"),
        ));
    };
    if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
        return Err(invalid(
            "endpoint",
            format!("`{endpoint}` has no host, or holds a space"),
        ));
    }
    Ok(())
}

fn parse_ms(name: &str, text: &str) -> Result<u64> {
    text.trim().parse::<u64>().map_err(|_| {
        invalid(
            name,
            format!("`{text}` is not a whole number of milliseconds"),
        )
    })
}

/// `key=value` pairs separated by commas (the W3C Baggage form the OpenTelemetry environment
/// uses), keys and values trimmed and percent-decoded.
fn parse_pairs(name: &str, text: &str) -> Result<BTreeMap<String, String>> {
    let mut pairs = BTreeMap::new();
    for item in text.split(',') {
        if item.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(invalid(
                name,
                format!("`{}` is not a key=value pair", item.trim()),
            ));
        };
        let key = percent_decode(name, key.trim())?;
        if key.is_empty() {
            return Err(invalid(name, format!("`{}` has an empty key", item.trim())));
        }
        pairs.insert(key, percent_decode(name, value.trim())?);
    }
    Ok(pairs)
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(name: &str, text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(invalid(
                    name,
                    format!("`{text}` has a `%` not followed by two hexadecimal digits"),
                ));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| invalid(name, format!("`{text}` does not decode to UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<OtlpConfig> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OtlpConfig::from_env_with(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_metrics_endpoint_is_used_as_it_is_and_wins_over_the_base() {
        let config = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/custom"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.endpoint, "http://m:9/custom");
        let config = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/otlp")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.endpoint, "http://base:4318/otlp/v1/metrics");
    }

    #[test]
    fn specific_variables_win_and_bad_values_name_their_variable() {
        let config = env(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "b=%E2%82%AC"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.timeout_ms, 250);
        assert_eq!(config.headers.len(), 1);
        assert_eq!(config.headers["b"], "€");
        for (var, value, says) in [
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "whole number"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "key=value"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz", "hexadecimal"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%ff", "UTF-8"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "protobuf"),
        ] {
            let err = env(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(says), "{err}");
        }
    }

    #[test]
    fn the_checks_refuse_what_cannot_be_sent() {
        for (config, key) in [
            (
                OtlpConfig {
                    endpoint: "collector:4318".into(),
                    ..Default::default()
                },
                "endpoint",
            ),
            (
                OtlpConfig {
                    headers: [("bad name".to_owned(), "x".to_owned())].into(),
                    ..Default::default()
                },
                "headers",
            ),
            (
                OtlpConfig {
                    interval_ms: 0,
                    ..Default::default()
                },
                "interval_ms",
            ),
        ] {
            let err = config.check().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidConfig { key: k, .. } if k == key),
                "{err}"
            );
        }
        let https = OtlpConfig {
            endpoint: "https://collector:4318/v1/metrics".into(),
            ..Default::default()
        };
        assert_eq!(https.check().is_ok(), cfg!(feature = "otlp-tls"));
    }
}
