//! The kinds of tracker and the one table of their names: the `tracker_type` metrics files
//! carry, the Python original's type names, and the aliases people type.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::{Error, Result};

/// A kind of tracker: what a metrics file's `tracker_type` names and what
/// [`get_performance_tracker`](crate::get_performance_tracker) makes.
///
/// Every spelling of a kind comes from one table: [`file_type`](Self::file_type) is what files
/// carry, [`python_type`](Self::python_type) what the Python original's files carry, and
/// [`aliases`](Self::aliases) the other names users may type. Files are machine-written, so
/// [`from_file_type`](Self::from_file_type) matches them exactly; people are not, so
/// [`from_name`](Self::from_name) (and `str::parse`) ignores case and surrounding whitespace.
///
/// ```
/// use perftrack::TrackerKind;
///
/// let kind: TrackerKind = " CPU_usage ".parse()?;
/// assert_eq!(kind, TrackerKind::Cpu);
/// assert_eq!((kind.file_type(), kind.python_type()), ("cpu", "CPUUsageTracker"));
/// assert_eq!(TrackerKind::from_file_type("MemoryUsageTracker"), Some(TrackerKind::Memory));
/// assert_eq!(kind.to_string(), "cpu");
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrackerKind {
    /// [`LatencyTracker`](crate::LatencyTracker): `latency`, the Python original's
    /// `LatencyTracker`.
    Latency,
    /// [`ThroughputTracker`](crate::ThroughputTracker): `throughput`, the Python original's
    /// `ThroughputTracker`.
    Throughput,
    /// [`MemoryUsageTracker`](crate::MemoryUsageTracker): `memory` (or `memory_usage`), the
    /// Python original's `MemoryUsageTracker`.
    Memory,
    /// [`CpuUsageTracker`](crate::CpuUsageTracker): `cpu` (or `cpu_usage`), the Python
    /// original's `CPUUsageTracker`.
    Cpu,
    /// [`GenerationTracker`](crate::GenerationTracker): `generation` (or `llm`, `stream`).
    /// The Python original had none; `GenerationTracker` is the Python package's class.
    Generation,
}

/// The names of one kind.
struct Names {
    /// The kind named (the table's rows follow the variants' order; a test checks it).
    kind: TrackerKind,
    /// The `tracker_type` of perftrack's metrics files.
    file: &'static str,
    /// The `tracker_type` of the Python original's files.
    python: &'static str,
    /// Other names users may give, besides the two above.
    aliases: &'static [&'static str],
    /// Whether the Python original had this kind (and wrote files of it).
    original: bool,
}

/// Every name of every kind: the only place they are spelled.
static NAMES: [Names; 5] = [
    Names {
        kind: TrackerKind::Latency,
        file: "latency",
        python: "LatencyTracker",
        aliases: &[],
        original: true,
    },
    Names {
        kind: TrackerKind::Throughput,
        file: "throughput",
        python: "ThroughputTracker",
        aliases: &[],
        original: true,
    },
    Names {
        kind: TrackerKind::Memory,
        file: "memory",
        python: "MemoryUsageTracker",
        aliases: &["memory_usage"],
        original: true,
    },
    Names {
        kind: TrackerKind::Cpu,
        file: "cpu",
        python: "CPUUsageTracker",
        aliases: &["cpu_usage"],
        original: true,
    },
    Names {
        kind: TrackerKind::Generation,
        file: "generation",
        python: "GenerationTracker",
        aliases: &["llm", "stream"],
        original: false,
    },
];

