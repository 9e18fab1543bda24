//! The real-etcd harness: Debian's `etcd` (3.4) on free loopback client and
//! peer ports, each member in its own temp data dir, killed on drop. A
//! member can be stopped and started again on the same ports and data dir.
//! Clients may speak TLS to it, and it may ask them for a certificate
//! ([`ServerTls`]). A gateway on etcd is [`crate::gateway::Gateway::etcd`].

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::Request;
use crate::ports::free_port;
use crate::temp::TempDir;

/// The etcd binary: `$ETCD_BIN`, else `/usr/bin/etcd`, else `etcd` on PATH.
pub fn etcd_bin() -> String {
    std::env::var("ETCD_BIN").unwrap_or_else(|_| {
        if std::path::Path::new("/usr/bin/etcd").exists() {
            "/usr/bin/etcd".into()
        } else {
            "etcd".into()
        }
    })
}

/// TLS on etcd's client port: its certificate and key, and the CA its
/// clients' certificates must be signed by when it asks for them (PEM files).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// etcd's certificate.
    pub cert: PathBuf,
    /// etcd's private key.
    pub key: PathBuf,
    /// With it, etcd refuses clients without a certificate signed by this
    /// CA (`--client-cert-auth --trusted-ca-file`).
    pub client_ca: Option<PathBuf>,
}

/// One etcd member: its ports, its data dir, and its process while it runs.
pub struct Member {
    /// Its member name (`m0`, `m1`, ...).
    pub name: String,
    /// The port clients connect to.
    pub client_port: u16,
    /// The port the other members connect to.
    pub peer_port: u16,
    /// Its data dir and log, removed on drop.
    pub dir: TempDir,
    cluster: String,
    child: Option<Child>,
    /// Set when clients speak TLS.
    tls: Option<ServerTls>,
    /// Added to etcd's command line at each start, after the harness's own
    /// flags (a flag given twice: the last one wins).
    pub extra_args: Vec<String>,
}

impl Member {
    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `http://127.0.0.1:<client port>`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path("etcd.log"))
            .expect("etcd log file");
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(etcd_bin());
        if let Some(tls) = &self.tls {
            cmd.arg("--cert-file").arg(&tls.cert);
            cmd.arg("--key-file").arg(&tls.key);
            if let Some(ca) = &tls.client_ca {
                cmd.arg("--client-cert-auth")
                    .arg("--trusted-ca-file")
                    .arg(ca);
            }
        }
        let child = cmd
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.dir.path("data"))
            .arg("--listen-client-urls")
            .arg(&client)
            .arg("--advertise-client-urls")
            .arg(&client)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(&self.cluster)
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--initial-cluster-token")
            .arg(format!("radixgate-test-{}", std::process::id()))
            .arg("--heartbeat-interval")
            .arg("50")
            .arg("--election-timeout")
            .arg("500")
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (apt-get install etcd-server)",
                    etcd_bin()
                )
            });
        self.child = Some(child);
    }

    /// Whether `GET /health` answers `"health":"true"`.
    pub fn healthy(&self) -> bool {
        if self.tls.is_some() {
            return self.log().contains("ready to serve client requests");
        }
        Request::get("/health")
            .timeout(Duration::from_secs(2))
            .send(self.client_port)
            .is_ok_and(|r| r.body.contains("\"health\":\"true\""))
    }

    /// Kills the process (SIGKILL, by its own pid); keeps ports and data dir.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same ports and data dir.
    pub fn start(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// Removes the data dir of a stopped member: it starts again empty,
    /// its revisions from 1 (as an etcd restored from an older backup).
    pub fn wipe(&mut self) {
        assert!(self.child.is_none(), "stop the member before wiping it");
        let _ = std::fs::remove_dir_all(self.dir.path("data"));
    }

    /// Sends `signal` (`STOP`, `CONT`) to the member's own process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("member running").id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }

    /// Whether the process was started and has ended by itself.
    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// What etcd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("etcd.log")).unwrap_or_default()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A stopped (SIGSTOP) process still dies of SIGKILL.
        self.stop();
    }
}

/// Why a wait for health ended: a member process exited, or time ran out.
struct Unhealthy {
    exited: bool,
    logs: String,
}

