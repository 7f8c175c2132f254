//! `uqforge gmrf`: Matérn SPDE fields on triangle meshes (fit, krige, simulate, and fit-grid
//! for a field observed everywhere) and advection–diffusion fields in space-time (simulate-st,
//! fit-st).

use nalgebra::{DMatrix, DVector};
use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_datasets::Table;
use uqforge_gmrf::mesh_builder::MeshBuilder;
use uqforge_gmrf::mle::{GeostatFit, default_max_edge, fit_geostatistical};
use uqforge_gmrf::prior::PcPrior;
use uqforge_gmrf::simulate::field_on_unit_square;
use uqforge_gmrf::spacetime::{
    AdvectionDiffusion, Sampler, field_on_unit_square as field_on_unit_square_st,
};
use uqforge_gmrf::spacetime_likelihood::{Route, SpaceTimeData};
use uqforge_gmrf::stochastic_likelihood::FieldMoments;
use uqforge_gmrf::{Mesh, fem::Fem};

use crate::input::{finite_columns, read_table, read_text};

/// Arguments of `uqforge gmrf`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Maximum-likelihood fit of y = X beta + A x + e with a Matérn SPDE field x on a mesh
    /// built around the data (an intercept is always included).
    Fit(FitArgs),
    /// Fit as `fit`, then universal kriging (mean and standard deviation) at new locations.
    Krige(KrigeArgs),
    /// A Matérn field on the unit square's regular grid.
    Simulate(SimulateArgs),
    /// A space-time field of the advection–diffusion SPDE on the unit square's regular grid,
    /// at consecutive time steps from its stationary regime.
    SimulateSt(SimulateStArgs),
    /// Maximum-likelihood fit of the advection–diffusion SPDE to observations at (location,
    /// time) pairs (an intercept is included).
    FitSt(FitStArgs),
    /// Approximate maximum likelihood of a Matérn field observed at every point of the unit
    /// square's regular grid (the output of `gmrf simulate`), without a factorisation:
    /// stochastic Chebyshev moments (Hutchinson probes).
    FitGrid(FitGridArgs),
}

#[derive(Debug, clap::Args)]
struct FitGridArgs {
    /// JSON with `nx`, `ny` and `field`: the values row by row (row `j` at y = j/(ny-1)), or a
    /// list of such lists (independent replicates); `-` reads standard input.
    #[arg(long)]
    data: String,
    /// Order alpha > 1 of the SPDE (real: fractional smoothness nu = alpha - 1 too).
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    alpha: f64,
    /// Hutchinson probes (take about 100 per field for a probe error below a fifth of a
    /// standard error).
    #[arg(long, default_value_t = 100)]
    probes: usize,
    /// Longest range searched (sets the polynomials' degree).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    range_max: f64,
    /// Error of the expansion of log(kappa^2 + lambda), per eigenvalue.
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    tolerance: f64,
    /// Seed of the probes' ChaCha8 stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct FitStArgs {
    /// Data: CSV or `-`, rows in time order.
    #[arg(long)]
    data: String,
    /// The two coordinate columns, comma-separated.
    #[arg(long)]
    coords: String,
    /// The time column (times on a grid of step --dt; the earliest is step 1).
    #[arg(long)]
    time: String,
    /// The response column.
    #[arg(long)]
    response: String,
    /// Time step (default: the smallest positive gap between times).
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Squares per side of the regular mesh over the data's bounding box.
    #[arg(long, default_value_t = 10)]
    cells: usize,
    /// Also krige the fitted field at the rows of this CSV (the same coordinate and time
    /// columns; times after the last observation are forecasts): adds
    /// `"prediction": {"mean", "sd", "horizon"}`.
    #[arg(long)]
    predict: Option<String>,
    /// The likelihood's route: `joint` (the posterior factor of the stacked field), `sweep`
    /// (the observations' covariance, by sweeps in time: for large meshes and few
    /// observations) or `auto` (the one predicted faster).
    #[arg(long, default_value = "auto")]
    route: String,
    /// Estimate the anisotropy of the diffusion tensor too (from an isotropic start): adds
    /// `"anisotropy": {"a", "b", "ratio", "angle_degrees"}` (the ratio of the longer
    /// correlation range to the shorter and the longer one's angle from the x axis) and the
    /// standard errors of (a, b).
    #[arg(long)]
    anisotropy: bool,
}

