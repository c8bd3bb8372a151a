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

/// A login name with the person's registry or ID number or phone in it masked as those are,
/// or `None` if it carries none of them (imported students log in with their registry number,
/// guardians with their phone).
pub fn mask_login_name(
    username: &str,
    registry_no: Option<&str>,
    id_number: Option<&str>,
    phone: Option<&str>,
) -> Option<String> {
    type Masker = fn(&str) -> String;
    let secrets: [(Option<&str>, Masker); 3] = [
        (registry_no, mask_id_number),
        (id_number, mask_id_number),
        (phone, mask_phone),
    ];
    let mut out = username.to_lowercase();
    let mut carried = false;
    for (secret, mask) in secrets {
        if let Some(s) = secret.filter(|s| s.len() >= 6) {
            let s = s.to_lowercase();
            if out.contains(&s) {
                out = out.replace(&s, &mask(&s));
                carried = true;
            }
        }
    }
    carried.then_some(out)
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
        let reg = "G11010519491231002X";
        assert_eq!(
            mask_login_name("g11010519491231002x", Some(reg), None, None).as_deref(),
            Some("g110***********002x")
        );
        assert_eq!(
            mask_login_name("13812345678", None, None, Some("13812345678")).as_deref(),
            Some("138****5678")
        );
        assert_eq!(
            mask_login_name("teacher", Some(reg), None, Some("13812345678")),
            None
        );
    }
}
