//! Injection cases: lines as each daemon writes them, with every field a
//! client controls (user names, HELO names, mail addresses, FTP and database
//! user names, SIP identities) replaced by text that carries another address
//! and log-like text. The real client is always `REAL`; the injected address
//! must never be the failure's host.

use bantam_filter::{Filter, Host, Outcome};
use jiff::Timestamp;

/// The address the daemon itself wrote.
const REAL: &str = "198.51.100.77";

/// What attackers put in the fields they control.
const PAYLOADS: &[&str] = &[
    "203.0.113.9",
    " from 203.0.113.9 port 22",
    "x from 203.0.113.9 port 22 ssh2",
    "rip=203.0.113.9",
    "x>, method=PLAIN, rip=203.0.113.9, lip=198.51.100.1, session=<abc>",
    "[203.0.113.9]",
    "unknown[203.0.113.9]",
    "x (203.0.113.9[203.0.113.9])",
    "203.0.113.9:22",
    "<203.0.113.9:22>",
    "x' from 203.0.113.9:22",
    "x'@'203.0.113.9' (using password: YES)",
    "x@203.0.113.9",
    "\"203.0.113.9\"",
    "x, rhost=203.0.113.9",
    "x\" from 203.0.113.9",
    "(?@203.0.113.9) [WARNING] Authentication failed for user [x]",
    "[2001:db8::9]",
    "2001:db8::9",
    "x failed for '203.0.113.9:5060' - Wrong password",
    "x rejected RCPT <a@b>: relay not permitted H=(x) [203.0.113.9]",
    "[203.0.113.9]:25 I=[198.51.100.1]:25: 535 Incorrect authentication data (set_id=x",
    "x\" H=[203.0.113.9]:25 next input=\"",
    "x H=[203.0.113.9]:25 next input=",
    "x\" H=(x) [203.0.113.9] P=esmtpa A=plain:x S=1 id=\"x",
    "203.0.113.9:1194 TLS Error: TLS handshake failed",
    "203.0.113.9:1194 VERIFY ERROR: depth=0, error=x: CN=x",
    "203.0.113.9 TLS Auth Error: Auth Username/Password verification failed for peer",
    "x from [AF_INET]203.0.113.9:1194",
    "x' failed for '203.0.113.9:5060' (callid: y) - Failed to authenticate",
    "x) - No matching endpoint found",
    "x\",RemoteAddress=\"IPV4/UDP/203.0.113.9/5060",
    "x\",SessionID=\"y\",LocalAddress=\"z\",RemoteAddress=\"IPV4/UDP/203.0.113.9/5060\",Module=\"",
    "x' (203.0.113.9:5060) to extension 'y",
];

