//! Line charts as hand-written SVG: axes with ticks, lines, shaded bands, error bars and a
//! legend. Text uses the generic `sans-serif` family, so no font file is needed to write or to
//! view a chart.

use std::fmt::Write as _;

/// Width of the plot area and height of a chart, in SVG user units (pixels). The chart is as
/// wide as the plot area, its margins and its legend, whose width follows its longest label so
/// that no label is cut at the right edge.
pub const PLOT_WIDTH: f64 = 560.0;
pub const HEIGHT: f64 = 520.0;
const LEFT: f64 = 80.0;
/// Legend text: about this many pixels per character at 12 px (sans-serif, generous).
const CHAR_WIDTH: f64 = 7.2;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// Colour-blind-safe qualitative palette (Okabe & Ito 2008), the pale yellow last.
pub const PALETTE: [&str; 10] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999",
    "#F0E442", "#666666",
];

/// Line patterns: the first ten series are solid, the next ten dashed, and so on, so that
/// series whose colours repeat still differ in line and marker.
const PATTERNS: [&str; 4] = ["", "8 3", "2 3", "8 3 2 3"];

/// Marker shapes, changing with the pattern.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Marker {
    #[default]
    Circle,
    Square,
    Triangle,
    Diamond,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
];

/// The colour, line pattern and marker of series `i`: no two of the first 40 share all three.
pub fn style(i: usize) -> (String, &'static str, Marker) {
    let round = (i / PALETTE.len()) % PATTERNS.len();
    (
        PALETTE[i % PALETTE.len()].to_owned(),
        PATTERNS[round],
        MARKERS[round],
    )
}

#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub label: String,
    pub min: f64,
    pub max: f64,
    /// Logarithmic (base 10); `min` must then be above 0.
    pub log: bool,
}

impl Axis {
    /// An axis over `values` with a little room around them (`zero`: start at 0 at most).
    pub fn fit(label: &str, values: impl Iterator<Item = f64>, log: bool, zero: bool) -> Axis {
        let (mut min, mut max) = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !min.is_finite() {
            (min, max) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            // A little room beyond the data, so that markers and error bars at the ends show.
            let (low, high) = (min.log10(), max.log10().max(min.log10() + 1.0));
            let pad = (0.05 * (high - low)).max(0.1);
            min = 10f64.powf(low - pad);
            max = 10f64.powf(high + pad);
        } else {
            if zero {
                min = min.min(0.0);
            }
            if max <= min {
                max = min + 1.0;
            }
            let step = nice_step((max - min) / 8.0);
            min = (min / step).floor() * step;
            max = (max / step).ceil() * step;
        }
        Axis {
            label: label.to_owned(),
            min,
            max,
            log,
        }
    }

    /// The axis widened by `fraction` of its span at both ends (a log axis is left as it is,
    /// it has room already), so markers at the ends show whole. Ticks stay where they were.
    pub fn padded(mut self, fraction: f64) -> Axis {
        if !self.log {
            let pad = (self.max - self.min) * fraction;
            self.min -= pad;
            self.max += pad;
        }
        self
    }

    /// Where `value` falls, from 0 (min) to 1 (max).
    fn fraction(&self, value: f64) -> f64 {
        if self.log {
            (value.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (value - self.min) / (self.max - self.min)
        }
    }

    /// Tick values with their labels: 1-2-5 steps, or every decade on a log axis.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let first = (self.min.log10() - 1e-9).ceil() as i32;
            let last = (self.max.log10() + 1e-9).floor() as i32;
            return (first..=last)
                .map(|exp| (10f64.powi(exp), decade_label(exp)))
                .collect();
        }
        let step = nice_step((self.max - self.min) / 8.0);
        let first = (self.min / step - 1e-9).ceil() as i64;
        let last = (self.max / step + 1e-9).floor() as i64;
        (first..=last)
            .map(|i| {
                let value = i as f64 * step;
                (value, number_label(value, step))
            })
            .collect()
    }
}

