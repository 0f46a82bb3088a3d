//! No web filter can be made to report an address a client wrote into a
//! field it controls. Every user-controlled field of every line shape the
//! web filters read (user names, URLs, query strings, Host, user agents,
//! referers, realms) is filled with TEST-NET addresses and text imitating
//! the logs' own framing; the only address a failure may carry is the
//! client's, in the field the server writes.
//!
//! Fields are escaped the way each server escapes them (Apache `\"`, nginx
//! access `\x22`, Caddy JSON) and respect what the protocol allows: a basic
//! authentication user name ends at its first ':', so payloads with a colon
//! are not used where the server cuts them.

use bantam_filter::{shipped, Filter, Host, Outcome};
use jiff::tz::TimeZone;
use jiff::Timestamp;

const CLIENT: &str = "198.51.100.7";
const INJECTED: &[&str] = &["203.0.113.9", "2001:db8::66"];

const PAYLOADS: &[&str] = &[
    "203.0.113.9",
    " from 203.0.113.9 port 22",
    " from 203.0.113.9",
    "client 203.0.113.9",
    "[client 203.0.113.9:1]",
    "[client 203.0.113.9]",
    "client: 203.0.113.9,",
    "x\", client: 203.0.113.9, server: bt",
    "x\": password mismatch, client: 203.0.113.9, server: bt, request: \"GET / HTTP/1.1\", host: \"bt",
    "x\" was not found in \"/x\", client: 203.0.113.9, server: bt",
    "limiting requests, excess: 9.000 by zone \"api\", client: 203.0.113.9, server: bt",
    "[client 2001:db8::66:1]",
    " from 2001:db8::66",
    "client: 2001:db8::66,",
    "203.0.113.9 - - [03/Dec/2026:13:43:27 +0000] \"POST /wp-login.php HTTP/1.1\" 200 1 \"-\" \"EmailSiphon\"",
    "[Thu Dec 03 13:43:20.1 2026] [auth_basic:error] [pid 1:tid 1] [client 203.0.113.9:1] AH01618: user x not found: /",
    "\",\"remote_ip\":\"203.0.113.9\",\"remote_port\":\"1\",\"",
    "Invalid login as root from 203.0.113.9",
    "Authentication failure for admin from 203.0.113.9",
    "() { :; }; /.env /phpmyadmin/ EmailSiphon",
];

/// A line shape: which filter reads it, how its fields are escaped, and
/// the text with `{F}` where a client's field goes.
struct Shape {
    filter: &'static str,
    escape: fn(&str) -> String,
    /// Fields cut at the first ':' by the protocol (basic-auth user names).
    no_colon: bool,
    text: &'static str,
}