impl TrackerKind {
    /// Every kind, in the order of the variants.
    ///
    /// ```
    /// use perftrack::TrackerKind;
    /// let names: Vec<&str> = TrackerKind::ALL.iter().map(|k| k.file_type()).collect();
    /// assert_eq!(names, ["latency", "throughput", "memory", "cpu", "generation"]);
    /// ```
    pub const ALL: &'static [TrackerKind] = &[
        TrackerKind::Latency,
        TrackerKind::Throughput,
        TrackerKind::Memory,
        TrackerKind::Cpu,
        TrackerKind::Generation,
    ];

    /// This kind's row of the table.
    const fn names(self) -> &'static Names {
        &NAMES[self as usize]
    }

    /// The `tracker_type` perftrack's metrics files carry: `"latency"`, `"throughput"`,
    /// `"memory"` or `"cpu"`. Also what [`Display`](fmt::Display) writes.
    ///
    /// ```
    /// assert_eq!(perftrack::TrackerKind::Memory.file_type(), "memory");
    /// ```
    #[must_use]
    pub const fn file_type(self) -> &'static str {
        self.names().file
    }

    /// The `tracker_type` the Python original's files carry: `"LatencyTracker"`,
    /// `"ThroughputTracker"`, `"MemoryUsageTracker"` or `"CPUUsageTracker"`; for generation,
    /// which the original did not have, `"GenerationTracker"`, the Python package's class.
    ///
    /// ```
    /// assert_eq!(perftrack::TrackerKind::Cpu.python_type(), "CPUUsageTracker");
    /// ```
    #[must_use]
    pub const fn python_type(self) -> &'static str {
        self.names().python
    }

    /// The names [`from_name`](Self::from_name) accepts besides the file and Python types:
    /// `memory_usage` and `cpu_usage`, the original factory's names.
    ///
    /// ```
    /// use perftrack::TrackerKind;
    /// assert_eq!(TrackerKind::Memory.aliases(), ["memory_usage"]);
    /// assert!(TrackerKind::Latency.aliases().is_empty());
    /// ```
    #[must_use]
    pub const fn aliases(self) -> &'static [&'static str] {
        self.names().aliases
    }

    /// The kind a metrics file's `tracker_type` names, perftrack's or the Python original's,
    /// spelled exactly (files are machine-written); `None` for any other value.
    ///
    /// ```
    /// use perftrack::TrackerKind;
    /// assert_eq!(TrackerKind::from_file_type("latency"), Some(TrackerKind::Latency));
    /// assert_eq!(TrackerKind::from_file_type("CPUUsageTracker"), Some(TrackerKind::Cpu));
    /// assert_eq!(TrackerKind::from_file_type("Latency"), None);
    /// assert_eq!(TrackerKind::from_file_type("memory_usage"), None);
    /// ```
    #[must_use]
    pub fn from_file_type(tracker_type: &str) -> Option<Self> {
        NAMES
            .iter()
            .find(|n| n.file == tracker_type || n.python == tracker_type)
            .map(|n| n.kind)
    }

    /// The kind a user named: its file type, its Python type or an alias, in any case,
    /// surrounding whitespace ignored. Anything else is an [`Error::UnknownTrackerType`] that
    /// lists the names accepted.
    ///
    /// ```
    /// use perftrack::{Error, TrackerKind};
    /// assert_eq!(TrackerKind::from_name("Latency")?, TrackerKind::Latency);
    /// assert_eq!(TrackerKind::from_name("memory_usage")?, TrackerKind::Memory);
    /// assert_eq!(TrackerKind::from_name(" cpuusagetracker ")?, TrackerKind::Cpu);
    /// let err = TrackerKind::from_name("gpu").unwrap_err();
    /// assert!(matches!(err, Error::UnknownTrackerType { .. }));
    /// assert!(err.to_string().contains("memory (or memory_usage)"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        let trimmed = name.trim();
        NAMES
            .iter()
            .find(|n| {
                std::iter::once(&n.file)
                    .chain([&n.python])
                    .chain(n.aliases)
                    .any(|known| known.eq_ignore_ascii_case(trimmed))
            })
            .map(|n| n.kind)
            .ok_or_else(|| Error::UnknownTrackerType {
                kind: name.to_owned(),
                valid: VALID_NAMES.as_str(),
            })
    }
}

/// What [`TrackerKind::from_name`] accepts, for its error: `latency, throughput, memory (or
/// memory_usage), cpu (or cpu_usage), or the Python original's LatencyTracker, …`.
static VALID_NAMES: LazyLock<String> = LazyLock::new(|| {
    let kinds: Vec<String> = NAMES
        .iter()
        .map(|n| match n.aliases {
            [] => n.file.to_owned(),
            aliases => format!("{} (or {})", n.file, aliases.join(", ")),
        })
        .collect();
    let python: Vec<&str> = NAMES
        .iter()
        .filter(|n| n.original)
        .map(|n| n.python)
        .collect();
    format!(
        "{}, or the Python original's {}",
        kinds.join(", "),
        python.join(", ")
    )
});

