//! An OTLP/HTTP request body, read and decoded: its encoding from `Content-Type`, gzip from
//! `Content-Encoding`, the size limit before and after decompression, then protobuf or
//! OTLP/JSON into the generated message types.

use std::io::Read;

use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// How a body is encoded, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-protobuf`: binary protobuf.
    Protobuf,
    /// `application/json`: OTLP/JSON (hex ids, 64-bit integers as strings or numbers, enums
    /// as integers, lowerCamelCase keys).
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters such as `charset` ignored), or `None`
    /// for any other type.
    pub(crate) fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf")
            || essence.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Self::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of a response in this encoding (OTLP answers in the request's).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Whether a body is compressed, from its `Content-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    /// No `Content-Encoding`, or `identity`.
    None,
    /// `gzip`.
    Gzip,
}

impl Compression {
    /// The compression a `Content-Encoding` names, or `None` for one this receiver does not
    /// decode.
    pub(crate) fn from_content_encoding(value: Option<&str>) -> Option<Self> {
        match value.map(str::trim) {
            None | Some("") => Some(Self::None),
            Some(v) if v.eq_ignore_ascii_case("identity") => Some(Self::None),
            Some(v) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => {
                Some(Self::Gzip)
            }
            Some(_) => None,
        }
    }
}

/// Why a body was refused.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Larger than the limit, as sent or once decompressed (413).
    TooLarge,
    /// Not readable: truncated, bad gzip, not a message of the encoding (400).
    Malformed(String),
}

/// Reads at most `limit` bytes of `reader`; more is [`BodyError::TooLarge`].
pub(crate) fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| BodyError::Malformed(format!("cannot read the body: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(bytes)
}

/// The body as sent, decompressed: at most `limit` bytes once decompressed, so a small gzip
/// body cannot expand without bound.
pub(crate) fn decompress(
    body: Vec<u8>,
    compression: Compression,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    match compression {
        Compression::None => Ok(body),
        Compression::Gzip => match read_limited(GzDecoder::new(body.as_slice()), limit) {
            Err(BodyError::Malformed(why)) => {
                Err(BodyError::Malformed(format!("bad gzip body: {why}")))
            }
            other => other,
        },
    }
}

/// A trace export request decoded from `bytes`.
pub(crate) fn decode_traces(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceRequest, BodyError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| BodyError::Malformed(format!("not an OTLP trace request: {e}"))),
        Encoding::Json => serde_json::from_slice(bytes)
            .map_err(|e| BodyError::Malformed(format!("not an OTLP/JSON trace request: {e}"))),
    }
}

/// The success response: an `ExportTraceServiceResponse`, with a partial success when some
/// spans were rejected, in the request's encoding.
pub(crate) fn trace_response(encoding: Encoding, rejected: u64, why: Option<String>) -> Vec<u8> {
    if rejected == 0 {
        return empty_response(encoding);
    }
    let response = ExportTraceServiceResponse {
        partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: why.unwrap_or_default(),
        }),
    };
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        // Serialising a plain message into a Vec cannot fail.
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// The success response to a request that is answered but not read (metrics, logs): the empty
/// message, in the request's encoding.
pub(crate) fn empty_response(encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => Vec::new(),
        Encoding::Json => b"{}".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression as Level, write::GzEncoder};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use std::io::Write;

    fn one_span() -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "retrieve".into(),
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        start_time_unix_nano: 1_000,
                        end_time_unix_nano: 5_000,
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Level::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn content_types_name_the_encoding() {
        let of = Encoding::from_content_type;
        assert_eq!(of("application/x-protobuf"), Some(Encoding::Protobuf));
        assert_eq!(of("Application/JSON; charset=utf-8"), Some(Encoding::Json));
        assert_eq!(of("text/plain"), None);
        assert_eq!(of(""), None);
        let enc = Compression::from_content_encoding;
        assert_eq!(enc(None), Some(Compression::None));
        assert_eq!(enc(Some("gzip")), Some(Compression::Gzip));
        assert_eq!(enc(Some("br")), None);
    }

    #[test]
    fn protobuf_and_gzip_decode_to_the_same_request() {
        let request = one_span();
        let bytes = request.encode_to_vec();
        let plain = decompress(bytes.clone(), Compression::None, 1 << 20).unwrap();
        let unzipped = decompress(gzip(&bytes), Compression::Gzip, 1 << 20).unwrap();
        assert_eq!(decode_traces(&plain, Encoding::Protobuf).unwrap(), request);
        assert_eq!(
            decode_traces(&unzipped, Encoding::Protobuf).unwrap(),
            request
        );
    }

    #[test]
    fn otlp_json_reads_hex_ids_and_integers_as_strings_or_numbers() {
        let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
            "name":"chat","kind":3,"startTimeUnixNano":"1700000000000000000",
            "endTimeUnixNano":1700000000250000000,
            "attributes":[{"key":"gen_ai.usage.output_tokens","value":{"intValue":"42"}}],
            "status":{"code":2}}]}]}]}"#;
        let request = decode_traces(json.as_bytes(), Encoding::Json).unwrap();
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(
            span.end_time_unix_nano - span.start_time_unix_nano,
            250_000_000
        );
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(span.kind, 3);
    }

    #[test]
    fn bad_bodies_are_malformed_and_large_ones_too_large() {
        let bytes = one_span().encode_to_vec();
        let truncated = &bytes[..bytes.len() - 3];
        assert!(matches!(
            decode_traces(truncated, Encoding::Protobuf),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            decode_traces(b"{\"resourceSpans\": [", Encoding::Json),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            decompress(b"not gzip".to_vec(), Compression::Gzip, 1 << 20),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            read_limited(&[0u8; 11][..], 10),
            Err(BodyError::TooLarge)
        ));
        assert_eq!(read_limited(&[0u8; 10][..], 10).unwrap().len(), 10);
        // A small gzip body that expands past the limit is refused once decompressed.
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert!(matches!(
            decompress(bomb, Compression::Gzip, 1 << 16),
            Err(BodyError::TooLarge)
        ));
    }

    #[test]
    fn responses_carry_partial_success_in_the_request_encoding() {
        assert!(trace_response(Encoding::Protobuf, 0, None).is_empty());
        let bytes = trace_response(Encoding::Protobuf, 2, Some("ends before".into()));
        let back = ExportTraceServiceResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.partial_success.unwrap().rejected_spans, 2);
        let json: serde_json::Value =
            serde_json::from_slice(&trace_response(Encoding::Json, 1, None)).unwrap();
        assert_eq!(json["partialSuccess"]["rejectedSpans"], 1);
    }
}
