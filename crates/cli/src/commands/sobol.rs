//! `uqforge sobol`: Sobol' indices of a test function, or of a given data set (rank estimator).

use serde_json::{Map, Value, json};
use uqforge_core::{Error, Estimate, Result};
use uqforge_sensitivity::{
    Design, Estimator, PickFreezeConfig, TestFunction,
    rank::{rank_first_order, rank_first_order_of_model},
    smd::{SmdConfig, smd_indices},
    sobol_indices,
};

use crate::input::{finite_columns, read_table};

/// Arguments of `uqforge sobol`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Test function with analytic indices: ishigami, gfunction, linear, bratley.
    #[arg(long, conflicts_with = "data")]
    function: Option<String>,
    /// Dimension of gfunction, linear and bratley (default: the length of --a, else 8, 3, 5).
    #[arg(long)]
    dim: Option<usize>,
    /// Coefficients: g-function a_i, linear beta_i, or Ishigami's a,b (default 7,0.1).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    a: Vec<f64>,
    /// Base sample size N (a power of two for --design qmc).
    #[arg(long)]
    n: Option<usize>,
    /// saltelli, sobol2007, martinez, janon, jansen, homma, smd (all 2^d - 1 indices by mirror
    /// descent; --n is then the number of pick-freeze pairs per chain), or rank.
    #[arg(long)]
    estimator: String,
    /// mc (Monte Carlo) or qmc (scrambled Sobol' points); default qmc, and mc for rank.
    #[arg(long)]
    design: Option<String>,
    /// Independent replicates (default 10 for qmc, 1 for mc, 4 chains for smd); qmc and smd
    /// intervals need at least 2.
    #[arg(long)]
    replicates: Option<u32>,
    /// Groups of inputs, e.g. `fast:x1+x3,slow:x2` (a partition of the inputs; pick-freeze only).
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Also estimate second-order indices S_ij (N d more evaluations per replicate).
    #[arg(long)]
    second_order: bool,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Given-data mode: CSV file, `-` or shipped data set (with --inputs, --output).
    #[arg(long, requires_all = ["inputs", "output"])]
    data: Option<String>,
    /// Input columns of --data.
    #[arg(long, value_delimiter = ',')]
    inputs: Vec<String>,
    /// Output column of --data.
    #[arg(long)]
    output: Option<String>,
}

fn test_function(args: &Args, name: &str) -> Result<TestFunction> {
    let f = match name {
        "ishigami" => match args.a.as_slice() {
            [] => TestFunction::ishigami(),
            [a, b] => TestFunction::Ishigami { a: *a, b: *b },
            other => {
                return Err(Error::invalid_parameter(
                    "--a",
                    format!("ishigami takes two coefficients a,b; got {}", other.len()),
                ));
            }
        },
        "gfunction" | "linear" | "bratley" => {
            let d = match (args.dim, args.a.len()) {
                (Some(d), 0) => d,
                (Some(d), len) if d != len => {
                    return Err(Error::DimensionMismatch {
                        what: "--a coefficients (one per input of --dim)".into(),
                        expected: d,
                        found: len,
                    });
                }
                (_, len) if len > 0 => len,
                (_, _) => match name {
                    "gfunction" => 8,
                    "linear" => 3,
                    _ => 5,
                },
            };
            let coeffs = |default: &dyn Fn(usize) -> f64| -> Vec<f64> {
                if args.a.is_empty() {
                    (0..d).map(default).collect()
                } else {
                    args.a.clone()
                }
            };
            match name {
                // Saltelli's classic g-function: a = (0, 1, 4.5, 9, 99, 99, 99, 99).
                "gfunction" => TestFunction::GFunction {
                    a: coeffs(&|i| [0.0, 1.0, 4.5, 9.0].get(i).copied().unwrap_or(99.0)),
                },
                "linear" => TestFunction::Linear {
                    beta: coeffs(&|i| (i + 1) as f64),
                },
                _ => {
                    if !args.a.is_empty() {
                        return Err(Error::invalid_parameter(
                            "--a",
                            "bratley takes no coefficients",
                        ));
                    }
                    TestFunction::Bratley { d }
                }
            }
        }
        other => {
            return Err(Error::invalid_parameter(
                "--function",
                format!(
                    "unknown function `{other}`; choose ishigami, gfunction, linear or bratley"
                ),
            ));
        }
    };
    f.validate()?;
    Ok(f)
}

