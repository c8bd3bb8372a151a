//! Charts drawn on the server as SVG: the page carries the shapes, no script draws them.
//! Geometry here, markup in the templates (`analysis/bars.html`, `analysis/heat.html`);
//! colours by class in `app.css`.

/// A bar of a bar chart, in the chart's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Under the bar, and above it.
    pub label: String,
    pub value: String,
    /// A CSS class: `bar`, `bar-low`, `bar-good` …
    pub class: &'static str,
}

/// A vertical bar chart of `values` (with their labels and classes) in a `width` × `height`
/// box with room below for the labels.
pub struct Bars {
    pub width: f64,
    pub height: f64,
    /// The y of the base line.
    pub base: f64,
    pub bars: Vec<Bar>,
    /// A title for screen readers.
    pub title: String,
}

pub const WIDTH: f64 = 600.0;
pub const HEIGHT: f64 = 220.0;
const LABELS: f64 = 24.0;
const TOP: f64 = 18.0;

/// Bars scaled to the largest of `values` (or to `max` when given: shares out of 1).
pub fn bars(
    title: String,
    values: &[(String, f64, String, &'static str)],
    max: Option<f64>,
) -> Bars {
    let base = HEIGHT - LABELS;
    let top = max.unwrap_or_else(|| values.iter().map(|v| v.1).fold(0.0, f64::max));
    let slot = WIDTH / values.len().max(1) as f64;
    let width = (slot * 0.7).max(2.0);
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, (label, v, text, class))| {
            let h = if top > 0.0 {
                (v / top).clamp(0.0, 1.0) * (base - TOP)
            } else {
                0.0
            };
            Bar {
                x: round(i as f64 * slot + (slot - width) / 2.0),
                y: round(base - h),
                width: round(width),
                height: round(h),
                label: label.clone(),
                value: text.clone(),
                class,
            }
        })
        .collect();
    Bars {
        width: WIDTH,
        height: HEIGHT,
        base,
        bars,
        title,
    }
}

impl Bars {
    /// The x of a bar's centre (for its labels).
    pub fn centre(&self, b: &Bar) -> f64 {
        round(b.x + b.width / 2.0)
    }
    pub fn label_y(&self) -> f64 {
        round(self.base + 16.0)
    }
    pub fn value_y(&self, b: &Bar) -> f64 {
        round(b.y - 4.0)
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A heat map's cell: a student's mastery of a point.
#[derive(Debug, Clone)]
pub struct Cell {
    pub x: f64,
    pub y: f64,
    /// Percent, or `None` without answers.
    pub percent: Option<i64>,
    /// For the tooltip: the student, the point, the answers counted.
    pub title: String,
}

impl Cell {
    /// The colour's class: `heat-0` (0–9 %) to `heat-9` (90–100 %), `heat-none`.
    pub fn class(&self) -> String {
        match self.percent {
            Some(p) => format!("heat-{}", (p / 10).clamp(0, 9)),
            None => "heat-none".into(),
        }
    }
    pub fn text(&self) -> String {
        self.percent.map(|p| p.to_string()).unwrap_or_default()
    }
}

/// A heat map: rows (students) by columns (points), with labels on the left and on top.
pub struct Heat {
    pub width: f64,
    pub height: f64,
    pub rows: Vec<(f64, String)>,
    pub columns: Vec<(f64, String)>,
    pub cells: Vec<Cell>,
    pub title: String,
}

pub const CELL: f64 = 34.0;
const LEFT: f64 = 90.0;
const HEAD: f64 = 110.0;

/// The heat map of `values[row][column]`.
pub fn heat(
    title: String,
    rows: &[String],
    columns: &[String],
    values: &[Vec<(Option<i64>, String)>],
) -> Heat {
    let mut cells = Vec::new();
    for (r, row) in values.iter().enumerate() {
        for (c, (percent, tip)) in row.iter().enumerate() {
            cells.push(Cell {
                x: LEFT + c as f64 * CELL,
                y: HEAD + r as f64 * CELL,
                percent: *percent,
                title: tip.clone(),
            });
        }
    }
    Heat {
        width: LEFT + columns.len() as f64 * CELL + 10.0,
        height: HEAD + rows.len() as f64 * CELL + 4.0,
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, n)| (HEAD + i as f64 * CELL + CELL / 2.0 + 5.0, n.clone()))
            .collect(),
        columns: columns
            .iter()
            .enumerate()
            .map(|(i, n)| (LEFT + i as f64 * CELL + CELL / 2.0, n.clone()))
            .collect(),
        cells,
        title,
    }
}

impl Heat {
    pub fn head(&self) -> f64 {
        HEAD - 6.0
    }
    pub fn left(&self) -> f64 {
        LEFT - 6.0
    }
    pub fn cell(&self) -> f64 {
        CELL - 2.0
    }
    pub fn centre_x(&self, c: &Cell) -> f64 {
        c.x + (CELL - 2.0) / 2.0
    }
    pub fn centre_y(&self, c: &Cell) -> f64 {
        c.y + CELL / 2.0 + 4.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_and_cells_coloured_by_tenth() {
        let b = bars(
            "t".into(),
            &[
                ("a".into(), 2.0, "2".into(), "bar"),
                ("b".into(), 4.0, "4".into(), "bar"),
                ("c".into(), 0.0, "0".into(), "bar"),
            ],
            None,
        );
        let full = b.base - TOP;
        assert_eq!(b.bars[1].height, round(full));
        assert_eq!(b.bars[0].height, round(full / 2.0));
        assert_eq!(b.bars[2].height, 0.0);
        assert_eq!(b.bars[1].y + b.bars[1].height, b.base);
        let c = |p| Cell {
            x: 0.0,
            y: 0.0,
            percent: p,
            title: String::new(),
        };
        assert_eq!(c(Some(100)).class(), "heat-9");
        assert_eq!(c(Some(45)).class(), "heat-4");
        assert_eq!(c(None).class(), "heat-none");
    }
}
