//! The Markdown report.

use std::{fmt::Write, path::Path};

use crate::{load::LoadResult, settle::Settlement, Args};

pub struct Level {
    pub concurrency: usize,
    pub awards: LoadResult,
    pub baseline: LoadResult,
    /// `GET /healthz` at the same concurrency: the HTTP exchange alone.
    pub floor: LoadResult,
}

pub struct DatabaseRun {
    pub name: String,
    pub levels: Vec<Level>,
    pub settlement: Option<Settlement>,
    pub renders: Vec<(String, String, Result<LoadResult, u16>)>,
    pub rss_idle_kib: Option<u64>,
    pub rss_awards_kib: Option<u64>,
    pub rss_settle_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
}

impl DatabaseRun {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            levels: Vec::new(),
            settlement: None,
            renders: Vec::new(),
            rss_idle_kib: None,
            rss_awards_kib: None,
            rss_settle_kib: None,
            rss_peak_kib: None,
        }
    }
}

pub struct Asset {
    pub name: &'static str,
    pub raw: Option<u64>,
    pub gzip: Option<u64>,
}

pub struct Report {
    pub machine: String,
    pub requests: usize,
    pub raw_signatures_per_second: f64,
    pub runs: Vec<DatabaseRun>,
    pub assets: Vec<Asset>,
}