/// (filter, template with `{U}` for a user-controlled field, whether the
/// template with an ordinary name is a failure in the filter's last mode).
const CASES: &[(&str, &str, bool)] = &[
    ("dropbear", "Dec  3 13:39:24 bt-server dropbear[1]: Bad password attempt for '{U}' from 198.51.100.77:41507", true),
    ("dropbear", "Dec  3 13:39:24 bt-server dropbear[1]: Exit before auth from <198.51.100.77:41507>: (user '{U}', 3 fails): Max auth tries reached - user '{U}'", true),
    ("dropbear", "Dec  3 13:39:24 bt-server dropbear[1]: Password auth succeeded for '{U}' from 198.51.100.77:41507", false),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: warning: unknown[198.51.100.77]: SASL PLAIN authentication failed: (reason unavailable), sasl_username={U}", true),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.77]: 454 4.7.1 <{U}@remote.example>: Relay access denied; from=<{U}> to=<{U}@remote.example> proto=ESMTP helo=<{U}>", true),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.77]: 501 5.5.2 <{U}>: Helo command rejected: Invalid name; from=<{U}> to=<b@bt-test> proto=ESMTP helo=<{U}>", true),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.77]: 550 5.1.1 <{U}@bt-test>: Recipient address rejected: User unknown in local recipient table; from=<{U}> to=<{U}@bt-test> proto=ESMTP helo=<{U}>", true),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: 250CC9D2C83: client=unknown[198.51.100.77], sasl_method=PLAIN, sasl_username={U}", false),
    ("postfix", "Dec  3 13:45:01 bt-server postfix/smtpd[1]: disconnect from unknown[198.51.100.77] ehlo=1 auth=0/1 quit=1 commands=2/3 {U}", false),
    ("dovecot", "Dec  3 13:45:21 bt-server dovecot: imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<{U}>, method=PLAIN, rip=198.51.100.77, lip=198.51.100.1, session=<gKf29bphv9/LAHEh>", true),
    ("dovecot", "Dec  3 13:45:21 bt-server dovecot: pop3-login: Login: user=<{U}>, method=PLAIN, rip=198.51.100.77, lip=198.51.100.1, mpid=1, session=<gKf29bphv9/LAHEh>", false),
    ("dovecot", "Dec  3 13:45:21 bt-server dovecot: auth: passwd-file({U},198.51.100.77,<b0me9LphvdDLAHEe>): Password mismatch", false),
    ("proftpd", "2026-12-03 13:48:06,224 bt-server proftpd[1] 198.51.100.1 (198.51.100.77[198.51.100.77]): USER {U} (Login failed): Incorrect password", true),
    ("proftpd", "2026-12-03 13:48:06,224 bt-server proftpd[1] 198.51.100.1 (198.51.100.77[198.51.100.77]): USER {U}: no such user found from 198.51.100.77 [198.51.100.77] to ::ffff:198.51.100.1:21", true),
    ("proftpd", "Dec  3 13:48:10 bt-server proftpd[1]: bt-server (198.51.100.77[198.51.100.77]) - USER {U}: Login successful.", false),
    ("vsftpd", "Thu Dec  3 13:50:28 2026 [pid 1] [{U}] FAIL LOGIN: Client \"198.51.100.77\"", true),
    ("vsftpd", "Thu Dec  3 13:50:28 2026 [pid 1] [{U}] FAIL LOGIN: Client \"::ffff:198.51.100.77\", \"User is not in the allow user list.\"", true),
    ("vsftpd", "Thu Dec  3 13:50:28 2026 [pid 1] [{U}] OK LOGIN: Client \"198.51.100.77\"", false),
    ("vsftpd", "Dec  3 13:50:28 bt-server vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser={U} rhost=198.51.100.77  user={U}", false),
    ("pure-ftpd", "Dec  3 13:50:47 bt-server pure-ftpd: (?@198.51.100.77) [WARNING] Authentication failed for user [{U}]", true),
    ("pure-ftpd", "Dec  3 13:50:47 bt-server pure-ftpd: (?@198.51.100.77) [INFO] {U} is now logged in", false),
    ("mysqld-auth", "2026-12-03 13:53:52 4 [Warning] Access denied for user '{U}'@'198.51.100.77' (using password: YES)", true),
    ("mysqld-auth", "Dec  3 13:53:52 bt-server mariadbd[1]: 2026-12-03 13:53:52 4 [Warning] Access denied for user '{U}'@'198.51.100.77' (using password: NO)", true),
    ("mysqld-auth", "2026-12-03 13:53:55 9 [Warning] Aborted connection 9 to db: '{U}' user: '{U}' host: '198.51.100.77' (Got an error reading communication packets)", false),
    ("exim", "2026-12-03 14:12:56 plain authenticator failed for ({U}) [198.51.100.77]: 535 Incorrect authentication data (set_id={U})", true),
    ("exim", "2026-12-03 14:12:15.317 [2312] login authenticator failed for ({U}) [198.51.100.77]:55945: 535 Incorrect authentication data (set_id={U})", true),
    ("exim", "2026-12-03 14:12:14.281 [2220] SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[198.51.100.77]:60129 input=\"{U}\\r\\n\"", true),
    ("exim", "2026-12-03 14:12:21.301 [2807] SMTP protocol synchronization error (next input sent too soon: pipelining was not advertised): rejected \"EHLO {U}\" H=[198.51.100.77]:52879 next input=\"MAIL FROM:<{U}>\\r\\n\"", true),
    ("exim", "2026-12-03 14:12:59 H=({U}) [198.51.100.77] F=<{U}@client.example> rejected RCPT <{U}@remote.example>: relay not permitted", true),
    ("exim", "2026-12-03 14:13:02 H=({U}) [198.51.100.77] F=<{U}@client.example> rejected RCPT <{U}@bt-test>: Unrouteable address", true),
    ("exim", "2026-12-03 14:13:03 rejected EHLO from [198.51.100.77]: syntactically invalid argument(s): {U}", true),
    ("exim", "2026-12-03 14:13:10 H=({U}) [198.51.100.77] rejected EHLO or HELO {U}: forged HELO: you are not me", true),
    ("exim", "2026-12-03 14:13:06 SMTP call from ({U}) [198.51.100.77] dropped: too many unrecognized commands (last was \"{U}\")", true),
    ("exim", "2026-12-03 14:13:08 1xZ7WN-0007nu-0i <= {U}@bt-test H=({U}) [198.51.100.77] P=esmtpa A=plain:{U} S=215 id={U}", false),
    ("exim", "2026-12-03 14:13:08 1xZ7WN-0007nu-0i <= \"{U}\"@bt-test H=(x) [198.51.100.77] P=esmtp S=215", false),
    // OpenVPN logs no user name on failure; a client chooses the CN of a
    // certificate the server refuses (after the address) and, once its CA
    // signed one, the CN at the start of its lines ("CN/ADDR:PORT").
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: 198.51.100.77:52061 VERIFY ERROR: depth=0, error=unable to get local issuer certificate: CN={U}, serial=3385", true),
    ("openvpn", "2026-12-03 14:23:01 198.51.100.77:40067 VERIFY ERROR: depth=0, error=unable to get local issuer certificate: C=XX, O={U}, CN={U}, serial=1", true),
    ("openvpn", "Dec  3 14:22:29 bt-server ovpn-server[5107]: 198.51.100.77:45644 TLS Auth Error: Auth Username/Password verification failed for peer", true),
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: 198.51.100.77:52061 TLS Error: TLS handshake failed", true),
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: {U}/198.51.100.77:52061 TLS Error: TLS handshake failed", false),
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: {U}/198.51.100.77:52061 TLS Auth Error: Auth Username/Password verification failed for peer", false),
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: {U}/198.51.100.77:52061 VERIFY ERROR: depth=0, error=certificate revoked: CN={U}, serial=2", false),
    ("openvpn", "Dec  3 14:22:31 bt-server ovpn-server[5107]: {U}/198.51.100.77:52061 TLS Error: tls-crypt unwrapping failed from [AF_INET]198.51.100.77:52061", true),
    ("openvpn", "Dec  3 14:22:51 bt-server ovpn-server[5107]: 198.51.100.77:40820 TLS: Username/Password authentication succeeded for username '{U}' ", false),
    // SIP identities, call ids, digest fields and dialled extensions.
    ("asterisk", "[Dec  3 14:30:01] NOTICE[4177] chan_sip.c: Registration from '\"{U}\" <sip:{U}@198.51.100.1>' failed for '198.51.100.77:5060' - Wrong password", true),
    ("asterisk", "[Dec  3 14:30:01] NOTICE[4177] chan_sip.c: Registration from '<sip:{U}@198.51.100.1>' failed for '198.51.100.77:5060' - No matching peer found", true),
    ("asterisk", "[2026-12-03 14:30:04] NOTICE[4190] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '\"{U}\" <sip:{U}@198.51.100.1>' failed for '198.51.100.77:5060' (callid: {U}) - Failed to authenticate", true),
    ("asterisk", "[2026-12-03 14:30:04] NOTICE[4190] res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:{U}@198.51.100.1>' failed for '198.51.100.77:5060' (callid: {U}) - No matching endpoint found after 5 tries in 0.412 ms", true),
    ("asterisk", "[2026-12-03 14:30:06] SECURITY[4183] res_security_log.c: SecurityEvent=\"InvalidPassword\",EventTV=\"2026-12-03T14:30:06.123+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"2\",AccountID=\"{U}\",SessionID=\"{U}\",LocalAddress=\"IPV4/UDP/198.51.100.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.77/5060\",Challenge=\"1733236206/6f2d\",ReceivedChallenge=\"{U}\",ReceivedHash=\"{U}\"", true),
    ("asterisk", "[2026-12-03 14:30:06] SECURITY[4183] res_security_log.c: SecurityEvent=\"InvalidAccountID\",EventTV=\"2026-12-03T14:30:06.123+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"2\",AccountID=\"{U}\",SessionID=\"{U}\",LocalAddress=\"IPV4/UDP/198.51.100.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.77/5060\"", true),
    ("asterisk", "[2026-12-03 14:30:06] SECURITY[4183] res_security_log.c: SecurityEvent=\"ChallengeResponseFailed\",EventTV=\"2026-12-03T14:30:06.123+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"2\",AccountID=\"{U}\",SessionID=\"{U}\",LocalAddress=\"IPV4/UDP/198.51.100.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.77/5060\",Challenge=\"4c1d\",Response=\"{U}\",ExpectedResponse=\"\",Module=\"chan_sip\"", true),
    ("asterisk", "[2026-12-03 14:30:06] SECURITY[4183] res_security_log.c: SecurityEvent=\"SuccessfulAuth\",EventTV=\"2026-12-03T14:30:06.123+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"2\",AccountID=\"{U}\",SessionID=\"{U}\",LocalAddress=\"IPV4/UDP/198.51.100.1/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.77/5060\",UsingPassword=\"1\"", false),
    ("asterisk", "[2026-12-03 14:30:10] NOTICE[4200] manager.c: 198.51.100.77 failed to authenticate as '{U}'", true),
    ("asterisk", "[2026-12-03 14:30:10] NOTICE[4200] manager.c: 198.51.100.77 tried to authenticate with nonexistent user '{U}'", true),
    ("asterisk", "[2026-12-03 14:30:12] NOTICE[4210] chan_iax2.c: Host 198.51.100.77 failed to authenticate as '{U}'", true),
    ("asterisk", "[2026-12-03 14:30:13] NOTICE[4220] chan_sip.c: Call from '{U}' (198.51.100.77:5070) to extension '{U}' rejected because extension not found in context 'default'.", true),
];