#[derive(Debug, clap::Args)]
struct FitArgs {
    /// Data: CSV, `-`, or a shipped data set (meuse, spde-toy, scotland).
    #[arg(long)]
    data: String,
    /// The two coordinate columns, comma-separated.
    #[arg(long)]
    coords: String,
    /// The response column.
    #[arg(long)]
    response: String,
    /// Covariate columns, comma-separated (the intercept is added).
    #[arg(long)]
    covariates: Option<String>,
    /// `log` to model the logarithm of the response (it must be positive).
    #[arg(long)]
    transform: Option<String>,
    /// SPDE order alpha = nu + 1 (integer, 2 or more).
    #[arg(long, default_value_t = 2)]
    alpha: u32,
    /// Largest mesh edge (default: a fortieth of the diameter of the locations).
    #[arg(long, allow_negative_numbers = true)]
    max_edge: Option<f64>,
    /// Mesh extension beyond the data's convex hull (default: a fifth of the diameter).
    #[arg(long, allow_negative_numbers = true)]
    extension: Option<f64>,
    /// PC prior on the range, RANGE0,P: P(range < RANGE0) = P (with --prior-sigma; the fit is
    /// then the posterior mode).
    #[arg(long)]
    prior_range: Option<String>,
    /// PC prior on the standard deviation, SIGMA0,P: P(sigma > SIGMA0) = P (with
    /// --prior-range).
    #[arg(long)]
    prior_sigma: Option<String>,
    /// Accepted for a uniform interface and stated in the output: the fit itself is
    /// deterministic.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct KrigeArgs {
    #[command(flatten)]
    fit: FitArgs,
    /// Prediction locations: CSV with the --coords columns (and the --covariates columns).
    #[arg(long)]
    predict: String,
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// Grid size NX,NY (points, at least 2 each) on the unit square.
    #[arg(long)]
    grid: String,
    /// Practical range sqrt(8 nu)/kappa.
    #[arg(long, allow_negative_numbers = true)]
    range: f64,
    /// Marginal standard deviation.
    #[arg(long, allow_negative_numbers = true)]
    sigma: f64,
    /// SPDE order alpha = nu + 1 (integer, 2 or more).
    #[arg(long, default_value_t = 2)]
    alpha: u32,
    /// Seed of the ChaCha8 stream of standard normals.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct SimulateStArgs {
    /// Grid size NX,NY (points, at least 2 each) on the unit square.
    #[arg(long)]
    grid: String,
    /// Time steps returned.
    #[arg(long)]
    steps: usize,
    /// Time step; keep it well below the decay time c / kappa^2 = c range^2 / 8 (implicit
    /// Euler damps the variance of modes that decay within a step).
    #[arg(long, allow_negative_numbers = true)]
    dt: f64,
    /// Advection VX,VY: the field moves at (VX, VY) / c.
    #[arg(long, allow_hyphen_values = true)]
    advection: String,
    /// Practical range sqrt(8 nu)/kappa of the stationary field (nu = 1).
    #[arg(long, allow_negative_numbers = true)]
    range: f64,
    /// Marginal standard deviation of the stationary field.
    #[arg(long, allow_negative_numbers = true)]
    sigma: f64,
    /// Time scale c of the SPDE.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    c: f64,
    /// `sequential` (one sparse LU solve per step, the noise from a Cholesky factor),
    /// `cholesky` (the joint space-time precision) or `chebyshev` (the recursion with the
    /// noise coloured by a Chebyshev polynomial: no factorisation but the step's LU).
    #[arg(long, default_value = "sequential")]
    method: String,
    /// Relative error of the Chebyshev polynomial (`chebyshev`).
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    tolerance: f64,
    /// Add streamline diffusion to the advection (stabilises advection-dominated dynamics,
    /// with an artificial diffusion along the flow of the order of the mesh spacing).
    #[arg(long)]
    streamline_diffusion: bool,
    /// Seed of the ChaCha8 stream of standard normals.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs `uqforge gmrf`.
pub(crate) fn run(args: &Args) -> Result<Value> {
    match &args.action {
        Action::Fit(a) => {
            let (_, fitted, names) = fit(a)?;
            Ok(fit_json(a, &fitted, &names))
        }
        Action::Krige(a) => {
            let (_, fitted, names) = fit(&a.fit)?;
            let table = read_table(&a.predict)?;
            let (locations, x0) = design(&table, &a.fit, "--predict")?;
            let pred = fitted.krige(&locations, &x0)?;
            let mut out = json!({
                "mean": pred.mean.as_slice(),
                "sd": pred.sd.as_slice(),
                "sd_observation": pred.sd_observation.as_slice(),
                "scale": a.fit.transform.as_deref().unwrap_or("identity"),
            });
            out["fit"] = fit_json(&a.fit, &fitted, &names);
            Ok(out)
        }
        Action::SimulateSt(a) => simulate_st(a),
        Action::FitSt(a) => fit_st(a),
        Action::FitGrid(a) => fit_grid(a),
        Action::Simulate(a) => {
            let (nx, ny) = grid(&a.grid)?;
            let field = field_on_unit_square(nx, ny, a.range, a.sigma, a.alpha, a.seed)?;
            Ok(json!({
                "nx": nx, "ny": ny, "field": field,
                "range": a.range, "sigma": a.sigma, "alpha": a.alpha, "seed": a.seed,
            }))
        }
    }
}

fn fit_st(a: &FitStArgs) -> Result<Value> {
    let table = read_table(&a.data)?;
    let coords = coordinate_columns(&a.coords)?;
    let mut needed = coords.clone();
    needed.extend([a.time.as_str(), a.response.as_str()]);
    finite_columns(&table, &needed).map_err(|e| Error::parse("--data", e.to_string()))?;
    let locations = table.matrix(&coords)?;
    let times = table.vector(&a.time)?;
    let y = table.vector(&a.response)?;
    let route = match a.route.as_str() {
        "auto" => None,
        "joint" => Some(Route::Joint),
        "sweep" => Some(Route::Sweep),
        other => {
            return Err(Error::invalid_parameter(
                "--route",
                format!("{other:?}: expected auto, joint or sweep"),
            ));
        }
    };
    let mut data = SpaceTimeData::new(&locations, times.as_slice(), &y, a.dt, a.cells, route)?;
    if a.anisotropy {
        data = data.estimating_anisotropy();
    }
    // The prediction points, checked before the fit.
    let targets = match &a.predict {
        None => None,
        Some(file) => {
            let table = read_table(file)?;
            let mut needed = coords.clone();
            needed.push(a.time.as_str());
            finite_columns(&table, &needed)
                .map_err(|e| Error::parse("--predict", e.to_string()))?;
            let at = table.vector(&a.time)?;
            for &t in at.iter() {
                data.step_of(t)?;
            }
            Some((table.matrix(&coords)?, at))
        }
    };
    let report = data.fit()?;
    let f = &report.fit;
    let prediction = match targets {
        None => None,
        Some((places, at)) => {
            let p = data.krige(f, &places, at.as_slice())?;
            Some(json!({"mean": p.mean.as_slice(), "sd": p.sd.as_slice(), "horizon": p.horizon}))
        }
    };
    let std_errors = f.std_errors.map(|se| {
        let mut v = json!({
            "range": se.range, "sigma": se.sigma, "advection": se.advection, "c": se.c,
            "noise_sd": se.noise_sd,
        });
        if let Some(ab) = se.anisotropy {
            v["anisotropy"] = json!(ab);
        }
        v
    });
    let mut out = json!({
        "range": f.model.range()?,
        "sigma": f.model.sigma()?,
        "advection": f.model.advection,
        "c": f.model.c,
        "noise_sd": f.noise_sd,
        "beta": f.beta.as_slice(),
        "std_errors": std_errors,
        "loglik": f.log_likelihood,
        "dt": report.dt,
        "steps": report.steps,
        "burn_in": report.burn_in,
        "mesh_nodes": report.mesh_nodes,
        "route": report.route,
        "iterations": f.iterations,
        "converged": f.converged,
    });
    if a.anisotropy {
        let [ca, cb] = f.model.anisotropy();
        let (ratio, angle) = f.model.anisotropy_axes();
        out["anisotropy"] =
            json!({"a": ca, "b": cb, "ratio": ratio, "angle_degrees": angle.to_degrees()});
    }
    if let Some(p) = prediction {
        out["prediction"] = p;
    }
    Ok(out)
}

fn fit_grid(a: &FitGridArgs) -> Result<Value> {
    let text = read_text(&a.data)?;
    let bad = |why: String| Error::parse("--data", why);
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let size = |key: &str| {
        v[key]
            .as_u64()
            .and_then(|k| usize::try_from(k).ok())
            .filter(|&k| k >= 2)
            .ok_or_else(|| bad(format!("`{key}`: expected an integer of at least 2")))
    };
    let (nx, ny) = (size("nx")?, size("ny")?);
    let values = |x: &Value| -> Result<Vec<f64>> {
        x.as_array()
            .ok_or_else(|| bad("`field`: expected a list of numbers".into()))?
            .iter()
            .map(|e| {
                e.as_f64()
                    .ok_or_else(|| bad(format!("`field`: {e} is not a number")))
            })
            .collect()
    };
    let field = v["field"]
        .as_array()
        .ok_or_else(|| bad("`field`: expected a list".into()))?;
    let replicates: Vec<Vec<f64>> = if field.first().is_some_and(Value::is_array) {
        field.iter().map(values).collect::<Result<_>>()?
    } else {
        vec![values(&v["field"])?]
    };
    let n = nx * ny;
    if let Some(r) = replicates.iter().position(|f| f.len() != n) {
        return Err(bad(format!(
            "replicate {r} has {} values for a {nx} x {ny} grid ({n})",
            replicates[r].len()
        )));
    }
    let fields = DMatrix::from_fn(n, replicates.len(), |i, j| replicates[j][i]);
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], nx - 1, ny - 1)?;
    let fem = Fem::assemble(&mesh)?;
    let moments = FieldMoments::new(
        &fem,
        &fields,
        a.alpha,
        a.range_max,
        a.tolerance,
        a.probes,
        a.seed,
    )?;
    let fit = moments.maximum_likelihood(0.1 * a.range_max)?;
    Ok(json!({
        "range": fit.range,
        "sigma": fit.sigma,
        "kappa": fit.kappa,
        "tau": fit.tau,
        "std_errors": {"range": fit.range_std_error, "sigma": fit.sigma_std_error},
        "loglik": fit.log_likelihood,
        "loglik_std_error": fit.log_likelihood_std_error,
        "alpha": a.alpha,
        "nodes": n,
        "replicates": replicates.len(),
        "degree": fit.degree,
        "probes": fit.probes,
        "seed": fit.seed,
        "iterations": fit.iterations,
        "converged": fit.converged,
    }))
}

