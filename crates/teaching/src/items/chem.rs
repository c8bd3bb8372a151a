//! Chemistry in formulas: mhchem's `\ce{…}` as secondary-school chemistry writes it, turned
//! into plain LaTeX before the formula is rendered as MathML ([`super::math`]): upright element
//! symbols with their counts as subscripts, charges as superscripts, coefficients, hydrates,
//! states, precipitates and gases, and reaction arrows with conditions above and below.
//!
//! `\ce{2H2 + O2 ->[点燃] 2H2O}`, `\ce{SO4^2-}`, `\ce{Fe^{3+}}`, `\ce{CuSO4*5H2O}`,
//! `\ce{CaCO3 v}`, `\ce{CO2 ^}`, `\ce{N2 + 3H2 <=>[高温高压][催化剂] 2NH3}`, `\ce{NaCl(aq)}`.

/// `latex` with every `\ce{…}` replaced by plain LaTeX; the rest as it was.
pub fn expand(latex: &str) -> String {
    let mut out = String::with_capacity(latex.len() + 16);
    let mut rest = latex;
    while let Some(at) = rest.find("\\ce{") {
        out.push_str(&rest[..at]);
        let body = &rest[at + 4..];
        match closing(body) {
            Some(end) => {
                out.push_str(&equation(&body[..end]));
                rest = &body[end + 1..];
            }
            None => {
                // Unclosed: left as typed (the renderer then says it cannot read it).
                out.push_str(&rest[at..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The index of the `}` that closes a group opened just before `s`.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The arrows mhchem knows, longest first.
const ARROWS: &[(&str, &str)] = &[
    ("<=>", "\\rightleftharpoons"),
    ("<->", "\\leftrightarrow"),
    ("->", "\\rightarrow"),
    ("<-", "\\leftarrow"),
    ("=", "="),
];

/// Spaces put around the operators a student may type without them (`2H2+O2=2H2O`,
/// `A->B`): arrows anywhere, and `+` or `=` between a species and the next one (a digit or a
/// capital follows; a charge's sign follows a caret or ends its word).
fn spaced(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len() + 8);
    let mut k = 0;
    let mut depth = 0usize;
    while k < chars.len() {
        let c = chars[k];
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0
            && let Some((t, _)) = ARROWS
                .iter()
                .filter(|(t, _)| *t != "=")
                .find(|(t, _)| chars[k..].iter().copied().take(t.len()).eq(t.chars()))
        {
            out.push(' ');
            out.push_str(t);
            // Conditions stay glued to their arrow.
            k += t.len();
            if chars.get(k) != Some(&'[') {
                out.push(' ');
            }
            continue;
        }
        let binary = depth == 0
            && (c == '+' || c == '=')
            && k > 0
            && (chars[k - 1].is_ascii_alphanumeric() || chars[k - 1] == ')')
            && chars
                .get(k + 1)
                .is_some_and(|n| n.is_ascii_digit() || n.is_ascii_uppercase());
        if binary {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
        k += 1;
    }
    out
}

/// A whole `\ce` body: species, `+`, arrows (with `[above][below]`), separated by spaces.
fn equation(body: &str) -> String {
    let body = spaced(body);
    let mut parts: Vec<String> = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        if let Some((token, arrow)) = ARROWS.iter().find(|(t, _)| rest.starts_with(t)) {
            rest = &rest[token.len()..];
            let (above, after) = bracket(rest);
            rest = after;
            let (below, after) = bracket(rest);
            rest = after;
            parts.push(match (above, below) {
                (None, None) => arrow.to_string(),
                (Some(a), None) => format!("\\overset{{{}}}{{{arrow}}}", condition(a)),
                (a, Some(b)) => format!(
                    "\\underset{{{}}}{{\\overset{{{}}}{{{arrow}}}}}",
                    condition(b),
                    condition(a.unwrap_or(""))
                ),
            });
        } else {
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            parts.push(match word {
                "+" => "+".into(),
                "=" => "=".into(),
                "v" => "\\downarrow".into(),
                "^" => "\\uparrow".into(),
                _ => species(word),
            });
        }
        rest = rest.trim_start();
    }
    parts.join(" ")
}

/// A `[…]` at the start of `s`: its text and what follows.
fn bracket(s: &str) -> (Option<&str>, &str) {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
    {
        return (Some(&inner[..end]), &inner[end + 1..]);
    }
    (None, s)
}

/// Text for `\text{…}`: braces and backslashes cannot close or escape it.
fn text(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !matches!(
                c,
                '{' | '}' | '\\' | '$' | '%' | '#' | '&' | '^' | '_' | '~'
            )
        })
        .collect()
}

/// An arrow's condition, in math: formulas as species (`MnO2`), heating as Δ (`\Delta`, `△`),
/// `\text{…}` unwrapped, the rest as text (`点燃`, `高温`).
fn condition(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let w = w
                .strip_prefix("\\text{")
                .and_then(|x| x.strip_suffix('}'))
                .unwrap_or(w);
            match w {
                "\\Delta" | "\\triangle" | "△" | "Δ" => "\\Delta".to_owned(),
                _ if w.starts_with(|c: char| c.is_ascii_uppercase())
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "()".contains(c)) =>
                {
                    species(w)
                }
                _ => format!("\\text{{{}}}", text(w)),
            }
        })
        .collect::<Vec<_>>()
        .join("\\ ")
}

