//! Text with mathematics for the page: LaTeX between `$ … $` (inline) or `$$ … $$` (display)
//! rendered on the server as MathML (MathML Core, which Chromium and Firefox draw natively: no
//! JavaScript), everything else escaped as HTML, line breaks kept. `\$` is a dollar sign.
//! Chemistry is written with mhchem's `\ce{…}` ([`super::chem`]).

/// The HTML of `text` (safe to insert as it is).
pub fn render(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let Some(start) = find_dollar(rest) else {
            plain(&mut out, rest);
            break;
        };
        plain(&mut out, &rest[..start]);
        let after = &rest[start..];
        let (display, open) = if after.starts_with("$$") {
            (true, 2)
        } else {
            (false, 1)
        };
        let body = &after[open..];
        let close = if display {
            body.find("$$")
        } else {
            find_dollar(body)
        };
        match close {
            Some(end) if end > 0 => {
                formula(&mut out, &body[..end], display);
                rest = &body[end + open..];
            }
            // An unclosed or empty formula is shown as typed.
            _ => {
                plain(&mut out, &after[..open]);
                rest = body;
            }
        }
    }
    out
}

/// The first `$` that is not escaped as `\$`.
fn find_dollar(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'$' && (i == 0 || bytes[i - 1] != b'\\'))
}

fn plain(out: &mut String, s: &str) {
    let s = s.replace("\\$", "$");
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
}

/// One formula as MathML; LaTeX the renderer cannot read is shown as typed, marked.
fn formula(out: &mut String, latex: &str, display: bool) {
    use pulldown_latex::config::DisplayMode;
    let typed = latex;
    let expanded = super::chem::expand(latex);
    let latex = expanded.as_str();
    let storage = pulldown_latex::Storage::new();
    let parser = pulldown_latex::Parser::new(latex, &storage);
    let config = pulldown_latex::RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        ..Default::default()
    };
    let mut mathml = String::new();
    let ok = pulldown_latex::push_mathml(&mut mathml, parser, config).is_ok();
    let mathml = lone_less_than(&mathml);
    if ok && !mathml.contains("<merror") && only_mathml(&mathml) {
        out.push_str(&mathml);
    } else {
        out.push_str("<code class=\"tex-error\">");
        plain(out, typed);
        out.push_str("</code>");
    }
}

/// The MathML elements and attributes a formula may render to.
const ELEMENTS: &[&str] = &[
    "math",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "mrow",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "merror",
    "mpadded",
    "mphantom",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mtable",
    "mtr",
    "mtd",
    "semantics",
    "annotation",
    "menclose",
];
const ATTRIBUTES: &[&str] = &[
    "xmlns",
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "lspace",
    "rspace",
    "minsize",
    "maxsize",
    "movablelimits",
    "accent",
    "accentunder",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "framespacing",
    "mathcolor",
    "mathbackground",
    "mathsize",
    "scriptlevel",
    "displaystyle",
    "width",
    "height",
    "depth",
    "voffset",
    "linethickness",
    "form",
    "largeop",
    "symmetric",
    "notation",
    "encoding",
    "class",
    "style",
];
// `class` and `style` are checked further in `only_mathml`.

/// The renderer writes the relation `<` as it is (`<mo><</mo>`): escaped, so that `x < 3`
/// renders and the markup stays well formed.
fn lone_less_than(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut chars = markup.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<'
            && !chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/')
        {
            out.push_str("&lt;");
        } else {
            out.push(c);
        }
    }
    out
}

/// The style properties the renderer uses (colours, spacing, sizes), with values of plain
/// characters only: nothing that positions, loads or escapes.
fn plain_style(style: &str) -> bool {
    const PROPERTIES: &[&str] = &[
        "color",
        "background-color",
        "margin-left",
        "margin-right",
        "margin-top",
        "margin-bottom",
        "padding-left",
        "padding-right",
        "height",
        "width",
        "vertical-align",
        "min-width",
    ];
    style
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .all(|d| {
            d.split_once(':').is_some_and(|(p, v)| {
                PROPERTIES.contains(&p.trim())
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || " .,%#()-".contains(c))
                    && !v.contains("url")
                    && !v.contains("image")
            })
        })
}