fn simulate_st(a: &SimulateStArgs) -> Result<Value> {
    let (nx, ny) = grid(&a.grid)?;
    let sampler = match a.method.as_str() {
        "sequential" => Sampler::Sequential,
        "cholesky" => Sampler::Cholesky,
        "chebyshev" => Sampler::Chebyshev {
            tolerance: a.tolerance,
        },
        other => {
            return Err(Error::invalid_parameter(
                "--method",
                format!("`{other}` is not one of: sequential, cholesky, chebyshev"),
            ));
        }
    };
    let v = split(&a.advection);
    let advection = match v.as_slice() {
        [x, y] => {
            let parse = |s: &str| {
                s.parse::<f64>().map_err(|_| {
                    Error::invalid_parameter("--advection", format!("`{s}` is not a number"))
                })
            };
            [parse(x)?, parse(y)?]
        }
        _ => {
            return Err(Error::invalid_parameter(
                "--advection",
                format!("needs VX,VY, got `{}`", a.advection),
            ));
        }
    };
    let model = AdvectionDiffusion {
        c: a.c,
        streamline_diffusion: a.streamline_diffusion,
        ..AdvectionDiffusion::from_range_sigma(a.range, a.sigma, advection)?
    };
    let series = field_on_unit_square_st([nx, ny], a.steps, a.dt, &model, sampler, a.seed)?;
    Ok(json!({
        "nx": nx, "ny": ny, "steps": a.steps, "field": series.field,
        "dt": a.dt, "advection": advection, "range": a.range, "sigma": a.sigma, "c": a.c,
        "kappa": model.kappa, "tau": model.tau, "method": a.method, "burn_in": series.burn_in,
        "mesh_nodes": series.mesh_nodes, "seed": a.seed,
        "streamline_diffusion": a.streamline_diffusion,
        "tolerance": (a.method == "chebyshev").then_some(a.tolerance),
        "rng": "ChaCha8 stream of the seed; the recursion starts from rest and drops burn_in steps",
    }))
}

