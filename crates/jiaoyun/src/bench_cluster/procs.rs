//! The processes of a cluster on this machine: an S3 server (moto), nginx in front, and
//! `jiaoyun serve` nodes, each a child process with its log in the run's folder, killed when
//! its handle drops (nothing outlives the benchmark, even when it fails half-way).

use kernel::{AppError, AppResult};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, dir: &Path) -> AppResult<Self> {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).map_err(AppError::internal)?;
        let err = out.try_clone().map_err(AppError::internal)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                AppError::internal(format!(
                    "cannot start {name} ({:?}): {e}",
                    cmd.get_program()
                ))
            })?;
        Ok(Self {
            name: name.into(),
            child: Some(child),
            log,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP / SIGCONT: the process stays, but answers nothing (a hung server).
    pub fn signal(&self, sig: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(pid.to_string())
                .status();
        }
    }

    /// SIGTERM, then wait up to `grace` for the process to end (SIGKILL after).
    pub fn stop(&mut self, grace: Duration) {
        self.signal("TERM");
        let t = Instant::now();
        while let Some(c) = self.child.as_mut() {
            if matches!(c.try_wait(), Ok(Some(_))) || t.elapsed() > grace {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// Whether it has exited by itself.
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// The end of its log, for an error message.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released for the child to take).
pub fn free_port() -> AppResult<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(AppError::internal)?;
    Ok(l.local_addr().map_err(AppError::internal)?.port())
}

/// Waits until `url` answers 2xx (or `proc` exits, or `limit` passes).
pub async fn wait_ready(
    http: &reqwest::Client,
    url: &str,
    proc: &mut Proc,
    limit: Duration,
) -> AppResult<()> {
    let t = Instant::now();
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if proc.exited() || t.elapsed() > limit {
            return Err(AppError::internal(format!(
                "{} did not become ready at {url}; the end of {}:\n{}",
                proc.name,
                proc.log.display(),
                proc.tail()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The S3-compatible server: moto in server mode (PyPI `moto[server]`), found as
/// `$MOTO_SERVER`, or `moto_server` on the PATH.
pub struct S3Server {
    pub proc: Proc,
    pub endpoint: String,
}

pub const BUCKET: &str = "jiaoyun";

impl S3Server {
    pub async fn start(http: &reqwest::Client, dir: &Path) -> AppResult<Self> {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = free_port()?;
        let mut s = Self {
            proc: Self::spawn(&program, port, dir).map_err(|e| {
                AppError::internal(format!(
                    "{e}\nThe cluster benchmark needs an S3 server: `pip install 'moto[server]'` \
                     (or set MOTO_SERVER to its moto_server)"
                ))
            })?,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        s.ready(http).await?;
        // moto creates a bucket on an empty PUT (us-east-1 needs no location).
        let r = http
            .put(format!("{}/{BUCKET}", s.endpoint))
            .header("content-length", "0")
            .send()
            .await
            .map_err(AppError::internal)?;
        if !r.status().is_success() {
            return Err(AppError::internal(format!(
                "the S3 server refused to create the bucket: {}",
                r.status()
            )));
        }
        Ok(s)
    }

    /// Hangs the server (SIGSTOP): connections are accepted by the kernel and never
    /// answered, the worst kind of outage for a client.
    pub fn pause(&self) {
        self.proc.signal("STOP");
    }

    pub fn resume(&self) {
        self.proc.signal("CONT");
    }

    fn spawn(program: &str, port: u16, dir: &Path) -> AppResult<Proc> {
        let mut cmd = Command::new(program);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Proc::spawn("s3", cmd, dir)
    }

    async fn ready(&mut self, http: &reqwest::Client) -> AppResult<()> {
        let url = format!("{}/moto-api/", self.endpoint);
        wait_ready(http, &url, &mut self.proc, Duration::from_secs(30)).await
    }
}

/// nginx from Debian's package, in front of the nodes as `docs/deployment.md` shows: requests
/// go round-robin, a node that refuses connections is skipped (`proxy_next_upstream error
/// timeout`; nginx never resends a POST that reached a node).
pub struct Nginx {
    /// Kept for its drop: nginx stops with the benchmark.
    _proc: Proc,
    pub url: String,
}

impl Nginx {
    pub async fn start(
        http: &reqwest::Client,
        dir: &Path,
        port: u16,
        nodes: &[u16],
    ) -> AppResult<Self> {
        let ndir = dir.join("nginx");
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(ndir.join(sub)).map_err(AppError::internal)?;
        }
        let servers: String = nodes
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;\n"))
            .collect();
        let d = ndir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream jiaoyun {{
{servers}        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64m;
        location / {{
            proxy_pass http://jiaoyun;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            proxy_buffering off;
        }}
    }}
}}
"#
        );
        let file = ndir.join("nginx.conf");
        std::fs::write(&file, conf).map_err(AppError::internal)?;
        let program = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nginx");
        let mut cmd = Command::new(program);
        cmd.arg("-p").arg(&ndir).arg("-c").arg(&file);
        let mut proc = Proc::spawn("nginx", cmd, dir).map_err(|e| {
            AppError::internal(format!(
                "{e}\nThe cluster benchmark needs nginx (Debian: nginx)"
            ))
        })?;
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(
            http,
            &format!("{url}/healthz"),
            &mut proc,
            Duration::from_secs(20),
        )
        .await?;
        Ok(Self { _proc: proc, url })
    }
}

/// One `jiaoyun serve` node: this same binary with its own configuration file.
pub struct Node {
    pub proc: Proc,
    pub name: String,
    pub port: u16,
    config: PathBuf,
    dir: PathBuf,
}

impl Node {
    /// Writes the node's configuration (its own top-level `top` keys, then the `common` TOML
    /// every node shares) and starts it; waits for `/readyz`.
    pub async fn start(
        http: &reqwest::Client,
        dir: &Path,
        name: &str,
        top: &str,
        common: &str,
    ) -> AppResult<Self> {
        let port = free_port()?;
        let config = dir.join(format!("{name}.toml"));
        let index = dir.join(format!("index-{name}"));
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\nnode_name = \"{name}\"\n{top}\n{common}\n[resources]\nindex_dir = \"{}\"\nindex_poll_ms = 200\n",
            index.display()
        );
        std::fs::write(&config, text).map_err(AppError::internal)?;
        let mut node = Self {
            proc: Proc::spawn(name, Self::command(&config)?, dir)?,
            name: name.into(),
            port,
            config,
            dir: dir.to_path_buf(),
        };
        node.ready(http).await?;
        Ok(node)
    }

    fn command(config: &Path) -> AppResult<Command> {
        let exe = std::env::current_exe().map_err(AppError::internal)?;
        let mut cmd = Command::new(exe);
        cmd.arg("--config").arg(config).arg("serve");
        Ok(cmd)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn ready(&mut self, http: &reqwest::Client) -> AppResult<()> {
        let url = format!("{}/readyz", self.url());
        wait_ready(http, &url, &mut self.proc, Duration::from_secs(120)).await
    }

    /// Starts it again after a kill, on the same port and configuration (its log appended
    /// under a new name).
    pub async fn restart(&mut self, http: &reqwest::Client) -> AppResult<()> {
        self.proc.kill();
        self.proc = Proc::spawn(
            &format!("{}-again", self.name),
            Self::command(&self.config)?,
            &self.dir,
        )?;
        self.ready(http).await
    }

    /// Resident memory now (VmRSS), in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.proc
            .pid()
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}