impl Report {
    pub fn new(args: &Args) -> Self {
        Self {
            machine: machine(),
            requests: args.requests,
            raw_signatures_per_second: 0.0,
            runs: Vec::new(),
            assets: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Machine: {}\n", self.machine);
        let _ = writeln!(
            s,
            "### Award API beside the database baseline ({} requests per level)\n",
            self.requests
        );
        s.push_str("| DB | clients | awards/s | p50 ms | p99 ms | errors | baseline inserts/s | baseline p50 ms | baseline p99 ms | ratio | empty requests/s | empty p50 ms |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for run in &self.runs {
            for l in &run.levels {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {:.1} | {:.1} | **{:.2}** | {:.0} | {:.2} |",
                    run.name,
                    l.concurrency,
                    l.awards.per_second(),
                    l.awards.percentile_ms(0.50),
                    l.awards.percentile_ms(0.99),
                    l.awards.errors,
                    l.baseline.per_second(),
                    l.baseline.percentile_ms(0.50),
                    l.baseline.percentile_ms(0.99),
                    l.awards.per_second() / l.baseline.per_second(),
                    l.floor.per_second(),
                    l.floor.percentile_ms(0.50),
                );
            }
        }
        s.push_str(
            "\nCapacity: the highest throughput over the levels on each side (a server's \
             award capacity beside the database's insert capacity).\n\n\
             | DB | awards/s | at clients | baseline inserts/s | at clients | capacity ratio |\n\
             |---|---:|---:|---:|---:|---:|\n",
        );
        for run in &self.runs {
            let best = |side: fn(&Level) -> &LoadResult| {
                run.levels
                    .iter()
                    .map(|l| (side(l).per_second(), l.concurrency))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
            };
            if let (Some(awards), Some(baseline)) = (best(|l| &l.awards), best(|l| &l.baseline)) {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} | {:.0} | {} | **{:.2}** |",
                    run.name,
                    awards.0,
                    awards.1,
                    baseline.0,
                    baseline.1,
                    awards.0 / baseline.0
                );
            }
        }
        for run in &self.runs {
            if let Some(e) = run
                .levels
                .iter()
                .find_map(|l| l.awards.first_error.as_ref())
            {
                let _ = writeln!(s, "\nFirst award error on {}: `{e}`", run.name);
            }
        }

        s.push_str("\n### Settlement on the development chain (2 s blocks, batching on, 1 confirmation)\n\n");
        s.push_str("| DB | awards | API calls/s | confirmed | API call to last confirmed s | **confirmed ops/s** | last API answer to last confirmed s | all signed after s | worker ops signed/s | transactions | blocks |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for run in &self.runs {
            if let Some(t) = &run.settlement {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} | {} | {} | **{}** | {} | {} | {} | {} | {} |",
                    run.name,
                    t.operations,
                    t.submit.per_second(),
                    t.confirmed,
                    opt(t.confirmed_after.map(|d| d.as_secs_f64()), 1),
                    opt(t.confirmed_per_second(), 0),
                    // The tail after the last award: the batch window, the wait for a block
                    // (at most one interval) and the confirmation poll, when the worker keeps up.
                    opt(
                        t.confirmed_after
                            .map(|d| d.saturating_sub(t.submit.elapsed).as_secs_f64()),
                        1
                    ),
                    opt(t.signed_after.map(|d| d.as_secs_f64()), 1),
                    opt(t.signed_per_second(), 0),
                    t.transactions,
                    t.blocks,
                );
            }
        }
        let _ = writeln!(
            s,
            "\nRaw secp256k1 signing on one core (mvs `sign_digest`): **{:.0} signatures/s**. \
             A batched transfer needs one signature per input (a few), not one per operation.",
            self.raw_signatures_per_second
        );

        s.push_str("\n### Server-side render time (sequential GETs; dashboard pages with the operator's session, the signed-in wallet with a customer's)\n\n");
        s.push_str(
            "| DB | page | path | p50 ms | p99 ms | pages/s |\n|---|---|---|---:|---:|---:|\n",
        );
        for run in &self.runs {
            for (label, path, r) in &run.renders {
                match r {
                    Ok(r) => {
                        let _ = writeln!(
                            s,
                            "| {} | {label} | `{path}` | {:.1} | {:.1} | {:.0} |",
                            run.name,
                            r.percentile_ms(0.5),
                            r.percentile_ms(0.99),
                            r.per_second()
                        );
                    }
                    Err(status) => {
                        let _ = writeln!(
                            s,
                            "| {} | {label} | `{path}` | not measured: answered {status} | | |",
                            run.name
                        );
                    }
                }
            }
        }

        s.push_str("\n### What the browser downloads\n\n| file | raw bytes | gzip -9 bytes |\n|---|---:|---:|\n");
        let (mut raw, mut gz) = (0, 0);
        for a in &self.assets {
            raw += a.raw.unwrap_or(0);
            gz += a.gzip.unwrap_or(0);
            let _ = writeln!(s, "| {} | {} | {} |", a.name, opt_u(a.raw), opt_u(a.gzip));
        }
        let _ = writeln!(s, "| **total** | **{raw}** | **{gz}** |");

        s.push_str("\n### Server memory (RSS, /proc/PID/status)\n\n| DB | idle after setup MiB | median under award load MiB | median during settlement MiB | peak (VmHWM) MiB |\n|---|---:|---:|---:|---:|\n");
        for run in &self.runs {
            let mib = |k: Option<u64>| opt(k.map(|k| k as f64 / 1024.0), 1);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                run.name,
                mib(run.rss_idle_kib),
                mib(run.rss_awards_kib),
                mib(run.rss_settle_kib),
                mib(run.rss_peak_kib)
            );
        }
        s
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.decimals$}"))
}

fn opt_u(v: Option<u64>) -> String {
    v.map_or("missing".into(), |v| v.to_string())
}

/// Sizes of the wasm, JS and CSS in `site_root/pkg` and their pre-compressed copies.
pub fn assets(site_root: &Path) -> Vec<Asset> {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).ok().map(|m| m.len());
    ["pointmint_bg.wasm", "pointmint.js", "pointmint.css"]
        .into_iter()
        .map(|name| Asset {
            name,
            raw: size(site_root.join("pkg").join(name)),
            gzip: size(site_root.join("pkg").join(format!("{name}.gz"))),
        })
        .collect()
}

/// `nproc`, the CPU model and memory, from /proc.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("?".to_owned(), |k| {
            format!("{:.1} GiB", k as f64 / 1048576.0)
        });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "nproc {cpus}, {model}, {mem} RAM; load average at start {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
