#!/usr/bin/env bash
# capture-web-fixtures.sh - capture REAL Apache, nginx and Caddy log lines for
# bantam's web filters (apache-auth, apache-badbots, nginx-http-auth,
# nginx-limit-req, scanner, wordpress) and write them, labelled line by line,
# as fixtures under crates/bantam-filter/filters/NAME/.
#
# What it does (all torn down at exit, also on failure):
#   * creates two network namespaces joined by a veth pair: the server
#     namespace runs apache2, nginx and caddy from the Debian packages, with
#     private configurations and logs in a work directory; the client
#     namespace holds every client address.  Documentation prefixes only
#     (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
#   * drives them with real clients from the client namespace: curl (basic
#     and digest authentication, right and wrong users and passwords,
#     hand-made Digest headers with a wrong realm and forged nonces, exploit
#     path probes, shellshock headers, injection attempts in user names,
#     URLs, query strings, user agents and referers), wget -r (a crawl of the
#     whole static site, 404 typos included), one client address per
#     scenario, so every line is attributed to one known client behaviour.
#   * WordPress is not installed: /wp-login.php is a CGI stand-in that
#     answers like WordPress (a failed login 200 with the form again, a good
#     one 302 to /wp-admin/), so the access log lines are Apache's own.
#   * labels every line from the scenario ground truth (which address did
#     what, which request with which credentials) and rewrites
#       filters/apache-auth/apache-error.log
#       filters/nginx-http-auth/nginx-error.log
#       filters/nginx-limit-req/nginx-error.log
#       filters/scanner/{apache,nginx,caddy}-access.log
#       filters/apache-badbots/{apache,nginx}-access.log
#       filters/wordpress/apache-access.log
#     Hand-written files in those directories (webmin-auth, the WordPress
#     plugin's syslog format) are not touched.
#
# Usage: sudo scripts/capture-web-fixtures.sh [--keep-workdir]
# Needs: root, iproute2, apache2, apache2-utils (htpasswd, htdigest), nginx,
#        caddy (optional: skipped with a note when absent), curl, wget, python3.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
FILTERS="$REPO/crates/bantam-filter/filters"
KEEP=0
[[ ${1:-} == --keep-workdir ]] && KEEP=1
[[ $EUID -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }

NS_SRV=btw-srv-$$
NS_CLI=btw-cli-$$
SRV4=192.0.2.1
SRV6=2001:db8::1
W=$(mktemp -d /tmp/bt-webcap.XXXXXX)
chmod 755 "$W"

log() { printf '[capture-web] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
    set +e
    for pidfile in "$W"/apache.pid "$W"/nginx.pid; do
        [[ -s $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    [[ -s $W/caddy.pid ]] && kill "$(cat "$W/caddy.pid")" 2>/dev/null
    sleep 0.5
    ip netns del "$NS_SRV" 2>/dev/null
    ip netns del "$NS_CLI" 2>/dev/null
    if [[ $KEEP -eq 1 ]]; then log "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

# --- namespaces ---------------------------------------------------------------
# Every client address the scenarios use; the labeller maps them back.
CLIENT_ADDRS=(192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.20 192.0.2.21 192.0.2.30 192.0.2.31
              198.51.100.7 198.51.100.8 198.51.100.9 198.51.100.10 198.51.100.11
              198.51.100.12 198.51.100.13 198.51.100.14 198.51.100.15 198.51.100.20
              198.51.100.21 198.51.100.30 198.51.100.31 198.51.100.40 198.51.100.41
              203.0.113.20 203.0.113.21 203.0.113.30 203.0.113.40
              2001:db8:2::7 2001:db8:2::8 2001:db8:2::20 2001:db8:2::30 2001:db8:3::10)
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip link add btw-s$$ netns "$NS_SRV" type veth peer name btw-c$$ netns "$NS_CLI"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
ip -n "$NS_SRV" link set btw-s$$ up
ip -n "$NS_CLI" link set btw-c$$ up
for p in 192.0.2 198.51.100 203.0.113; do
    ip -n "$NS_SRV" addr add "${p}.1/24" dev btw-s$$ 2>/dev/null || true
done
ip -n "$NS_SRV" addr add "$SRV6/32" dev btw-s$$ nodad
for a in "${CLIENT_ADDRS[@]}"; do
    if [[ $a == *:* ]]; then
        ip -n "$NS_CLI" addr add "$a/32" dev btw-c$$ nodad
    else
        ip -n "$NS_CLI" addr add "$a/24" dev btw-c$$
    fi
done
ip -n "$NS_CLI" route add default dev btw-c$$ 2>/dev/null || true

# --- the site -------------------------------------------------------------------
SITE=$W/site
mkdir -p "$SITE"/{css,img,blog,docs} "$W/cgi"
page() {  # page PATH TITLE LINKS...
    local path=$1 title=$2; shift 2
    {
        printf '<!doctype html><html><head><title>%s</title>' "$title"
        printf '<link rel="stylesheet" href="/css/site.css"><script src="/site.js"></script></head><body>'
        printf '<img src="/img/logo.png"><h1>%s</h1>' "$title"
        for l in "$@"; do printf '<p><a href="%s">%s</a></p>' "$l" "$l"; done
        printf '</body></html>\n'
    } >"$SITE/$path"
}
page index.html Home /about.html /blog/ /docs/guide.html /contact.html /blog/first-post.html
page about.html About / /contact.html /docs/
page contact.html Contact / /about.html
page blog/index.html Blog /blog/first-post.html /blog/second-post.html /blog/old-post.html
page blog/first-post.html "First post" /blog/ /blog/second-post.html /img/photo.jpg
page blog/second-post.html "Second post" /blog/ /blog/first-post.html /docs/guide.html
page docs/index.html Docs /docs/guide.html /docs/faq.html
page docs/guide.html Guide /docs/ /docs/faq.html /docs/install.html
page docs/faq.html FAQ /docs/ /docs/guide.html
# Broken links on purpose: /blog/old-post.html and /docs/install.html do not
# exist, so the crawl meets 404s as any visitor of a real site does.
printf 'body{font-family:sans-serif;background:url(/img/bg.png)}\n' >"$SITE/css/site.css"
printf 'console.log("hi");\n' >"$SITE/site.js"
printf 'User-agent: *\nDisallow:\n' >"$SITE/robots.txt"
head -c 600 /dev/urandom >"$SITE/img/logo.png"
head -c 900 /dev/urandom >"$SITE/img/bg.png"
head -c 2000 /dev/urandom >"$SITE/img/photo.jpg"
head -c 300 /dev/urandom >"$SITE/favicon.ico"
mkdir -p "$SITE/private" "$SITE/digest" "$SITE/admin-only" "$SITE/api" "$SITE/phpmyadmin"
# The site really serves /phpmyadmin/ (unlinked): normal mode must not count it.
for d in private digest admin-only api phpmyadmin; do printf 'secret %s\n' "$d" >"$SITE/$d/index.html"; done
chmod -R a+rX "$SITE"

# Credentials: alice/right-pass in both areas; bob exists with another password.
htpasswd -c -b -m "$W/htpasswd" alice right-pass 2>/dev/null
htpasswd -b -m "$W/htpasswd" bob bobs-pass 2>/dev/null
python3 - "$W/htdigest" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for user, pw in (("alice", "right-pass"), ("bob", "bobs-pass")):
        ha1 = hashlib.md5(f"{user}:digest-realm:{pw}".encode()).hexdigest()
        f.write(f"{user}:digest-realm:{ha1}\n")
EOF
chmod 644 "$W/htpasswd" "$W/htdigest"

# A WordPress stand-in: wp-login.php as WordPress answers it.
cat >"$W/cgi/wp-login.cgi" <<'EOF'
#!/bin/sh
body=""
[ "$REQUEST_METHOD" = POST ] && body=$(head -c "${CONTENT_LENGTH:-0}")
case "$body" in
  *log=wpadmin*pwd=wp-right-pass*)
    printf 'Status: 302 Found\r\nLocation: /wp-admin/\r\nSet-Cookie: wordpress_logged_in=1\r\n\r\n' ;;
  *)
    printf 'Content-Type: text/html\r\n\r\n<form method="post"><input name="log"><input name="pwd"></form>\n' ;;
esac
EOF
chmod 755 "$W/cgi/wp-login.cgi"

# --- daemons --------------------------------------------------------------------
M=/usr/lib/apache2/modules
cat >"$W/apache2.conf" <<EOF
ServerRoot /etc/apache2
ServerName bt-server
PidFile $W/apache.pid
Mutex file:$W default
DefaultRuntimeDir $W
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_host_module $M/mod_authz_host.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule auth_digest_module $M/mod_auth_digest.so
LoadModule alias_module $M/mod_alias.so
LoadModule cgi_module $M/mod_cgi.so
LoadModule dir_module $M/mod_dir.so
LoadModule mime_module $M/mod_mime.so
TypesConfig /etc/mime.types
User www-data
Group www-data
Listen $SRV4:80
Listen [$SRV6]:80
HostnameLookups Off
LogLevel warn
ErrorLog $W/apache-error.log
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $W/apache-access.log combined
DocumentRoot $SITE
DirectoryIndex index.html
<Directory />
    Require all denied
</Directory>
<Directory $SITE>
    Require all granted
</Directory>
<Directory $SITE/private>
    AuthType Basic
    AuthName "private"
    AuthUserFile $W/htpasswd
    Require valid-user
</Directory>
<Directory $SITE/admin-only>
    AuthType Basic
    AuthName "admins"
    AuthUserFile $W/htpasswd
    Require user alice
</Directory>
<Directory $SITE/digest>
    AuthType Digest
    AuthName "digest-realm"
    AuthDigestProvider file
    AuthUserFile $W/htdigest
    AuthDigestNonceLifetime 2
    Require valid-user
</Directory>
<Directory $SITE/denied>
    Require all denied
</Directory>
ScriptAlias /wp-login.php $W/cgi/wp-login.cgi
<Directory $W/cgi>
    Options +ExecCGI
    Require all granted
</Directory>
EOF
mkdir -p "$SITE/denied"; printf 'no\n' >"$SITE/denied/index.html"

mkdir -p "$W/nginx-tmp"
cat >"$W/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log info;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $W/nginx-tmp;
    proxy_temp_path $W/nginx-tmp;
    fastcgi_temp_path $W/nginx-tmp;
    uwsgi_temp_path $W/nginx-tmp;
    scgi_temp_path $W/nginx-tmp;
    access_log $W/nginx-access.log combined;
    limit_req_zone \$binary_remote_addr zone=api:1m rate=1r/s;
    server {
        listen $SRV4:8080;
        listen [$SRV6]:8080;
        server_name bt-server;
        root $SITE;
        location /private/ {
            auth_basic "private";
            auth_basic_user_file $W/htpasswd;
        }
        location /api/ {
            limit_req zone=api burst=2 nodelay;
        }
    }
}
EOF

cat >"$W/Caddyfile" <<EOF
{
    admin off
    auto_https off
    storage file_system $W/caddy-data
}
:8081 {
    bind $SRV4 $SRV6
    root * $SITE
    file_server
    log {
        output file $W/caddy-access.log
        format json
    }
}
EOF

SRVX=(ip netns exec "$NS_SRV")
"${SRVX[@]}" apache2 -f "$W/apache2.conf" -k start || die "apache2 did not start"
"${SRVX[@]}" nginx -c "$W/nginx.conf" || die "nginx did not start"
HAVE_CADDY=0
if command -v caddy >/dev/null; then
    HOME=$W XDG_DATA_HOME=$W XDG_CONFIG_HOME=$W \
        "${SRVX[@]}" caddy run --config "$W/Caddyfile" --adapter caddyfile >"$W/caddy.out" 2>&1 &
    echo $! >"$W/caddy.pid"
    HAVE_CADDY=1
fi
sleep 2
log "apache2, nginx$([[ $HAVE_CADDY -eq 1 ]] && echo ', caddy') running in $NS_SRV"

# --- the clients ------------------------------------------------------------------
# driver.py runs in the client namespace, makes every request and writes the
# ledger: one JSON object per request (address, server, method, path, what a
# correct filter must say about the lines it causes).
cp "$REPO/scripts/web-capture/driver.py" "$W/driver.py"
ip netns exec "$NS_CLI" env BT_CADDY=$HAVE_CADDY BT_SRV4=$SRV4 BT_SRV6=$SRV6 \
    python3 "$W/driver.py" "$W/ledger.jsonl" || die "driver failed"
sleep 1
"${SRVX[@]}" apache2 -f "$W/apache2.conf" -k stop || true
kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
[[ $HAVE_CADDY -eq 1 ]] && kill "$(cat "$W/caddy.pid")" 2>/dev/null
sleep 1

log "labelling"
BT_APACHE="$(apache2 -v | head -1 | sed 's/^Server version: //') (Debian package apache2 $(dpkg-query -W -f='${Version}' apache2))" \
BT_NGINX="$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian package nginx $(dpkg-query -W -f='${Version}' nginx))" \
BT_CADDY="$([[ $HAVE_CADDY -eq 1 ]] && echo "caddy $(caddy version 2>/dev/null | awk '{print $1}') (Debian package caddy $(dpkg-query -W -f='${Version}' caddy))" || echo none)" \
BT_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
    python3 "$REPO/scripts/web-capture/label.py" "$W" "$FILTERS"
log "done"
