//! Typed configuration: defaults, then a TOML file, then `JIAOYUN_*` environment variables.
//! Unknown keys anywhere are an error, so a typo fails at start instead of being ignored.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// `sqlite://data/jiaoyun.db` (default) or `postgres://user@host/db`.
    pub database_url: String,
    /// Most connections in the pool.
    pub database_max_connections: u32,
    /// SQLite: the page cache of all the pool's connections together, in MiB (each
    /// connection keeps a share of it, 2 to 16 MiB). The operating system caches the file too.
    pub database_cache_mib: u32,
    /// A PostgreSQL streaming replica of the primary: reads that tolerate a bounded lag go
    /// there ([`crate::replica`]). Printed as `***`.
    pub database_replica_url: Option<crate::secret::Secret>,
    /// The replica is used only while it has replayed what the primary had written this many
    /// seconds ago.
    pub database_replica_max_lag_seconds: u64,
    /// Where the embedded database, files and index live.
    pub data_dir: PathBuf,
    /// The address people reach this platform at (used in links; optional).
    pub public_url: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `jiaoyun=debug,info`.
    pub log_level: String,
    /// Audit entries older than this many days are archived to object storage and removed by
    /// the maintenance job (180, MLPS's minimum, by default).
    pub audit_retention_days: u32,
    /// The region's time zone (an IANA name): every time shown on a page, in an export or in a
    /// message is in it, in one format. `Asia/Shanghai` by default.
    pub time_zone: crate::time::Zone,
    /// This server node's name: its audit chain. Unique among the nodes sharing a database;
    /// `<host name>:<listen port>` when unset.
    pub node_name: Option<String>,
    pub audit: AuditConfig,
    /// A session ends after this many idle minutes.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after login, however active.
    pub session_absolute_hours: u32,
    /// The reverse proxies and load balancers in front of the platform (addresses or CIDRs, a
    /// list or one comma-separated string). A request from one of them has its client address
    /// taken from `X-Forwarded-For`: the right-most entry that is not itself one of them, so a
    /// client cannot choose its own address by sending the header. Empty: the header is ignored.
    pub trusted_proxies: ProxyList,
    /// `/metrics` answers only with `Authorization: Bearer <this>` (unset: only on
    /// `metrics_listen`, or not at all when that is unset too).
    pub metrics_token: Option<crate::secret::Secret>,
    /// A second address that serves `/metrics` alone, without a token, for a scraper on a
    /// private network (`127.0.0.1:9108`).
    pub metrics_listen: Option<String>,
    /// Requests taking longer are cut off.
    pub request_timeout_seconds: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest spreadsheet accepted for an import, in bytes.
    pub max_upload_bytes: usize,
    /// Failed logins in a row before an account is locked for `lockout_minutes`.
    pub lockout_threshold: u32,
    pub lockout_minutes: u32,
    /// Load the demo region on first start.
    pub demo: bool,
    pub password: PasswordConfig,
    pub sso: SsoConfig,
    pub exchange: ExchangeConfig,
    pub files: FilesConfig,
    pub resources: ResourcesConfig,
    pub notify: NotifyConfig,
}

/// The tamper-evident audit log (docs/security.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The Ed25519 key (PKCS#8) that signs the anchors and archive records, outside the
    /// database; made on first start when missing. `<data_dir>/audit-anchor.pk8` when unset.
    /// Give every node the same file (or only the nodes that anchor, with the public key on
    /// the others).
    pub anchor_key_file: Option<PathBuf>,
    /// The anchor key's public half (base64), for a node or an auditor that verifies without
    /// the private key.
    pub anchor_public_key: Option<String>,
    /// PostgreSQL: the retention role's URL; the removal of archived entries runs as that role
    /// (the application's role may not delete, see `jiaoyun audit grants`).
    pub retention_database_url: Option<crate::secret::Secret>,
    /// How often each node links what it wrote into its chain, in seconds.
    pub chain_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            anchor_key_file: None,
            anchor_public_key: None,
            retention_database_url: None,
            chain_seconds: 5,
        }
    }
}