/// A script's body at `chars[i..]`: `{…}` or a run of digits and signs; and its length.
fn script(chars: &[char], i: usize) -> (String, usize) {
    if chars.get(i) == Some(&'{') {
        let inner: String = chars[i + 1..].iter().take_while(|c| **c != '}').collect();
        let n = inner.chars().count();
        (inner, n + 2)
    } else {
        let s: String = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == '+' || **c == '-')
            .collect();
        let n = s.chars().count();
        (s, n)
    }
}

/// One species: `2H2O`, `Fe^{3+}`, `SO4^2-`, `Na+`, `CuSO4*5H2O`, `CuSO4.5H2O`, `NaCl(aq)`,
/// `Ca(OH)2`, `^{14}_{6}C`, `e-`, `0.5O2`.
fn species(word: &str) -> String {
    // Hydrates: the parts joined by a centred dot (a `.` after a formula, not in a number).
    if word.contains('*') || word.contains('·') {
        return word
            .split(['*', '·'])
            .map(species)
            .collect::<Vec<_>>()
            .join(" \\cdot ");
    }
    if let Some(dot) = word.find('.')
        && word[..dot].chars().any(|c| c.is_ascii_uppercase())
    {
        return format!(
            "{} \\cdot {}",
            species(&word[..dot]),
            species(&word[dot + 1..])
        );
    }
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    // A coefficient: digits (a decimal, or a fraction like 1/2) before the first symbol.
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '/' || chars[i] == '.') {
        out.push(chars[i]);
        i += 1;
    }
    if i > 0 {
        out.push_str("\\,");
    }
    // An isotope: mass number and atomic number before the symbol.
    if chars.get(i) == Some(&'^') {
        let (mass, n) = script(&chars, i + 1);
        i += 1 + n;
        out.push_str(&format!("{{}}^{{{}}}", text(&mass)));
        if chars.get(i) == Some(&'_') {
            let (z, n) = script(&chars, i + 1);
            i += 1 + n;
            out.push_str(&format!("_{{{}}}", text(&z)));
        }
    }
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_uppercase() {
            let mut symbol = c.to_string();
            i += 1;
            while i < chars.len() && chars[i].is_ascii_lowercase() {
                symbol.push(chars[i]);
                i += 1;
            }
            out.push_str(&format!("\\mathrm{{{symbol}}}"));
        } else if c.is_ascii_digit() {
            let mut n = String::new();
            while i < chars.len() && chars[i].is_ascii_digit() {
                n.push(chars[i]);
                i += 1;
            }
            out.push_str(&format!("_{{{n}}}"));
        } else if c == '^' || c == '_' {
            let (body, n) = script(&chars, i + 1);
            i += 1 + n;
            out.push_str(&format!("{c}{{{}}}", text(&body)));
        } else if (c == '+' || c == '-') && i > 0 && (i == chars.len() - 1 || chars[i + 1] == '(') {
            // A charge written without a caret: Na+, Cl-, e-, Na+(aq).
            out.push_str(&format!("^{{{c}}}"));
            i += 1;
        } else if c == 'e' && (i + 1 == chars.len() || chars[i + 1] == '-') {
            out.push_str("\\mathrm{e}");
            i += 1;
        } else if c == '('
            && let Some(state) = state(&chars[i..])
        {
            out.push_str(&format!("\\mathrm{{({state})}}"));
            i += state.len() + 2;
        } else if matches!(c, '(' | ')' | '[' | ']') {
            out.push(c);
            i += 1;
        } else if c == '#' {
            // A triple bond: HC#CH.
            out.push_str("\\equiv ");
            i += 1;
        } else {
            // Anything else is text (a letter mhchem would read as a variable: italic).
            out.push_str(&text(&c.to_string()));
            i += 1;
        }
    }
    out
}

