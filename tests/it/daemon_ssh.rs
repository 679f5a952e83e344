//! Git over SSH against a private `sshd` on loopback: the test generates a host key, a client
//! key and an `authorized_keys`, starts `/usr/sbin/sshd -D` as the current user on
//! `127.0.0.1:<free port>` serving a bare repository made with `git`, and the daemon's Git
//! source fetches `ssh://user@127.0.0.1:PORT/…/remote.git` with the key file and a known-hosts
//! file. A changed host key, a missing known-hosts entry and a key the server does not accept
//! are refused with clear errors. End to end: `run --once` through the binary over SSH.
//!
//! Without `sshd` these tests fail under `CI` and print a skip notice elsewhere.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use infisical_gitops::source::git::{GitAuth, GitError, GitReference, GitSource};

use super::daemon_git::{Remote, read_value};
use super::support::ssh_keys::keygen;

const SSHD: &str = "/usr/sbin/sshd";

/// A running private `sshd`; killed on drop.
pub(crate) struct Sshd {
    child: Child,
    pub port: u16,
    pub user: String,
    /// The host key's public half (`ssh-ed25519 AAAA…`).
    pub host_public_key: String,
    /// Its `SHA256:…` fingerprint.
    pub host_fingerprint: String,
    /// A client private key the server accepts.
    pub client_key: PathBuf,
    log: PathBuf,
}

