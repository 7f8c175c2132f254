//! Reading `--data` arguments: a CSV path, `-` for standard input, or a shipped data-set name.

use std::io::Read;
use std::path::Path;

use uqforge_core::{Error, Result};
use uqforge_datasets::Table;

/// Reads `spec` as a table: a file when one exists at that path, standard input for `-`, and a
/// shipped data set otherwise.
pub(crate) fn read_table(spec: &str) -> Result<Table> {
    if spec == "-" {
        return Table::from_csv_str(&read_text(spec)?, "standard input");
    }
    let path = Path::new(spec);
    if path.is_file() {
        return Table::from_csv_path(path);
    }
    if uqforge_datasets::catalog().iter().any(|d| d.name == spec) {
        return uqforge_datasets::load(spec);
    }
    Err(Error::invalid_parameter(
        "--data",
        format!(
            "`{spec}` is neither a readable file nor a shipped data set (`uqforge datasets` lists them)"
        ),
    ))
}

/// The text of the file `spec`, or of standard input for `-`.
pub(crate) fn read_text(spec: &str) -> Result<String> {
    if spec == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::io("standard input", e))?;
        return Ok(text);
    }
    std::fs::read_to_string(spec).map_err(|e| Error::io(spec, e))
}

/// The numeric columns `names` of `table`, rejecting missing or non-finite values by column name.
pub(crate) fn finite_columns(table: &Table, names: &[&str]) -> Result<()> {
    for name in names {
        let values = table.numeric(name)?;
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("column `{name}` (a missing value?), data row {}", row + 1),
                index: row,
                value: values[row],
            });
        }
    }
    Ok(())
}