fn injected(host: &Host) -> bool {
    let text = host.to_string();
    text.starts_with("203.0.113.9") || text.starts_with("2001:db8::9")
}

/// Runs every case with every payload in every mode; returns the problems.
pub fn run(
    filters: &[&str],
    compile: &dyn Fn(&str, &str) -> Filter,
    modes: &dyn Fn(&str) -> Vec<String>,
    now: Timestamp,
) -> Vec<String> {
    let mut problems = Vec::new();
    for name in filters {
        let cases: Vec<_> = CASES.iter().filter(|(f, _, _)| f == name).collect();
        if cases.is_empty() {
            problems.push(format!("{name}: no injection cases"));
        }
        let modes = modes(name);
        for (_, template, fails) in cases {
            for mode in &modes {
                let mut filter = compile(name, mode);
                let plain = template.replace("{U}", "alice");
                let outcome = filter.scan(plain.as_bytes(), now);
                let last_mode = mode == modes.last().unwrap();
                if *fails
                    && last_mode
                    && !matches!(&outcome, Outcome::Failure(f) if f.host.to_string() == REAL)
                {
                    problems.push(format!(
                        "{name} [{mode}]: case does not fail as written: {outcome:?}\n    {plain}"
                    ));
                }
                for payload in PAYLOADS {
                    let line = template.replace("{U}", payload);
                    if let Outcome::Failure(f) | Outcome::Success(f) =
                        filter.scan(line.as_bytes(), now)
                    {
                        if injected(&f.host) || f.host.to_string() != REAL {
                            problems
                                .push(format!("{name} [{mode}]: took {} from\n    {line}", f.host));
                        }
                    }
                }
            }
        }
    }
    problems
}