/// A one- or three-member etcd on loopback, stopped on drop.
pub struct Etcd {
    /// The members, in start order.
    pub members: Vec<Member>,
}

impl Etcd {
    /// One member, healthy when this returns.
    pub fn start() -> Etcd {
        Etcd::cluster(1)
    }

    /// `n` members forming one cluster, healthy when this returns.
    pub fn cluster(n: usize) -> Etcd {
        Etcd::build(n, None)
    }

    /// One member started with `args` added to its command line
    /// (`--auth-token-ttl 1`), healthy when this returns.
    pub fn start_with_args(args: &[&str]) -> Etcd {
        Etcd::build_with(1, None, args)
    }

    /// One member whose clients speak TLS with `cert`/`key` (PEM files).
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> Etcd {
        Etcd::start_with_tls(ServerTls {
            cert,
            key,
            client_ca: None,
        })
    }

    /// One member whose clients speak TLS as `tls` says.
    pub fn start_with_tls(tls: ServerTls) -> Etcd {
        Etcd::build(1, Some(tls))
    }

    fn build(n: usize, tls: Option<ServerTls>) -> Etcd {
        Etcd::build_with(n, tls, &[])
    }

    fn build_with(n: usize, tls: Option<ServerTls>, args: &[&str]) -> Etcd {
        // A member that cannot bind its ports exits at once; such a start
        // is retried on fresh ports rather than reported as a failure.
        let mut last = String::new();
        for _ in 0..3 {
            let mut etcd = Etcd::spawn_new(n, tls.clone(), args);
            match etcd.healthy_within(Duration::from_secs(30)) {
                Ok(()) => return etcd,
                Err(e) if e.exited => last = e.logs,
                Err(e) => panic!("etcd did not become healthy:\n{}", e.logs),
            }
        }
        panic!("etcd exited at start three times:\n{last}");
    }

    fn spawn_new(n: usize, tls: Option<ServerTls>, args: &[&str]) -> Etcd {
        let mut members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                dir: TempDir::new(&format!("etcd-m{i}")),
                cluster: String::new(),
                child: None,
                tls: tls.clone(),
                extra_args: args.iter().map(|a| a.to_string()).collect(),
            })
            .collect();
        let cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        for m in &mut members {
            m.cluster = cluster.clone();
            m.spawn();
        }
        Etcd { members }
    }

    /// Waits until every running member is healthy; panics with the logs otherwise.
    pub fn wait_healthy(&mut self, limit: Duration) {
        if let Err(e) = self.healthy_within(limit) {
            panic!("etcd did not become healthy:\n{}", e.logs);
        }
    }

    fn healthy_within(&mut self, limit: Duration) -> Result<(), Unhealthy> {
        let deadline = Instant::now() + limit;
        loop {
            let exited = self.members.iter_mut().any(Member::exited);
            if !exited
                && self
                    .members
                    .iter()
                    .filter(|m| m.running())
                    .all(Member::healthy)
            {
                return Ok(());
            }
            if exited || Instant::now() > deadline {
                let logs: Vec<String> = self.members.iter().map(Member::log).collect();
                return Err(Unhealthy {
                    exited,
                    logs: logs.join("\n----\n"),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::endpoint).collect()
    }

    /// The first member's client URL.
    pub fn endpoint(&self) -> String {
        self.members[0].endpoint()
    }

    /// Kills member `i` (keeps its data).
    pub fn stop(&mut self, i: usize) {
        self.members[i].stop();
    }

    /// Restarts member `i` and waits until the running members are healthy.
    pub fn restart(&mut self, i: usize) {
        self.members[i].start();
        self.wait_healthy(Duration::from_secs(30));
    }
}

/// A small tokio runtime for tests that talk to etcd through etcd-client.
#[cfg(feature = "etcd-client")]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connects an etcd-client to `endpoints` (5 s timeout).
#[cfg(feature = "etcd-client")]
pub fn client(rt: &tokio::runtime::Runtime, endpoints: &[String]) -> etcd_client::Client {
    let opts = etcd_client::ConnectOptions::new()
        .with_timeout(Duration::from_secs(5))
        .with_connect_timeout(Duration::from_secs(2));
    rt.block_on(etcd_client::Client::connect(endpoints, Some(opts)))
        .expect("connect to etcd")
}
