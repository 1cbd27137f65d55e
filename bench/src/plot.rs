//! SVG charts for the scenario reports: lines (a value against a rising load) and grouped
//! bars (a value per phase or per core count), one or more panels side by side in one file.
//!
//! Why SVG through plotters' SVG backend only: it writes text as SVG `<text>` elements and
//! leaves the fonts to whoever views the file, so no font file, fontconfig or rasteriser is
//! needed to build or run the benchmarks (plotters then lays text out with a rough width
//! estimate, which is all axis labels need).
//!
//! What it leaves out: log axes, error bars. A value that is not finite (a run that failed
//! has NaN medians) is not drawn: a gap in a line, a missing bar.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One panel's width and height in pixels.
const PANEL_SIZE: (u32, u32) = (720, 440);

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

/// Lines on linear axes that start at zero.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// One colour of a [`BarChart`]: a value per category, `None` where there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    /// The legend's text.
    pub name: String,
    /// One entry per category of the chart.
    pub values: Vec<Option<f64>>,
}

/// Bars grouped by category, one colour per series, each labelled with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
}

/// One panel of an SVG file.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    Line(LineChart),
    Bars(BarChart),
}

/// Draws `panels` side by side and writes them to `path` as one SVG file.
///
/// ```
/// use bench::plot::{render_svg, LineChart, Panel, Series};
/// let chart = LineChart {
///     title: "deliveries".into(),
///     x_label: "posts/s".into(),
///     y_label: "deliveries/s".into(),
///     series: vec![Series { name: "Flux".into(), points: vec![(100.0, 1e5), (200.0, 2e5)] }],
/// };
/// let svg = render_svg(&[Panel::Line(chart)]).unwrap();
/// assert!(svg.starts_with("<svg") && svg.contains("Flux"));
/// ```
pub fn write_svg(path: &Path, panels: &[Panel]) -> io::Result<()> {
    std::fs::write(path, render_svg(panels)?)
}

