//! Draws the center-outward quantile contours of a banana-shaped sample as an SVG on stdout
//! (the picture in `docs/img/center-outward-contours.svg`):
//!
//! ```text
//! cargo run -p uqforge-transport --example center_outward_contours > contours.svg
//! ```

use nalgebra::DMatrix;
use std::fmt::Write;
use uqforge_core::rng::{rng_from_seed, standard_normal};
use uqforge_transport::center_outward::{CenterOutward, Grid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // n = 19 x 30 = 570; rank r has order r / 20, so ranks 5, 10, 15, 18 draw the contours of
    // probability 0.25, 0.5, 0.75 and 0.9.
    let grid = Grid::new(19, 30, 0, 2)?;
    let mut rng = rng_from_seed(2021);
    let mut x = DMatrix::zeros(grid.len(), 2);
    for i in 0..grid.len() {
        let a = standard_normal(&mut rng);
        x[(i, 0)] = a;
        x[(i, 1)] = 0.6 * a * a + 0.4 * standard_normal(&mut rng);
    }
    let co = CenterOutward::fit(&x, grid)?;

    let (w, h, pad) = (640.0, 520.0, 30.0);
    let (x0, x1) = (x.column(0).min(), x.column(0).max());
    let (y0, y1) = (x.column(1).min(), x.column(1).max());
    let scale = ((w - 2.0 * pad) / (x1 - x0)).min((h - 2.0 * pad) / (y1 - y0));
    let px = |i: usize| {
        (
            pad + (x[(i, 0)] - x0) * scale,
            h - pad - (x[(i, 1)] - y0) * scale,
        )
    };
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="13">"#
    )?;
    writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    )?;
    for i in 0..x.nrows() {
        let (a, b) = px(i);
        writeln!(
            svg,
            r##"<circle cx="{a:.1}" cy="{b:.1}" r="2" fill="#9a9a9a"/>"##
        )?;
    }
    let colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"];
    for (k, rank) in [5, 10, 15, 18].into_iter().enumerate() {
        let points: Vec<String> = co
            .contour(rank)?
            .into_iter()
            .map(|i| {
                let (a, b) = px(i);
                format!("{a:.1},{b:.1}")
            })
            .collect();
        writeln!(
            svg,
            r#"<polygon points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            points.join(" "),
            colours[k]
        )?;
        writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{}">tau = {:.2}</text>"#,
            w - 120.0,
            pad + 18.0 * k as f64,
            colours[k],
            rank as f64 / 20.0
        )?;
    }
    writeln!(svg, "</svg>")?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), svg.as_bytes())?;
    Ok(())
}
