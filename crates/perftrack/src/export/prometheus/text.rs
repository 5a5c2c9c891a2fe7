//! Writing the text exposition format: families, samples, escaped labels, numbers.

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share its imports"
)]
use super::*;

/// A sample's value.
pub(super) enum Value {
    Int(u64),
    Float(f64),
}

/// Builds exposition text.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) text: String,
}

impl Writer {
    /// `# HELP` and `# TYPE` lines. Help texts are fixed and hold no backslash or newline.
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One series of a histogram `family`: a `_bucket` line per bound and `+Inf`, `_sum` and
    /// `_count`, from exported totals (`totals.buckets` holds one count per bound).
    pub(super) fn histogram(
        &mut self,
        family: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        totals: &Totals,
    ) {
        let bucket = format!("{family}_bucket");
        for (bound, n) in bounds.iter().zip(&totals.buckets) {
            let le = format_float(*bound);
            self.sample_with(&bucket, labels, ("le", &le), Value::Int(*n));
        }
        self.sample_with(&bucket, labels, ("le", "+Inf"), Value::Int(totals.count));
        self.sample(&format!("{family}_sum"), labels, Value::Float(totals.sum));
        self.sample(&format!("{family}_count"), labels, Value::Int(totals.count));
    }

    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.line(name, labels, None, value);
    }

    pub(super) fn sample_with(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        extra: (&str, &str),
        value: Value,
    ) {
        self.line(name, labels, Some(extra), value);
    }

    pub(super) fn line(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        self.text.push_str(name);
        let mut all = labels.iter().copied().chain(extra).peekable();
        if all.peek().is_some() {
            self.text.push('{');
            for (i, (key, value)) in all.enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(key);
                self.text.push_str("=\"");
                escape_label_value(value, &mut self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        match value {
            Value::Int(n) => {
                let _ = write!(self.text, "{n}");
            }
            Value::Float(x) => self.text.push_str(&format_float(x)),
        }
        self.text.push('\n');
    }
}

/// Escapes a label value as the text format requires: backslash, double quote and line feed.
pub(super) fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A float as the text format writes it: the shortest decimal that reads back exactly,
/// `+Inf`, `-Inf` or `NaN`.
pub(super) fn format_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x == f64::INFINITY {
        "+Inf".to_owned()
    } else if x == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        x.to_string()
    }
}
