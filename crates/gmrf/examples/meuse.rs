//! Kriging the Meuse zinc data: maximum likelihood, then maps of the kriged mean and standard
//! deviation of log(zinc) on the 40 m grid of `meuse.grid`, as one SVG picture.
//!
//! ```sh
//! cargo run --release -p uqforge-gmrf --example meuse -- docs/gmrf/meuse.svg
//! ```
//!
//! Model: $\log(\text{zinc}) = \beta_0 + \beta_1 \text{dist} + x(s) + \varepsilon$ with a
//! Matérn field ($\nu = 1$) on a mesh around the 155 sampling sites (max edge 75 m, extension
//! 500 m). The printed summary gives the estimates with their standard errors.

#![allow(clippy::print_stdout)] // An example: its summary is the output.

use std::fmt::Write as _;

use nalgebra::DMatrix;
use uqforge_core::Result;
use uqforge_gmrf::mesh_builder::MeshBuilder;
use uqforge_gmrf::mle::fit_geostatistical;

/// Metres per pixel.
const SCALE: f64 = 10.0;

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "meuse.svg".into());
    let meuse = uqforge_datasets::meuse()?;
    let grid = uqforge_datasets::meuse_grid()?;
    let n = meuse.zinc.len();
    let y = meuse.zinc.map(f64::ln);
    let mut x = DMatrix::from_element(n, 2, 1.0);
    x.set_column(1, &meuse.dist);
    let fitted = fit_geostatistical(
        &meuse.coords,
        &y,
        &x,
        2,
        &MeshBuilder::new(75.0).extension(500.0),
        None,
    )?;
    let f = &fitted.fit;
    let se = f.std_errors;
    println!(
        "mesh: {} nodes; range {:.0} m (se {:.0}), sigma {:.3} (se {:.3}), noise sd {:.3} (se {:.3}); \
         beta = ({:.3}, {:.3}) (se {:.3}, {:.3}); log-likelihood {:.3}; converged {} in {} iterations",
        fitted.mesh.n_nodes(),
        f.params.range,
        se.map_or(f64::NAN, |s| s.range),
        f.params.sigma,
        se.map_or(f64::NAN, |s| s.sigma),
        f.params.noise_sd,
        se.map_or(f64::NAN, |s| s.noise_sd),
        f.beta[0],
        f.beta[1],
        f.beta_std_errors[0],
        f.beta_std_errors[1],
        f.log_likelihood,
        f.converged,
        f.iterations
    );
    let m = grid.dist.len();
    let mut x0 = DMatrix::from_element(m, 2, 1.0);
    x0.set_column(1, &grid.dist);
    let pred = fitted.krige(&grid.coords, &x0)?;

    let (x_lo, x_hi) = (
        grid.coords.column(0).min() - 20.0,
        grid.coords.column(0).max() + 20.0,
    );
    let (y_lo, y_hi) = (
        grid.coords.column(1).min() - 20.0,
        grid.coords.column(1).max() + 20.0,
    );
    let (w, h) = ((x_hi - x_lo) / SCALE, (y_hi - y_lo) / SCALE);
    let margin = 30.0;
    let panel_w = w + 2.0 * margin;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="sans-serif" font-size="12">"#,
        2.0 * panel_w,
        h + 2.5 * margin + 20.0
    );
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels = [
        ("kriged mean of log(zinc)", &pred.mean),
        ("kriging standard deviation", &pred.sd),
    ];
    for (p, (title, values)) in panels.iter().enumerate() {
        let (lo, hi) = (values.min(), values.max());
        let ox = p as f64 * panel_w + margin;
        let _ = writeln!(svg, r#"<text x="{:.0}" y="18">{title}</text>"#, ox);
        for k in 0..m {
            let px = ox + (grid.coords[(k, 0)] - 20.0 - x_lo) / SCALE;
            let py = margin + (y_hi - grid.coords[(k, 1)] - 20.0) / SCALE;
            let _ = write!(
                svg,
                r#"<rect x="{px:.1}" y="{py:.1}" width="4.2" height="4.2" fill="{}"/>"#,
                viridis((values[k] - lo) / (hi - lo))
            );
        }
        svg.push('\n');
        for i in 0..n {
            let px = ox + (meuse.coords[(i, 0)] - x_lo) / SCALE;
            let py = margin + (y_hi - meuse.coords[(i, 1)]) / SCALE;
            let _ = write!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="1.6" fill="none" stroke="black" stroke-width="0.6"/>"#
            );
        }
        // Colour bar with its end values.
        let by = margin + h + 12.0;
        for s in 0..50 {
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{by:.1}" width="{:.2}" height="8" fill="{}"/>"#,
                ox + s as f64 * w / 50.0,
                w / 50.0 + 0.3,
                viridis(s as f64 / 49.0)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{ox:.0}" y="{:.0}">{lo:.2}</text><text x="{:.0}" y="{:.0}" text-anchor="end">{hi:.2}</text>"#,
            by + 22.0,
            ox + w,
            by + 22.0
        );
    }
    svg.push_str("</svg>\n");
    std::fs::write(&out, svg).map_err(|e| uqforge_core::Error::io(&out, e))?;
    println!("wrote {out}");
    Ok(())
}

/// A five-stop approximation of the viridis colour map, `t` in [0, 1].
fn viridis(t: f64) -> String {
    const STOPS: [[f64; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let c: Vec<u8> = (0..3)
        .map(|k| (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k])).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}
