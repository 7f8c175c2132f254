//! A small column table read from CSV, the input format of the `uqforge` CLI and of the loaders.
//!
//! Rules, applied to every file:
//! - **Header detection**: the first row is a header when at least one of its cells is not a
//!   number (nor a missing-value marker). Without a header, columns are named `c1, c2, …`.
//! - **Missing values**: empty cells and `NA`, `NaN`, `MISS` (any case) read as missing: `NaN` in
//!   numeric columns, `None` in text columns. Methods reject NaN with a typed error that names the
//!   column and row, so a missing value is never used silently.
//! - **Column types**: a column is numeric when every present cell parses as `f64`, text otherwise.
//! - Cells are trimmed; quoted fields follow RFC 4180 (through the `csv` crate).
//!
//! ```
//! use uqforge_datasets::Table;
//! let t = Table::from_csv_str("x,y,site\n1,2.5,a\n3,NA,b\n", "example")?;
//! assert_eq!(t.n_rows(), 2);
//! assert_eq!(t.numeric("x")?, &[1.0, 3.0]);
//! assert!(t.numeric("y")?[1].is_nan());
//! let m = t.matrix(&["x", "y"])?; // rows = observations
//! assert_eq!(m.shape(), (2, 2));
//! assert!(t.numeric("site").is_err()); // a text column
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

/// The values of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnData {
    /// Numbers; missing values are NaN.
    Numeric(Vec<f64>),
    /// Text; missing values are `None`.
    Text(Vec<Option<String>>),
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Header name (or `c1`, `c2`, … without a header).
    pub name: String,
    /// The values, one per row.
    pub data: ColumnData,
}

/// Columns of equal length, read from CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    columns: Vec<Column>,
    n_rows: usize,
    has_header: bool,
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty()
        || cell.eq_ignore_ascii_case("na")
        || cell.eq_ignore_ascii_case("nan")
        || cell.eq_ignore_ascii_case("miss")
}

