//! Login policy profiles, chosen per region by its administrator (docs/login-security.md).
//!
//! - **MLPS** (等保 2.0 level 3): passwords of at least 8 characters with 3 of 4 character
//!   classes, optional expiry and history, a hard lock after `lockout_threshold` failures for
//!   `lockout_minutes` (5 and 15 by default), sessions idle for 30 minutes end.
//! - **Modern** (NIST SP 800-63B): a minimum length and a list of common passwords, no forced
//!   rotation, soft delays that grow with each failure instead of a hard lock.
//!
//! A person follows the nearest policy at or above their node; without one, the MLPS profile.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use kernel::{AppError, AppResult, AppState, Config, Db, FieldErrors, NodeId, PersonId, Tx};
use kernel::{on_db, on_tx};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Mlps,
    Modern,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mlps => "mlps",
            Self::Modern => "modern",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mlps" => Some(Self::Mlps),
            "modern" => Some(Self::Modern),
            _ => None,
        }
    }
}

/// MLPS asks that idle sessions end within 30 minutes.
pub const MLPS_MAX_IDLE_MINUTES: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub profile: Profile,
    pub min_length: u32,
    /// MLPS only: a password older than this must be changed at login.
    pub expiry_days: Option<u32>,
    /// MLPS only: how many earlier passwords may not be reused.
    pub history: u32,
    pub idle_minutes: u32,
    pub absolute_hours: u32,
    /// Administrators must log in with a second factor.
    pub mfa_admins: bool,
    /// School networks behind shared addresses: failures there are counted per account and
    /// network, never per address alone. Every region's networks count for every login.
    pub trusted_networks: Vec<IpNet>,
    /// Connected applications of this region may register `http://` redirect URIs on hosts
    /// that are not the local machine (normally only `https://` is accepted).
    pub allow_http_redirects: bool,
    /// Connected applications that ask for it may receive the registry number (which carries
    /// the ID number); otherwise they get the opaque subject.
    pub release_registry_no: bool,
    /// "Keep me signed in on this device": a login that asks for it gets a session that lasts
    /// this many days, idle or not, with a cookie that outlives the browser (0: not offered).
    /// Never for administrators.
    pub remember_days: u32,
}

/// The longest a remembered session may last: MLPS keeps it to a month.
pub const MLPS_MAX_REMEMBER_DAYS: u32 = 30;
pub const MAX_REMEMBER_DAYS: u32 = 90;

impl Policy {
    /// A profile's starting values, which the administrator may then tune.
    pub fn preset(profile: Profile, config: &Config) -> Self {
        match profile {
            Profile::Mlps => Self {
                profile,
                min_length: 8,
                expiry_days: None,
                history: 0,
                idle_minutes: config.session_idle_minutes.min(MLPS_MAX_IDLE_MINUTES),
                absolute_hours: config.session_absolute_hours,
                mfa_admins: true,
                trusted_networks: Vec::new(),
                allow_http_redirects: false,
                release_registry_no: false,
                remember_days: 0,
            },
            Profile::Modern => Self {
                profile,
                min_length: 10,
                expiry_days: None,
                history: 0,
                idle_minutes: config.session_idle_minutes,
                absolute_hours: config.session_absolute_hours,
                mfa_admins: true,
                trusted_networks: Vec::new(),
                allow_http_redirects: false,
                release_registry_no: false,
                remember_days: 30,
            },
        }
    }

    /// The checks an administrator's settings must pass; MLPS keeps its floor.
    pub fn validate(&self) -> FieldErrors {
        let mut e = FieldErrors::new();
        // Both profiles: 8 is MLPS's floor and NIST's minimum.
        if !(8..=64).contains(&self.min_length) {
            e.add("min_length", "policy.error.min_length");
        }
        let max_idle = match self.profile {
            Profile::Mlps => MLPS_MAX_IDLE_MINUTES,
            Profile::Modern => 24 * 60,
        };
        if !(5..=max_idle).contains(&self.idle_minutes) {
            e.add("idle_minutes", "policy.error.idle_minutes");
        }
        if !(1..=24 * 30).contains(&self.absolute_hours) {
            e.add("absolute_hours", "policy.error.absolute_hours");
        }
        let max_remember = match self.profile {
            Profile::Mlps => MLPS_MAX_REMEMBER_DAYS,
            Profile::Modern => MAX_REMEMBER_DAYS,
        };
        if self.remember_days > max_remember {
            e.add("remember_days", "policy.error.remember_days");
        }
        match self.profile {
            Profile::Mlps => {
                if self.expiry_days.is_some_and(|d| !(30..=365).contains(&d)) {
                    e.add("expiry_days", "policy.error.expiry_days");
                }
                if self.history > 24 {
                    e.add("history", "policy.error.history");
                }
            }
            Profile::Modern => {
                // No forced rotation in the modern profile: that is its point.
                if self.expiry_days.is_some() {
                    e.add("expiry_days", "policy.error.modern_no_expiry");
                }
            }
        }
        e
    }

