//! The server under test: a `pointmint serve` child process on loopback, and its memory.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};

pub struct Server {
    child: tokio::process::Child,
    pub pid: u32,
    pub base: String,
}

pub struct ServerConfig<'a> {
    pub binary: &'a Path,
    pub site_root: &'a Path,
    pub data_dir: &'a Path,
    pub database_url: &'a str,
    pub port: u16,
    /// `--batch-window` of `pointmint serve`.
    pub batch_window: &'a str,
}

impl Server {
    /// Starts the server with a 2 s development chain, one confirmation and batching on,
    /// and waits until `/readyz` answers 200.
    pub async fn start(config: ServerConfig<'_>) -> anyhow::Result<Server> {
        std::fs::create_dir_all(config.data_dir)?;
        let log = std::fs::File::create(config.data_dir.join("server.log"))?;
        let addr = format!("127.0.0.1:{}", config.port);
        let child = tokio::process::Command::new(config.binary)
            .arg("serve")
            .args(["--addr", &addr])
            .arg("--data-dir")
            .arg(config.data_dir)
            .args(["--database-url", config.database_url])
            .arg("--site-root")
            .arg(config.site_root)
            .args(["--devnet-block-interval", "2s"])
            .args(["--required-confirmations", "1"])
            .args(["--batch-window", config.batch_window])
            // Quiet by default (logging is work too); BENCH_SERVER_LOG=info shows the worker's steps.
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", config.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let server = Server {
            child,
            pid,
            base: format!("http://{addr}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status() == 200 {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not become ready; see {}/server.log",
                    config.data_dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Samples the server's resident memory every 100 ms, labelled with the phase running.
#[derive(Clone)]
pub struct RssSampler {
    phase: Arc<Mutex<&'static str>>,
    samples: Arc<Mutex<Vec<(&'static str, u64)>>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let sampler = RssSampler {
            phase: Arc::new(Mutex::new("idle")),
            samples: Default::default(),
        };
        let s = sampler.clone();
        tokio::spawn(async move {
            while let Some(kib) = proc_kib(pid, "VmRSS") {
                let phase = *s.phase.lock().unwrap();
                s.samples.lock().unwrap().push((phase, kib));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        sampler
    }

    pub fn phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap() = phase;
    }

    /// Median RSS (KiB) over the samples of `phase`.
    pub fn median(&self, phase: &str) -> Option<u64> {
        let mut v: Vec<u64> = self
            .samples
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, k)| *k)
            .collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    }
}

/// A fresh scratch directory under `root`.
pub fn fresh_dir(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
