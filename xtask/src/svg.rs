//! A small SVG plot writer for benchmark reports: axes (linear or log10), ticks, series as
//! lines with markers or as grouped bars, a legend. About 200 lines, written here to keep
//! xtask's dependencies few.

use std::fmt::Write;

use uqforge_core::bench::{Plot, Series};

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
    let xa = if plot.bars {
        bar_axis(plot)
    } else {
        Axis::new(
            plot.series.iter().flat_map(|s| s.x.iter().copied()),
            plot.log_x,
        )
    };
    let ya = Axis::new(
        plot.series
            .iter()
            .flat_map(|s| s.y.iter().copied())
            // Bars start at 0 on a linear axis.
            .chain((plot.bars && !plot.log_y).then_some(0.0)),
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
    let x_ticks = if plot.bars {
        categories(plot)
            .into_iter()
            .map(|c| (c, format!("{c}")))
            .collect()
    } else {
        xa.ticks()
    };
    for (v, label) in x_ticks {
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
        if plot.bars {
            draw_bars(
                &mut s,
                series,
                (k, plot.series.len()),
                color,
                &xa,
                &ya,
                &px,
                &py,
            );
        } else {
            draw_line(&mut s, series, color, &xa, &ya, &px, &py);
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

/// A series as a polyline with a marker at each point.
fn draw_line(
    s: &mut String,
    series: &Series,
    color: &str,
    xa: &Axis,
    ya: &Axis,
    px: &dyn Fn(f64) -> f64,
    py: &dyn Fn(f64) -> f64,
) {
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
}

/// Series `k` of `groups` as bars: slot `k` of the 0.8 units around each category, from 0
/// (or the bottom of a log axis) to the value.
#[allow(clippy::too_many_arguments)]
fn draw_bars(
    s: &mut String,
    series: &Series,
    (k, groups): (usize, usize),
    color: &str,
    xa: &Axis,
    ya: &Axis,
    px: &dyn Fn(f64) -> f64,
    py: &dyn Fn(f64) -> f64,
) {
    let slot = 0.8 / groups.max(1) as f64;
    let floor = if ya.log { 10f64.powf(ya.lo) } else { 0.0 };
    let Some(base) = ya.unit(floor).map(py) else {
        return;
    };
    for (&x, &y) in series.x.iter().zip(&series.y) {
        let left = x - 0.4 + slot * k as f64;
        let (Some(a), Some(b), Some(v)) = (xa.unit(left), xa.unit(left + slot), ya.unit(y)) else {
            continue;
        };
        let (x0, x1, top) = (px(a), px(b), py(v));
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
            x0 + 1.0,
            top.min(base),
            (x1 - x0 - 2.0).max(1.0),
            (base - top).abs()
        );
    }
}

/// The distinct x values of a bar plot, sorted.
fn categories(plot: &Plot) -> Vec<f64> {
    let mut c: Vec<f64> = plot
        .series
        .iter()
        .flat_map(|s| s.x.iter().copied())
        .filter(|x| x.is_finite())
        .collect();
    c.sort_by(f64::total_cmp);
    c.dedup();
    c
}

/// The x axis of a bar plot: half a unit beyond the first and last category.
fn bar_axis(plot: &Plot) -> Axis {
    let c = categories(plot);
    let (lo, hi) = match (c.first(), c.last()) {
        (Some(&a), Some(&b)) => (a - 0.5, b + 0.5),
        _ => (0.0, 1.0),
    };
    Axis { log: false, lo, hi }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            bars: false,
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

    #[test]
    fn bars_stand_on_zero_side_by_side_within_their_category() {
        let series = |label: &str, y: Vec<f64>| Series {
            label: label.into(),
            x: vec![1.0, 2.0],
            y,
        };
        let p = Plot {
            bars: true,
            series: vec![series("a", vec![0.5, 1.0]), series("b", vec![0.25, 0.0])],
            ..plot(false, vec![])
        };
        let svg = render(&p);
        // Background, frame, and one bar per (series, category).
        let bars: Vec<[f64; 4]> = svg
            .split("<rect")
            .skip(3)
            .map(|r| {
                ["x=\"", "y=\"", "width=\"", "height=\""].map(|key| {
                    let rest = &r[r.find(key).unwrap() + key.len()..];
                    rest[..rest.find('"').unwrap()].parse().unwrap()
                })
            })
            .collect();
        assert_eq!(bars.len(), 4, "{svg}");
        let bottom = |b: &[f64; 4]| b[1] + b[3];
        for b in &bars {
            assert!((bottom(b) - bottom(&bars[0])).abs() < 0.2, "{bars:?}");
        }
        // a's bars are left of b's in each category, and a at 1.0 is twice as tall as at 0.5.
        assert!(
            bars[0][0] < bars[2][0] && bars[1][0] < bars[3][0],
            "{bars:?}"
        );
        assert!((bars[1][3] / bars[0][3] - 2.0).abs() < 0.02, "{bars:?}");
        assert!(svg.contains(">1<") && svg.contains(">2<"));
    }
}