/// What a metrics file's `tracker_type` may be, for errors about one that is none of them:
/// `latency, throughput, memory or cpu, or the Python original's LatencyTracker, …`.
pub(crate) fn valid_file_types() -> &'static str {
    static VALID: LazyLock<String> = LazyLock::new(|| {
        let or = |names: Vec<&str>| match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        format!(
            "{}, or the Python original's {}",
            or(NAMES.iter().map(|n| n.file).collect()),
            or(NAMES
                .iter()
                .filter(|n| n.original)
                .map(|n| n.python)
                .collect())
        )
    });
    VALID.as_str()
}

impl fmt::Display for TrackerKind {
    /// Writes the [`file_type`](TrackerKind::file_type).
    ///
    /// ```
    /// assert_eq!(format!("{}", perftrack::TrackerKind::Throughput), "throughput");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_type())
    }
}

impl FromStr for TrackerKind {
    type Err = Error;

    /// [`TrackerKind::from_name`].
    ///
    /// ```
    /// let kind: perftrack::TrackerKind = "THROUGHPUT".parse()?;
    /// assert_eq!(kind, perftrack::TrackerKind::Throughput);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_variants() {
        assert_eq!(TrackerKind::ALL.len(), NAMES.len());
        for (i, (&kind, names)) in TrackerKind::ALL.iter().zip(&NAMES).enumerate() {
            assert_eq!((kind as usize, names.kind), (i, kind));
        }
    }

    #[test]
    fn every_name_is_unique_across_kinds() {
        let mut seen = std::collections::HashSet::new();
        for n in &NAMES {
            for name in std::iter::once(&n.file).chain([&n.python]).chain(n.aliases) {
                assert!(seen.insert(name.to_ascii_lowercase()), "{name} twice");
            }
        }
    }

    #[test]
    fn file_types_are_exact_and_names_are_not() {
        for &kind in TrackerKind::ALL {
            for name in [kind.file_type(), kind.python_type()] {
                assert_eq!(TrackerKind::from_file_type(name), Some(kind));
                assert_eq!(TrackerKind::from_name(name).unwrap(), kind);
                let shouted = format!("  {}\t", name.to_uppercase());
                assert_eq!(TrackerKind::from_file_type(&shouted), None);
                assert_eq!(TrackerKind::from_name(&shouted).unwrap(), kind);
            }
            for alias in kind.aliases() {
                assert_eq!(TrackerKind::from_file_type(alias), None);
                assert_eq!(TrackerKind::from_name(alias).unwrap(), kind);
            }
        }
        // Every spelling the factory and the command accepted before the table.
        for (name, kind) in [
            ("latency", TrackerKind::Latency),
            ("LatencyTracker", TrackerKind::Latency),
            ("throughput", TrackerKind::Throughput),
            ("ThroughputTracker", TrackerKind::Throughput),
            ("memory", TrackerKind::Memory),
            ("memory_usage", TrackerKind::Memory),
            ("MemoryUsageTracker", TrackerKind::Memory),
            ("cpu", TrackerKind::Cpu),
            ("cpu_usage", TrackerKind::Cpu),
            ("CPUUsageTracker", TrackerKind::Cpu),
            ("generation", TrackerKind::Generation),
            ("LLM", TrackerKind::Generation),
            ("stream", TrackerKind::Generation),
            ("GenerationTracker", TrackerKind::Generation),
        ] {
            assert_eq!(TrackerKind::from_name(name).unwrap(), kind, "{name}");
        }
        assert!(TrackerKind::from_file_type("gpu").is_none());
        assert!(TrackerKind::from_name("").is_err());
    }

    #[test]
    fn errors_list_every_name() {
        let err = TrackerKind::from_name("gpu").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown performance tracker type `gpu`; valid types are: latency, throughput, \
             memory (or memory_usage), cpu (or cpu_usage), generation (or llm, stream), or the \
             Python original's LatencyTracker, ThroughputTracker, MemoryUsageTracker, \
             CPUUsageTracker"
        );
        assert_eq!(
            valid_file_types(),
            "latency, throughput, memory, cpu or generation, or the Python original's \
             LatencyTracker, ThroughputTracker, MemoryUsageTracker or CPUUsageTracker"
        );
    }
}
