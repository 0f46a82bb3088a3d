//! The live page (`[daemon] page = true`): read-only, server-rendered
//! HTML with a little inline script (time left counts down), no external
//! resources. Each view asks the loop for what it shows, never more: the
//! jails (`status`) and one page of bans (the same paged listing as
//! `banned`), so it costs the same with 100 bans or 100,000.
//!
//! Routes: `/` (jails, chart, first page of bans), `/?after=JAIL/TARGET`
//! (the next page), `/?jail=J` (one jail's bans).

use std::fmt::Write;

use tokio::sync::mpsc;

use super::http::Reply;
use super::per_minute::last_hour;
use crate::control::protocol::{BanInfo, BanKey, Status};
use crate::control::Request;
use crate::daemon::Event;

/// Bans per page.
const PER_PAGE: usize = 100;

pub(crate) fn route(path: &str, query: &str, events: &mpsc::Sender<Event>) -> Option<Reply> {
    if path != "/" {
        return None;
    }
    let (jail, after) = parse_query(query);
    let status = super::ask(events, Request::Status { jail: None })?
        .data
        .and_then(|d| serde_json::from_value::<Status>(d).ok())?;
    let mut listing = super::ask(
        events,
        Request::Banned {
            after,
            limit: Some(PER_PAGE),
            jail: jail.clone(),
        },
    )?;
    let page = listing.page.take().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let html = render(
        &status,
        &page.bans,
        page.next.as_ref(),
        jail.as_deref(),
        now,
    );
    Some(Reply {
        status: "200 OK",
        content_type: "text/html; charset=utf-8",
        body: html.into_bytes(),
    })
}

/// `jail=J` and `after=JAIL/TARGET`, percent-decoded.
fn parse_query(query: &str) -> (Option<String>, Option<BanKey>) {
    let (mut jail, mut after) = (None, None);
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        match key {
            "jail" if !value.is_empty() => jail = Some(value),
            "after" => {
                after = value.split_once('/').map(|(j, t)| BanKey {
                    jail: j.to_owned(),
                    target: t.to_owned(),
                })
            }
            _ => {}
        }
    }
    (jail, after)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Text for HTML: log-derived values (jail names, reasons) are escaped.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}\
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
svg{background:#fafafa;border:1px solid #ddd}.bad{color:#b00}";

/// Counts down every `data-end` cell once a second, in the page itself.
const SCRIPT: &str = "function left(s){if(s<=0)return'ended';var d=Math.floor(s/86400),h=Math.floor(s%86400/3600),\
m=Math.floor(s%3600/60),x=s%60;return d?d+'d'+h+'h':h?h+'h'+m+'m':m?m+'m'+x+'s':x+'s'}\
function tick(){var now=Date.now()/1000;document.querySelectorAll('[data-end]').forEach(function(e){\
e.textContent=left(Math.round(e.dataset.end-now))})}tick();setInterval(tick,1000);";

fn render(
    status: &Status,
    bans: &[BanInfo],
    next: Option<&BanKey>,
    jail: Option<&str>,
    now: jiff::Timestamp,
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let total: usize = status.jails.iter().map(|j| j.currently_banned).sum();
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>bantam</title>\
         <meta name=viewport content=\"width=device-width\"><style>{STYLE}</style></head><body>\
         <h1>bantam</h1><p>{} jail(s), {total} ban(s) in force, backend {}{}{}</p>",
        status.jails.len(),
        esc(&status.backend),
        if status.dry_run { " (dry run)" } else { "" },
        status.store.as_ref().map_or(String::new(), |s| format!(
            " — <span class=bad>store: {}</span>",
            esc(s)
        ))
    );
    jails_table(&mut out, status);
    out.push_str("<h2>Failures per minute, last hour</h2>");
    chart(&mut out, &last_hour(now.as_second()));
    bans_table(&mut out, bans, jail, now);
    if let Some(next) = next {
        let jail_part = jail.map_or(String::new(), |j| format!("jail={}&", encode(j)));
        let _ = write!(
            out,
            "<p><a id=next href=\"/?{jail_part}after={}/{}\">next {PER_PAGE} bans</a></p>",
            encode(&next.jail),
            encode(&next.target)
        );
    }
    let _ = write!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

fn jails_table(out: &mut String, status: &Status) {
    out.push_str(
        "<h2>Jails</h2><table id=jails><tr><th>jail<th>filter<th>banned<th>tracked\
         <th>bans<th>failures<th>lines<th>sources</tr>",
    );
    for j in &status.jails {
        let sources: Vec<String> = j
            .sources
            .iter()
            .map(|s| {
                let class = if s.state == "following" {
                    ""
                } else {
                    " class=bad"
                };
                format!("<span{class}>{}: {}</span>", esc(&s.logpath), esc(&s.state))
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td><a href=\"/?jail={}\">{}</a><td>{}<td class=n>{}<td class=n>{}<td class=n>{}\
             <td class=n>{}<td class=n>{}<td>{}</tr>",
            encode(&j.name),
            esc(&j.name),
            esc(&j.filter),
            j.currently_banned,
            j.tracked,
            j.total_banned,
            j.total_failures,
            j.lines_read,
            sources.join("<br>")
        );
    }
    out.push_str("</table>");
}

/// Bars, one per minute, scaled to the busiest minute; the oldest left.
fn chart(out: &mut String, counts: &[u64]) {
    let (w, h, bar) = (600, 120, 10);
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let _ = write!(
        out,
        "<svg id=chart width={w} height={} viewBox=\"0 0 {w} {}\" role=img \
         aria-label=\"failures per minute\">",
        h + 16,
        h + 16
    );
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let height = (n * h as u64 / max).max(1);
        let _ = write!(
            out,
            "<rect class=bar x={} y={} width={} height={height} fill=\"#c33\"><title>{n}</title></rect>",
            i * bar,
            h as u64 - height,
            bar - 1
        );
    }
    let _ = write!(
        out,
        "<text x=0 y={} font-size=11>-60 min</text><text x={} y={} font-size=11 \
         text-anchor=end>now (max {max}/min)</text></svg>",
        h + 13,
        w,
        h + 13
    );
}

fn bans_table(out: &mut String, bans: &[BanInfo], jail: Option<&str>, now: jiff::Timestamp) {
    let title = jail.map_or("Bans".to_owned(), |j| format!("Bans in {}", esc(j)));
    let _ = write!(
        out,
        "<h2>{title}</h2><table id=bans><tr><th>jail<th>target<th>time left<th>origin\
         <th>failures<th>bans<th>reason</tr>"
    );
    for b in bans {
        let left = match b
            .end
            .as_deref()
            .and_then(|e| e.parse::<jiff::Timestamp>().ok())
        {
            Some(end) => format!(
                "<td class=n data-end={}>{}s",
                end.as_second(),
                end.as_second() - now.as_second()
            ),
            None => "<td class=n>permanent".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{}<td>{}{left}<td>{}<td class=n>{}<td class=n>{}<td>{}</tr>",
            esc(&b.jail),
            esc(&b.target),
            esc(&b.origin),
            b.failures,
            b.ban_count,
            esc(b.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_text_is_escaped() {
        let (jail, after) = parse_query("jail=web%20x&after=sshd/2001%3Adb8%3A%3A1");
        assert_eq!(jail.as_deref(), Some("web x"));
        assert_eq!(after.unwrap().target, "2001:db8::1");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(esc("<b>&\""), "&lt;b&gt;&amp;&quot;");
        assert_eq!(decode(&encode("a/b c")), "a/b c");
    }
}
