//! The live one-line status on a terminal's stderr, and byte counts for people.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The shortest time between two refreshes of the status line.
pub(crate) const REFRESH: Duration = Duration::from_millis(250);

/// The status line; inert unless stderr is a terminal.
#[derive(Debug)]
pub(crate) struct Live {
    on: bool,
    shown: Option<Instant>,
}

impl Live {
    /// A status line if stderr is a terminal.
    pub(crate) fn new() -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            shown: None,
        }
    }

    /// A status line that is never shown.
    pub(crate) fn off() -> Self {
        Self {
            on: false,
            shown: None,
        }
    }

    /// Whether the line is shown at all.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Redraws the line if it is on and was last drawn at least [`REFRESH`] ago.
    pub(crate) fn show(
        &mut self,
        now: Instant,
        elapsed: Duration,
        cpu: Option<f64>,
        rss: Option<u64>,
    ) {
        if !self.on || self.shown.is_some_and(|t| now.duration_since(t) < REFRESH) {
            return;
        }
        self.shown = Some(now);
        let cpu = cpu.map_or_else(|| "-".to_owned(), |c| format!("{c:.0} %"));
        let rss = rss.map_or_else(|| "-".to_owned(), bytes);
        let mut err = std::io::stderr().lock();
        // `\r` and "erase line" keep it on one line; a failed write to stderr is not worth
        // stopping the run for.
        let _ = write!(
            err,
            "\r\x1b[2Kperftrack: {:.1} s  CPU {cpu}  RSS {rss}",
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
    }

    /// Erases the line.
    pub(crate) fn clear(&mut self) {
        if self.on && self.shown.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1 (`301.2 MiB`).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_people_write_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(300 << 20), "300.0 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