    /// Whether a new password satisfies the profile; the error is a message key. Both
    /// profiles refuse guessable passwords (`strength::check`); MLPS also asks for three of
    /// the four character classes.
    pub fn check_new_password(
        &self,
        password: &str,
        about: &crate::strength::About<'_>,
    ) -> Result<(), &'static str> {
        if password.chars().count() < self.min_length as usize {
            return Err("error.password_too_short");
        }
        if password.chars().count() > 256 {
            return Err("error.password_too_long");
        }
        if self.profile == Profile::Mlps {
            let classes = [
                password.chars().any(|c| c.is_ascii_uppercase()),
                password.chars().any(|c| c.is_ascii_lowercase()),
                password.chars().any(|c| c.is_ascii_digit()),
                password.chars().any(|c| !c.is_ascii_alphanumeric()),
            ];
            if classes.iter().filter(|c| **c).count() < 3 {
                return Err("error.password_too_simple");
            }
        }
        crate::strength::check(password, about)
    }
}

/// The network of `list` an address belongs to, if any.
pub fn network_of<'a>(list: &'a [IpNet], ip: Option<&str>) -> Option<&'a IpNet> {
    let ip: IpAddr = ip?.parse().ok()?;
    list.iter().find(|n| n.contains(&ip))
}

#[derive(sqlx::FromRow)]
struct Row {
    profile: String,
    min_length: i64,
    expiry_days: Option<i64>,
    history: i64,
    idle_minutes: i64,
    absolute_hours: i64,
    mfa_admins: bool,
    trusted_networks: String,
    allow_http_redirects: bool,
    release_registry_no: bool,
    remember_days: i64,
}

impl Row {
    fn into_policy(self) -> AppResult<Policy> {
        let num = |v: i64| u32::try_from(v).map_err(AppError::internal);
        Ok(Policy {
            profile: Profile::parse(&self.profile)
                .ok_or_else(|| AppError::internal(format!("unknown profile {}", self.profile)))?,
            min_length: num(self.min_length)?,
            expiry_days: self.expiry_days.map(num).transpose()?,
            history: num(self.history)?,
            idle_minutes: num(self.idle_minutes)?,
            absolute_hours: num(self.absolute_hours)?,
            mfa_admins: self.mfa_admins,
            trusted_networks: serde_json::from_str(&self.trusted_networks)
                .map_err(AppError::internal)?,
            allow_http_redirects: self.allow_http_redirects,
            release_registry_no: self.release_registry_no,
            remember_days: num(self.remember_days)?,
        })
    }
}

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT p.profile, p.min_length, p.expiry_days, p.history, p.idle_minutes,
                    p.absolute_hours, p.mfa_admins, p.trusted_networks, p.allow_http_redirects,
                    p.release_registry_no, p.remember_days ",
            $rest
        )
    };
}

/// The policy set at exactly this node, if any.
pub async fn own(db: &Db, node: NodeId) -> AppResult<Option<Policy>> {
    let sql = select!("FROM auth_policies p WHERE p.node_id = $1");
    let row: Option<Row> = on_db!(db, c => sqlx::query_as(sql).bind(node).fetch_optional(c).await)?;
    row.map(Row::into_policy).transpose()
}

/// The policy in force at a node: the nearest at or above it, else the MLPS default.
async fn load_effective(state: &AppState, node: NodeId) -> AppResult<Policy> {
    let sql = select!(
        "FROM org_closure c JOIN auth_policies p ON p.node_id = c.ancestor_id
         WHERE c.descendant_id = $1 ORDER BY c.depth LIMIT 1"
    );
    let row: Option<Row> =
        on_db!(&state.db, c => sqlx::query_as(sql).bind(node).fetch_optional(c).await)?;
    match row {
        Some(r) => r.into_policy(),
        None => Ok(Policy::preset(Profile::Mlps, &state.config)),
    }
}

