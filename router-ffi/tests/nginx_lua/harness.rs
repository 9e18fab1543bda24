//! nginx with Debian's lua module, started for a test: in the foreground
//! (`daemon off; master_process off;`), on a free loopback port, from a
//! fresh directory; dropping it kills nginx and removes the directory,
//! failed test or not.

use radixgate_test_support::free_port;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MODULES: &str = "/usr/lib/nginx/modules";

const LIB_NAME: &str = if cfg!(target_os = "macos") {
    "libradix_router.dylib"
} else {
    "libradix_router.so"
};

/// The cdylib built with this test binary (`target/<profile>/deps/nginx_lua-<hash>`):
/// the newer of `target/<profile>/libradix_router.so` (`cargo build`) and
/// `target/<profile>/deps/libradix_router.so` (`cargo test` alone).
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let profile = deps.parent().expect("target/<profile>");
    [profile.join(LIB_NAME), deps.join(LIB_NAME)]
        .into_iter()
        .filter_map(|c| Some((fs::metadata(&c).ok()?.modified().ok()?, c)))
        .max_by_key(|(mtime, _)| *mtime)
        .map(|(_, c)| c)
        .unwrap_or_else(|| {
            panic!(
                "{LIB_NAME} not found next to {}; build it with `cargo build -p radix-router`",
                exe.display()
            )
        })
}

fn nginx_binary() -> PathBuf {
    let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"];
    if let Some(p) = candidates.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return p;
    }
    // Else rely on PATH.
    PathBuf::from("nginx")
}

/// nginx.conf around `server` (the locations, given the port), with the
/// module and this directory's Lua helpers on the package path.
fn config(dir: &Path, port: u16, server: &str) -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    format!(
        r#"load_module {MODULES}/ndk_http_module.so;
load_module {MODULES}/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
env RADIX_ROUTER_LIB;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    lua_package_path "{lua}/?.lua;{helpers}/?.lua;;";
    server {{
        listen 127.0.0.1:{port};
        listen [::1]:{port};
{server}
    }}
}}
"#,
        dir = dir.display(),
        lua = here.join("lua").display(),
        helpers = here.join("tests/nginx_lua/lua").display(),
    )
}

/// A running nginx; dropping it kills nginx and removes its directory.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    pub ipv6: bool,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

impl Nginx {
    /// The error log and nginx's stderr.
    pub fn error_log(&self) -> String {
        let mut s = fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        s.push_str(&fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default());
        s
    }

    /// How long the error log is now (for [`Nginx::error_log_since`]).
    pub fn error_log_len(&self) -> usize {
        fs::metadata(self.dir.join("error.log")).map_or(0, |m| m.len() as usize)
    }

    /// What the error log gained since it was `from` bytes long.
    pub fn error_log_since(&self, from: usize) -> String {
        let log = fs::read(self.dir.join("error.log")).unwrap_or_default();
        String::from_utf8_lossy(log.get(from..).unwrap_or_default()).into_owned()
    }

    /// Starts nginx with the locations `server(port)` writes.
    pub fn start(server: impl Fn(u16) -> String) -> Nginx {
        for _ in 0..3 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = std::env::temp_dir()
                .join(format!("radix-nginx-lua-{}-{nanos}", std::process::id()));
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let port = free_port();
            let ipv6 = ipv6_loopback();
            let mut conf = config(&dir, port, &server(port));
            if !ipv6 {
                conf = conf.replace(&format!("        listen [::1]:{port};\n"), "");
            }
            fs::write(dir.join("nginx.conf"), conf).expect("writing nginx.conf");
            let stderr = File::create(dir.join("stderr.log")).expect("stderr.log");
            let child = Command::new(nginx_binary())
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .env("RADIX_ROUTER_LIB", library())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("starting nginx: {e} (`make deps` installs it)"));
            let mut n = Nginx {
                child,
                dir,
                port,
                ipv6,
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(status)) = n.child.try_wait() {
                    let log = n.error_log();
                    if log.contains("Address already in use") {
                        break; // another process took the port: try another
                    }
                    panic!("nginx exited ({status}) at start:\n{log}");
                }
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return n;
                }
                if Instant::now() > deadline {
                    panic!("nginx did not listen on {port} in 15 s:\n{}", n.error_log());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("nginx could not bind a free port three times");
    }

    /// Sends one HTTP/1.0 request to 127.0.0.1 (or ::1); returns (status, body).
    pub fn request_to(
        &self,
        v6: bool,
        method: &str,
        target: &str,
        headers: &[&str],
    ) -> (u16, String) {
        let mut s = if v6 {
            TcpStream::connect(format!("[::1]:{}", self.port))
        } else {
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
        }
        .expect("connecting to nginx");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!("{method} {target} HTTP/1.0\r\n");
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("host:"))
        {
            req.push_str("Host: localhost\r\n");
        }
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("sending the request");
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).expect("reading the response");
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let (head, body) = resp
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP response: {resp:?}\n{}", self.error_log()));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {head:?}"));
        (status, body.to_string())
    }

    pub fn request(&self, method: &str, target: &str, headers: &[&str]) -> (u16, String) {
        self.request_to(false, method, target, headers)
    }

    pub fn get(&self, target: &str, headers: &[&str]) -> String {
        let (status, body) = self.request("GET", target, headers);
        assert_eq!(
            status,
            200,
            "GET {target} {headers:?}: status {status}, body {body:?}\n{}",
            self.error_log()
        );
        body
    }
}
