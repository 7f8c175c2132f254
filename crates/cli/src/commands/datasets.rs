//! `uqforge datasets [NAME]`.

use serde_json::{Value, json};
use uqforge_core::Result;
use uqforge_datasets::ColumnData;

/// Arguments of `uqforge datasets`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A data set to describe (its columns); omit to list them all.
    name: Option<String>,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let Some(name) = &args.name else {
        return Ok(json!({ "datasets": uqforge_datasets::catalog() }));
    };
    let table = uqforge_datasets::load(name)?;
    let info = uqforge_datasets::catalog().iter().find(|d| d.name == name);
    let columns: Vec<Value> = table
        .columns()
        .iter()
        .map(|c| {
            let kind = match c.data {
                ColumnData::Numeric(_) => "numeric",
                ColumnData::Text(_) => "text",
            };
            json!({ "name": c.name, "type": kind })
        })
        .collect();
    Ok(json!({
        "name": name,
        "rows": table.n_rows(),
        "description": info.map(|i| i.description),
        "source": info.map(|i| i.source),
        "columns": columns,
    }))
}