/// Where uploaded files live and what is accepted.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// `local` (a folder, `dir` or `<data_dir>/files`) or `s3` (any S3-compatible storage).
    pub store: FileStore,
    /// The local folder; `<data_dir>/files` when unset.
    pub dir: Option<PathBuf>,
    /// S3: the bucket, the endpoint (`http://127.0.0.1:9000` for MinIO; unset for AWS), the
    /// region, and the credentials (the secret key is never logged).
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<crate::secret::Secret>,
    /// The largest file accepted, in bytes (4 GiB by default).
    pub max_file_bytes: u64,
    /// Resumable uploads arrive in chunks of this size.
    pub chunk_bytes: u64,
    /// An unfinished upload untouched this long is removed by the cleanup job.
    pub upload_expiry_hours: u32,
    /// clamd's address (`tcp://127.0.0.1:3310` or `unix:/run/clamav/clamd.ctl`): every upload
    /// is scanned and refused if infected. Unset: files are not scanned.
    pub clamd: Option<String>,
    /// LibreOffice's `soffice`, which converts Office documents to PDF for preview. Unset: looked
    /// for on the PATH; not found: previews of Office documents are shown as unavailable.
    pub libreoffice: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileStore {
    #[default]
    Local,
    S3,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            store: FileStore::Local,
            dir: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            max_file_bytes: 4 * 1024 * 1024 * 1024,
            chunk_bytes: 8 * 1024 * 1024,
            upload_expiry_hours: 48,
            clamd: None,
            libreoffice: None,
        }
    }
}

/// Notifications outside the platform (docs/notifications.md): the channels configured here
/// are the ones the outbox writes to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// WeCom (企业微信) application messages.
    pub wecom: Option<WeComConfig>,
    /// DingTalk (钉钉) work notices.
    pub dingtalk: Option<DingTalkConfig>,
    /// Text messages through a Chinese SMS provider (Alibaba Cloud or Tencent Cloud).
    pub sms: Option<SmsConfig>,
    /// E-mail through an SMTP server.
    pub email: Option<EmailConfig>,
    /// Web Push (the browsers' push services) with the platform's VAPID key pair.
    pub web_push: Option<WebPushConfig>,
    /// Attempts before a notification is given up.
    pub max_attempts: u32,
    /// The first retry waits this long; each failure doubles it (at most an hour).
    pub retry_base_seconds: u64,
    /// Sends per second per channel and node, below the providers' limits.
    pub rate_per_second: u32,
    /// How often each node looks for notifications to send, in milliseconds.
    pub poll_ms: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            wecom: None,
            dingtalk: None,
            sms: None,
            email: None,
            web_push: None,
            max_attempts: 6,
            retry_base_seconds: 30,
            rate_per_second: 20,
            poll_ms: 1_000,
        }
    }
}

impl NotifyConfig {
    /// The external channels configured.
    pub fn channels(&self) -> Vec<crate::outbox::Channel> {
        use crate::outbox::Channel;
        let mut out = Vec::new();
        if self.wecom.is_some() {
            out.push(Channel::Wecom);
        }
        if self.dingtalk.is_some() {
            out.push(Channel::Dingtalk);
        }
        if self.sms.is_some() {
            out.push(Channel::Sms);
        }
        if self.email.is_some() {
            out.push(Channel::Email);
        }
        if self.web_push.is_some() {
            out.push(Channel::WebPush);
        }
        out
    }
}

/// A WeCom application: the corporation's id, the application's secret and agent id, and the
/// API's address (the public one unless a test or a proxy says otherwise).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeComConfig {
    pub corp_id: String,
    pub secret: crate::secret::Secret,
    pub agent_id: i64,
    #[serde(default = "wecom_api")]
    pub api: String,
}

fn wecom_api() -> String {
    "https://qyapi.weixin.qq.com".into()
}

/// A DingTalk application: its key, secret and agent id, and the API's address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkConfig {
    pub app_key: String,
    pub app_secret: crate::secret::Secret,
    pub agent_id: i64,
    #[serde(default = "dingtalk_api")]
    pub api: String,
}

fn dingtalk_api() -> String {
    "https://oapi.dingtalk.com".into()
}

/// The SMS providers whose request shapes the outbox speaks.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Alibaba Cloud SMS (`SendSms`, RPC style, signature v1 HMAC-SHA1).
    Aliyun,
    /// Tencent Cloud SMS (`SendSms`, API 3.0, TC3-HMAC-SHA256).
    Tencent,
}

/// An SMS account: the provider, its access key, the approved signature (签名) and the approved
/// template whose one variable (`title`; Tencent: the first parameter) carries the notification's
/// title; Tencent also needs the SMS application's id and a region.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub access_key_id: String,
    pub access_key_secret: crate::secret::Secret,
    pub sign_name: String,
    pub template: String,
    /// Tencent: the `SmsSdkAppId`.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Tencent: the region (`ap-guangzhou` unless set).
    #[serde(default)]
    pub region: Option<String>,
    /// The API's address: the provider's public one unless a test or a proxy says otherwise.
    #[serde(default)]
    pub api: Option<String>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// TLS from the first byte (port 465).
    Tls,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// None: only for a relay on the same machine or a test.
    None,
}