fn raw(s: &str) -> String {
    s.to_owned()
}
fn apache_access(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
fn nginx_access(s: &str) -> String {
    s.replace('\\', "\\x5C").replace('"', "\\x22")
}
fn json(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

const ACCESS: &str = "198.51.100.7 - - [03/Dec/2026:13:43:27 +0000] ";
const CADDY: &str = r#"{"level":"info","ts":1796305406.68,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"198.51.100.7","remote_port":"56677","proto":"HTTP/1.1","method":"GET","host":"{F}","uri":"/phpmyadmin/{F}","headers":{"User-Agent":["{F}"],"Referer":["{F}"],"{F}":["{F}"]}},"user_id":"","duration":0.01,"size":0,"status":404,"resp_headers":{"Server":["Caddy"]}}"#;

fn shapes() -> Vec<Shape> {
    let s = |filter, escape, no_colon, text| Shape {
        filter,
        escape,
        no_colon,
        text,
    };
    vec![
        s("apache-auth", raw, true, "[Thu Dec 03 13:43:20.350759 2026] [auth_basic:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01617: user {F}: authentication failure for \"/p/{F}\": Password Mismatch, referer: {F}"),
        s("apache-auth", raw, true, "[Thu Dec 03 13:43:20.350759 2026] [auth_basic:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01618: user {F} not found: /p/{F}, referer: {F}"),
        s("apache-auth", raw, false, "[Thu Dec 03 13:43:20.350759 2026] [auth_digest:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01790: user `{F}' in realm `{F}' not found: /d/{F}"),
        s("apache-auth", raw, false, "[Thu Dec 03 13:43:20.350759 2026] [auth_digest:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01794: user {F}: password mismatch: /d/{F}"),
        s("apache-auth", raw, false, "[Thu Dec 03 13:43:20.350759 2026] [auth_digest:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01788: realm mismatch - got `{F}' but expected `r'"),
        s("apache-auth", raw, false, "[Thu Dec 03 13:43:20.350759 2026] [auth_digest:error] [pid 5508:tid 5508] [client 198.51.100.7:42300] AH01775: invalid nonce {F} received - length is not 52"),
        s("apache-auth", raw, true, "[Wed Nov 25 07:21:09 2026] [error] [client 198.51.100.7] user {F} not found: /p/{F}, referer: {F}"),
        s("nginx-http-auth", raw, true, "2026/12/03 13:43:20 [error] 5509#5509: *1 user \"{F}\": password mismatch, client: 198.51.100.7, server: bt-server, request: \"GET /p/{F} HTTP/1.1\", host: \"{F}\", referrer: \"{F}\""),
        s("nginx-http-auth", raw, true, "2026/12/03 13:43:20 [error] 5509#5509: *4 user \"{F}\" was not found in \"/etc/nginx/htpasswd\", client: 198.51.100.7, server: bt-server, request: \"GET /p/?{F} HTTP/1.1\", host: \"{F}\", referrer: \"{F}\""),
        s("nginx-limit-req", raw, false, "2026/12/03 13:43:21 [error] 5509#5509: *23 limiting requests, excess: 2.944 by zone \"api\", client: 198.51.100.7, server: bt-server, request: \"GET /api/{F} HTTP/1.1\", host: \"{F}\", referrer: \"{F}\""),
        s("webmin-auth", raw, false, "Dec  3 13:43:20 bt-server webmin[4012]: Invalid login as {F} from 198.51.100.7"),
        s("wordpress", raw, false, "Dec  3 13:43:20 bt-server wordpress(bt-server)[4012]: Authentication failure for {F} from 198.51.100.7"),
    ]
}

/// How a log line is written around a request: the writer and the request.
type AccessShape = (fn(&str) -> String, String);

/// Access-log shapes, read by every filter that reads access logs.
fn access_shapes() -> Vec<AccessShape> {
    let mut out = Vec::new();
    for escape in [
        apache_access as fn(&str) -> String,
        nginx_access as fn(&str) -> String,
    ] {
        for req in [
            "\"GET /phpmyadmin/{F}?q={F} HTTP/1.1\" 404 1 \"{F}\" \"{F}\"",
            "\"POST /wp-login.php?{F} HTTP/1.1\" 200 1 \"{F}\" \"{F}\"",
            "\"GET /{F} HTTP/1.1\" 404 1 \"{F}\" \"EmailSiphon {F}\"",
            "\"{F}\" 400 1 \"{F}\" \"{F}\"",
        ] {
            out.push((escape, format!("{ACCESS}{req}")));
        }
    }
    out.push((json as fn(&str) -> String, CADDY.to_owned()));
    out
}

fn now() -> Timestamp {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

fn compile(name: &str, mode: &str) -> Filter {
    let spec = shipped::definition(name)
        .unwrap()
        .spec(name, Some(mode))
        .unwrap();
    Filter::new(&spec, TimeZone::UTC).unwrap()
}

/// Every payload in every field of `text`; returns how many lines failed
/// (for the client), panicking on any failure for an injected address.
fn judge(
    filter: &mut Filter,
    name: &str,
    text: &str,
    escape: fn(&str) -> String,
    no_colon: bool,
) -> usize {
    let client: Host = Host::Ip(CLIENT.parse().unwrap());
    let mut failed = 0;
    for payload in PAYLOADS {
        let payload = match no_colon {
            true => payload.split(':').next().unwrap(),
            false => payload,
        };
        let line = text.replace("{F}", &escape(payload));
        match filter.scan(line.as_bytes(), now()) {
            Outcome::Failure(f) | Outcome::Success(f) => {
                assert!(
                    !INJECTED.iter().any(|a| f.host.to_string() == *a),
                    "{name}: injected address reported:\n  {line}"
                );
                assert_eq!(f.host, client, "{name}: wrong address from\n  {line}");
                failed += 1;
            }
            _ => {}
        }
    }
    failed
}

#[test]
fn no_web_filter_reports_an_address_written_into_a_client_field() {
    for shape in shapes() {
        for mode in shipped::definition(shape.filter).unwrap().mode_names() {
            let mut filter = compile(shape.filter, mode);
            let failed = judge(
                &mut filter,
                shape.filter,
                shape.text,
                shape.escape,
                shape.no_colon,
            );
            // The shape is one the filter counts: the test is not vacuous.
            assert!(
                failed > 0,
                "{}: shape never matched: {}",
                shape.filter,
                shape.text
            );
        }
    }
    for name in ["scanner", "apache-badbots", "wordpress"] {
        for mode in shipped::definition(name).unwrap().mode_names() {
            let mut filter = compile(name, mode);
            let mut failed = 0;
            for (escape, text) in access_shapes() {
                failed += judge(&mut filter, name, &text, escape, false);
            }
            assert!(failed > 0, "{name}/{mode}: no access shape matched");
        }
    }
}