/// Whether rendered markup holds only MathML elements and presentation attributes whose values
/// carry no markup, script or URL: a guard on the renderer, whatever LaTeX it was given.
fn only_mathml(markup: &str) -> bool {
    let mut rest = markup;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            return false;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .trim_end_matches('/');
        rest = &rest[open + close + 1..];
        let (name, mut attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        if !ELEMENTS.contains(&name) {
            return false;
        }
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                break;
            }
            let Some((key, after)) = attrs.split_once("=\"") else {
                return false;
            };
            let Some((value, more)) = after.split_once('"') else {
                return false;
            };
            let (key, value) = (key.trim(), value.to_ascii_lowercase());
            let fits = match key {
                "class" => value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' '),
                "style" => plain_style(&value),
                "xmlns" => value == "http://www.w3.org/1998/math/mathml",
                _ => ATTRIBUTES.contains(&key) && !value.contains(':'),
            };
            if !fits || value.contains('&') {
                return false;
            }
            attrs = more;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn formulas_become_mathml_and_the_rest_is_escaped() {
        let html = render("已知 $x^2 = 4$，求 <x>。");
        assert!(html.starts_with("已知 <math"), "{html}");
        assert!(
            html.contains("<msup>") && html.contains("</math>，求 &lt;x&gt;。"),
            "{html}"
        );
        let block = render("$$\\frac{a}{b}$$");
        assert!(
            block.contains("display=\"block\"") && block.contains("<mfrac>"),
            "{block}"
        );
        assert_eq!(render("价格 \\$5"), "价格 $5");
        assert_eq!(render("只有一个 $ 号"), "只有一个 $ 号");
        assert_eq!(render("第一行\n第二行"), "第一行<br>第二行");
        assert!(
            !render("$<script>$").contains("<script>"),
            "no markup gets through"
        );
    }

    #[test]
    fn no_latex_renders_to_markup_beyond_mathml() {
        for evil in [
            r#"$\text{<img src=x onerror=alert(1)>}$"#,
            r#"$\color{red" onmouseover="alert(1)}{a}$"#,
            r#"$\mathrm{</math><script>alert(1)</script>}$"#,
            r#"$\href{javascript:alert(1)}{a}$"#,
        ] {
            let html = render(evil);
            assert!(
                !html.contains("<img")
                    && !html.contains("<script")
                    && !html.contains("onmouseover=\"")
                    && !html.contains("href="),
                "{evil} gave {html}"
            );
        }
        assert!(super::only_mathml(
            r#"<math display="block"><mi>x</mi></math>"#
        ));
        assert!(!super::only_mathml(r#"<math><img src="x"></math>"#));
        assert!(!super::only_mathml(r#"<mi onclick="x">a</mi>"#));
        assert!(!super::only_mathml(
            r#"<mi style="background:url(x)">a</mi>"#
        ));
        assert!(!super::only_mathml(
            r#"<mi style="position:fixed;inset:0">a</mi>"#
        ));
        assert!(!super::only_mathml(
            r#"<mi style="color: u&#114;l(x)">a</mi>"#
        ));
        assert!(super::only_mathml(
            r#"<mi style="color: rgb(1 2 3)">a</mi>"#
        ));
        let phish = render(r#"$\operatorname{<mi style="position:fixed;inset:0">x</mi>}$"#);
        assert!(
            phish.starts_with("<code class=\"tex-error\">") && !phish.contains("<mi style"),
            "shown as typed: {phish}"
        );
        let lt = render("$x < 3$ 且 $a \\lt b$");
        assert!(
            lt.starts_with("<math") && lt.contains("&lt;") && !lt.contains("tex-error"),
            "{lt}"
        );
    }
}
