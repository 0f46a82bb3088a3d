//! The syslog receiver against util-linux `logger`, over UDP, TCP and a
//! Unix socket, in both formats.

use super::*;
use crate::batch::LineMeta;
use std::process::Command;

type R = Result<(), Box<dyn std::error::Error>>;

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn logger(target: &[&str], format: &str, message: &str) -> std::io::Result<()> {
    let status = Command::new("logger")
        .args(target)
        .args([
            format,
            "--id=4242",
            "-t",
            "sshd",
            "-p",
            "auth.info",
            "--",
            message,
        ])
        .status()?;
    match status.success() {
        true => Ok(()),
        false => Err(std::io::Error::other(format!(
            "logger {target:?}: {status}"
        ))),
    }
}

async fn one_line(src: &mut SyslogSource) -> Result<(String, LineMeta), SourceError> {
    let batch = src.next_batch().await?;
    let (line, meta) = batch
        .lines_with_meta()
        .next()
        .ok_or_else(|| SourceError::io("test", "read", std::io::Error::other("empty batch")))?;
    Ok((
        String::from_utf8_lossy(line).into_owned(),
        meta.cloned().unwrap_or_default(),
    ))
}

fn check(line: &str, meta: &LineMeta, address: &str) {
    assert!(
        line.contains(": Failed password for root from ") && line.contains(address),
        "{line}"
    );
    assert_eq!(meta.field("program"), Some("sshd"), "{line}");
    assert_eq!(meta.field("facility"), Some("4"));
    let host = meta.field("host").unwrap_or_default();
    assert!(
        !host.is_empty() && line.contains(&format!(" {host} sshd")),
        "{line}"
    );
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
}

#[test]
fn logger_over_udp_tcp_and_unix_in_both_formats() -> R {
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let udp = free_port()?.to_string();
        let tcp = free_port()?.to_string();
        let sock = dir.path().join("log.sock");
        let sock_text = sock.to_string_lossy().into_owned();
        let mut sources = [
            (
                SyslogSource::bind(&format!("syslog+udp://127.0.0.1:{udp}"))?,
                vec!["-n", "127.0.0.1", "-P", udp.as_str(), "-d"],
            ),
            (
                SyslogSource::bind(&format!("syslog+tcp://127.0.0.1:{tcp}"))?,
                vec!["-n", "127.0.0.1", "-P", tcp.as_str(), "-T"],
            ),
            (
                SyslogSource::bind(&format!("syslog+unix://{sock_text}"))?,
                vec!["-u", sock_text.as_str()],
            ),
        ];
        let mut n = 0;
        for (src, target) in &mut sources {
            for format in ["--rfc3164", "--rfc5424"] {
                n += 1;
                let address = format!("192.0.2.{n}");
                let message = format!("Failed password for root from {address} port 22 ssh2");
                logger(target, format, &message)?;
                let (line, meta) = one_line(src).await?;
                check(&line, &meta, &address);
            }
        }
        Ok(())
    })
}

#[test]
fn tcp_connections_beyond_the_cap_are_refused() -> R {
    let rt = runtime()?;
    rt.block_on(async {
        let port = free_port()?;
        let mut src = SyslogSource::bind(&format!("syslog+tcp://127.0.0.1:{port}"))?;
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS + 3 {
            held.push(std::net::TcpStream::connect(("127.0.0.1", port))?);
        }
        use std::io::Write;
        held[0].write_all(b"<38>Dec  3 13:08:59 web1 sshd[1]: hello\n")?;
        let (line, _) = one_line(&mut src).await?;
        assert_eq!(line, "Dec  3 13:08:59 web1 sshd[1]: hello");
        assert_eq!(src.refused_connections(), 3);
        Ok(())
    })
}

#[test]
fn wrong_addresses_say_why() {
    let err = |p: &str| SyslogAddr::parse(p).unwrap().unwrap_err();
    assert!(err("syslog+udp://localhost").contains("ADDRESS:PORT"));
    assert!(err("syslog+unix://run/x").contains("absolute"));
    assert_eq!(
        SyslogAddr::parse("syslog+tcp://[2001:db8::1]:514").unwrap(),
        Ok(SyslogAddr::Tcp("[2001:db8::1]:514".parse().unwrap()))
    );
    assert_eq!(SyslogAddr::parse("/var/log/x"), None);
}
