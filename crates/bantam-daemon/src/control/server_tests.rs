//! The control server against real Unix sockets, with a stand-in for the
//! loop (it answers from a real [`BanBook`]) and tokio's paused clock, so
//! ten-second timeouts take no time.

use std::time::Duration;

use bantam_firewall::Target;
use bantam_state::BanRecord;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::accept_loop;
use crate::bans::{ActiveBan, BanBook};
use crate::control::banned;
use crate::control::protocol::{Request, Response};
use crate::control::socket::ControlSocket;
use crate::daemon::Event;

const TIMEOUT: Duration = Duration::from_secs(10);
const SLOW: Duration = Duration::from_secs(5);

struct Server {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

/// A server with `max` connections over a loop holding `bans` bans; `stop`
/// requests stand for slow ones: answered after [`SLOW`].
async fn server(max: usize, bans: u32) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let socket = ControlSocket::bind(&path).await.unwrap();
    let (events, inbox) = mpsc::channel(16);
    tokio::spawn(accept_loop(socket, events, max, TIMEOUT));
    tokio::spawn(stand_in_loop(inbox, book(bans)));
    Server { _dir: dir, path }
}

async fn stand_in_loop(mut inbox: mpsc::Receiver<Event>, book: BanBook) {
    while let Some(event) = inbox.recv().await {
        let Event::Control { request, reply } = event else {
            continue;
        };
        let response = match request {
            Request::Banned { after, limit, jail } => {
                banned::page_of(&book, jail.as_deref(), after.as_ref(), limit, &|_| {
                    (false, false)
                })
            }
            Request::Stop {} => {
                // A slow request: answered after a while.
                tokio::spawn(async move {
                    tokio::time::sleep(SLOW).await;
                    let _ = reply.send(Response::ok("stopping"));
                });
                continue;
            }
            _ => Response::ok("pong"),
        };
        let _ = reply.send(response);
    }
}

fn book(n: u32) -> BanBook {
    let mut book = BanBook::default();
    for i in 0..n {
        let target: Target = format!("198.18.{}.{}", i / 256, i % 256).parse().unwrap();
        book.insert(ActiveBan {
            target,
            record: BanRecord {
                jail: "sshd".into(),
                target: target.to_string(),
                start: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                end: None,
                failures: 3,
                ban_count: 1,
                matches: vec![],
                reason: None,
            },
        });
    }
    book
}

struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    write: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    async fn connect(server: &Server) -> Client {
        let (read, write) = UnixStream::connect(&server.path)
            .await
            .unwrap()
            .into_split();
        Client {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    async fn send(&mut self, text: &str) {
        self.write.write_all(text.as_bytes()).await.unwrap();
    }

    /// The next line, `None` at the end.
    async fn line(&mut self) -> Option<Value> {
        let line = self.lines.next_line().await.ok()??;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn ask(server: &Server, request: &str) -> Value {
        let mut client = Client::connect(server).await;
        client.send(request).await;
        client.line().await.unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn silent_and_half_line_clients_are_dropped_after_the_timeout() {
    let server = server(8, 0).await;
    let start = Instant::now();
    let mut silent = Client::connect(&server).await;
    let mut half = Client::connect(&server).await;
    half.send(r#"{"command":"#).await;
    // Meanwhile a real client is served at once.
    let pong = Client::ask(&server, "{\"command\":\"ping\"}\n").await;
    assert_eq!(pong["data"], "pong");
    assert!(start.elapsed() < Duration::from_secs(1));
    for client in [&mut silent, &mut half] {
        let answer = client.line().await.unwrap();
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("no complete request within 10s"),
            "{answer}"
        );
        assert!(client.line().await.is_none(), "then closed");
    }
    let waited = start.elapsed();
    assert!(waited >= TIMEOUT && waited < TIMEOUT + Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn at_the_cap_the_oldest_idle_connection_gives_way() {
    let server = server(3, 0).await;
    let mut idle: Vec<Client> = Vec::new();
    for _ in 0..3 {
        idle.push(Client::connect(&server).await);
    }
    // Hundreds of silent connections never lock a real client out.
    for _ in 0..200 {
        idle.push(Client::connect(&server).await);
    }
    let pong = Client::ask(&server, "{\"command\":\"ping\"}\n").await;
    assert_eq!(pong["data"], "pong");
    let first = idle[0].line().await.unwrap();
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("connection limit was reached"),
        "{first}"
    );
}

#[tokio::test(start_paused = true)]
async fn when_every_connection_is_busy_a_newcomer_is_told_so() {
    let server = server(2, 0).await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(&server).await;
        client.send("{\"command\":\"stop\"}\n").await;
        busy.push(client);
    }
    // Let the server read both requests.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let refused = Client::ask(&server, "{\"command\":\"ping\"}\n").await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("busy: all 2"),
        "{refused}"
    );
    for client in &mut busy {
        assert_eq!(client.line().await.unwrap()["data"], "stopping");
    }
    let pong = Client::ask(&server, "{\"command\":\"ping\"}\n").await;
    assert_eq!(
        pong["data"], "pong",
        "places are freed when answers are given"
    );
}

async fn read_list(client: &mut Client) -> (Value, Vec<Value>, Value) {
    let header = client.line().await.unwrap();
    let mut bans = Vec::new();
    loop {
        let line = client.line().await.expect("the list ends with a response");
        if line.get("ok").is_some() {
            return (header, bans, line);
        }
        bans.push(line);
    }
}

#[tokio::test(start_paused = true)]
async fn banned_streams_every_ban_while_a_stalled_reader_waits_alone() {
    let server = server(8, 2_500).await;
    let mut stalled = Client::connect(&server).await;
    stalled.send("{\"command\":\"banned\"}\n").await;
    let mut reader = Client::connect(&server).await;
    reader.send("{\"command\":\"banned\"}\n").await;
    let (header, bans, end) = read_list(&mut reader).await;
    assert_eq!(header["protocol"], 1);
    assert_eq!(header["data"]["stream"], "bans");
    assert_eq!(bans.len(), 2_500);
    assert_eq!(bans[0]["target"], "198.18.0.0");
    assert_eq!(bans[2_499]["target"], "198.18.9.195");
    assert_eq!(
        end["data"],
        serde_json::json!({"count": 2500, "next": null})
    );
    let pong = Client::ask(&server, "{\"command\":\"ping\"}\n").await;
    assert_eq!(pong["data"], "pong");
    // The stalled reader is dropped once it has not read for the timeout:
    // what it gets is cut short, without the last line.
    tokio::time::sleep(TIMEOUT * 2).await;
    let (_, bans, _) = async {
        let header = stalled.line().await.unwrap();
        let mut bans = Vec::new();
        while let Some(line) = stalled.line().await {
            assert!(line.get("ok").is_none(), "no end line: {line}");
            bans.push(line);
        }
        (header, bans, ())
    }
    .await;
    assert!(bans.len() < 2_500, "{}", bans.len());
}

#[tokio::test(start_paused = true)]
async fn banned_resumes_after_a_cursor_with_a_limit() {
    let server = server(8, 10).await;
    let mut client = Client::connect(&server).await;
    client.send("{\"command\":\"banned\",\"limit\":4}\n").await;
    let (_, bans, end) = read_list(&mut client).await;
    assert_eq!(bans.len(), 4);
    let next = end["data"]["next"].clone();
    assert_eq!(
        next,
        serde_json::json!({"jail": "sshd", "target": "198.18.0.3"})
    );
    let request = serde_json::json!({"command": "banned", "after": next, "limit": 100});
    let mut client = Client::connect(&server).await;
    client.send(&format!("{request}\n")).await;
    let (_, bans, end) = read_list(&mut client).await;
    assert_eq!(bans.len(), 6);
    assert_eq!(bans[0]["target"], "198.18.0.4");
    assert_eq!(end["data"], serde_json::json!({"count": 6, "next": null}));
    let zero = Client::ask(&server, "{\"command\":\"banned\",\"limit\":0}\n").await;
    assert_eq!(zero["error"], "limit must be at least 1");
}
