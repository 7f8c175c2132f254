//! `uqforge describe --data FILE|NAME [--columns a,b]`: what the CLI reads from an input.

use serde_json::{Value, json};
use uqforge_core::Result;
use uqforge_datasets::ColumnData;

use crate::input::read_table;

/// Arguments of `uqforge describe`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV file, `-` for standard input, or a shipped data set name.
    #[arg(long)]
    data: String,
    /// Columns to describe (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let table = read_table(&args.data)?;
    let names: Vec<String> = if args.columns.is_empty() {
        table.names().into_iter().map(str::to_owned).collect()
    } else {
        args.columns.clone()
    };
    let columns = names
        .iter()
        .map(|name| {
            let column = table.column(name)?;
            Ok(match &column.data {
                ColumnData::Numeric(v) => numeric_summary(name, v),
                ColumnData::Text(v) => {
                    let mut distinct: Vec<&str> = v.iter().flatten().map(String::as_str).collect();
                    distinct.sort_unstable();
                    distinct.dedup();
                    json!({
                        "name": name, "type": "text",
                        "missing": v.iter().filter(|x| x.is_none()).count(),
                        "distinct": distinct.len(),
                    })
                }
            })
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(json!({
        "data": args.data,
        "rows": table.n_rows(),
        "header": table.has_header(),
        "columns": columns,
    }))
}

fn numeric_summary(name: &str, v: &[f64]) -> Value {
    let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = present.len();
    let (mean, sd, min, max) = if n == 0 {
        (None, None, None, None)
    } else {
        let mean = present.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            (present.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        let min = present.iter().copied().fold(f64::INFINITY, f64::min);
        let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (Some(mean), sd, Some(min), Some(max))
    };
    json!({
        "name": name, "type": "numeric", "missing": v.len() - n,
        "mean": mean, "std": sd, "min": min, "max": max,
    })
}
