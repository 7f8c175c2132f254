//! The central regions of every depth of the crate on two moons, as one SVG picture.
//!
//! ```sh
//! cargo run --release -p uqforge-depth --example contours -- docs/depth/contours.svg
//! ```
//!
//! 200 points of two moons (noise 0.05, seed 2024); for each depth, the contours of the
//! regions holding 50 %, 75 % and 95 % of the sample ([`level_containing`] of the sample's
//! own depths), traced on a 161 x 121 grid.

use std::fmt::Write as _;

use uqforge_core::Result;
use uqforge_core::rng::stream;
use uqforge_depth::ood::two_moons;
use uqforge_depth::regions::{DepthGrid, level_containing};
use uqforge_depth::{
    CenterOutwardDepth, Depth, FermatLens, Halfspace, Lens, Mahalanobis, Projection, Simplicial,
    Spatial, Zonoid,
};

const X: [f64; 2] = [-1.6, 2.6];
const Y: [f64; 2] = [-1.1, 1.6];
const PANEL: (f64, f64) = (300.0, 200.0);
const COLUMNS: usize = 3;

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "contours.svg".into());
    let sample = two_moons(200, 0.05, &mut stream(2024, 0));
    let depths: Vec<(&str, Box<dyn Depth>)> = vec![
        ("Mahalanobis", Box::new(Mahalanobis::fit(&sample)?)),
        ("halfspace (exact)", Box::new(Halfspace::exact(&sample)?)),
        (
            "projection (1000 directions)",
            Box::new(Projection::fit(&sample, 1000, 1)?),
        ),
        ("spatial", Box::new(Spatial::fit(&sample)?)),
        ("simplicial (exact)", Box::new(Simplicial::exact(&sample)?)),
        ("zonoid", Box::new(Zonoid::fit(&sample)?)),
        ("lens", Box::new(Lens::fit(&sample)?)),
        (
            "Fermat lens (alpha = 4)",
            Box::new(FermatLens::fit(&sample, 4.0)?),
        ),
        (
            "center-outward",
            Box::new(CenterOutwardDepth::fit(&sample)?),
        ),
    ];
    let rows = depths.len().div_ceil(COLUMNS);
    let mut svg = String::new();
    let (w, h) = (PANEL.0 * COLUMNS as f64, PANEL.1 * rows as f64 + 20.0);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    for (k, (name, depth)) in depths.iter().enumerate() {
        let (ox, oy) = (
            PANEL.0 * (k % COLUMNS) as f64,
            PANEL.1 * (k / COLUMNS) as f64,
        );
        let to_svg = |p: [f64; 2]| {
            (
                ox + 10.0 + (p[0] - X[0]) / (X[1] - X[0]) * (PANEL.0 - 20.0),
                oy + PANEL.1 - 10.0 - (p[1] - Y[0]) / (Y[1] - Y[0]) * (PANEL.1 - 30.0),
            )
        };
        let _ = writeln!(
            svg,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#ccc"/><text x="{}" y="{}">{name}</text>"##,
            ox + 2.0,
            oy + 2.0,
            PANEL.0 - 4.0,
            PANEL.1 - 4.0,
            ox + 8.0,
            oy + 16.0
        );
        for row in sample.row_iter() {
            let (sx, sy) = to_svg([row[0], row[1]]);
            let _ = writeln!(
                svg,
                r##"<circle cx="{sx:.1}" cy="{sy:.1}" r="1.3" fill="#888"/>"##
            );
        }
        let own = depth.depth(&sample)?;
        let grid = DepthGrid::evaluate(depth.as_ref(), X, Y, 161, 121)?;
        for (fraction, colour) in [(0.5, "#b2182b"), (0.75, "#ef8a62"), (0.95, "#2166ac")] {
            let level = level_containing(own.as_slice(), fraction)?;
            let mut path = String::new();
            for [p, q] in grid.contour(level) {
                let ((a, b), (c, d)) = (to_svg(p), to_svg(q));
                let _ = write!(path, "M{a:.1},{b:.1}L{c:.1},{d:.1}");
            }
            let _ = writeln!(
                svg,
                r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>"#
            );
        }
    }
    let _ = writeln!(
        svg,
        r##"<text x="8" y="{}" fill="#555">regions holding 50 % (red), 75 % (orange), 95 % (blue) of 200 two-moons points</text>"##,
        h - 4.0
    );
    svg.push_str("</svg>\n");
    std::fs::write(&out, svg).map_err(|e| uqforge_core::Error::io(&out, e))?;
    Ok(())
}
