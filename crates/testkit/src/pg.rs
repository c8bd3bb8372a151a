//! A PostgreSQL cluster of a test's own, on a port of its own (never the machine's shared
//! server): for tests that restart, stop or replicate the database (issue #19). Made with the
//! installed server's `initdb`, run as the `postgres` user when the test runs as root (the
//! server refuses root), and removed with its folder when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<u32> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_unstable();
    let v = versions
        .last()
        .unwrap_or_else(|| panic!("no PostgreSQL server under {}", root.display()));
    root.join(v.to_string()).join("bin")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl PgCluster {
    /// The command `program` of the server, as the server's own user.
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, mut c: Command, what: &str) {
        let out = c
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
        assert!(
            out.status.success(),
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn empty(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("jy-pg-{name}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let c = Self {
            dir,
            port: free_port(),
            bin: bin_dir(),
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&c.dir)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "chown of the cluster folder"
            );
        }
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A new primary, started: trust on 127.0.0.1 (replication too), WAL for a standby, and
    /// no fsync (a test's data need not survive the machine).
    pub fn primary() -> Self {
        let c = Self::empty("primary");
        let mut init = c.cmd("initdb");
        init.args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
            "-D",
        ])
        .arg(c.data());
        c.run(init, "initdb");
        let conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             wal_level = replica\nmax_wal_senders = 4\nfsync = off\nfull_page_writes = off\n\
             max_connections = 100\nshared_buffers = 32MB\n",
            c.port,
            c.dir.display()
        );
        append(&c.data().join("postgresql.conf"), &conf);
        append(
            &c.data().join("pg_hba.conf"),
            "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        );
        c.start();
        c
    }

    /// A streaming replica of this cluster (a base backup that follows it), started.
    pub fn replica(&self) -> Self {
        let c = Self::empty("replica");
        let mut backup = c.cmd("pg_basebackup");
        backup
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-X", "stream", "-R", "--no-sync", "-D"])
            .arg(c.data());
        c.run(backup, "pg_basebackup");
        append(
            &c.data().join("postgresql.auto.conf"),
            &format!(
                "port = {}\nunix_socket_directories = '{}'\nhot_standby = on\n",
                c.port,
                c.dir.display()
            ),
        );
        c.start();
        c
    }

    pub fn start(&self) {
        let mut c = self.cmd("pg_ctl");
        c.args(["-w", "-t", "60", "-l"])
            .arg(self.dir.join("server.log"))
            .arg("-D")
            .arg(self.data())
            .arg("start");
        self.run(c, "pg_ctl start");
    }

    /// Stops the server: `fast` (disconnects clients, checkpoints) or `immediate` (as if the
    /// machine lost power; recovery at the next start).
    pub fn stop(&self, mode: &str) {
        let mut c = self.cmd("pg_ctl");
        c.args(["-w", "-m", mode, "-D"])
            .arg(self.data())
            .arg("stop");
        self.run(c, "pg_ctl stop");
    }

    /// The URL of `database` on it.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut c = self.cmd("pg_ctl");
        c.args(["-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop");
        let _ = c.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