/// Effective policies by node, kept for a few seconds: every login needs one.
#[derive(Default)]
struct Cache(Mutex<HashMap<NodeId, (Instant, Arc<Policy>)>>);

const CACHE_FOR: Duration = Duration::from_secs(5);

pub async fn effective(state: &AppState, node: NodeId) -> AppResult<Arc<Policy>> {
    let cache = state.cache::<Cache>();
    if let Some((at, p)) = cache.0.lock().unwrap_or_else(|e| e.into_inner()).get(&node)
        && at.elapsed() < CACHE_FOR
    {
        return Ok(Arc::clone(p));
    }
    let p = Arc::new(load_effective(state, node).await?);
    let mut map = cache.0.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() > 10_000 {
        map.clear();
    }
    map.insert(node, (Instant::now(), Arc::clone(&p)));
    Ok(p)
}

/// The policy in force for a person (their owning node's).
pub async fn for_person(state: &AppState, person: PersonId) -> AppResult<Arc<Policy>> {
    let org: (NodeId,) = on_db!(&state.db, c => sqlx::query_as("SELECT org_id FROM persons WHERE id = $1")
        .bind(person).fetch_one(c).await)?;
    effective(state, org.0).await
}

/// Those of the nodes that are regions (province, city, district) and may have a policy, with
/// their names.
pub async fn regions_among(db: &Db, nodes: &[NodeId]) -> AppResult<Vec<(NodeId, String)>> {
    let mut out = Vec::new();
    for &node in nodes {
        let row: Option<(String,)> = on_db!(db, c => sqlx::query_as(
            "SELECT name FROM org_nodes WHERE id = $1 AND active AND kind IN ('province', 'city', 'district')",
        ).bind(node).fetch_optional(c).await)?;
        if let Some((name,)) = row {
            out.push((node, name));
        }
    }
    Ok(out)
}

/// Sets a region's policy (the caller checked the permission and validated it).
pub async fn save(
    tx: &mut Tx,
    node: NodeId,
    p: &Policy,
    by: Option<PersonId>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let networks = serde_json::to_string(&p.trusted_networks).map_err(AppError::internal)?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO auth_policies (node_id, profile, min_length, expiry_days, history, idle_minutes,
                absolute_hours, mfa_admins, trusted_networks, updated_at, updated_by, allow_http_redirects, release_registry_no, remember_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (node_id) DO UPDATE SET profile = excluded.profile, min_length = excluded.min_length,
             expiry_days = excluded.expiry_days, history = excluded.history,
             idle_minutes = excluded.idle_minutes, absolute_hours = excluded.absolute_hours,
             mfa_admins = excluded.mfa_admins, trusted_networks = excluded.trusted_networks,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by,
             allow_http_redirects = excluded.allow_http_redirects,
             release_registry_no = excluded.release_registry_no,
             remember_days = excluded.remember_days",
    ).bind(node).bind(p.profile.as_str()).bind(i64::from(p.min_length))
    .bind(p.expiry_days.map(i64::from)).bind(i64::from(p.history)).bind(i64::from(p.idle_minutes))
    .bind(i64::from(p.absolute_hours)).bind(p.mfa_admins).bind(networks).bind(now).bind(by)
    .bind(p.allow_http_redirects).bind(p.release_registry_no).bind(i64::from(p.remember_days)).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every region's school networks, kept for a few seconds. Whether an address is a school's
/// shared address does not depend on which account is tried from it.
#[derive(Default)]
struct Networks(Mutex<Option<(Instant, Arc<Vec<IpNet>>)>>);

/// The trusted school network (of any region) an address belongs to.
pub async fn school_network(state: &AppState, ip: Option<&str>) -> AppResult<Option<IpNet>> {
    if ip.is_none() {
        return Ok(None);
    }
    let cache = state.cache::<Networks>();
    let cached = cache
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .filter(|(at, _)| at.elapsed() < CACHE_FOR)
        .map(|(_, l)| Arc::clone(l));
    let list = match cached {
        Some(l) => l,
        None => {
            let rows: Vec<(String,)> = on_db!(&state.db, c => sqlx::query_as(
                "SELECT trusted_networks FROM auth_policies WHERE trusted_networks <> '[]'",
            ).fetch_all(c).await)?;
            let mut list = Vec::new();
            for (json,) in rows {
                let nets: Vec<IpNet> = serde_json::from_str(&json).map_err(AppError::internal)?;
                list.extend(nets);
            }
            let list = Arc::new(list);
            *cache.0.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), Arc::clone(&list)));
            list
        }
    };
    Ok(network_of(&list, ip).copied())
}

