//! Times as people read them: in the region's time zone (`Config::time_zone`, Asia/Shanghai by
//! default), in one format, on every page and in every export. Stored times and the API's are
//! UTC, RFC 3339.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The region's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl Default for Zone {
    fn default() -> Self {
        Zone(chrono_tz::Asia::Shanghai)
    }
}

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<Tz>().map(Zone).map_err(|_| {
            format!("time_zone: {s:?} is not an IANA time zone name (such as Asia/Shanghai)")
        })
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl Zone {
    /// The moment in this zone.
    pub fn local(self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.0)
    }

    /// The moment a local date and time in this zone is (the earlier, when clocks go back).
    pub fn at(self, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        self.0
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// `2026-12-06 19:28`, the one format of a time on pages and in exports.
    pub fn minute(self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%d %H:%M").to_string()
    }

    /// `2026-12-06 19:28:05`, where seconds matter (the audit log).
    pub fn second(self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// The moment a calendar day of this zone begins.
    pub fn day_start(self, day: NaiveDate) -> DateTime<Utc> {
        use chrono::TimeZone;
        let naive = day.and_time(chrono::NaiveTime::MIN);
        self.0
            .from_local_datetime(&naive)
            .earliest()
            .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// The calendar day of a moment in this zone.
    pub fn date(self, t: DateTime<Utc>) -> NaiveDate {
        self.local(t).date_naive()
    }

    /// A `<time>` element: the local time as text, the moment with its offset in `datetime`.
    /// Only digits and punctuation, so it may be written into a page unescaped.
    pub fn html(self, t: DateTime<Utc>) -> String {
        let l = self.local(t);
        format!(
            "<time datetime=\"{}\">{}</time>",
            l.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            l.format("%Y-%m-%d %H:%M")
        )
    }

    /// The same with seconds.
    pub fn html_seconds(self, t: DateTime<Utc>) -> String {
        let l = self.local(t);
        format!(
            "<time datetime=\"{}\">{}</time>",
            l.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            l.format("%Y-%m-%d %H:%M:%S")
        )
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The value of a `<input type="datetime-local">` for a moment: `2026-12-06T19:28`.
    pub fn input(self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%dT%H:%M").to_string()
    }

    /// A local time as a form sends it (`2026-12-06T19:28`, `2026-12-06 19:28`, with or without
    /// seconds), as a moment.
    pub fn parse_input(self, s: &str) -> Option<DateTime<Utc>> {
        let s = s.trim();
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .and_then(|l| self.at(l))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_are_shown_in_the_regions_zone() {
        let t = DateTime::parse_from_rfc3339("2026-12-06T11:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let z = Zone::default();
        assert_eq!(z.minute(t), "2026-12-06 19:28");
        assert_eq!(
            z.html(t),
            "<time datetime=\"2026-12-06T19:28:00+08:00\">2026-12-06 19:28</time>"
        );
        let late = DateTime::parse_from_rfc3339("2026-12-06T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(z.date(late).to_string(), "2026-12-07");
        assert_eq!(
            z.day_start(z.date(late)).to_rfc3339(),
            "2026-12-06T16:00:00+00:00"
        );
        let urumqi: Zone = "Asia/Urumqi".parse().unwrap();
        assert_eq!(urumqi.minute(t), "2026-12-06 17:28");
        assert!("Mars/Olympus".parse::<Zone>().is_err());
        assert_eq!(z.input(t), "2026-12-06T19:28");
        assert_eq!(z.parse_input("2026-12-06T19:28"), Some(t));
        assert_eq!(z.parse_input(" 2026-12-06 19:28:00 "), Some(t));
        assert_eq!(z.parse_input("2026-12-06"), None);
        let c: crate::Config = toml::from_str("time_zone = \"Asia/Urumqi\"").unwrap();
        assert_eq!(c.time_zone, urumqi);
    }
}
