//! Text with mathematics for the page: LaTeX between `$ … $` (inline) or `$$ … $$` (display)
//! rendered on the server as MathML (MathML Core, which Chromium and Firefox draw natively: no
//! JavaScript), everything else escaped as HTML, line breaks kept. `\$` is a dollar sign.

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
    if ok && !mathml.contains("<merror") {
        out.push_str(&mathml);
    } else {
        out.push_str("<code class=\"tex-error\">");
        plain(out, latex);
        out.push_str("</code>");
    }
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
}
