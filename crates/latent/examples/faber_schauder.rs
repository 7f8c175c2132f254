//! The Faber–Schauder basis and a geodesic refined level by level, written as one SVG.
//!
//! ```text
//! cargo run --release -p uqforge-latent --example faber_schauder -- docs/latent/faber-schauder.svg
//! ```
//!
//! Left: the scaled hats $2^{-(j+2)/2}\Lambda(2^jt - k)$ of levels $j = 0, 1, 2$. Right: the
//! geodesic of the Poincaré half-plane from $(-3, 1)$ to $(3, 1)$ solved with
//! $J = 1, 2, 3, 5$ levels (each level warm-started from the previous one), over the exact
//! geodesic, the half-circle of radius $\sqrt{10}$ about the origin, with the relative error
//! of each length.
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::fmt::Write;

use uqforge_latent::{FaberSchauder, GeodesicOptions, Hyperbolic, geodesic_from};

const COLOURS: [&str; 4] = ["#d95f02", "#7570b3", "#1b9e77", "#e7298a"];

fn main() -> uqforge_core::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "faber-schauder.svg".into());
    let (w, h, pad) = (360.0, 260.0, 40.0);
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">"#,
        2.0 * w + 3.0 * pad,
        h + 2.0 * pad
    )
    .unwrap();
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#).unwrap();

    // Left panel: hats of levels 0..2, t in [0, 1], heights up to 1/2.
    let (x0, y0) = (pad, pad);
    let px = |t: f64| x0 + t * w;
    let py = |v: f64| y0 + h - v / 0.55 * h;
    writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">scaled hats 2^-(j+2)/2 Λ(2^j t − k)</text>"#,
        x0 + w / 2.0,
        y0 - 12.0
    )
    .unwrap();
    axes(&mut svg, x0, y0, w, h, "t", 0.0, 1.0);
    for (j, colour) in COLOURS.iter().enumerate().take(3) {
        let s = (-0.5 * (j as f64 + 2.0)).exp2();
        for k in 0..(1usize << j) {
            let (l, r) = (k as f64 / (1 << j) as f64, (k + 1) as f64 / (1 << j) as f64);
            writeln!(
                svg,
                r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{},{} {},{} {},{}"/>"#,
                colour,
                px(l),
                py(0.0),
                px(0.5 * (l + r)),
                py(s),
                px(r),
                py(0.0)
            )
            .unwrap();
        }
        writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{}">j = {j}</text>"#,
            x0 + w - 50.0,
            y0 + 16.0 * (j as f64 + 1.0),
            colour
        )
        .unwrap();
    }

    // Right panel: the half-plane geodesic, level by level.
    let (x1, y1) = (2.0 * pad + w, pad);
    let qx = |x: f64| x1 + (x + 3.5) / 7.0 * w;
    let qy = |y: f64| y1 + h - (y - 0.5) / 3.0 * h;
    writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">half-plane geodesic (−3, 1) → (3, 1)</text>"#,
        x1 + w / 2.0,
        y1 - 12.0
    )
    .unwrap();
    axes(&mut svg, x1, y1, w, h, "x", -3.5, 3.5);
    let circle: Vec<String> = (0..=200)
        .map(|i| {
            let a = (1.0f64 / 3.0).atan()
                + (std::f64::consts::PI - 2.0 * (1.0f64 / 3.0).atan()) * i as f64 / 200.0;
            let r = 10f64.sqrt();
            format!("{:.2},{:.2}", qx(-r * a.cos()), qy(r * a.sin()))
        })
        .collect();
    writeln!(
        svg,
        r##"<polyline fill="none" stroke="#999" stroke-width="6" stroke-opacity="0.5" points="{}"/>"##,
        circle.join(" ")
    )
    .unwrap();
    let exact = Hyperbolic::distance(&[-3.0, 1.0], &[3.0, 1.0])?;
    let mut curve = FaberSchauder::line(&[-3.0, 1.0], &[3.0, 1.0], 1)?;
    let mut legend = 0.0;
    for (i, levels) in [1usize, 2, 3, 5].into_iter().enumerate() {
        while curve.levels() < levels {
            curve = curve.refined()?;
        }
        let options = GeodesicOptions {
            levels,
            ..GeodesicOptions::default()
        };
        let g = geodesic_from(&Hyperbolic, curve, &options)?;
        curve = g.curve.clone();
        let nodes = curve.nodes();
        let pts: Vec<String> = nodes
            .chunks_exact(2)
            .map(|p| format!("{:.2},{:.2}", qx(p[0]), qy(p[1])))
            .collect();
        writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            COLOURS[i % 4],
            pts.join(" ")
        )
        .unwrap();
        for p in nodes.chunks_exact(2) {
            writeln!(
                svg,
                r#"<circle cx="{:.2}" cy="{:.2}" r="2" fill="{}"/>"#,
                qx(p[0]),
                qy(p[1]),
                COLOURS[i % 4]
            )
            .unwrap();
        }
        legend += 16.0;
        writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{}">J = {levels}: length error {:.1e}</text>"#,
            x1 + w / 2.0 - 80.0,
            y1 + h - 80.0 + legend,
            COLOURS[i % 4],
            g.length / exact - 1.0
        )
        .unwrap();
        println!("J = {levels}: length {:.6} (exact {exact:.6})", g.length);
    }
    writeln!(svg, "</svg>").unwrap();
    std::fs::write(&out, svg).map_err(|e| uqforge_core::Error::io(&out, e))?;
    println!("wrote {out}");
    Ok(())
}

/// A frame with two ticks on the horizontal axis.
#[allow(clippy::too_many_arguments)]
fn axes(svg: &mut String, x: f64, y: f64, w: f64, h: f64, label: &str, lo: f64, hi: f64) {
    writeln!(
        svg,
        r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#333"/>"##
    )
    .unwrap();
    writeln!(
        svg,
        r#"<text x="{x}" y="{}" text-anchor="start">{lo}</text><text x="{}" y="{}" text-anchor="end">{hi}</text><text x="{}" y="{}" text-anchor="middle">{label}</text>"#,
        y + h + 16.0,
        x + w,
        y + h + 16.0,
        x + w / 2.0,
        y + h + 16.0
    )
    .unwrap();
}
