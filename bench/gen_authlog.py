#!/usr/bin/env python3
"""Generate a synthetic, realistic /var/log/auth.log of a busy Debian host.

The log is what rsyslog writes for the auth/authpriv facilities on Debian 12
(OpenSSH 9.2 with UsePAM, sudo, cron, systemd-logind, su, dovecot and saslauthd
PAM traffic), plus a handful of postfix/smtpd lines as negative controls (lines
that carry an attacker address but are not sshd). Roughly a third of the lines
are sshd failures from thousands of distinct attacker addresses.

Every address is taken from documentation or benchmarking ranges only:
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737), 198.18.0.0/15
(RFC 2544) and 2001:db8::/32 (RFC 3849).

The output is a pure function of the arguments (same --seed, same bytes).
Standard library only; 1,000,000 lines take a few seconds.

    gen_authlog.py --lines 1000000 --seed 1 --format traditional --out auth.log
    gen_authlog.py --catalog            # one line per message shape, for tests
"""

import argparse
import random
import sys
import time

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# ---------------------------------------------------------------------------
# The host and its legitimate users
# ---------------------------------------------------------------------------

SERVER_ADDR = "192.0.2.1"
DEPLOY_ADDR = "192.0.2.10"        # CI runner, logs in as deploy all day long
BACKUP_ADDR = "192.0.2.20"        # pulls backups as backup
MONITOR_ADDR = "192.0.2.30"       # nagios check_ssh: connects and hangs up
ADMINS = (                        # (user, uid, address, auth method)
    ("alice", 1001, "192.0.2.11", "publickey"),
    ("bob", 1002, "192.0.2.12", "password"),
    ("carol", 1003, "2001:db8:100::c", "publickey"),
    ("dave", 1004, "198.51.100.200", "keyboard-interactive/pam"),
)
# accounts that exist on the host (attempts on them are not "invalid user")
VALID_USERS = {"root": 0, "deploy": 1000, "alice": 1001, "bob": 1002,
               "carol": 1003, "dave": 1004, "backup": 34, "www-data": 33,
               "postgres": 114, "nobody": 65534, "mail": 8, "daemon": 1}

# user names tried by bots, most frequent first (Zipf weighted)
ATTACK_USERS = (
    "admin", "test", "user", "ubuntu", "oracle", "postgres", "git", "guest",
    "ftpuser", "pi", "support", "jenkins", "hadoop", "mysql", "deploy", "dev",
    "tomcat", "www-data", "user1", "test1", "administrator", "steam", "minecraft",
    "centos", "debian", "ansible", "elastic", "es", "kafka", "zabbix", "nagios",
    "sysadmin", "server", "odoo", "docker", "ts3", "teamspeak", "redis", "sonar",
    "vagrant", "azureuser", "ec2-user", "developer", "operator", "backup",
    "ftp", "sftp", "web", "webmaster", "mail", "postfix", "nobody", "daemon",
    "solana", "sol", "validator", "node", "ethereum", "bitcoin", "trader",
    "student", "teacher", "demo", "temp", "testuser", "test2", "user2", "admin1",
    "alex", "john", "david", "michael", "mike", "anna", "maria", "sam", "tom",
    "oscar", "frank", "ali", "mohammad", "wang", "li", "zhang", "yang", "liu",
    "cisco", "huawei", "ubnt", "Admin", "ADMIN", "Test", "root1", "toor",
    "superuser", "service", "nginx", "apache", "httpd", "gitlab-runner",
    "jupyter", "ubuntu1", "dspace", "erpnext", "frappe", "odoo15", "svn",
    "bigdata", "spark", "flink", "hive", "hdfs", "yarn", "storm", "zookeeper",
)

BOT_KEYS = (  # attackers try a handful of keys
    ("RSA", "nq4mWc8mHqNfM3pTjJ0kQ2h8v3Xr1bNQ5Y9cJcQm2p4"),
    ("RSA", "lLaUk0cWlBr6y1t6xoDq7Uy2NqKqE0yTj5bT6C7m2pY"),
    ("ED25519", "3zG3pQb2q0Xg1m7cJvJm7gk8T0QmPpZ8tEw7tqk2bqU"),
    ("ECDSA", "P0b4G8cXUj2nD5uRr7Bv3FZkq9W6Tq1yL0h8m3sJwQk"),
)

