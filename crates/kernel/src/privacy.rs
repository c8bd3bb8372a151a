//! Masking of personal data for viewers who may not see it in full.

/// `330102199001011234` → `3301**********1234`.
pub fn mask_id_number(s: &str) -> String {
    mask_middle(s, 4, 4)
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(s: &str) -> String {
    mask_middle(s, 3, 4)
}

/// `wang@example.cn` → `w***@example.cn`.
pub fn mask_email(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_middle(s, 1, 0),
    }
}

fn mask_middle(s: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(s.len());
    out.extend(&chars[..keep_start]);
    out.extend(std::iter::repeat_n(
        '*',
        chars.len() - keep_start - keep_end,
    ));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_email("wang@example.cn"), "w***@example.cn");
        assert_eq!(mask_phone("123"), "***");
    }
}
