//! A snapshot as Prometheus text exposition format (version 0.0.4).

use std::fmt::Write;

use crate::control::protocol::MetricsSnapshot;
use crate::metrics::latency::{self, BOUNDS};

/// Label values escape `\`, `"` and newlines.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole `/metrics` body.
pub fn render(s: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    type Get = fn(&crate::control::protocol::JailMetrics) -> u64;
    let per_jail: [(&str, &str, &str, Get); 8] = [
        (
            "bantam_lines_total",
            "counter",
            "Log lines read for the jail.",
            |j| j.status.lines_read,
        ),
        (
            "bantam_failures_total",
            "counter",
            "Failures found in the jail's lines.",
            |j| j.status.total_failures,
        ),
        (
            "bantam_bans_total",
            "counter",
            "Bans the jail made since start.",
            |j| j.status.total_banned,
        ),
        (
            "bantam_banned",
            "gauge",
            "Bans in force in the jail.",
            |j| j.status.currently_banned as u64,
        ),
        (
            "bantam_tracked",
            "gauge",
            "Sources with failures counted, not yet banned.",
            |j| j.status.tracked as u64,
        ),
        (
            "bantam_evicted_total",
            "counter",
            "Tracked sources forgotten to keep memory bounded (max-tracked).",
            |j| j.evicted,
        ),
        (
            "bantam_long_lines_dropped_total",
            "counter",
            "Lines over the length limit, dropped whole.",
            |j| j.status.long_lines_dropped,
        ),
        (
            "bantam_action_dropped_total",
            "counter",
            "Action jobs dropped because the jail's action queue was full.",
            |j| j.status.actions_dropped,
        ),
    ];
    for (name, kind, help, get) in per_jail {
        header(&mut out, name, kind, help);
        for j in &s.jails {
            let _ = writeln!(
                out,
                "{name}{{jail=\"{}\"}} {}",
                label(&j.status.name),
                get(j)
            );
        }
    }
    header(
        &mut out,
        "bantam_source_up",
        "gauge",
        "1 while the jail's log source is followed, 0 while it waits or fails.",
    );
    for j in &s.jails {
        for src in &j.status.sources {
            let up = u8::from(src.state == "following");
            let _ = writeln!(
                out,
                "bantam_source_up{{jail=\"{}\",source=\"{}\"}} {up}",
                label(&j.status.name),
                label(&src.logpath)
            );
        }
    }
    header(
        &mut out,
        "bantam_store_healthy",
        "gauge",
        "1 while the state database takes writes.",
    );
    let _ = writeln!(out, "bantam_store_healthy {}", u8::from(s.store_healthy));
    render_latency(&mut out);
    out
}

fn render_latency(out: &mut String) {
    let name = "bantam_ban_latency_seconds";
    header(
        out,
        name,
        "histogram",
        "From a batch of lines reaching the daemon to its bans sent to the firewall.",
    );
    let (buckets, count, sum) = latency::read();
    for (bound, n) in BOUNDS.iter().zip(buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {count}");
}
