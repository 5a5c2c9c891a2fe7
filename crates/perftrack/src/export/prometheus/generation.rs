//! Generation trackers as metric families: a histogram per row of the naming table
//! ([`GenerationFigure`]), under the table's names and buckets, and counters of the requests
//! that failed, were cancelled or met the objectives.

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share its imports"
)]
use super::*;
use crate::tracker::Summary as _;

/// How many figures the naming table has.
const FIGURES: usize = GenerationFigure::ALL.len();

/// One exported generation tracker.
#[derive(Debug)]
pub(super) struct GenerationSource {
    pub(super) tracker: GenerationTracker,
    pub(super) name: Option<String>,
    pub(super) admitted: Mutex<BTreeSet<String>>,
    /// What previous scrapes exported, so that no counter or bucket ever decreases.
    pub(super) carry: Mutex<GenerationCarry>,
}

/// What previous scrapes of one generation tracker exported: one [`Carry`](carry::Carry) per
/// figure, as latency keeps one per tracker, and one for the request counters.
#[derive(Debug, Default)]
pub(super) struct GenerationCarry {
    /// In the order of [`GenerationFigure::ALL`].
    figures: [carry::Carry; FIGURES],
    /// `failed` and `cancelled` from the e2e distribution; `count` is the requests that met the
    /// objectives.
    requests: carry::Carry,
}

/// One exported label of a generation tracker.
struct GenerationSeries {
    label: String,
    /// Per figure, in the order of [`GenerationFigure::ALL`].
    figures: Vec<Totals>,
    requests: Totals,
}

impl GenerationSource {
    pub(super) fn new(tracker: &GenerationTracker, name: Option<String>) -> Self {
        Self {
            tracker: tracker.clone(),
            name,
            admitted: Mutex::default(),
            carry: Mutex::default(),
        }
    }

    /// Whether the tracker judges requests against objectives (fixed for its life: a file
    /// saved against other objectives is refused).
    fn objectives(&self) -> bool {
        !self.tracker.config().slo.is_empty()
    }

    /// The series of every exported label of one scrape, carried across resets and loads.
    fn scrape(&self, max_label_values: usize) -> Vec<GenerationSeries> {
        let snapshot = self.tracker.snapshot();
        // A label whose requests are all still running (and have flushed no chunk gap) has no
        // series yet.
        let summaries: BTreeMap<String, GenerationSummary> = snapshot
            .labels
            .into_iter()
            .filter(|(_, summary)| !summary.is_empty())
            .collect();
        let summaries = cap(&self.admitted, max_label_values, summaries, |a, b| {
            a.merge(&b);
        });
        let mut carry = lock(&self.carry);
        let carry = &mut *carry;
        for c in carry.figures.iter_mut().chain([&mut carry.requests]) {
            c.begin(snapshot.epoch);
        }
        let labels: BTreeSet<String> = summaries
            .keys()
            .chain(carry.figures.iter().flat_map(carry::Carry::carried))
            .chain(carry.requests.carried())
            .cloned()
            .collect();
        let series: Vec<GenerationSeries> = labels
            .into_iter()
            .map(|label| {
                let summary = summaries.get(&label);
                let figures = GenerationFigure::ALL
                    .iter()
                    .zip(&mut carry.figures)
                    .map(|(figure, carry)| {
                        let bounds = figure.names().buckets;
                        let mut current = Totals {
                            buckets: vec![0; bounds.len()],
                            ..Totals::default()
                        };
                        if let Some(summary) = summary {
                            let dist = figure.of(summary);
                            dist.counts_at_most(bounds, &mut current.buckets);
                            current.count = dist.count();
                            current.sum = dist.sum();
                        }
                        carry.export(&label, &current)
                    })
                    .collect();
                let mut current = Totals::default();
                if let Some(summary) = summary {
                    current.failed = GenerationCounter::Failed.of(summary);
                    current.cancelled = GenerationCounter::Cancelled.of(summary);
                    current.count = GenerationCounter::SloMet.of(summary);
                }
                let requests = carry.requests.export(&label, &current);
                GenerationSeries {
                    label,
                    figures,
                    requests,
                }
            })
            .collect();
        let exported = |label: &str| series.iter().any(|s| s.label == label);
        for c in carry.figures.iter_mut().chain([&mut carry.requests]) {
            c.finish(exported);
        }
        series
    }

    /// The labels of a series: `tracker` (when named), `perftrack_label` (unless unlabelled),
    /// the operation and provider from the tracker's configuration, and the token type of the
    /// token usage rows.
    fn labels<'a>(
        &'a self,
        label: &'a str,
        token_type: Option<&'a str>,
    ) -> Vec<(&'static str, &'a str)> {
        let config = self.tracker.config();
        let mut labels = Vec::with_capacity(5);
        if let Some(name) = &self.name {
            labels.push(("tracker", name.as_str()));
        }
        if !label.is_empty() {
            labels.push(("perftrack_label", label));
        }
        labels.push(("gen_ai_operation_name", config.operation_name.as_str()));
        labels.push(("gen_ai_provider_name", config.provider_name.as_str()));
        if let Some(token_type) = token_type {
            labels.push(("gen_ai_token_type", token_type));
        }
        labels
    }
}

pub(super) fn render_generation(
    out: &mut Writer,
    sources: &[GenerationSource],
    config: &PrometheusConfig,
) {
    let series: Vec<Vec<GenerationSeries>> = sources
        .iter()
        .map(|s| s.scrape(config.max_label_values))
        .collect();

    // Rows that share a Prometheus name (input and output token usage) are one family, told
    // apart by their token type: its header is written once, its series together.
    for (i, figure) in GenerationFigure::ALL.iter().enumerate() {
        let family = figure.names();
        if GenerationFigure::ALL[..i]
            .iter()
            .any(|f| f.names().prometheus_name == family.prometheus_name)
        {
            continue;
        }
        out.family(family.prometheus_name, "histogram", family.description);
        for (j, row) in GenerationFigure::ALL.iter().enumerate().skip(i) {
            let row = row.names();
            if row.prometheus_name != family.prometheus_name {
                continue;
            }
            for (source, series) in sources.iter().zip(&series) {
                for s in series {
                    let labels = source.labels(&s.label, row.token_type);
                    out.histogram(row.prometheus_name, &labels, row.buckets, &s.figures[j]);
                }
            }
        }
    }

    for counter in GenerationCounter::ALL {
        let names = counter.names();
        let family = names.prometheus_name;
        // Requests meeting the objectives exist only for trackers with objectives.
        let of_source =
            |source: &GenerationSource| counter != GenerationCounter::SloMet || source.objectives();
        if !sources.iter().any(of_source) {
            continue;
        }
        out.family(family, "counter", names.description);
        for (source, series) in sources.iter().zip(&series) {
            if !of_source(source) {
                continue;
            }
            for s in series {
                let labels = source.labels(&s.label, None);
                let n = match counter {
                    GenerationCounter::Failed => s.requests.failed,
                    GenerationCounter::Cancelled => s.requests.cancelled,
                    _ => s.requests.count,
                };
                out.sample(family, &labels, Value::Int(n));
            }
        }
    }
}
