//! A report as aligned text tables, or as Markdown.

use std::collections::BTreeMap;

use comfy_table::{CellAlignment, Table, presets};
use serde_json::Value;

use super::model::{Report, TEXT_COLUMNS, columns, run_fields};

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
        let mut table = Table::new();
        table.load_preset(if markdown {
            presets::ASCII_MARKDOWN
        } else {
            presets::UTF8_FULL_CONDENSED
        });
        let (header, cells) = columns(section.tracker_type);
        table.set_header(header.to_vec());
        for row in &section.rows {
            table.add_row(cells(row));
        }
        for (i, name) in header.iter().enumerate() {
            if !TEXT_COLUMNS.contains(name) {
                if let Some(column) = table.column_mut(i) {
                    column.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        out.push_str(&table.to_string());
        out.push_str("\n\n");
    }
    out
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
