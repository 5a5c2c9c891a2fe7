//! A report as aligned text tables, or as Markdown.

use std::collections::BTreeMap;

use comfy_table::{Cell, CellAlignment, Table, presets};
use serde_json::Value;

use super::model::{Report, TEXT_COLUMNS, columns, requests_table, run_fields};
use crate::bench::summary;

/// The report as text tables, or Markdown with `markdown`.
pub(super) fn text(report: &Report, markdown: bool) -> String {
    let mut out = String::new();
    let mut last_run: Option<&BTreeMap<String, Value>> = None;
    for section in &report.inputs {
        if let Some(run) = &section.run {
            if last_run != Some(run) {
                out.push_str(&run_summary(run, markdown));
                out.push('\n');
            }
            last_run = Some(run);
        }
        if markdown {
            out.push_str(&format!(
                "### {} — `{}`\n\n",
                section.tracker_type, section.source
            ));
        } else {
            out.push_str(&format!("{} — {}\n", section.tracker_type, section.source));
        }
        if section.rows.is_empty() {
            out.push_str("(no measurements)\n\n");
            continue;
        }
        if let Some(objectives) = &section.objectives {
            out.push_str(&objectives.line());
            out.push_str("\n\n");
        }
        if let Some((header, rows)) = requests_table(section) {
            out.push_str(&table(&header, rows, markdown));
            out.push_str("\n\n");
        }
        let (header, cells) = columns(section.tracker_type);
        out.push_str(&table(header, section.rows.iter().map(cells), markdown));
        out.push_str("\n\n");
    }
    for bench in &report.benches {
        if markdown {
            out.push_str(&format!("### bench — `{}`\n\n", bench.source));
        } else {
            out.push_str(&format!("bench — {}\n", bench.source));
        }
        out.push_str(&summary::render(&bench.summary, markdown));
        out.push('\n');
    }
    out
}

/// A table with `header`, numbers aligned right.
fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<Cell>>, markdown: bool) -> String {
    aligned_table(header, rows, markdown, |_, name| {
        !TEXT_COLUMNS.contains(&name)
    })
}

/// A table with `header` (as text or Markdown), the columns for which `right(index, name)`
/// holds aligned right: every table the command prints.
pub(crate) fn aligned_table<R: Into<comfy_table::Row>>(
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
    markdown: bool,
    right: impl Fn(usize, &str) -> bool,
) -> String {
    let mut table = Table::new();
    table.load_preset(if markdown {
        presets::ASCII_MARKDOWN
    } else {
        presets::UTF8_FULL_CONDENSED
    });
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for (i, name) in header.iter().enumerate() {
        if right(i, name) {
            if let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    table.to_string()
}

fn run_summary(run: &BTreeMap<String, Value>, markdown: bool) -> String {
    let mut out = String::new();
    out.push_str(if markdown { "### run\n\n" } else { "run\n" });
    for (key, value) in run_fields(run) {
        if markdown {
            out.push_str(&format!("- **{key}**: `{value}`\n"));
        } else {
            out.push_str(&format!("  {key}: {value}\n"));
        }
    }
    out
}