/// The current user's name.
fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("id runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn public_key(private: &Path) -> String {
    let text = std::fs::read_to_string(private.with_extension("pub")).unwrap();
    // `type base64 comment` → `type base64`
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `SHA256:…` fingerprint of a key pair's public half, from `ssh-keygen -l`.
fn fingerprint(private: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(private.with_extension("pub"))
        .output()
        .expect("ssh-keygen runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

impl Sshd {
    /// Starts `sshd` in `dir` (configuration, keys, log), or `None` (with a notice) when it is
    /// not installed outside CI.
    pub(crate) fn start_or_skip(dir: &Path) -> Option<Self> {
        if !Path::new(SSHD).exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{SSHD} is required in CI for the SSH transport tests (apt package openssh-server)"
            );
            eprintln!(
                "skipping the SSH transport test: {SSHD} is not installed (apt package openssh-server)"
            );
            return None;
        }
        let dir = dir.join("sshd");
        std::fs::create_dir_all(&dir).unwrap();
        let host_key = keygen(&dir, "host_key");
        let client_key = keygen(&dir, "client_key");
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, format!("{}\n", public_key(&client_key))).unwrap();
        let user = current_user();
        if is_root() {
            // As root, sshd insists on its privilege-separation directory (normally made by
            // the service manager, which does not run here).
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        // A free port may be taken between probing and binding: a few tries.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {pid}
AuthorizedKeysFile {authorized}
AllowUsers {user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
LogLevel VERBOSE
",
                    host_key = host_key.display(),
                    pid = dir.join("sshd.pid").display(),
                    authorized = authorized.display(),
                ),
            )
            .unwrap();
            let log = dir.join(format!("sshd-{port}.log"));
            let child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("sshd starts");
            let mut sshd = Sshd {
                child,
                port,
                user: user.clone(),
                host_public_key: public_key(&host_key),
                host_fingerprint: fingerprint(&host_key),
                client_key: client_key.clone(),
                log,
            };
            if sshd.wait_until_listening() {
                return Some(sshd);
            }
            last_log = sshd.log();
        }
        panic!("sshd did not start:\n{last_log}");
    }

    /// Polls the port (bounded: 5 s); false when sshd exited.
    fn wait_until_listening(&mut self) -> bool {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        for _ in 0..250 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sshd did not listen within 5 s:\n{}", self.log());
    }

    /// What sshd logged.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `ssh://` URL of `path` on this server.
    pub(crate) fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// A known-hosts line for this server with `key` (`type base64`).
    pub(crate) fn known_hosts_line(&self, key: &str) -> String {
        format!("[127.0.0.1]:{} {key}\n", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A Git source over SSH for `remote` on `sshd`, with `known_hosts` text and `key`.
fn ssh_source(remote: &Remote, sshd: &Sshd, known_hosts: &str, key: &Path) -> GitSource {
    let known_hosts_path = remote.root.join(format!("known_hosts-{}", rand_suffix()));
    std::fs::write(&known_hosts_path, known_hosts).unwrap();
    let mut config = remote.config(
        sshd.url(&remote.bare),
        GitReference::Branch("main".into()),
        "",
    );
    config.auth = GitAuth::SshKey {
        private_key: key.to_path_buf(),
        passphrase: None,
    };
    config.known_hosts = Some(known_hosts_path);
    GitSource::new(config)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn fetch(source: GitSource) -> Result<infisical_gitops::source::git::Checkout, GitError> {
    let source = Arc::new(source);
    tokio::task::spawn_blocking(move || source.fetch())
        .await
        .unwrap()
}

/// The error's message and its sources, with the port and paths replaced.
fn chain(error: &GitError, sshd: &Sshd, remote: &Remote) -> String {
    infisical_gitops::errors::cause_chain(error)
        .replace(&remote.bare.display().to_string(), "/<repo>")
        .replace(&sshd.host_fingerprint, "<host key fingerprint>")
        .replace(&sshd.port.to_string(), "<port>")
        .replace(&format!("{}@", sshd.user), "<user>@")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_over_ssh_from_a_private_sshd() {
    let remote = Remote::new();
    let Some(sshd) = Sshd::start_or_skip(&remote.root) else {
        return;
    };
    let first = remote.push("", "info");
    let known_hosts = format!(
        "# other hosts are ignored\ngit.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEaFfBCFAuStsiB5reufeVNIe1wf28n7yD85l7PC7h6k\n{}",
        sshd.known_hosts_line(&sshd.host_public_key)
    );
    let source = Arc::new(ssh_source(&remote, &sshd, &known_hosts, &sshd.client_key));
    let fetch_once = |source: Arc<GitSource>| async move {
        tokio::task::spawn_blocking(move || source.fetch())
            .await
            .unwrap()
    };
    let checkout = fetch_once(source.clone())
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", sshd.log()));
    assert_eq!(checkout.revision, first);
    let first_content = read_value(&checkout.path);

    // A second push is fetched into the same clone.
    let second = remote.push("", "warn");
    let checkout = fetch_once(source.clone()).await.unwrap();
    assert_eq!(checkout.revision, second);
    assert_ne!(read_value(&checkout.path), first_content);
    assert!(
        sshd.log().contains("Accepted publickey"),
        "the fetch went through sshd:\n{}",
        sshd.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_or_unknown_host_keys_and_refused_client_keys_fail_clearly() {
    let remote = Remote::new();
    let Some(sshd) = Sshd::start_or_skip(&remote.root) else {
        return;
    };
    remote.push("", "info");
    let mut messages = Vec::new();

    // The known-hosts file lists another key for this host and port: a changed host key.
    let other_host = keygen(&remote.root, "other_host_key");
    let changed = sshd.known_hosts_line(&public_key(&other_host));
    let error = fetch(ssh_source(&remote, &sshd, &changed, &sshd.client_key))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::HostKey { .. }), "{error:?}");
    messages.push(chain(&error, &sshd, &remote));

    // The known-hosts file has no entry for this host and port (only for port 22).
    let missing = format!("127.0.0.1 {}\n", sshd.host_public_key);
    let error = fetch(ssh_source(&remote, &sshd, &missing, &sshd.client_key))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::HostKey { .. }), "{error:?}");
    messages.push(chain(&error, &sshd, &remote));

    // No known-hosts file configured at all.
    let mut source = ssh_source(&remote, &sshd, "", &sshd.client_key);
    let mut config = source.config().clone();
    config.known_hosts = None;
    source = GitSource::new(config);
    let error = fetch(source).await.unwrap_err();
    assert!(matches!(error, GitError::HostKey { .. }), "{error:?}");
    messages.push(chain(&error, &sshd, &remote));

    // The host is known, but the server does not accept the client key.
    let stranger = keygen(&remote.root, "stranger");
    let known = sshd.known_hosts_line(&sshd.host_public_key);
    let error = fetch(ssh_source(&remote, &sshd, &known, &stranger))
        .await
        .unwrap_err();
    assert!(matches!(error, GitError::Fetch { .. }), "{error:?}");
    messages.push(chain(&error, &sshd, &remote));

    assert!(
        !sshd.log().contains("Accepted publickey"),
        "nothing was let in:\n{}",
        sshd.log()
    );
    insta::assert_snapshot!("ssh_refusals", messages.join("\n"));
}

#[test]
fn run_once_over_ssh_through_the_binary() {
    let remote = Remote::new();
    let Some(sshd) = Sshd::start_or_skip(&remote.root) else {
        return;
    };
    let revision = remote.push("deploy/infisical", "info");
    let known_hosts = remote.root.join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line(&sshd.host_public_key)).unwrap();
    let work_dir = remote.root.join("once");
    let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args([
            "run",
            "--once",
            "--dev",
            "--git-url",
            &sshd.url(&remote.bare),
        ])
        .args(["--git-path", "deploy/infisical", "--work-dir"])
        .arg(&work_dir)
        .arg("--ssh-key")
        .arg(&sshd.client_key)
        .arg("--known-hosts")
        .arg(&known_hosts)
        .env_remove("INFISICAL_API_URL")
        .env_remove("INFISICAL_GITOPS_GIT_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{}", sshd.log());
    assert_eq!(
        stdout.trim(),
        format!("startup {revision}: success, 4 created, 0 updated, 0 deleted, 0 drift detected")
    );
}
