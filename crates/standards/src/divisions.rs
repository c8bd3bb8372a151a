//! GB/T 2260 divisions, embedded from `data/` (统计用区划 2023).

use crate::kinds::NodeKind;
use std::collections::HashMap;
use std::sync::OnceLock;

const PROVINCES: &str = include_str!("../data/provinces.csv");
const CITIES: &str = include_str!("../data/cities.csv");
const COUNTIES: &str = include_str!("../data/counties.csv");

fn table() -> &'static HashMap<&'static str, (NodeKind, &'static str)> {
    static T: OnceLock<HashMap<&'static str, (NodeKind, &'static str)>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m = HashMap::new();
        for (src, kind) in [
            (PROVINCES, NodeKind::Province),
            (CITIES, NodeKind::City),
            (COUNTIES, NodeKind::District),
        ] {
            for line in src.lines().skip(1) {
                let mut cols = line.split(',');
                if let (Some(code), Some(name)) = (cols.next(), cols.next()) {
                    m.insert(code, (kind, name));
                }
            }
        }
        m
    })
}

/// The level of a known division code.
pub fn level_of(code: &str) -> Option<NodeKind> {
    table().get(code).map(|(k, _)| *k)
}

/// The official name of a known division code.
pub fn name_of(code: &str) -> Option<&'static str> {
    table().get(code).map(|(_, n)| *n)
}

/// Whether two digits are the prefix of a province code.
pub fn is_province_prefix(two: &str) -> bool {
    table()
        .get(format!("{two}0000").as_str())
        .is_some_and(|(k, _)| *k == NodeKind::Province)
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_the_levels() {
        assert_eq!(super::level_of("330000"), Some(super::NodeKind::Province));
        assert_eq!(super::name_of("330106"), Some("西湖区"));
        assert!(super::table().len() > 3000);
    }
}