/// 1, 2 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    if rough <= 0.0 || !rough.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(rough.log10().floor());
    let scaled = rough / power;
    let nice = if scaled <= 1.0 {
        1.0
    } else if scaled <= 2.0 {
        2.0
    } else if scaled <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A tick label with as many decimals as the step needs.
fn number_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{value:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_owned()
    } else {
        text
    }
}

/// `1k`, `10k`, `1M` for decades from a thousand, plain numbers below.
fn decade_label(exp: i32) -> String {
    match exp {
        e if e < 0 => format!("{}", 10f64.powi(e)),
        0..=2 => format!("{}", 10i64.pow(exp as u32)),
        3..=5 => format!("{}k", 10i64.pow(exp as u32 - 3)),
        6..=8 => format!("{}M", 10i64.pow(exp as u32 - 6)),
        _ => format!("1e{exp}"),
    }
}

/// One line of a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    /// A shaded band (x, low, high) behind the line.
    pub band: Vec<(f64, f64, f64)>,
    /// Vertical error bars (x, low, high).
    pub error_bars: Vec<(f64, f64, f64)>,
    /// A theory or reference line: dashed (`6 4`), whatever `pattern` says.
    pub dashed: bool,
    /// `stroke-dasharray` of the line, empty for solid.
    pub pattern: &'static str,
    pub markers: bool,
    pub marker: Marker,
    /// Markers only, no line between them.
    pub scatter: bool,
}

impl Series {
    /// A series drawn in style `i` (see [`style`]).
    pub fn styled(i: usize, label: String) -> Series {
        let (color, pattern, marker) = style(i);
        Series {
            label,
            color,
            pattern,
            marker,
            ..Series::default()
        }
    }

    fn dasharray(&self) -> String {
        let pattern = if self.dashed { "6 4" } else { self.pattern };
        if pattern.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{pattern}\"")
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// A line under the title, in smaller type.
    pub note: String,
    /// Above the legend: what its labels are (the swept keys that tell the series apart).
    pub legend_title: String,
}

impl Chart {
    /// Room right of the plot area for the legend.
    fn right(&self) -> f64 {
        let longest = self
            .series
            .iter()
            .map(|s| s.label.chars().count())
            .chain(std::iter::once(self.legend_title.chars().count()))
            .max()
            .unwrap_or(0);
        (60.0 + CHAR_WIDTH * longest as f64).max(120.0)
    }

    /// The width of the whole chart: room for the legend, the title (bold 16 px) and the note
    /// (11 px).
    pub fn width(&self) -> f64 {
        let title = LEFT + 10.0 * self.title.chars().count() as f64;
        let note = LEFT + 6.2 * self.note.chars().count() as f64;
        (LEFT + PLOT_WIDTH + self.right())
            .max(title)
            .max(note)
            .ceil()
    }
}