/// A physical state in brackets at the start of `chars`: `(s)`, `(l)`, `(g)`, `(aq)`.
fn state(chars: &[char]) -> Option<&'static str> {
    ["aq", "s", "l", "g"].into_iter().find(|s| {
        let n = s.len();
        chars.len() > n + 1 && chars[n + 1] == ')' && chars[1..=n].iter().copied().eq(s.chars())
    })
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn species_become_upright_symbols_with_counts_and_charges() {
        assert_eq!(expand("\\ce{H2O}"), "\\mathrm{H}_{2}\\mathrm{O}");
        assert_eq!(expand("\\ce{2H2O}"), "2\\,\\mathrm{H}_{2}\\mathrm{O}");
        assert_eq!(expand("\\ce{SO4^2-}"), "\\mathrm{S}\\mathrm{O}_{4}^{2-}");
        assert_eq!(expand("\\ce{Fe^{3+}}"), "\\mathrm{Fe}^{3+}");
        assert_eq!(expand("\\ce{Na+}"), "\\mathrm{Na}^{+}");
        assert_eq!(
            expand("\\ce{Ca(OH)2}"),
            "\\mathrm{Ca}(\\mathrm{O}\\mathrm{H})_{2}"
        );
        assert_eq!(
            expand("\\ce{CuSO4*5H2O}"),
            "\\mathrm{Cu}\\mathrm{S}\\mathrm{O}_{4} \\cdot 5\\,\\mathrm{H}_{2}\\mathrm{O}"
        );
        assert_eq!(
            expand("\\ce{NaCl(aq)}"),
            "\\mathrm{Na}\\mathrm{Cl}\\mathrm{(aq)}"
        );
    }

    #[test]
    fn equations_get_arrows_with_conditions_and_the_rest_is_kept() {
        assert_eq!(
            expand("\\ce{2H2 + O2 ->[点燃] 2H2O}"),
            "2\\,\\mathrm{H}_{2} + \\mathrm{O}_{2} \\overset{\\text{点燃}}{\\rightarrow} 2\\,\\mathrm{H}_{2}\\mathrm{O}"
        );
        assert_eq!(
            expand("\\ce{N2 + 3H2 <=>[高温高压][催化剂] 2NH3}"),
            "\\mathrm{N}_{2} + 3\\,\\mathrm{H}_{2} \\underset{\\text{催化剂}}{\\overset{\\text{高温高压}}{\\rightleftharpoons}} 2\\,\\mathrm{N}\\mathrm{H}_{3}"
        );
        assert_eq!(
            expand("\\ce{CaCO3 v} + x"),
            "\\mathrm{Ca}\\mathrm{C}\\mathrm{O}_{3} \\downarrow + x"
        );
        assert_eq!(
            expand("\\ce{CO2 ^}"),
            "\\mathrm{C}\\mathrm{O}_{2} \\uparrow"
        );
        // Conditions cannot close the text they are put in.
        assert!(expand("\\ce{A ->[a{b}\\c] B}").contains("\\text{abc}"));
        // Formulas and heating in conditions; operators typed without spaces.
        assert_eq!(
            expand("\\ce{2KClO3 ->[MnO2][\\Delta] 2KCl + 3O2 ^}"),
            "2\\,\\mathrm{K}\\mathrm{Cl}\\mathrm{O}_{3} \\underset{\\Delta}{\\overset{\\mathrm{Mn}\\mathrm{O}_{2}}{\\rightarrow}} 2\\,\\mathrm{K}\\mathrm{Cl} + 3\\,\\mathrm{O}_{2} \\uparrow"
        );
        assert_eq!(
            expand("\\ce{2H2+O2=2H2O}"),
            "2\\,\\mathrm{H}_{2} + \\mathrm{O}_{2} = 2\\,\\mathrm{H}_{2}\\mathrm{O}"
        );
        assert_eq!(expand("\\ce{CuSO4.5H2O}"), expand("\\ce{CuSO4*5H2O}"));
        assert_eq!(expand("\\ce{^{14}_{6}C}"), "{}^{14}_{6}\\mathrm{C}");
        assert_eq!(expand("\\ce{e-}"), "\\mathrm{e}^{-}");
        assert_eq!(expand("\\ce{Na+(aq)}"), "\\mathrm{Na}^{+}\\mathrm{(aq)}");
        assert_eq!(expand("\\ce{0.5O2}"), "0.5\\,\\mathrm{O}_{2}");
        assert_eq!(
            expand("\\ce{HC#CH}"),
            "\\mathrm{H}\\mathrm{C}\\equiv \\mathrm{C}\\mathrm{H}"
        );
        assert_eq!(expand("\\ce{H2"), "\\ce{H2");
        assert_eq!(expand("a + b"), "a + b");
    }

    #[test]
    fn chemistry_renders_as_mathml() {
        let html = super::super::math::render("$\\ce{2H2 + O2 ->[点燃] 2H2O}$");
        assert!(html.starts_with("<math"), "{html}");
        assert!(!html.contains("tex-error"), "{html}");
        assert!(html.contains("<msub>") && html.contains("点燃"), "{html}");
        for f in [
            "$\\ce{N2 + 3H2 <=>[高温高压][催化剂] 2NH3}$",
            "$\\ce{NaCl(aq)}$",
            "$\\ce{2KClO3 ->[MnO2][\\Delta] 2KCl + 3O2 ^}$",
            "$\\ce{^{235}_{92}U + ^{1}_{0}n}$",
            "$\\ce{HC#CH}$",
            "$\\ce{50% H2SO4}$",
        ] {
            let html = super::super::math::render(f);
            assert!(
                html.starts_with("<math") && !html.contains("tex-error"),
                "{f}: {html}"
            );
        }
        let ion = super::super::math::render("$\\ce{SO4^2-}$");
        assert!(ion.contains("<msubsup>") || ion.contains("<msup>"), "{ion}");
    }
}
