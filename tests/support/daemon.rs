//! Runs the real `warroom` binary with a temp data dir and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `warroom run` process.
pub struct Daemon {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Every log line the daemon printed so far (JSON).
    pub logs: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts `warroom run --config CONFIG --listen 127.0.0.1:0 --data-dir DIR` and waits
    /// (up to 20 s) for it to say where it listens and that it is ready.
    pub fn start(config: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warroom"));
        command
            .args(["--log-format", "json", "run", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .env_remove("WARROOM_API_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the warroom binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let base = loop {
            let remaining = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx.recv_timeout(remaining).expect("warroom logs where it listens within 20 s");
            let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if value["message"] == "HTTP server listening" {
                break format!("http://{}", value["addr"].as_str().expect("addr field"));
            }
        };
        // Listening comes before ready (the inbox is replayed, the platforms started).
        loop {
            let remaining = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx.recv_timeout(remaining).expect("warroom says it is ready within 20 s");
            let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if value["message"] == "ready" {
                break;
            }
        }
        Daemon { child, base, data_dir: data_dir.to_path_buf(), logs: rx }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and returns the exit status (waits up to 20 s).
    pub fn terminate(self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Sends SIG`name` (TERM, INT) and returns the exit status (waits up to 20 s).
    pub fn signal(mut self, name: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill runs");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "warroom did not exit within 20 s of SIG{name}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All log lines printed so far.
    pub fn drain_logs(&self) -> Vec<String> {
        self.logs.try_iter().collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a config file for a test into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("config written");
    path
}