/// Drops the per-state cache so a saved policy applies at once on this node (other nodes
/// follow within [`CACHE_FOR`]).
pub fn forget_cached(state: &AppState) {
    state
        .cache::<Cache>()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    *state
        .cache::<Networks>()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(profile: Profile) -> Policy {
        Policy::preset(profile, &Config::default())
    }

    #[test]
    fn mlps_wants_three_classes_and_eight_characters() {
        let p = policy(Profile::Mlps);
        let x = crate::strength::About::account("x");
        assert_eq!(
            p.check_new_password("Ab1!", &x),
            Err("error.password_too_short")
        );
        assert_eq!(
            p.check_new_password("tulip meadow quartz", &x),
            Err("error.password_too_simple")
        );
        assert_eq!(p.check_new_password("Tulip7meadow", &x), Ok(()));
        assert_eq!(
            p.check_new_password(
                "Zhangsan2024!",
                &crate::strength::About::account("zhangsan")
            ),
            Err("error.password_contains_username")
        );
        assert_eq!(p.idle_minutes, 30);
    }

    #[test]
    fn both_profiles_refuse_common_passwords_and_their_variations() {
        let x = crate::strength::About::account("someone");
        for profile in [Profile::Mlps, Profile::Modern] {
            let p = policy(profile);
            for bad in [
                "Aa123456789",
                "Woaini1314520",
                "Password2024!",
                "Qwer1234!@#$",
            ] {
                assert!(
                    matches!(
                        p.check_new_password(bad, &x),
                        Err("error.password_common" | "error.password_guessable")
                    ),
                    "{profile:?} {bad}"
                );
            }
        }
        // Password1 met the MLPS classes and was accepted before.
        assert_eq!(
            policy(Profile::Mlps).check_new_password("Password1", &x),
            Err("error.password_common")
        );
        let p = policy(Profile::Modern);
        for bad in ["qwertyuiop", "1234567890", "aaaaaaaaaaaa", "abcdefghijk"] {
            assert!(p.check_new_password(bad, &x).is_err(), "{bad}");
        }
        // Long and unusual, even without classes, is fine.
        assert_eq!(p.check_new_password("correct horse battery", &x), Ok(()));
        assert_eq!(
            p.check_new_password("short1!", &x),
            Err("error.password_too_short")
        );
    }

    #[test]
    fn settings_are_bounded_by_profile() {
        let mut p = policy(Profile::Mlps);
        p.idle_minutes = 60;
        p.expiry_days = Some(10);
        let e = p.validate();
        assert!(e.get("idle_minutes").is_some() && e.get("expiry_days").is_some());
        let mut m = policy(Profile::Modern);
        m.idle_minutes = 60;
        assert!(m.validate().is_empty());
        m.expiry_days = Some(90);
        assert!(m.validate().get("expiry_days").is_some());
    }

    #[test]
    fn trusted_networks_match_addresses() {
        let list: Vec<IpNet> = vec!["10.20.0.0/16".parse().unwrap_or_else(|_| unreachable!())];
        assert!(network_of(&list, Some("10.20.3.4")).is_some());
        assert!(network_of(&list, Some("10.21.3.4")).is_none());
        assert!(network_of(&list, Some("not an address")).is_none());
        assert!(network_of(&list, None).is_none());
    }

    #[test]
    fn remembered_sessions_are_kept_to_a_month_under_mlps_and_three_under_modern() {
        for (profile, max) in [
            (Profile::Mlps, MLPS_MAX_REMEMBER_DAYS),
            (Profile::Modern, MAX_REMEMBER_DAYS),
        ] {
            let mut p = policy(profile);
            p.remember_days = max;
            assert!(p.validate().is_empty(), "{profile:?} allows {max} days");
            p.remember_days = max + 1;
            assert!(
                !p.validate().is_empty(),
                "{profile:?} refuses {} days",
                max + 1
            );
        }
        assert_eq!(policy(Profile::Mlps).remember_days, 0, "off unless chosen");
    }
}