/// The keys of the `uqforge sobol` contract shared by every estimator with total indices.
fn contract_keys(
    out: &mut Map<String, Value>,
    estimator: &str,
    evaluations: u64,
    names: &[String],
    first_order: &[Estimate],
    total: &[Estimate],
) {
    out.insert("estimator".into(), json!(estimator));
    out.insert("evaluations".into(), json!(evaluations));
    out.insert("names".into(), json!(names));
    out.insert("first_order".into(), values(first_order));
    out.insert("total".into(), values(total));
    if let Some(ci) = intervals(first_order) {
        out.insert("first_order_ci".into(), ci);
    }
    if let Some(ci) = intervals(total) {
        out.insert("total_ci".into(), ci);
    }
}

fn values(e: &[Estimate]) -> Value {
    json!(e.iter().map(|x| x.value).collect::<Vec<_>>())
}

fn intervals(e: &[Estimate]) -> Option<Value> {
    e.iter()
        .map(|x| x.ci.map(|c| json!([c.lower, c.upper])))
        .collect::<Option<Vec<_>>>()
        .map(Value::from)
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let mut out = Map::new();
    if let Some(data) = &args.data {
        if args.estimator != "rank" {
            return Err(Error::invalid_parameter(
                "--estimator",
                "given data (--data) supports only the rank estimator; pick-freeze estimators need a design",
            ));
        }
        let table = read_table(data)?;
        let names: Vec<&str> = args.inputs.iter().map(String::as_str).collect();
        let output = args.output.as_deref().unwrap_or_default();
        finite_columns(&table, &names)?;
        finite_columns(&table, &[output])?;
        let x = table.matrix(&names)?;
        let y = table.vector(output)?;
        let s = rank_first_order(&x, &y)?;
        out.insert("estimator".into(), json!("rank"));
        out.insert("evaluations".into(), json!(y.len()));
        out.insert("names".into(), json!(args.inputs));
        out.insert("first_order".into(), values(&s));
        out.insert("data".into(), json!(data));
        out.insert("output".into(), json!(output));
        return Ok(Value::Object(out));
    }
    let Some(name) = &args.function else {
        return Err(Error::invalid_parameter(
            "--function",
            "give a test function (--function) or a data set (--data with --inputs, --output)",
        ));
    };
    let f = test_function(args, name)?;
    let n = args
        .n
        .ok_or_else(|| Error::invalid_parameter("--n", "the base sample size is required"))?;
    // rank and smd need independent Monte Carlo points; pick-freeze defaults to scrambled Sobol'.
    let on_line = matches!(args.estimator.as_str(), "rank" | "smd");
    let design_name = args
        .design
        .as_deref()
        .unwrap_or(if on_line { "mc" } else { "qmc" });
    let design = match design_name {
        "mc" => Design::MonteCarlo,
        "qmc" if args.estimator == "rank" => {
            return Err(Error::invalid_parameter(
                "--design",
                "the rank estimator needs independent points: on a QMC net, rows adjacent in one input are correlated in the others; use --design mc",
            ));
        }
        "qmc" if args.estimator == "smd" => {
            return Err(Error::invalid_parameter(
                "--design",
                "the mirror-descent estimator draws one Monte Carlo pair at a time; use --design mc",
            ));
        }
        "qmc" => Design::Sobol,
        other => {
            return Err(Error::invalid_parameter(
                "--design",
                format!("unknown design `{other}`; choose mc or qmc"),
            ));
        }
    };
    let (exact_s, exact_t) = f.exact_indices();
    out.insert(
        "function".into(),
        serde_json::to_value(&f).map_err(|e| Error::parse("function", e))?,
    );
    if args.estimator == "smd" {
        if !args.groups.is_empty() || args.second_order {
            return Err(Error::invalid_parameter(
                "--estimator",
                "smd estimates every subset's index already; it takes no --groups or --second-order",
            ));
        }
        let replicates = args.replicates.unwrap_or(4);
        let space = f.input_space()?;
        let config = SmdConfig {
            seed: args.seed,
            ..SmdConfig::default()
        };
        let r = smd_indices(&f, &space, n as u64, replicates, config)?;
        let o = &r.outputs[0];
        contract_keys(
            &mut out,
            "smd",
            r.evaluations,
            &r.names,
            &o.first_order,
            &o.total,
        );
        let subsets: Vec<Value> = o
            .all
            .iter()
            .map(|s| {
                let mut v = json!({ "subset": s.subset, "value": s.estimate.value });
                if let Some(ci) = s.estimate.ci {
                    v["ci"] = json!([ci.lower, ci.upper]);
                }
                v
            })
            .collect();
        out.insert("subsets".into(), Value::from(subsets));
        out.insert("pairs".into(), json!(n));
        out.insert("replicates".into(), json!(replicates));
        out.insert("total_exact".into(), json!(exact_t));
    } else if args.estimator == "rank" {
        if !args.groups.is_empty() {
            return Err(Error::invalid_parameter(
                "--groups",
                "the rank estimator works input by input; use a pick-freeze estimator for groups",
            ));
        }
        if args.second_order {
            return Err(Error::invalid_parameter(
                "--second-order",
                "the rank estimator gives first-order indices only; use a pick-freeze estimator",
            ));
        }
        // The rank estimator on n evaluations of the function at design points.
        let space = f.input_space()?;
        let s = rank_first_order_of_model(&f, &space, n, args.seed)?.remove(0);
        out.insert("estimator".into(), json!("rank"));
        out.insert("evaluations".into(), json!(n));
        out.insert("names".into(), json!(space.names()));
        out.insert("first_order".into(), values(&s));
    } else {
        let estimator: Estimator = args.estimator.parse()?;
        let replicates = args.replicates.unwrap_or(match design {
            Design::Sobol => 10,
            Design::MonteCarlo => 1,
        });
        let config = PickFreezeConfig {
            n,
            design,
            estimator,
            replicates,
            seed: args.seed,
            level: 0.95,
            second_order: args.second_order,
        };
        let mut space = f.input_space()?;
        if !args.groups.is_empty() {
            let mut groups = Vec::with_capacity(args.groups.len());
            for g in &args.groups {
                let Some((name, members)) = g.split_once(':') else {
                    return Err(Error::invalid_parameter(
                        "--groups",
                        format!("`{g}` is not NAME:input+input+..."),
                    ));
                };
                groups.push((name.to_owned(), members.split('+').collect::<Vec<_>>()));
            }
            space = space.with_groups(groups)?;
        }
        let r = sobol_indices(&f, space, config)?;
        let o = &r.outputs[0];
        let evaluations = r.evaluations as u64;
        contract_keys(
            &mut out,
            estimator.name(),
            evaluations,
            &r.names,
            &o.first_order,
            &o.total,
        );
        if args.second_order {
            let pairs: Vec<Value> = o
                .second_order
                .iter()
                .map(|s| {
                    let mut p = json!({ "i": s.i, "j": s.j, "value": s.estimate.value });
                    if let Some(ci) = s.estimate.ci {
                        p["ci"] = json!([ci.lower, ci.upper]);
                    }
                    p
                })
                .collect();
            out.insert("second_order".into(), Value::from(pairs));
        }
        out.insert("ci_level".into(), json!(0.95));
        out.insert("replicates".into(), json!(replicates));
        out.insert("total_exact".into(), json!(exact_t));
    }
    out.insert("first_order_exact".into(), json!(exact_s));
    out.insert("design".into(), json!(design_name));
    out.insert("n".into(), json!(n));
    out.insert("seed".into(), json!(args.seed));
    Ok(Value::Object(out))
}