/// An SMTP server the platform sends e-mail through.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    /// 465 with `tls`, 587 with `starttls`, 25 with `none`, unless set.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<crate::secret::Secret>,
    /// The sender: `教云 <noreply@edu.example.cn>` or a bare address.
    pub from: String,
}

/// The platform's VAPID key pair (RFC 8292), P-256, each base64url as `jiaoyun web-push-keys`
/// prints them; the same on every node (browsers' subscriptions are bound to the public key),
/// and a contact the push services can write to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushConfig {
    pub public_key: String,
    pub private_key: crate::secret::Secret,
    /// `mailto:` or `https:` address of the platform's operator.
    pub subject: String,
}

/// The resource library: its search index and the targets teachers are measured against.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourcesConfig {
    /// This node's search index; `<data_dir>/index` when unset. Every node keeps its own.
    pub index_dir: Option<PathBuf>,
    /// How often the index looks for changed resources, in milliseconds.
    pub index_poll_ms: u64,
    /// Uploads a teacher is expected to make in a term, unless their region set its own.
    pub target_per_term: u32,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        Self {
            index_dir: None,
            index_poll_ms: 1_000,
            target_per_term: 10,
        }
    }
}

/// The push of base data to an upper-level instance (and the receiving side's limits).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    /// How often each node looks for changes to push, in milliseconds.
    pub poll_ms: u64,
    /// Records (students, staff, people) in one push.
    pub batch_size: usize,
    /// The first retry after a failed push waits this long; each failure doubles it.
    pub retry_base_ms: u64,
    /// Retries never wait longer than this, so a push resumes this soon after an outage ends.
    pub retry_max_ms: u64,
    /// A push's body may be this large (the receiving side's limit).
    pub max_push_bytes: usize,
    /// A pairing code is good for this many hours.
    pub code_hours: u32,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            poll_ms: 2_000,
            batch_size: 500,
            retry_base_ms: 5_000,
            retry_max_ms: 600_000,
            max_push_bytes: 64 * 1024 * 1024,
            code_hours: 24,
        }
    }
}

/// Single sign-on: the OIDC provider and the CAS server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// Access tokens (JWT) live this long.
    pub access_token_minutes: u32,
    /// ID tokens live this long.
    pub id_token_minutes: u32,
    /// A refresh token expires after this many days unused; every use rotates it.
    pub refresh_token_days: u32,
    /// Authorization codes and CAS service tickets expire after this many seconds.
    pub code_seconds: u32,
    /// A new signing key takes over after this many days.
    pub key_rotation_days: u32,
    /// A new key is published in the JWKS this many hours before it signs, so every relying
    /// party's cached JWKS knows it in time.
    pub key_publish_hours: u32,
    /// A person's claims (name, roles) computed for UserInfo are reused on a node for at most
    /// this many seconds; a revocation or deactivation anywhere ends the reuse at once (the
    /// revocation epoch). 0 turns the reuse off.
    pub claims_cache_seconds: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Argon2id memory in KiB (19 MiB by default, as OWASP recommends).
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/jiaoyun.db".into(),
            database_max_connections: 16,
            database_cache_mib: crate::db::DEFAULT_CACHE_MIB,
            database_replica_url: None,
            database_replica_max_lag_seconds: 5,
            data_dir: PathBuf::from("data"),
            public_url: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            audit_retention_days: 180,
            time_zone: crate::time::Zone::default(),
            node_name: None,
            audit: AuditConfig::default(),
            session_idle_minutes: 120,
            session_absolute_hours: 12,
            trusted_proxies: ProxyList::default(),
            metrics_token: None,
            metrics_listen: None,
            request_timeout_seconds: 30,
            max_body_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            lockout_threshold: 5,
            lockout_minutes: 15,
            demo: false,
            password: PasswordConfig::default(),
            sso: SsoConfig::default(),
            exchange: ExchangeConfig::default(),
            files: FilesConfig::default(),
            resources: ResourcesConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            access_token_minutes: 10,
            id_token_minutes: 60,
            refresh_token_days: 30,
            code_seconds: 60,
            key_rotation_days: 90,
            key_publish_hours: 24,
            claims_cache_seconds: 30,
        }
    }
}

/// Addresses of trusted proxies; from TOML as a list (`["10.0.0.0/8", "127.0.0.1"]`) or, as an
/// environment variable gives it, one comma-separated string.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProxyList(pub Vec<ipnet::IpNet>);