/// Draws `panels` side by side and returns the SVG text.
pub fn render_svg(panels: &[Panel]) -> io::Result<String> {
    let mut svg = String::new();
    {
        let count = panels.len().max(1) as u32;
        let size = (PANEL_SIZE.0 * count, PANEL_SIZE.1);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (area, panel) in areas.iter().zip(panels) {
            match panel {
                Panel::Line(chart) => draw_lines(area, chart)?,
                Panel::Bars(chart) => draw_bars(area, chart)?,
            }
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A short human form for axis labels and bar values: `950`, `12.5k`, `1.25M`.
pub fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    let trimmed = |scaled: f64, decimals: usize, unit: &str| {
        let text = format!("{scaled:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        format!("{text}{unit}")
    };
    if magnitude >= 1e9 {
        trimmed(value / 1e9, 2, "G")
    } else if magnitude >= 1e6 {
        trimmed(value / 1e6, 2, "M")
    } else if magnitude >= 1e4 {
        trimmed(value / 1e3, 1, "k")
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        trimmed(value, 2, "")
    } else {
        trimmed(value, 3, "")
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw_lines(area: &Area<'_>, chart: &LineChart) -> io::Result<()> {
    let points = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let x_max = upper_bound(points().map(|p| p.0), 1.05);
    // Headroom above the highest point keeps the legend (upper left) off the lines.
    let y_max = upper_bound(points().map(|p| p.1), 1.3);
    let mut context = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(draw_error)?;
    context
        .configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(draw_error)?;
    for (index, series) in chart.series.iter().enumerate() {
        let color = color(index);
        // A NaN point ends one segment; the next finite point starts another.
        for segment in finite_segments(&series.points) {
            let line = LineSeries::new(segment, color.stroke_width(2)).point_size(3);
            context.draw_series(line).map_err(draw_error)?;
        }
        // An empty series drawn once more only to put its name in the legend.
        context
            .draw_series(std::iter::empty::<Circle<(f64, f64), u32>>())
            .map_err(draw_error)?
            .label(series.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    draw_legend(&mut context)
}

fn draw_bars(area: &Area<'_>, chart: &BarChart) -> io::Result<()> {
    let categories = chart.categories.len().max(1);
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| v.is_finite());
    // Headroom above the tallest bar keeps the legend and the value labels off the bars.
    let y_max = upper_bound(values, 1.45);
    let mut context = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5..categories as f64 - 0.5, 0.0..y_max)
        .map_err(draw_error)?;
    let names = chart.categories.clone();
    context
        .configure_mesh()
        .disable_x_mesh()
        // One key point per category: the finest "nice" step that fits is 1.
        .x_labels(categories + 1)
        .x_label_formatter(&|v| category_name(&names, *v))
        .y_desc(chart.y_label.as_str())
        .y_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(draw_error)?;
    let group_width = 0.8;
    let bar_width = group_width / chart.series.len().max(1) as f64;
    for (index, series) in chart.series.iter().enumerate() {
        let color = color(index);
        let bars: Vec<(f64, f64)> = series
            .values
            .iter()
            .enumerate()
            .filter_map(|(category, value)| {
                let value = value.filter(|v| v.is_finite())?;
                let left = category as f64 - group_width / 2.0 + index as f64 * bar_width;
                Some((left, value))
            })
            .collect();
        context
            .draw_series(bars.iter().map(|&(left, value)| {
                Rectangle::new(
                    [
                        (left + bar_width * 0.05, 0.0),
                        (left + bar_width * 0.95, value),
                    ],
                    color.filled(),
                )
            }))
            .map_err(draw_error)?
            .label(series.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let value_style = TextStyle::from(("sans-serif", 12).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        context
            .draw_series(bars.iter().map(|&(left, value)| {
                Text::new(
                    short_number(value),
                    (left + bar_width / 2.0, value),
                    value_style.clone(),
                )
            }))
            .map_err(draw_error)?;
    }
    draw_legend(&mut context)
}

fn draw_legend<'chart, 'svg: 'chart>(
    context: &mut ChartContext<
        'chart,
        SVGBackend<'svg>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
) -> io::Result<()> {
    context
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_error)
}

/// The runs of finite points, in order.
fn finite_segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut segments = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            if let Some(segment) = segments.last_mut() {
                segment.push((x, y));
            }
        } else if segments.last().is_some_and(|s| !s.is_empty()) {
            segments.push(Vec::new());
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// `headroom × the largest value`, or 1 when there is nothing positive to show.
fn upper_bound(values: impl Iterator<Item = f64>, headroom: f64) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 {
        max * headroom
    } else {
        1.0
    }
}

/// The category under key point `value`, or nothing between categories.
fn category_name(names: &[String], value: f64) -> String {
    let index = value.round();
    if (value - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    names.get(index as usize).cloned().unwrap_or_default()
}

/// A colour per series, the same order in every chart (Flux first, then the peer).
fn color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    COLORS[index % COLORS.len()]
}

fn draw_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("drawing a chart: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_readable() {
        let cases = [
            (0.0, "0"),
            (7.0, "7"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (950.0, "950"),
            (12_500.0, "12.5k"),
            (20_000.0, "20k"),
            (1_250_000.0, "1.25M"),
            (2_000_000.0, "2M"),
        ];
        for (value, text) in cases {
            assert_eq!(short_number(value), text, "{value}");
        }
    }

    #[test]
    fn nan_points_split_a_line_and_are_not_drawn() {
        let points = [(1.0, 1.0), (2.0, f64::NAN), (3.0, 3.0), (4.0, 4.0)];
        assert_eq!(
            finite_segments(&points),
            vec![vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]
        );
        assert!(finite_segments(&[(f64::NAN, 1.0)]).is_empty());
    }

    #[test]
    fn categories_sit_on_integer_key_points_only() {
        let names = vec!["a".to_string(), "b".to_string()];
        assert_eq!(category_name(&names, 1.0), "b");
        assert_eq!(category_name(&names, 0.5), "");
        assert_eq!(category_name(&names, -1.0), "");
        assert_eq!(category_name(&names, 2.0), "");
    }

    #[test]
    fn line_and_bar_panels_render_as_svg_text() {
        let line = LineChart {
            title: "t".into(),
            x_label: "sessions".into(),
            y_label: "bytes".into(),
            series: vec![Series {
                name: "Flux".into(),
                points: vec![(1000.0, 2048.0), (5000.0, f64::NAN), (10000.0, 1900.0)],
            }],
        };
        let bars = BarChart {
            title: "phases".into(),
            y_label: "s".into(),
            categories: vec!["RESUME".into(), "re-IDENTIFY".into()],
            series: vec![
                BarSeries {
                    name: "Flux".into(),
                    values: vec![Some(0.5), Some(1.5)],
                },
                BarSeries {
                    name: "peer".into(),
                    values: vec![None, Some(2.0)],
                },
            ],
        };
        let svg = render_svg(&[Panel::Line(line), Panel::Bars(bars)]).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["Flux", "peer", "sessions", "RESUME", "re-IDENTIFY", "1.5"] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Empty charts still render (axes only).
        let empty = LineChart {
            title: "empty".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: Vec::new(),
        };
        assert!(render_svg(&[Panel::Line(empty)]).unwrap().contains("empty"));
    }
}