/// Writes `value` as a short, locale-free SVG number.
fn n(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Text with the five XML special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl Chart {
    fn px(&self, x: f64) -> f64 {
        LEFT + self.x.fraction(x) * PLOT_WIDTH
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - self.y.fraction(y) * (HEIGHT - TOP - BOTTOM)
    }

    fn visible(&self, x: f64, y: f64) -> bool {
        let inside = |axis: &Axis, v: f64| {
            v.is_finite() && (!axis.log || v > 0.0) && {
                let f = axis.fraction(v);
                (-1e-9..=1.0 + 1e-9).contains(&f)
            }
        };
        inside(&self.x, x) && inside(&self.y, y)
    }

    /// The chart as a complete SVG document.
    pub fn to_svg(&self) -> String {
        let mut svg = String::new();
        let (w, h) = (self.width(), HEIGHT);
        let _ = writeln!(
            svg,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" \
             font-size=\"12\">"
        );
        let _ = writeln!(svg, "<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>",
            n(LEFT),
            escape(&self.title)
        );
        if !self.note.is_empty() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"40\" font-size=\"11\" fill=\"#555555\">{}</text>",
                n(LEFT),
                escape(&self.note)
            );
        }
        self.axes(&mut svg);
        // Clip the data to the plot area.
        let _ = writeln!(
            svg,
            "<clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            n(LEFT),
            n(TOP),
            n(PLOT_WIDTH),
            n(h - TOP - BOTTOM)
        );
        let _ = writeln!(svg, "<g clip-path=\"url(#plot)\">");
        for series in &self.series {
            self.band(&mut svg, series);
        }
        for series in &self.series {
            self.line(&mut svg, series);
        }
        let _ = writeln!(svg, "</g>");
        self.legend(&mut svg);
        svg.push_str("</svg>\n");
        svg
    }

    fn axes(&self, svg: &mut String) {
        let (x0, x1) = (LEFT, LEFT + PLOT_WIDTH);
        let (y0, y1) = (HEIGHT - BOTTOM, TOP);
        let _ = writeln!(
            svg,
            "<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">"
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            n(x0),
            n(y0),
            n(x1),
            n(y0)
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            n(x0),
            n(y0),
            n(x0),
            n(y1)
        );
        let _ = writeln!(svg, "</g>");
        let _ = writeln!(svg, "<g class=\"x-ticks\">");
        for (value, label) in self.x.ticks() {
            let x = self.px(value);
            let _ = writeln!(
                svg,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#dddddd\"/>\
                 <line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{3}\" stroke=\"#333333\"/>\
                 <text x=\"{0}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>",
                n(x),
                n(y0),
                n(y1),
                n(y0 + 5.0),
                n(y0 + 19.0),
                escape(&label)
            );
        }
        let _ = writeln!(svg, "</g>");
        let _ = writeln!(svg, "<g class=\"y-ticks\">");
        for (value, label) in self.y.ticks() {
            let y = self.py(value);
            let _ = writeln!(
                svg,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#dddddd\"/>\
                 <line x1=\"{3}\" y1=\"{1}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#333333\"/>\
                 <text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>",
                n(x0),
                n(y),
                n(x1),
                n(x0 - 5.0),
                n(x0 - 8.0),
                n(y + 4.0),
                escape(&label)
            );
        }
        let _ = writeln!(svg, "</g>");
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
            n((x0 + x1) / 2.0),
            n(HEIGHT - 18.0),
            escape(&self.x.label)
        );
        let (cx, cy) = (20.0, (y0 + y1) / 2.0);
        let _ = writeln!(
            svg,
            "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"13\" \
             transform=\"rotate(-90 {0} {1})\">{2}</text>",
            n(cx),
            n(cy),
            escape(&self.y.label)
        );
    }

    fn band(&self, svg: &mut String, series: &Series) {
        let band: Vec<&(f64, f64, f64)> = series
            .band
            .iter()
            .filter(|(x, lo, hi)| self.visible(*x, *lo) && self.visible(*x, *hi))
            .collect();
        if band.len() < 2 {
            return;
        }
        let mut points: Vec<String> = band
            .iter()
            .map(|(x, _, hi)| format!("{},{}", n(self.px(*x)), n(self.py(*hi))))
            .collect();
        points.extend(
            band.iter()
                .rev()
                .map(|(x, lo, _)| format!("{},{}", n(self.px(*x)), n(self.py(*lo)))),
        );
        // Visible on its own, and still readable where two overlap: a light fill with its
        // edges drawn thin in the series colour.
        let _ = writeln!(
            svg,
            "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.16\" stroke=\"{}\" \
             stroke-opacity=\"0.55\" stroke-width=\"0.8\"/>",
            points.join(" "),
            series.color,
            series.color
        );
    }

    fn line(&self, svg: &mut String, series: &Series) {
        let points: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y)| self.visible(*x, *y))
            .map(|(x, y)| format!("{},{}", n(self.px(*x)), n(self.py(*y))))
            .collect();
        let dash = series.dasharray();
        if points.len() >= 2 && !series.scatter {
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                points.join(" "),
                series.color
            );
        }
        for (x, lo, hi) in &series.error_bars {
            if !(self.visible(*x, *lo) && self.visible(*x, *hi)) {
                continue;
            }
            let (px, plo, phi) = (self.px(*x), self.py(*lo), self.py(*hi));
            let _ = writeln!(
                svg,
                "<path d=\"M{0} {1}V{2}M{3} {1}H{4}M{3} {2}H{4}\" stroke=\"{5}\" \
                 stroke-width=\"1.2\" fill=\"none\"/>",
                n(px),
                n(plo),
                n(phi),
                n(px - 4.0),
                n(px + 4.0),
                series.color
            );
        }
        if series.markers {
            for (x, y) in series.points.iter().filter(|(x, y)| self.visible(*x, *y)) {
                marker(svg, series.marker, self.px(*x), self.py(*y), &series.color);
            }
        }
    }

    fn legend(&self, svg: &mut String) {
        let x = LEFT + PLOT_WIDTH + 20.0;
        let _ = writeln!(svg, "<g class=\"legend\">");
        let mut y = TOP + 10.0;
        if !self.legend_title.is_empty() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
                n(x),
                n(y + 4.0),
                escape(&self.legend_title)
            );
            y += 20.0;
        }
        for series in &self.series {
            let dash = series.dasharray();
            if !series.scatter {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" \
                     stroke-width=\"2\"{dash}/>",
                    n(x),
                    n(y),
                    n(x + 28.0),
                    n(y),
                    series.color,
                );
            }
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                n(x + 34.0),
                n(y + 4.0),
                escape(&series.label)
            );
            if series.markers {
                marker(svg, series.marker, x + 14.0, y, &series.color);
            }
            y += 20.0;
        }
        let _ = writeln!(svg, "</g>");
    }
}