KEX_OFFERS = (
    "no matching key exchange method found. Their offer: "
    "diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,"
    "diffie-hellman-group1-sha1",
    "no matching host key type found. Their offer: ssh-rsa,ssh-dss",
    "no matching key exchange method found. Their offer: "
    "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,kex-strict-c-v00@openssh.com",
    "no matching MAC found. Their offer: hmac-sha1,hmac-sha1-96,hmac-md5",
)

CRON_JOBS = (("root", 0), ("root", 0), ("root", 0), ("www-data", 33),
             ("backup", 34), ("deploy", 1000), ("postgres", 114))

SUDO_COMMANDS = (
    "/usr/bin/systemctl restart app.service",
    "/usr/bin/systemctl reload nginx",
    "/usr/bin/journalctl -u app.service -n 200 --no-pager",
    "/usr/bin/rsync --server --sender -logDtprze.iLsfxCIvu . /srv/app/shared/",
    "/usr/bin/install -m 0644 /tmp/app.env /etc/app/app.env",
    "/usr/bin/apt-get -q update",
)
MONITOR_SUDO = (
    "/usr/lib/nagios/plugins/check_apt",
    "/usr/lib/nagios/plugins/check_raid",
    "/usr/sbin/smartctl -H /dev/sda",
    "/usr/bin/fail2ban-client status sshd",
)


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------

