//! A small SVG line-plot writer for benchmark reports: axes (linear or log10), ticks, series
//! with markers, a legend. About 150 lines, written here to keep xtask's dependencies few.

use std::fmt::Write;

use uqforge_core::bench::Plot;

const W: f64 = 640.0;
const H: f64 = 420.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// One axis: data range and scale.
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>, log: bool) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            let v = if log { v.log10() } else { v };
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        if log {
            // Whole decades, so that every tick is labelled.
            (lo, hi) = (lo.floor(), hi.ceil());
        } else {
            let pad = 0.05 * (hi - lo);
            (lo, hi) = (lo - pad, hi + pad);
        }
        Self { log, lo, hi }
    }

    /// Position in [0, 1] of a data value, `None` when it cannot be drawn.
    fn unit(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            return None;
        }
        let v = if self.log { v.log10() } else { v };
        Some((v - self.lo) / (self.hi - self.lo))
    }

    /// Tick positions (data values) and labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let (a, b) = (self.lo as i32, self.hi as i32);
            let step = ((b - a) / 8).max(1);
            (a..=b)
                .step_by(step as usize)
                .map(|k| (10f64.powi(k), format!("1e{k}")))
                .collect()
        } else {
            let raw = (self.hi - self.lo) / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .into_iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let mut t = (self.lo / step).ceil() * step;
            let mut out = Vec::new();
            while t <= self.hi + 1e-9 * step {
                // `+ 0.0` turns -0 into 0: the first tick of a range starting at 0 printed "-0".
                out.push((t, format!("{}", (t / step).round() * step + 0.0)));
                t += step;
            }
            out
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plot as a standalone SVG document.
pub(crate) fn render(plot: &Plot) -> String {
    let xa = Axis::new(
        plot.series.iter().flat_map(|s| s.x.iter().copied()),
        plot.log_x,
    );
    let ya = Axis::new(
        plot.series.iter().flat_map(|s| s.y.iter().copied()),
        plot.log_y,
    );
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |u: f64| LEFT + u * pw;
    let py = |u: f64| TOP + (1.0 - u) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        W / 2.0,
        esc(&plot.title)
    );
    for (v, label) in xa.ticks() {
        if let Some(u) = xa.unit(v) {
            let x = px(u);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 16.0,
                esc(&label)
            );
        }
    }
    for (v, label) in ya.ticks() {
        if let Some(u) = ya.unit(v) {
            let y = py(u);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                esc(&label)
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        H - 14.0,
        esc(&plot.x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        esc(&plot.y_label)
    );
    for (k, series) in plot.series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = series
            .x
            .iter()
            .zip(&series.y)
            .filter_map(|(&x, &y)| Some((px(xa.unit(x)?), py(ya.unit(y)?))))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (x, y) in &points {
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#
            );
        }
        let ly = TOP + 16.0 + 18.0 * k as f64;
        let lx = LEFT + pw - 190.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&series.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use uqforge_core::bench::Series;

    #[test]
    fn a_range_from_zero_labels_its_first_tick_0_not_minus_0() {
        // Padding puts lo slightly below 0, so the first tick is computed as -0.
        let labels: Vec<String> = Axis::new([0.0, 150.0].into_iter(), false)
            .ticks()
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(labels.first().map(String::as_str), Some("0"), "{labels:?}");
    }

    fn plot(log: bool, y: Vec<f64>) -> Plot {
        Plot {
            name: "p".into(),
            title: "a < b & c".into(),
            x_label: "N".into(),
            y_label: "error".into(),
            log_x: log,
            log_y: log,
            series: vec![Series {
                label: "s".into(),
                x: (1..=y.len()).map(|i| 10f64.powi(i as i32)).collect(),
                y,
            }],
        }
    }

    #[test]
    fn log_axes_have_decade_ticks_and_skip_non_positive_points() {
        let svg = render(&plot(true, vec![1e-1, 1e-2, 0.0, f64::NAN]));
        assert!(svg.contains(">1e-2<") && svg.contains(">1e1<"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("a &lt; b &amp; c"));
    }

    #[test]
    fn points_land_inside_the_frame() {
        let svg = render(&plot(false, vec![3.0, 1.0, 2.0]));
        for c in svg.split("<circle").skip(1) {
            let num = |key: &str| -> f64 {
                let rest = &c[c.find(key).unwrap() + key.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            };
            let (x, y) = (num("cx=\""), num("cy=\""));
            assert!((LEFT..=W - RIGHT).contains(&x) && (TOP..=H - BOTTOM).contains(&y));
        }
    }
}