impl ProxyList {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    fn parse_one(s: &str) -> Result<ipnet::IpNet, String> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| format!("trusted_proxies: {s:?} is not an IP address or CIDR"))
    }
}

impl<'de> Deserialize<'de> for ProxyList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let items = match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .map(str::to_owned)
                .collect(),
            Raw::Many(v) => v,
        };
        items
            .iter()
            .map(|s| Self::parse_one(s))
            .collect::<Result<Vec<_>, _>>()
            .map(ProxyList)
            .map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Served over HTTPS (the public URL says so): cookies are `Secure` and
    /// `Strict-Transport-Security` is sent, with no second switch to forget.
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }

    /// This node's name (its audit chain): `node_name`, else `<host name>:<listen port>`.
    pub fn node_name(&self) -> String {
        if let Some(n) = &self.node_name {
            return n.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".into());
        let port = self.listen.rsplit(':').next().unwrap_or("0");
        format!("{host}:{port}")
    }

    /// The anchor key's file: `audit.anchor_key_file`, else `<data_dir>/audit-anchor.pk8`.
    pub fn anchor_key_file(&self) -> PathBuf {
        self.audit
            .anchor_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-anchor.pk8"))
    }

    /// The address people and applications reach the platform at, without a trailing slash:
    /// `public_url`, or the listen address. It is the OIDC issuer and the CAS server's base.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("configuration (after JIAOYUN_* variables): {0}")]
    Invalid(toml::de::Error),
}

/// Environment variables that are not configuration keys.
const NOT_CONFIG: &[&str] = &["JIAOYUN_CONFIG"];

impl Config {
    /// Defaults ← the file (if given) ← `JIAOYUN_*` variables (`JIAOYUN_PASSWORD__MEMORY_KIB`
    /// for nested keys).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            table = toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source,
            })?;
        }
        for (key, value) in env {
            let Some(name) = key.strip_prefix("JIAOYUN_") else {
                continue;
            };
            if NOT_CONFIG.contains(&key.as_str()) {
                continue;
            }
            let path: Vec<String> = name.to_lowercase().split("__").map(str::to_owned).collect();
            insert_path(&mut table, &path, parse_env_value(&value));
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(ConfigError::Invalid)?;
        // The embedded database lives in the data folder unless a URL was given.
        let defaults = Config::default();
        if config.database_url == defaults.database_url && config.data_dir != defaults.data_dir {
            config.database_url =
                format!("sqlite://{}", config.data_dir.join("jiaoyun.db").display());
        }
        Ok(config)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn parse_env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(v.to_owned()),
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                insert_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_file_and_defaults() {
        let dir = std::env::temp_dir().join(format!("jy-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jiaoyun.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\naudit_retention_days = 30\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("JIAOYUN_AUDIT_RETENTION_DAYS", "90"),
                ("JIAOYUN_PASSWORD__ITERATIONS", "3"),
                ("JIAOYUN_CONFIG", "ignored"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.audit_retention_days, 90);
        assert_eq!(c.password.iterations, 3);
        assert_eq!(c.password.memory_kib, 19 * 1024);
        assert_eq!(c.database_url, "sqlite://data/jiaoyun.db");
        let moved = Config::load(None, env(&[("JIAOYUN_DATA_DIR", "/var/lib/jiaoyun")])).unwrap();
        assert_eq!(moved.database_url, "sqlite:///var/lib/jiaoyun/jiaoyun.db");
    }

    #[test]
    fn trusted_proxies_from_a_list_or_a_comma_separated_variable() {
        let c = Config::load(
            None,
            env(&[("JIAOYUN_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]),
        )
        .unwrap();
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(c.trusted_proxies.contains("127.0.0.1".parse().unwrap()));
        assert!(c.trusted_proxies.contains("::1".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("127.0.0.2".parse().unwrap()));
        let err =
            Config::load(None, env(&[("JIAOYUN_TRUSTED_PROXIES", "proxy.local")])).unwrap_err();
        assert!(err.to_string().contains("proxy.local"), "{err}");
        assert!(!c.https());
        let s = Config::load(
            None,
            env(&[("JIAOYUN_PUBLIC_URL", "HTTPS://jy.example.cn")]),
        )
        .unwrap();
        assert!(s.https());
    }

    #[test]
    fn unknown_keys_fail_fast() {
        let err = Config::load(None, env(&[("JIAOYUN_LISTNE", "x")])).unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
        let err = Config::load(None, env(&[("JIAOYUN_AUDIT_RETENTION_DAYS", "many")])).unwrap_err();
        assert!(err.to_string().contains("audit_retention_days"), "{err}");
    }
}