fn parse_number(cell: &str) -> Option<f64> {
    if is_missing(cell) {
        return Some(f64::NAN);
    }
    // Rust's parser also accepts "inf"/"infinity"; a CSV of measurements means those as text.
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

impl Table {
    /// Reads CSV text. `what` names the source in error messages (a path or a data-set name).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no data rows or no columns; [`Error::Parse`] for malformed CSV,
    /// rows of unequal length (with the line number) or duplicate column names.
    pub fn from_csv_str(text: &str, what: &str) -> Result<Self> {
        Self::from_reader(text.as_bytes(), what)
    }

    /// Reads a CSV file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, then as [`Table::from_csv_str`].
    pub fn from_csv_path(path: &std::path::Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        Self::from_reader(std::io::BufReader::new(file), &path.display().to_string())
    }

    fn from_reader(reader: impl std::io::Read, what: &str) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let mut records: Vec<csv::StringRecord> = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => Error::parse(
                        format!("{what} line {line}"),
                        format!("expected {expected_len} fields, found {len}"),
                    ),
                    _ => Error::parse(format!("{what} line {line}"), e),
                }
            })?;
            // Skip blank lines (a trailing newline, a blank line between blocks).
            if rec.iter().all(str::is_empty) {
                continue;
            }
            records.push(rec);
        }
        let Some(first) = records.first() else {
            return Err(Error::EmptyInput {
                what: format!("{what}: no rows"),
            });
        };
        let width = first.len();
        let has_header = first.iter().any(|c| parse_number(c).is_none());
        let names: Vec<String> = if has_header {
            first.iter().map(str::to_owned).collect()
        } else {
            (1..=width).map(|i| format!("c{i}")).collect()
        };
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::parse(
                    format!("{what} header"),
                    format!("column {} has no name", i + 1),
                ));
            }
            if names[..i].contains(name) {
                return Err(Error::parse(
                    format!("{what} header"),
                    format!("duplicate column name `{name}`"),
                ));
            }
        }
        let body = &records[usize::from(has_header)..];
        if body.is_empty() {
            return Err(Error::EmptyInput {
                what: format!("{what}: a header but no data rows"),
            });
        }
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(j, name)| {
                let numeric: Option<Vec<f64>> = body.iter().map(|r| parse_number(&r[j])).collect();
                let data = match numeric {
                    Some(values) => ColumnData::Numeric(values),
                    None => ColumnData::Text(
                        body.iter()
                            .map(|r| (!is_missing(&r[j])).then(|| r[j].to_owned()))
                            .collect(),
                    ),
                };
                Column { name, data }
            })
            .collect();
        Ok(Self {
            columns,
            n_rows: body.len(),
            has_header,
        })
    }

    /// Number of data rows (the header excluded).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Whether the first row was read as a header.
    pub fn has_header(&self) -> bool {
        self.has_header
    }

    /// The columns, in file order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The column called `name`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] listing the available columns when there is none.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            Error::invalid_parameter(
                "column",
                format!(
                    "no column `{name}`; columns are: {}",
                    self.names().join(", ")
                ),
            )
        })
    }

    /// The numeric column called `name` (missing values as NaN).
    ///
    /// # Errors
    /// As [`Table::column`]; [`Error::InvalidParameter`] for a text column.
    pub fn numeric(&self, name: &str) -> Result<&[f64]> {
        match &self.column(name)?.data {
            ColumnData::Numeric(v) => Ok(v),
            ColumnData::Text(_) => Err(Error::invalid_parameter(
                "column",
                format!("column `{name}` holds text, not numbers"),
            )),
        }
    }

    /// The text column called `name` (missing values as `None`).
    ///
    /// # Errors
    /// As [`Table::column`]; [`Error::InvalidParameter`] for a numeric column.
    pub fn text(&self, name: &str) -> Result<&[Option<String>]> {
        match &self.column(name)?.data {
            ColumnData::Text(v) => Ok(v),
            ColumnData::Numeric(_) => Err(Error::invalid_parameter(
                "column",
                format!("column `{name}` holds numbers, not text"),
            )),
        }
    }

    /// The numeric column `name` as a vector.
    ///
    /// # Errors
    /// As [`Table::numeric`].
    pub fn vector(&self, name: &str) -> Result<DVector<f64>> {
        Ok(DVector::from_column_slice(self.numeric(name)?))
    }

    /// The numeric columns `names` side by side: an `n_rows x names.len()` matrix, rows =
    /// observations.
    ///
    /// # Errors
    /// As [`Table::numeric`] for each name; [`Error::EmptyInput`] for no names.
    pub fn matrix(&self, names: &[&str]) -> Result<DMatrix<f64>> {
        uqforge_core::validate::non_empty("column list", names)?;
        let cols = names
            .iter()
            .map(|n| self.numeric(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(DMatrix::from_fn(self.n_rows, cols.len(), |i, j| cols[j][i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_header_only_when_the_first_row_is_not_numeric() {
        let t = Table::from_csv_str("1,2\n3,4\n", "t").unwrap();
        assert!(!t.has_header());
        assert_eq!(t.names(), ["c1", "c2"]);
        assert_eq!(t.numeric("c2").unwrap(), &[2.0, 4.0]);
        let t = Table::from_csv_str("\"a\", b\n1, 2\n", "t").unwrap();
        assert!(t.has_header());
        assert_eq!(t.names(), ["a", "b"]);
        // A first row of missing markers and numbers is data, not a header.
        let t = Table::from_csv_str("NA,2\n3,4\n", "t").unwrap();
        assert!(!t.has_header());
        assert_eq!(t.n_rows(), 2);
    }

    #[test]
    fn reads_missing_values_and_text_columns() {
        let t = Table::from_csv_str("x,s\n1,a\n,NA\nmiss,b\n", "t").unwrap();
        let x = t.numeric("x").unwrap();
        assert_eq!(x[0], 1.0);
        assert!(x[1].is_nan() && x[2].is_nan());
        assert_eq!(
            t.text("s").unwrap(),
            &[Some("a".into()), None, Some("b".into())]
        );
        assert!(t.text("x").is_err());
    }

    #[test]
    fn bad_input_gets_clear_errors() {
        let e = Table::from_csv_str("", "empty.csv").unwrap_err();
        assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
        let e = Table::from_csv_str("a,b\n", "t").unwrap_err();
        assert!(e.to_string().contains("no data rows"), "{e}");
        let e = Table::from_csv_str("a,b\n1,2\n3\n", "t.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error in t.csv line 3: expected 2 fields, found 1"
        );
        let e = Table::from_csv_str("a,a\n1,2\n", "t").unwrap_err();
        assert!(e.to_string().contains("duplicate column name `a`"), "{e}");
        let t = Table::from_csv_str("a,b\n1,2\n", "t").unwrap();
        let e = t.numeric("z").unwrap_err();
        assert!(
            e.to_string().contains("no column `z`; columns are: a, b"),
            "{e}"
        );
        assert!(t.matrix(&[]).is_err());
        // "inf" is not a measurement: the column is text.
        let t = Table::from_csv_str("a\ninf\n", "t").unwrap();
        assert!(t.numeric("a").is_err());
    }

    #[test]
    fn matrix_has_rows_as_observations() {
        let t = Table::from_csv_str("a,b,c\n1,2,3\n4,5,6\n", "t").unwrap();
        let m = t.matrix(&["c", "a"]).unwrap();
        assert_eq!(m, DMatrix::from_row_slice(2, 2, &[3.0, 1.0, 6.0, 4.0]));
    }
}
