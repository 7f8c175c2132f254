//! Small multiples of an advected space-time field: six consecutive steps of the
//! advection–diffusion SPDE on the unit square, written as one SVG.
//!
//! ```text
//! cargo run --release -p uqforge-gmrf --example advected_frames -- docs/gmrf/advected-frames.svg
//! ```
//!
//! The model: stationary range 0.3, standard deviation 1, time scale c = 50 (decay time
//! c / kappa^2 = 0.56), advection gamma = (150, 0) (the field moves at 3 units per unit time,
//! 0.06 per step of 0.02, several ranges during its decay time), seed 7.
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::fmt::Write;

use uqforge_gmrf::spacetime::{AdvectionDiffusion, Sampler, field_on_unit_square};

const GRID: usize = 40;
const FRAMES: usize = 6;
const DT: f64 = 0.02;

/// Blue (negative) through white to red (positive), saturating at 2.5 standard deviations.
fn colour(v: f64) -> String {
    let s = (v / 2.5).clamp(-1.0, 1.0);
    let (r, g, b) = if s >= 0.0 {
        (1.0, 1.0 - 0.8 * s, 1.0 - 0.85 * s)
    } else {
        (1.0 + 0.85 * s, 1.0 + 0.7 * s, 1.0)
    };
    let c = |x: f64| (255.0 * x).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(r), c(g), c(b))
}

fn main() -> uqforge_core::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "advected-frames.svg".into());
    let model = AdvectionDiffusion {
        c: 50.0,
        ..AdvectionDiffusion::from_range_sigma(0.3, 1.0, [150.0, 0.0])?
    };
    let series = field_on_unit_square([GRID, GRID], FRAMES, DT, &model, Sampler::Sequential, 7)?;
    let (cell, pad, top) = (4.0, 14.0, 34.0);
    let side = cell * GRID as f64;
    let width = FRAMES as f64 * (side + pad) + pad;
    let height = top + side + 40.0;
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    )
    .unwrap();
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#).unwrap();
    for (k, frame) in series.field.iter().enumerate() {
        let x0 = pad + k as f64 * (side + pad);
        writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle">t = {:.2}</text>"#,
            x0 + side / 2.0,
            (k + 1) as f64 * DT
        )
        .unwrap();
        for (idx, &v) in frame.iter().enumerate() {
            // Row j of the series is y = j / (GRID - 1): draw y upwards.
            let (i, j) = (idx % GRID, idx / GRID);
            writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{cell}" height="{cell}" fill="{}"/>"#,
                x0 + i as f64 * cell,
                top + (GRID - 1 - j) as f64 * cell,
                colour(v)
            )
            .unwrap();
        }
        writeln!(
            svg,
            r##"<rect x="{x0}" y="{top}" width="{side}" height="{side}" fill="none" stroke="#444"/>"##
        )
        .unwrap();
    }
    writeln!(
        svg,
        r#"<text x="{pad}" y="{}">advection (150, 0) / c = 3 per unit time, 0.06 per frame, to the right; range 0.3; colour from -2.5 (blue) to 2.5 (red) standard deviations; seed 7</text>"#,
        top + side + 24.0
    )
    .unwrap();
    svg.push_str("</svg>\n");
    std::fs::write(&out, svg).map_err(|e| uqforge_core::Error::io(&out, e))?;
    println!(
        "wrote {out}: {FRAMES} frames of {GRID} x {GRID}, burn-in {} steps, mesh of {} nodes",
        series.burn_in, series.mesh_nodes
    );
    Ok(())
}