/// The data set behind `--data`, accepting the contract's short names.
fn data_table(spec: &str) -> Result<Table> {
    let name = match spec {
        "spde-toy" => "spde_toy",
        "scotland" => "scotland_temperatures",
        other => other,
    };
    read_table(name)
}

fn split(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The two column names of `--coords`.
fn coordinate_columns(list: &str) -> Result<Vec<&str>> {
    let coords = split(list);
    if coords.len() != 2 {
        return Err(Error::invalid_parameter(
            "--coords",
            format!("needs two column names, got {}", coords.len()),
        ));
    }
    Ok(coords)
}

/// Locations and the design matrix (intercept first) of `table`.
fn design(table: &Table, a: &FitArgs, what: &str) -> Result<(DMatrix<f64>, DMatrix<f64>)> {
    let coords = coordinate_columns(&a.coords)?;
    let covariates = a.covariates.as_deref().map(split).unwrap_or_default();
    let mut needed = coords.clone();
    needed.extend(&covariates);
    finite_columns(table, &needed).map_err(|e| Error::parse(what, e.to_string()))?;
    let locations = table.matrix(&coords)?;
    let n = locations.nrows();
    let mut x = DMatrix::from_element(n, 1 + covariates.len(), 1.0);
    if !covariates.is_empty() {
        x.columns_mut(1, covariates.len())
            .copy_from(&table.matrix(&covariates)?);
    }
    Ok((locations, x))
}

type Fitted = (DVector<f64>, GeostatFit, Vec<String>);

fn fit(a: &FitArgs) -> Result<Fitted> {
    let table = data_table(&a.data)?;
    let (locations, x) = design(&table, a, "--data")?;
    finite_columns(&table, &[a.response.as_str()])?;
    let mut y = table.vector(&a.response)?;
    match a.transform.as_deref() {
        None | Some("identity") => {}
        Some("log") => {
            if let Some(i) = y.iter().position(|&v| v <= 0.0) {
                return Err(Error::invalid_parameter(
                    "--transform",
                    format!("log needs a positive response; row {} has {}", i + 1, y[i]),
                ));
            }
            y.apply(|v| *v = v.ln());
        }
        Some(other) => {
            return Err(Error::invalid_parameter(
                "--transform",
                format!("`{other}` is not one of: log, identity"),
            ));
        }
    }
    let mut builder = MeshBuilder::new(match a.max_edge {
        Some(h) => h,
        None => default_max_edge(&locations)?,
    });
    builder.extension = a.extension;
    let prior = match (&a.prior_range, &a.prior_sigma) {
        (None, None) => None,
        (Some(r), Some(s)) => {
            let (r0, pr) = pair(r, "--prior-range")?;
            let (s0, ps) = pair(s, "--prior-sigma")?;
            Some(PcPrior::new(r0, pr, s0, ps)?)
        }
        _ => {
            return Err(Error::invalid_parameter(
                "--prior-range",
                "the PC prior needs both --prior-range and --prior-sigma",
            ));
        }
    };
    let fitted = fit_geostatistical(&locations, &y, &x, a.alpha, &builder, prior)?;
    let mut names = vec!["intercept".to_owned()];
    names.extend(
        a.covariates
            .as_deref()
            .map(split)
            .unwrap_or_default()
            .iter()
            .map(|s| (*s).to_owned()),
    );
    Ok((y, fitted, names))
}

fn fit_json(a: &FitArgs, f: &GeostatFit, names: &[String]) -> Value {
    let m = &f.fit;
    let se = m.std_errors.map(|s| {
        json!({
            "range": s.range, "sigma": s.sigma, "noise_sd": s.noise_sd,
            "log_range": s.log_range, "log_sigma": s.log_sigma,
            "log_noise_variance": s.log_noise_variance,
            "beta": m.beta_std_errors.as_slice(),
        })
    });
    json!({
        "range": m.params.range,
        "sigma": m.params.sigma,
        "noise_sd": m.params.noise_sd,
        "beta": m.beta.as_slice(),
        "beta_names": names,
        "loglik": m.log_likelihood,
        "log_prior": m.log_prior,
        "mesh_nodes": f.mesh.n_nodes(),
        "std_errors": se,
        "alpha": a.alpha,
        "converged": m.converged,
        "iterations": m.iterations,
        "transform": a.transform.as_deref().unwrap_or("identity"),
        "seed": a.seed,
    })
}

/// `A,B` as two numbers.
fn pair(spec: &str, what: &str) -> Result<(f64, f64)> {
    let parts = split(spec);
    let parse = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| Error::invalid_parameter(what, format!("`{s}` is not a number")))
    };
    match parts.as_slice() {
        [a, b] => Ok((parse(a)?, parse(b)?)),
        _ => Err(Error::invalid_parameter(
            what,
            format!("needs two numbers A,P, got `{spec}`"),
        )),
    }
}

fn grid(spec: &str) -> Result<(usize, usize)> {
    let parts = split(spec);
    let parse = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| Error::invalid_parameter("--grid", format!("`{s}` is not a whole number")))
    };
    match parts.as_slice() {
        [nx, ny] => Ok((parse(nx)?, parse(ny)?)),
        _ => Err(Error::invalid_parameter(
            "--grid",
            format!("needs NX,NY, got `{spec}`"),
        )),
    }
}