/// A marker of `shape` centred on (x, y).
fn marker(svg: &mut String, shape: Marker, x: f64, y: f64, color: &str) {
    let r = 3.8;
    let _ = match shape {
        Marker::Circle => writeln!(
            svg,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{color}\"/>",
            n(x),
            n(y),
            n(r)
        ),
        Marker::Square => writeln!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"/>",
            n(x - r),
            n(y - r),
            n(2.0 * r),
            n(2.0 * r)
        ),
        Marker::Triangle => writeln!(
            svg,
            "<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{color}\"/>",
            n(x),
            n(y - r * 1.2),
            n(x + r * 1.1),
            n(y + r * 0.8),
            n(x - r * 1.1),
            n(y + r * 0.8)
        ),
        Marker::Diamond => writeln!(
            svg,
            "<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"{color}\"/>",
            n(x),
            n(y - r * 1.3),
            n(x + r),
            n(y),
            n(x),
            n(y + r * 1.3),
            n(x - r),
            n(y)
        ),
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `xml` is well-formed as far as these charts go: one root, every tag closed in
    /// order, every attribute value quoted, no stray `<` or `&` in text. Returns the tag names in
    /// document order.
    pub(crate) fn check_well_formed(xml: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut tags = Vec::new();
        let mut rest = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .expect("XML declaration");
        let mut roots = 0;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(!text.contains('>'), "stray > in {text:?}");
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "bad entity in {text:?}"
                );
            }
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name = body.split_whitespace().next().expect("tag name").to_owned();
            // Attributes: name="value" pairs, values without quotes inside.
            let mut attrs = body[name.len()..].trim();
            while !attrs.is_empty() {
                let (key, value) = attrs.split_once("=\"").expect("quoted attribute");
                assert!(!key.trim().is_empty() && !key.contains(' '), "attr {key:?}");
                let end = value.find('"').expect("closing quote");
                assert!(!value[..end].contains('<'), "< in attribute");
                attrs = value[end + 1..].trim_start();
            }
            if stack.is_empty() {
                roots += 1;
            }
            tags.push(name.clone());
            if !self_closing {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1, "one root element");
        assert!(rest.trim().is_empty());
        tags
    }

    fn chart(log: bool) -> Chart {
        let xs = [1_000.0, 10_000.0, 100_000.0, 1_000_000.0];
        Chart {
            title: "rounds <to> all & more".to_owned(),
            note: "mean \u{b1} 95% CI".to_owned(),
            legend_title: "kind".to_owned(),
            x: Axis::fit("nodes", xs.iter().copied(), log, false),
            y: Axis::fit("rounds", [9.5, 35.5].into_iter(), false, true),
            series: vec![
                Series {
                    label: "push".to_owned(),
                    color: PALETTE[0].to_owned(),
                    points: xs.iter().map(|&x| (x, x.log10() * 8.0)).collect(),
                    error_bars: xs
                        .iter()
                        .map(|&x| (x, x.log10() * 8.0 - 1.0, x.log10() * 8.0 + 1.0))
                        .collect(),
                    markers: true,
                    ..Series::default()
                },
                Series {
                    label: "push (theory)".to_owned(),
                    color: PALETTE[0].to_owned(),
                    points: xs.iter().map(|&x| (x, x.log10() * 7.0)).collect(),
                    band: xs.iter().map(|&x| (x, 1.0, 5.0)).collect(),
                    dashed: true,
                    ..Series::default()
                },
            ],
        }
    }

    #[test]
    fn series_past_the_tenth_differ_in_pattern_and_marker() {
        let styles: Vec<_> = (0..40).map(style).collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[..i] {
                assert_ne!(a, b, "series {i}");
            }
        }
        assert_eq!(styles[0].0, styles[10].0, "the colour repeats");
        assert_ne!(styles[0].1, styles[10].1, "but not the line");
    }

    #[test]
    fn a_long_legend_label_widens_the_chart_instead_of_being_cut() {
        let mut wide = chart(true);
        let narrow_width = wide.width();
        wide.series[0].label = "protocol.kind=push-pull, network.loss=0.25, fanout=3".to_owned();
        let width = wide.width();
        assert!(width > narrow_width);
        let text_end = LEFT + PLOT_WIDTH + 20.0 + 34.0 + CHAR_WIDTH * 52.0;
        assert!(text_end <= width, "{text_end} > {width}");
        assert!(wide.to_svg().contains(&format!("width=\"{width}\"")));
    }

    #[test]
    fn a_chart_is_well_formed_svg() {
        let svg = chart(true).to_svg();
        let tags = check_well_formed(&svg);
        assert_eq!(tags[0], "svg");
        assert!(tags.contains(&"polyline".to_owned()));
        assert!(tags.contains(&"polygon".to_owned()));
        assert!(tags.contains(&"circle".to_owned()));
        assert!(
            svg.contains("rounds &lt;to&gt; all &amp; more"),
            "title escaped"
        );
        assert!(svg.contains("font-family=\"sans-serif\""));
        assert!(svg.contains("stroke-dasharray"));
    }

    #[test]
    fn log_axes_tick_every_decade() {
        let chart = chart(true);
        let labels: Vec<String> = chart.x.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["1k", "10k", "100k", "1M"]);
        let svg = chart.to_svg();
        for label in ["1k", "10k", "100k", "1M"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        // Decades are evenly spaced.
        let xs: Vec<f64> = chart.x.ticks().iter().map(|(v, _)| chart.px(*v)).collect();
        let gaps: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() < 1e-9), "{gaps:?}");
    }

    #[test]
    fn linear_axes_tick_in_nice_steps() {
        let axis = Axis::fit("rounds", [9.5, 35.5].into_iter(), false, true);
        assert_eq!((axis.min, axis.max), (0.0, 40.0));
        let ticks: Vec<String> = axis.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(ticks, ["0", "5", "10", "15", "20", "25", "30", "35", "40"]);
        let loss = Axis::fit("loss", [0.0, 0.3].into_iter(), false, true);
        let ticks: Vec<String> = loss.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(ticks, ["0", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"]);
        let unit = Axis::fit("coverage", [0.0, 1.0].into_iter(), false, true);
        assert_eq!(unit.ticks().len(), 6);
        // No data: still an axis.
        let empty = Axis::fit("x", std::iter::empty(), false, false);
        assert!(empty.max > empty.min);
    }

    #[test]
    fn points_outside_the_axes_are_left_out() {
        let mut chart = chart(false);
        chart.series[0].points.push((f64::NAN, 1.0));
        chart.series[0].points.push((5e6, 1.0));
        let svg = chart.to_svg();
        check_well_formed(&svg);
        assert!(!svg.contains("NaN"));
    }
}
