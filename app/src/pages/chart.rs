//! Small charts rendered as inline SVG on the server: readable without JavaScript (a
//! `<title>` and `<desc>` named by `aria-labelledby`, axis labels, a tooltip per value),
//! and no chart library in the wasm bundle. Pages put the same figures in a table too.

/// One value of a series, with its axis label (e.g. a date).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub label: String,
    pub value: u64,
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One bar per value: amounts per day.
    Bars,
    /// A line through the values: a level over time.
    Line,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The top of the value axis: the smallest 1, 2 or 5 times a power of ten that is at least
/// `max` (1 for an empty or all-zero series), so the axis label is a round number.
pub fn nice_max(max: u64) -> u64 {
    let mut step: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            match step.checked_mul(m) {
                Some(top) if top >= max => return top,
                None => return u64::MAX,
                _ => {}
            }
        }
        match step.checked_mul(10) {
            Some(next) => step = next,
            None => return u64::MAX,
        }
    }
}

/// Maps values to the plot's vertical coordinate (0 at the bottom of the plot).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub top: u64,
}

impl Scale {
    pub fn for_values(values: impl IntoIterator<Item = u64>) -> Self {
        Self {
            top: nice_max(values.into_iter().max().unwrap_or(0)),
        }
    }

    /// Height in the plot of `value`, from 0 to the plot's height.
    pub fn height(self, value: u64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        (value.min(self.top) as f64 / self.top as f64) * plot
    }
}

/// Text escaped for XML content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as an `<svg>` element. `id` makes the title and description ids unique on the
/// page (and names the chart for tests as `data-chart`).
pub fn render(id: &str, title: &str, desc: &str, style: Style, points: &[Point]) -> String {
    let (id, title, desc) = (escape(id), escape(title), escape(desc));
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#
    );
    let bottom = HEIGHT - BOTTOM;
    // Axes.
    out.push_str(&format!(
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/><line class="axis" x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}"/>"#,
        WIDTH - RIGHT
    ));
    if points.is_empty() {
        out.push_str(&format!(
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">No data yet</text></svg>"#,
            (LEFT + WIDTH - RIGHT) / 2.0,
            (TOP + bottom) / 2.0
        ));
        return out;
    }
    let scale = Scale::for_values(points.iter().map(|p| p.value));
    // Value axis: 0 and the top.
    out.push_str(&format!(
        r#"<text class="tick" x="{}" y="{bottom}" text-anchor="end" dominant-baseline="middle">0</text><text class="tick" x="{}" y="{TOP}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
        LEFT - 6.0,
        LEFT - 6.0,
        scale.top
    ));
    // Time axis: first and last label (one label when there is one point).
    let slot = (WIDTH - LEFT - RIGHT) / points.len() as f64;
    let label_y = HEIGHT - 8.0;
    let first = &points[0];
    out.push_str(&format!(
        r#"<text class="tick" x="{LEFT}" y="{label_y}" text-anchor="start">{}</text>"#,
        escape(&first.label)
    ));
    if points.len() > 1 {
        out.push_str(&format!(
            r#"<text class="tick" x="{}" y="{label_y}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            escape(&points[points.len() - 1].label)
        ));
    }
    match style {
        Style::Bars => {
            let gap = (slot * 0.2).min(4.0);
            for (i, p) in points.iter().enumerate() {
                let h = scale.height(p.value);
                out.push_str(&format!(
                    r#"<rect class="bar" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"><title>{}: {}</title></rect>"#,
                    LEFT + i as f64 * slot + gap / 2.0,
                    bottom - h,
                    slot - gap,
                    h,
                    escape(&p.label),
                    p.value
                ));
            }
        }
        Style::Line => {
            let xy: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        LEFT + (i as f64 + 0.5) * slot,
                        bottom - scale.height(p.value),
                    )
                })
                .collect();
            let path: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            out.push_str(&format!(
                r#"<polyline class="line" fill="none" points="{}"/>"#,
                path.join(" ")
            ));
            for ((x, y), p) in xy.iter().zip(points) {
                out.push_str(&format!(
                    r#"<circle class="dot" cx="{x:.2}" cy="{y:.2}" r="2.5"><title>{}: {}</title></circle>"#,
                    escape(&p.label),
                    p.value
                ));
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian, UTC).
pub fn date_label(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[u64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("d{i}"),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn the_axis_top_is_a_round_number_at_least_the_maximum() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(150), 200);
        assert_eq!(nice_max(500), 500);
        assert_eq!(nice_max(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_scale_maps_zero_to_nothing_and_the_top_to_the_full_plot() {
        let scale = Scale::for_values([40, 100]);
        assert_eq!(scale.top, 100);
        assert_eq!(scale.height(0), 0.0);
        assert_eq!(scale.height(100), HEIGHT - TOP - BOTTOM);
        assert_eq!(scale.height(50), (HEIGHT - TOP - BOTTOM) / 2.0);
    }

    #[test]
    fn empty_data_says_so_and_is_still_labelled() {
        let svg = render("issued", "Issued", "Nothing yet", Style::Bars, &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<title id="issued-title">Issued</title>"#));
        assert!(svg.contains(r#"aria-labelledby="issued-title issued-desc""#));
        assert!(svg.contains("No data yet"));
        assert!(!svg.contains("<rect"));
    }

    #[test]
    fn one_day_is_one_full_height_bar_with_one_label() {
        let svg = render("issued", "Issued", "d", Style::Bars, &points(&[7]));
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains("<title>d0: 7</title>"));
        assert!(
            svg.contains(">10</text>"),
            "axis top rounds 7 up to 10: {svg}"
        );
        assert_eq!(svg.matches(">d0</text>").count(), 1);
        let line = render("out", "Outstanding", "d", Style::Line, &points(&[7]));
        assert_eq!(line.matches("<circle").count(), 1);
    }

    #[test]
    fn bars_follow_the_values_and_text_is_escaped() {
        let svg = render(
            "a<b",
            "Points & more",
            "x",
            Style::Bars,
            &points(&[0, 50, 100]),
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(r#"height="0.00""#));
        assert!(svg.contains(&format!(r#"height="{:.2}""#, HEIGHT - TOP - BOTTOM)));
        assert!(svg.contains("Points &amp; more") && svg.contains("a&lt;b-title"));
        assert!(svg.contains(">d0</text>") && svg.contains(">d2</text>"));
    }

    #[test]
    fn days_become_dates() {
        assert_eq!(date_label(0), "1970-01-01");
        assert_eq!(date_label(59), "1970-03-01");
        assert_eq!(date_label(20_415), "2025-11-23");
        assert_eq!(date_label(11_016), "2000-02-29");
    }
}