class Gen:
    def __init__(self, args):
        self.rng = random.Random(args.seed)
        self.fmt_rng = random.Random("format-%d" % args.seed)
        self.n = args.lines
        self.fmt = args.format
        self.host = args.hostname
        self.t0 = float(args.start)
        self.span = float(args.span)
        # pids grow with time like Linux allocates them
        self.pid_base = 20000 + self.rng.randrange(10000)
        self.pid_rate = max(1.0, 0.45 * self.n / max(self.span, 1.0))  # ~1 process per 3.5 lines
        self.used_pids = set()
        self.logind_pid = 612
        self.logind_session = 1 + self.rng.randrange(500)
        self.buckets = {}
        self.scheduled = 0
        self.emitted = 0
        self.stats = {}
        self._ts_cache_sec = None
        self._ts_cache = None
        self._setup_attackers()

    # -- primitives -------------------------------------------------------

    def pid(self, t):
        p = self.pid_base + int((t - self.t0) * self.pid_rate) + self.rng.randrange(4)
        used = self.used_pids
        while p in used:
            p += 1
        used.add(p)
        return p

    def port(self):
        return 1024 + int(self.rng.random() * 64511)

    def v4_bench(self):
        x = self.rng.getrandbits(17)
        return "198.%d.%d.%d" % (18 + (x >> 16), (x >> 8) & 255, 1 + (x & 255) % 254)

    def v4_doc(self):
        r = self.rng
        k = r.randrange(3)
        if k == 0:
            return "192.0.2.%d" % r.randint(64, 254)      # .0/26 is ours
        if k == 1:
            return "198.51.100.%d" % r.randint(1, 199)     # .200+ are admins
        return "203.0.113.%d" % r.randint(1, 254)

    def v6_doc(self):
        r = self.rng
        g = r.getrandbits(16) or 1
        if g == 0x100:
            g = 0x101                                      # 2001:db8:100::/48 is ours
        if r.random() < 0.6:
            return "2001:db8:%x:%x::%x" % (g, r.getrandbits(16) or 1, r.getrandbits(16) or 1)
        return "2001:db8:%x:%x:%x:%x:%x:%x" % (g, *((r.getrandbits(16) or 1) for _ in range(5)))

    def _setup_attackers(self):
        r = self.rng
        scale = self.n / 1_000_000
        # brute forcers: few addresses, long campaigns
        self.heavy = [self.v4_doc() if r.random() < 0.8 else self.v6_doc()
                      for _ in range(max(4, int(40 * scale)))]
        # regulars: come back a few times a day
        self.medium = []
        for _ in range(max(20, int(3000 * scale))):
            x = r.random()
            self.medium.append(self.v4_doc() if x < 0.2 else
                               self.v4_bench() if x < 0.8 else self.v6_doc())
        self.attack_user_cum = []
        acc = 0.0
        for i in range(len(ATTACK_USERS)):
            acc += 1.0 / (i + 1.5)
            self.attack_user_cum.append(acc)

    def botnet_addr(self):
        return self.v4_bench() if self.rng.random() < 0.7 else self.v6_doc()

    def attack_user(self):
        r = self.rng
        x = r.random()
        if x < 0.006:                                      # hostile names
            k = r.randrange(4)
            if k == 0:
                return ""                                  # "Invalid user  from"
            if k == 1:
                n = r.randint(65, 300)
                return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789._-")
                               for _ in range(n))
            if k == 2:
                return "admin ssh2"
            return "x port 22"
        return r.choices(ATTACK_USERS, cum_weights=self.attack_user_cum)[0]

    def emit(self, events, kind):
        """events: list of (time, ident, message)."""
        b = self.buckets
        for ev in events:
            s = int(ev[0])
            lst = b.get(s)
            if lst is None:
                b[s] = [ev]
            else:
                lst.append(ev)
        n = len(events)
        self.scheduled += n
        self.stats[kind] = self.stats.get(kind, 0) + n
        return n

    # -- timestamps and output ---------------------------------------------

    def _stamp(self, sec):
        if sec != self._ts_cache_sec:
            tm = time.gmtime(sec)
            self._ts_cache_sec = sec
            self._ts_cache = (
                "%s %2d %02d:%02d:%02d" % (MONTHS[tm.tm_mon - 1], tm.tm_mday,
                                           tm.tm_hour, tm.tm_min, tm.tm_sec),
                "%04d-%02d-%02dT%02d:%02d:%02d" % (tm.tm_year, tm.tm_mon, tm.tm_mday,
                                                   tm.tm_hour, tm.tm_min, tm.tm_sec),
            )
        return self._ts_cache

    def flush(self, lo, hi, write):
        """Write out the buckets of seconds lo <= s < hi (all if hi is None), in time order."""
        b = self.buckets
        host = self.host
        fmt = self.fmt
        rnd = self.fmt_rng.random     # own stream: same content in every --format
        out = []
        secs = sorted(b) if hi is None else range(lo, hi)
        for sec in secs:
            evs = b.pop(sec, None)
            if evs is None:
                continue
            evs.sort(key=lambda e: e[0])
            trad, rfc = self._stamp(sec)
            for t, ident, msg in evs:
                if self.emitted >= self.n:
                    break
                self.emitted += 1
                if fmt == "traditional" or (fmt == "mixed" and rnd() < 0.5):
                    out.append("%s %s %s: %s\n" % (trad, host, ident, msg))
                else:
                    us = int((t - sec) * 1e6)
                    out.append("%s.%06d+00:00 %s %s: %s\n" % (rfc, us, host, ident, msg))
        write("".join(out))

    # -- sshd attack connections ---------------------------------------------

    def conn_password(self, t, a, u, tries, ending):
        """One connection trying passwords for user u (OpenSSH 9.2 + PAM)."""
        r = self.rng
        p = self.port()
        ident = "sshd[%d]" % self.pid(t)
        valid = u in VALID_USERS
        ev = []
        t += 0.05 + r.random() * 0.4
        if not valid:
            ev.append((t, ident, "Invalid user %s from %s port %d" % (u, a, p)))
            iu = "invalid user "
            kind = "invalid"
            pam_user = ""
        else:
            iu = ""
            kind = "authenticating"
            pam_user = "  user=" + u
        for i in range(tries):
            t += 1.8 + r.random() * 1.5
            if i == 0:
                if not valid:
                    ev.append((t, ident, "pam_unix(sshd:auth): check pass; user unknown"))
                ev.append((t, ident, "pam_unix(sshd:auth): authentication failure; logname= "
                           "uid=0 euid=0 tty=ssh ruser= rhost=%s%s" % (a, pam_user)))
            t += 0.001 + r.random() * 0.3
            ev.append((t, ident, "Failed password for %s%s from %s port %d ssh2" % (iu, u, a, p)))
        t += 0.01 + r.random() * 0.5
        if tries >= 6:
            ev.append((t, ident, "error: maximum authentication attempts exceeded for %s%s "
                       "from %s port %d ssh2 [preauth]" % (iu, u, a, p)))
            ev.append((t, ident, "Disconnecting %s user %s %s port %d: Too many "
                       "authentication failures [preauth]" % (kind, u, a, p)))
        elif ending == "bye":
            ev.append((t, ident, "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (a, p)))
            ev.append((t, ident, "Disconnected from %s user %s %s port %d [preauth]" % (kind, u, a, p)))
        elif ending == "closed":
            ev.append((t, ident, "Connection closed by %s user %s %s port %d [preauth]" % (kind, u, a, p)))
        elif ending == "reset":
            ev.append((t, ident, "Connection reset by %s user %s %s port %d [preauth]" % (kind, u, a, p)))
        elif ending == "jsch":
            ev.append((t, ident, "Received disconnect from %s port %d:3: "
                       "com.jcraft.jsch.JSchException: Auth fail [preauth]" % (a, p)))
            ev.append((t, ident, "Disconnected from %s user %s %s port %d [preauth]" % (kind, u, a, p)))
        else:  # "normal": client said goodbye politely
            ev.append((t, ident, "Received disconnect from %s port %d:11: "
                       "Normal Shutdown, Thank you for playing [preauth]" % (a, p)))
            ev.append((t, ident, "Disconnected from %s user %s %s port %d [preauth]" % (kind, u, a, p)))
        if tries >= 2:
            ev.append((t + 0.001, ident, "PAM %d more authentication failure%s; logname= uid=0 "
                       "euid=0 tty=ssh ruser= rhost=%s%s"
                       % (tries - 1, "s" if tries > 2 else "", a, pam_user)))
            if tries > 3:
                ev.append((t + 0.001, ident, "PAM service(sshd) ignoring max retries; %d > 3" % tries))
        return ev, t

    def conn_kbdint(self, t, a, u):
        r = self.rng
        p = self.port()
        ident = "sshd[%d]" % self.pid(t)
        ev = []
        t += 0.05 + r.random() * 0.4
        if u in VALID_USERS:
            t += 2 + r.random()
            ev.append((t, ident, "error: PAM: Authentication failure for %s from %s" % (u, a)))
            ev.append((t, ident, "Failed keyboard-interactive/pam for %s from %s port %d ssh2" % (u, a, p)))
            who = "authenticating user " + u
        else:
            ev.append((t, ident, "Invalid user %s from %s port %d" % (u, a, p)))
            t += 2 + r.random()
            ev.append((t, ident, "error: PAM: Authentication failure for illegal user %s from %s" % (u, a)))
            ev.append((t, ident, "Failed keyboard-interactive/pam for invalid user %s from %s port %d ssh2" % (u, a, p)))
            who = "invalid user " + u
        t += 0.2
        ev.append((t, ident, "Connection closed by %s %s port %d [preauth]" % (who, a, p)))
        return ev, t

    def conn_nopass(self, t, a, u):
        """Invalid user that gives up (or only tries 'none'/keys) before a password."""
        r = self.rng
        p = self.port()
        ident = "sshd[%d]" % self.pid(t)
        ev = []
        t += 0.05 + r.random() * 0.4
        if u not in VALID_USERS:
            ev.append((t, ident, "Invalid user %s from %s port %d" % (u, a, p)))
            who = "invalid user " + u
            if r.random() < 0.25:
                t += 0.1
                ev.append((t, ident, "Failed none for invalid user %s from %s port %d ssh2" % (u, a, p)))
        else:
            who = "authenticating user " + u
            if r.random() < 0.3:                               # tried keys: 3rd one logs
                kt, fp = r.choice(BOT_KEYS)
                t += 0.3
                ev.append((t, ident, "Failed publickey for %s from %s port %d ssh2: %s SHA256:%s"
                           % (u, a, p, kt, fp)))
        t += 0.1 + r.random() * 2
        x = r.random()
        if x < 0.6:
            ev.append((t, ident, "Connection closed by %s %s port %d [preauth]" % (who, a, p)))
        elif x < 0.9:
            ev.append((t, ident, "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (a, p)))
            ev.append((t, ident, "Disconnected from %s %s port %d [preauth]" % (who, a, p)))
        else:
            ev.append((t, ident, "Connection reset by %s %s port %d [preauth]" % (who, a, p)))
        return ev, t

    def conn_probe(self, t, a):
        """Scanners: no user name ever sent."""
        r = self.rng
        p = self.port()
        ident = "sshd[%d]" % self.pid(t)
        t += 0.01 + r.random() * 3
        x = r.random()
        if x < 0.30:
            ev = [(t, ident, "Connection closed by %s port %d [preauth]" % (a, p))]
        elif x < 0.40:
            ev = [(t, ident, "Connection reset by %s port %d [preauth]" % (a, p))]
        elif x < 0.52:
            ev = [(t, ident, "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (a, p)),
                  (t, ident, "Disconnected from %s port %d [preauth]" % (a, p))]
        elif x < 0.67:
            ev = [(t, ident, "error: kex_exchange_identification: Connection closed by remote host"),
                  (t, ident, "Connection closed by %s port %d" % (a, p))]
        elif x < 0.74:
            ev = [(t, ident, "error: kex_exchange_identification: read: Connection reset by peer"),
                  (t, ident, "Connection reset by %s port %d" % (a, p))]
        elif x < 0.80:
            ev = [(t, ident, "error: kex_exchange_identification: banner line contains invalid characters"),
                  (t, ident, "banner exchange: Connection from %s port %d: invalid format" % (a, p))]
        elif x < 0.85:
            ev = [(t, ident, 'error: kex_exchange_identification: client sent invalid protocol '
                   'identifier "GET / HTTP/1.1"'),
                  (t, ident, "banner exchange: Connection from %s port %d: invalid format" % (a, p))]
        elif x < 0.95:
            ev = [(t, ident, "Unable to negotiate with %s port %d: %s [preauth]"
                   % (a, p, r.choice(KEX_OFFERS)))]
        else:
            t += 120
            ev = [(t, ident, "fatal: Timeout before authentication for %s port %d" % (a, p))]
        return ev, t

    def attack_connection(self, t, a, profile):
        """One connection of an attacker; profile biases what it does."""
        r = self.rng
        x = r.random()
        if profile == "scan" or x < 0.14:
            return self.conn_probe(t, a)
        u = "root" if r.random() < 0.42 else self.attack_user()
        if x < 0.24:
            return self.conn_nopass(t, a, u)
        if x < 0.25:     # KbdInteractiveAuthentication is on (dave uses TOTP); few bots use it
            return self.conn_kbdint(t, a, u)
        y = r.random()
        if profile == "heavy":       # hydra-style: several passwords per connection
            tries = 1 if y < 0.35 else (r.randint(2, 5) if y < 0.7 else 6)
        else:
            tries = 1 if y < 0.78 else (r.randint(2, 3) if y < 0.93 else 6)
        e = r.random()
        ending = ("bye" if e < 0.55 else "closed" if e < 0.85 else "reset" if e < 0.90
                  else "jsch" if e < 0.95 else "normal")
        return self.conn_password(t, a, u, tries, ending)

    def injection_connection(self, t, a):
        """User name crafted to carry a decoy address (a framing attempt)."""
        r = self.rng
        decoy = "203.0.113.%d" % r.randint(1, 254)
        u = "%s from %s port 22" % (r.choice(("admin", "root", "test")), decoy)
        e = r.choice(("bye", "closed"))
        return self.conn_password(t, a, u, 1, e)

    # -- campaigns ----------------------------------------------------------------

    def campaign(self, t):
        r = self.rng
        x = r.random()
        ev = []
        if x < 0.02:                              # brute forcer, parallel streams
            a = r.choice(self.heavy)
            streams = r.randint(1, 4)
            k = r.randint(20, 250)
            profile = "heavy"
            gap = (0.3, 6.0)
            kind = "attack-heavy"
        elif x < 0.22:                            # regular, a few connections
            a = r.choice(self.medium)
            streams = 1
            k = r.randint(2, 15)
            profile = "brute"
            gap = (1.0, 60.0)
            kind = "attack-medium"
        elif x < 0.30:                            # scanner
            a = r.choice(self.medium) if r.random() < 0.3 else self.botnet_addr()
            streams = 1
            k = r.randint(1, 3)
            profile = "scan"
            gap = (0.5, 30.0)
            kind = "attack-scan"
        elif x < 0.303:
            ev, _ = self.injection_connection(t, self.botnet_addr())
            return ev, "attack-inject"
        else:                                     # botnet: one address, 1-3 tries
            a = self.botnet_addr()
            streams = 1
            k = r.randint(1, 3)
            profile = "brute"
            gap = (5.0, 600.0)
            kind = "attack-botnet"
        for s in range(streams):
            ts = t + s * r.random() * 2
            for _ in range(k // streams + 1):
                e, end = self.attack_connection(ts, a, profile)
                ev.extend(e)
                ts = end + gap[0] + r.random() * (gap[1] - gap[0])
        return ev, kind

    # -- legitimate traffic ----------------------------------------------------------

    def login(self, t, user, uid, addr, method, duration, commands):
        r = self.rng
        p = self.port()
        pid = self.pid(t)
        ident = "sshd[%d]" % pid
        ev = []
        t += 0.2 + r.random() * 0.5
        if method == "password" and r.random() < 0.08:    # typo first
            ev.append((t, ident, "pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                       "euid=0 tty=ssh ruser= rhost=%s  user=%s" % (addr, user)))
            t += 2.1 + r.random()
            ev.append((t, ident, "Failed password for %s from %s port %d ssh2" % (user, addr, p)))
            t += 3 + r.random() * 4
        if method == "publickey":
            ev.append((t, ident, "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s"
                       % (user, addr, p, self.user_key(user))))
        else:
            ev.append((t, ident, "Accepted %s for %s from %s port %d ssh2" % (method, user, addr, p)))
        ev.append((t, ident, "pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)"
                   % (user, uid)))
        if r.random() < 0.05:
            ev.append((t + 0.01, "systemd[%d]" % self.pid(t),
                       "pam_unix(systemd-user:session): session opened for user %s(uid=%d) by (uid=0)"
                       % (user, uid)))
        sess = self.logind_session
        self.logind_session += 1
        logind = "systemd-logind[%d]" % self.logind_pid
        ev.append((t + 0.02, logind, "New session %d of user %s." % (sess, user)))
        tty = "pts/%d" % r.randrange(4) if method != "publickey" or user != "deploy" else None
        for _ in range(commands):
            t += r.random() * duration / max(commands, 1)
            if user == "deploy":
                cmd = r.choice(SUDO_COMMANDS)
            else:
                cmd = r.choice(SUDO_COMMANDS + ("/usr/bin/less /var/log/auth.log",
                                                "/usr/bin/apt upgrade", "/bin/bash"))
            if r.random() < 0.15 and user != "deploy":
                ev.extend(self.su(t, user, uid, tty))
                continue
            ev.extend(self.sudo(t, user, uid, tty, cmd))
        t += r.random() * duration / max(commands, 1) + 0.1
        if r.random() < 0.9:
            ev.append((t, ident, "Received disconnect from %s port %d:11: disconnected by user" % (addr, p)))
            ev.append((t, ident, "Disconnected from user %s %s port %d" % (user, addr, p)))
        else:
            ev.append((t, ident, "Connection closed by %s port %d" % (addr, p)))  # client vanished
        ev.append((t, ident, "pam_unix(sshd:session): session closed for user %s" % user))
        ev.append((t + 0.01, logind, "Session %d logged out. Waiting for processes to exit." % sess))
        ev.append((t + 0.02, logind, "Removed session %d." % sess))
        return ev

    _keys = {}

    def user_key(self, user):
        k = self._keys.get(user)
        if k is None:
            rr = random.Random(user)
            k = "".join(rr.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                        for _ in range(43))
            self._keys[user] = k
        return k

    def sudo(self, t, user, uid, tty, cmd, failed=False):
        r = self.rng
        where = "/srv/app" if user == "deploy" else "/home/" + user
        ttyp = ("TTY=%s ; " % tty) if tty else ""
        ev = []
        if failed:
            ev.append((t, "sudo", "pam_unix(sudo:auth): authentication failure; logname=%s uid=%d "
                       "euid=0 tty=/dev/%s ruser=%s rhost=  user=%s" % (user, uid, tty, user, user)))
            t += 5 + r.random() * 5
            ev.append((t, "sudo", "%8s : 1 incorrect password attempt ; %sPWD=%s ; USER=root ; COMMAND=%s"
                       % (user, ttyp, where, cmd)))
            return ev
        ev.append((t, "sudo", "%8s : %sPWD=%s ; USER=root ; COMMAND=%s" % (user, ttyp, where, cmd)))
        ev.append((t + 0.002, "sudo", "pam_unix(sudo:session): session opened for user root(uid=0) "
                   "by %s(uid=%d)" % (user if tty else "", uid)))
        ev.append((t + 0.01 + r.random() * 3, "sudo", "pam_unix(sudo:session): session closed for user root"))
        return ev

    def su(self, t, user, uid, tty):
        r = self.rng
        ident = "su[%d]" % self.pid(t)
        t2 = t + 30 + r.random() * 600
        return [(t, ident, "(to root) %s on %s" % (user, tty or "none")),
                (t, ident, "pam_unix(su-l:session): session opened for user root(uid=0) by %s(uid=%d)"
                 % (user, uid)),
                (t2, ident, "pam_unix(su-l:session): session closed for user root")]

    def legit(self, t):
        r = self.rng
        x = r.random()
        if x < 0.40:                                         # cron jobs
            ev = []
            for _ in range(r.randint(1, 4)):
                user, uid = r.choice(CRON_JOBS)
                ident = "CRON[%d]" % self.pid(t)
                ev.append((t, ident, "pam_unix(cron:session): session opened for user %s(uid=%d) by (uid=0)"
                           % (user, uid)))
                ev.append((t + r.random() * 40, ident, "pam_unix(cron:session): session closed for user %s" % user))
            return ev, "cron"
        if x < 0.62:                                         # CI deploy
            return self.login(t, "deploy", 1000, DEPLOY_ADDR, "publickey",
                              5 + r.random() * 120, r.randint(0, 3)), "ssh-deploy"
        if x < 0.67:                                         # backups
            return self.login(t, "backup", 34, BACKUP_ADDR, "publickey", 60 + r.random() * 600, 0), "ssh-backup"
        if x < 0.72:                                         # admins
            user, uid, addr, method = r.choice(ADMINS)
            return self.login(t, user, uid, addr, method, 300 + r.random() * 3000,
                              r.randint(0, 6)), "ssh-admin"
        if x < 0.85:                                         # monitoring sudo
            return self.sudo(t, "nagios", 110, None, r.choice(MONITOR_SUDO)), "sudo-monitor"
        if x < 0.86:                                         # admin fumbles a sudo password
            user, uid, _, _ = r.choice(ADMINS)
            return self.sudo(t, user, uid, "pts/%d" % r.randrange(4), "/usr/bin/apt upgrade",
                             failed=True), "sudo-fail"
        if x < 0.93:                                         # check_ssh from monitoring
            p = self.port()
            ident = "sshd[%d]" % self.pid(t)
            if r.random() < 0.5:
                return [(t, ident, "Connection closed by %s port %d [preauth]" % (MONITOR_ADDR, p))], "ssh-monitor"
            return [(t, ident, "error: kex_exchange_identification: Connection closed by remote host"),
                    (t, ident, "Connection closed by %s port %d" % (MONITOR_ADDR, p))], "ssh-monitor"
        if x < 0.975:                                        # IMAP password guessing via dovecot PAM
            a = self.botnet_addr() if r.random() < 0.5 else r.choice(self.medium)
            u = r.choice(("info", "admin", "test", "sales", "contact", "office", "webmaster"))
            ev = [(t, "auth", "pam_unix(dovecot:auth): check pass; user unknown"),
                  (t, "auth", "pam_unix(dovecot:auth): authentication failure; logname= uid=0 "
                   "euid=0 tty=dovecot ruser=%s rhost=%s" % (u, a))]
            return ev, "dovecot"
        # SMTP AUTH guessing: saslauthd (auth facility) and postfix (mail, in syslog)
        a = self.botnet_addr() if r.random() < 0.5 else r.choice(self.medium)
        u = r.choice(("info", "admin", "test", "sales", "contact"))
        pid = self.pid(t)
        ev = [(t, "saslauthd[%d]" % pid, "pam_unix(smtp:auth): check pass; user unknown"),
              (t, "saslauthd[%d]" % pid, "pam_unix(smtp:auth): authentication failure; logname= uid=0 "
               "euid=0 tty= ruser= rhost=  user=%s" % u),
              (t, "saslauthd[%d]" % pid, "do_auth         : auth failure: [user=%s] [service=smtp] "
               "[realm=] [mech=pam] [reason=PAM auth error]" % u),
              (t + 0.01, "postfix/smtpd[%d]" % self.pid(t), "warning: unknown[%s]: SASL LOGIN "
               "authentication failed: authentication failure" % a)]
        return ev, "sasl"

    # -- main loop -------------------------------------------------------------------

    def run(self, write):
        r = self.rng
        t = self.t0
        end = self.t0 + self.span
        flushed = int(t)
        # sshd restarted by unattended-upgrades early in the day
        boot = t + 3600 * 6.25 + r.random() * 600
        daemon = "sshd[%d]" % self.pid(boot + 0.4)
        self.emit([(boot, "sshd[%d]" % self.pid(boot), "Received signal 15; terminating."),
                   (boot + 0.4, daemon, "Server listening on 0.0.0.0 port 22."),
                   (boot + 0.4, daemon, "Server listening on :: port 22.")],
                  "sshd-daemon")
        while self.scheduled < self.n:
            if r.random() < 0.31:
                ev, kind = self.campaign(t)
            else:
                ev, kind = self.legit(t)
            n = self.emit(ev, kind)
            remaining = max(self.n - self.scheduled, 1)
            mean_gap = max(end - t, 1.0) * n / (remaining + n)
            t += r.expovariate(1.0) * mean_gap
            if int(t) > flushed:
                self.flush(flushed, int(t), write)
                flushed = int(t)
        self.flush(flushed, None, write)

    def catalog(self, write):
        """Every message shape once, each in its own connection (distinct pid)."""
        t = self.t0
        r = self.rng
        evs = []
        a4, a6 = "198.51.100.23", "2001:db8:4::17"

        def add(ev_end):
            nonlocal t
            ev, t = ev_end if isinstance(ev_end, tuple) else (ev_end, t)
            evs.extend(ev)
            t += 10
        for a in (a4, a6):
            for u in ("root", "admin"):
                for ending in ("bye", "closed", "reset", "jsch", "normal"):
                    add(self.conn_password(t, a, u, 1, ending))
                add(self.conn_password(t, a, u, 3, "bye"))
                add(self.conn_password(t, a, u, 6, "bye"))
                add(self.conn_kbdint(t, a, u))
        for u in ("", "x" * 200, "admin ssh2", "x port 22"):
            add(self.conn_password(t, a4, u, 1, "closed"))
        add(self.conn_password(t, a4, "admin from 203.0.113.9 port 22", 1, "bye"))
        add(self.conn_password(t, a4, "admin from 203.0.113.9 port 22", 1, "closed"))
        saved = r.random
        for x in (0.1, 0.7, 0.95):        # force each branch of conn_nopass
            for u in ("admin", "root"):
                r.random = (lambda v: (lambda: v))(x)
                add(self.conn_nopass(t, a4, u))
        for x in (0.2, 0.35, 0.45, 0.6, 0.7, 0.77, 0.82, 0.9, 0.97):
            r.random = (lambda v: (lambda: v))(x)
            add(self.conn_probe(t, a4))
        r.random = saved
        for offer in KEX_OFFERS[1:]:
            ident = "sshd[%d]" % self.pid(t)
            evs.append((t, ident, "Unable to negotiate with %s port %d: %s [preauth]" % (a4, self.port(), offer)))
            t += 10
        for user, uid, addr, method in ADMINS:
            evs.extend(self.login(t, user, uid, addr, method, 5, 1))
            t += 10
        evs.extend(self.sudo(t, "bob", 1002, "pts/1", "/usr/bin/apt upgrade", failed=True))
        for _ in range(40):                    # one of each legit kind, roughly
            ev, _k = self.legit(t)
            evs.extend(ev)
            t += 10
        evs.sort(key=lambda e: e[0])
        out = []
        for tt, ident, msg in evs:
            trad, _ = self._stamp(int(tt))
            out.append("%s %s %s: %s\n" % (trad, self.host, ident, msg))
        write("".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="number of lines (default 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--out", default="-", help="output file (default stdout)")
    ap.add_argument("--format", choices=("traditional", "rfc3339", "mixed"), default="traditional",
                    help="timestamp framing: 'Nov 24 07:21:09 host ...' (traditional, default), "
                         "'2026-11-24T07:21:09.625500+00:00 host ...' (rfc3339), or a random "
                         "per-line mix of both (mixed, a date-detection stress test)")
    ap.add_argument("--hostname", default="web01", help="syslog host name (default web01)")
    ap.add_argument("--start", type=int, default=1795478400,
                    help="epoch of the first line, UTC (default 1795478400 = 2026-11-24T00:00:00Z)")
    ap.add_argument("--span", type=float, default=86400.0, help="seconds covered (default 86400)")
    ap.add_argument("--catalog", action="store_true",
                    help="print each message shape once instead (for checking filters)")
    ap.add_argument("--stats", action="store_true", help="print lines per traffic kind to stderr")
    args = ap.parse_args()
    if args.lines < 0:
        ap.error("--lines must be >= 0")

    f = sys.stdout if args.out == "-" else open(args.out, "w", encoding="ascii", newline="\n")
    g = Gen(args)
    try:
        if args.catalog:
            g.catalog(f.write)
        else:
            g.run(f.write)
    finally:
        if f is not sys.stdout:
            f.close()
        else:
            f.flush()
    if args.stats and not args.catalog:
        total = sum(g.stats.values()) or 1
        for k, v in sorted(g.stats.items(), key=lambda kv: -kv[1]):
            print("%-14s %9d scheduled  %5.1f%%" % (k, v, 100.0 * v / total), file=sys.stderr)
        print("%-14s %9d written" % ("total", g.emitted), file=sys.stderr)


if __name__ == "__main__":
    main()
