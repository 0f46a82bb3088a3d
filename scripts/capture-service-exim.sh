# Sourced by capture-service-fixtures.sh: exim (Debian's exim4-daemon-light,
# unpacked: it conflicts with postfix) writing its own mainlog, as Debian's
# /var/log/exim4/mainlog, once with the default log_selector and once with
# +pid +incoming_port +smtp_connection +millisec (what admins commonly add).
# Clients: python's smtplib and raw SMTP from capture-service-client.py.
exim_conf() { # LOG-FILE-PATH SELECTORS EXTRA-MAIN-OPTIONS
    local E=$W/exim
    cat <<EOF
primary_hostname = mail.bt-test
# The unpacked binary re-execs itself for deliveries.
exim_path = $E/root/usr/sbin/exim4
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $E/spool
log_file_path = $1
log_selector = $2
pid_file_path = $W/run/exim.pid
local_interfaces = <; $SRV4.25 ; $SRV6.25
daemon_smtp_ports = 25
keep_environment =
# Reverse lookups as Debian's default configuration does them (the
# capture's DNS responder answers NXDOMAIN): no name ever reaches H=.
host_lookup = *
tls_advertise_hosts =
$3
domainlist local_domains = bt-test
acl_smtp_connect = acl_connect
acl_smtp_helo = acl_helo
acl_smtp_rcpt = acl_rcpt

begin acl
acl_connect:
  # Gives the client that talks before the greeting time to do so, so the
  # synchronisation check sees its input.
  accept hosts = 203.0.113.76
         delay = 1s
  accept

acl_helo:
  deny   message = forged HELO: you are not me
         condition = \${if eq{\$sender_helo_name}{mail.bt-test}}
  accept

acl_rcpt:
  accept authenticated = *
  deny   message = relay not permitted
         !domains = +local_domains
  require verify = recipient
  accept

begin routers
local_user:
  driver = redirect
  domains = +local_domains
  check_local_user
  data = :blackhole:

begin transports

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{$USER_OK}}{eq{\$auth3}{$PW_OK}}}}
  server_set_id = \$auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and {{eq{\$auth1}{$USER_OK}}{eq{\$auth2}{$PW_OK}}}}
  server_set_id = \$auth1
EOF
}

exim_start() { # LOG-FILE-NAME-PATTERN SELECTORS EXTRA-MAIN-OPTIONS
    local E=$W/exim f
    for f in main reject panic; do
        touch "$W/logs/${1//%s/$f}"
        chown Debian-exim "$W/logs/${1//%s/$f}"
    done
    exim_conf "$W/logs/$1" "$2" "${3:-}" >"$E/exim.conf"
    srv "$E/root/usr/sbin/exim4" -C "$E/exim.conf" -bd
    wait_port "$SRV4" 25
}

exim_stop() {
    stop_pidfile "$W/run/exim.pid"
    local i
    for i in $(seq 1 50); do
        ip netns exec "$NS_SRV" ss -Hltn "sport = :25" | grep -q . || return 0
        sleep 0.1
    done
}

capture_exim() {
    local E=$W/exim
    apt_install libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2 libpcre2-8-0 libcrypt1
    ensure_user
    ensure_system_user Debian-exim
    if [[ ! -x $E/root/usr/sbin/exim4 ]]; then
        mkdir -p "$E/debs"
        (cd "$E/debs" && apt-get download exim4-daemon-light >/dev/null 2>&1) || die "apt-get download exim4-daemon-light failed"
        dpkg -x "$E"/debs/exim4-daemon-light_*.deb "$E/root"
    fi
    mkdir -p "$E/spool"
    chown Debian-exim:Debian-exim "$E/spool"
    service_begin exim mainlog.log mainlog-selectors.log
    printf 'exim\t%s (Debian exim4-daemon-light %s, unpacked)\n' \
        "$("$E/root/usr/sbin/exim4" -C /dev/null -bV 2>/dev/null | sed -n 's/ #.*//; s/^Exim version/Exim/p')" \
        "$(dpkg-deb -f "$E"/debs/exim4-daemon-light_*.deb Version)" >>"$W/out/versions.tsv"

    exim_start '%slog.log' ''
    begin auth-bad attack 203.0.113.60 "$USER_OK" "SMTP AUTH PLAIN, wrong password for $USER_OK"
    expect_refused pyclient smtp-auth 203.0.113.60 "$SRV4" "$USER_OK" "$PW_BAD" PLAIN; end
    begin auth-bad-v6 attack 2001:db8:2::60 "$USER_OK" "SMTP AUTH LOGIN over IPv6, wrong password"
    expect_refused pyclient smtp-auth 2001:db8:2::60 "$SRV6" "$USER_OK" "$PW_BAD" LOGIN; end
    begin auth-inject attack 203.0.113.61 "$INJECT" "SMTP AUTH PLAIN, user name carrying addresses and exim's own text"
    expect_refused pyclient smtp-auth 203.0.113.61 "$SRV4" "x) [203.0.113.9]: 535 Incorrect authentication data $INJECT" "$PW_BAD" PLAIN; end
    begin relay attack 203.0.113.62 - "RCPT to a foreign domain without AUTH; the sender carries an address"
    expect_refused pyclient smtp-rcpt 203.0.113.62 "$SRV4" client.example '"[203.0.113.9] x"@client.example' victim@remote.example; end
    begin relay-v6 attack 2001:db8:2::62 - "RCPT to a foreign domain without AUTH, over IPv6"
    expect_refused pyclient smtp-rcpt 2001:db8:2::62 "$SRV6" client.example a@client.example victim@remote.example; end
    begin relay-helo-literal attack 203.0.113.65 - "relay attempt whose HELO is another address's literal"
    expect_refused pyclient smtp-rcpt 203.0.113.65 "$SRV4" "[203.0.113.9]" a@client.example victim@remote.example; end
    begin unknown-rcpt attack 203.0.113.63 - "RCPT to a local user that does not exist"
    expect_refused pyclient smtp-rcpt 203.0.113.63 "$SRV4" client.example a@client.example nosuchuser@bt-test; end
    begin bad-helo attack 203.0.113.64 - "syntactically invalid EHLO/HELO name carrying an address"
    expect_refused pyclient smtp-rcpt 203.0.113.64 "$SRV4" "bad..helo[203.0.113.9]" a@client.example "$USER_OK@bt-test"; end
    begin forged-helo attack 203.0.113.66 - "HELO names the server itself (refused by the HELO ACL)"
    expect_refused pyclient smtp-rcpt 203.0.113.66 "$SRV4" mail.bt-test a@client.example "$USER_OK@bt-test"; end
    begin early-talker attack 203.0.113.67 - "talks before the greeting (allowed by 4.96's default PIPECONNECT), an invalid EHLO"
    pyclient tcp 203.0.113.67 "$SRV4" 25 "EHLO x [203.0.113.9]" || true; end
    begin early-pipeliner attack 203.0.113.68 - "sends MAIL before the HELO reply (allowed by 4.96's default PIPECONNECT)"
    pyclient smtp-lines 203.0.113.68 "$SRV4" burst "HELO client.example" "MAIL FROM:<a@client.example>" || true; end
    begin junk-commands attack 203.0.113.69 - "unrecognised commands until exim drops the call"
    pyclient smtp-lines 203.0.113.69 "$SRV4" step "EHLO client.example" "GET / HTTP/1.0 [203.0.113.9]" \
        "USER root" "PASS 203.0.113.9" "X-ADDR 203.0.113.9" || true; end
    begin sender-inject noise 203.0.113.71 - "unauthenticated message whose sender imitates an authenticated arrival"
    expect_ok pyclient smtp-send 203.0.113.71 "$SRV4" client.example \
        '"x H=(x) [203.0.113.9] P=esmtpa A=plain:x"@client.example' "$USER_OK@bt-test"; end
    begin tcp-close noise 203.0.113.70 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.70 "$SRV4" 25 || true; end
    begin auth-ok legit 192.0.2.45 "$USER_OK" "SMTP AUTH PLAIN, right password, sends a mail"
    expect_ok pyclient smtp-auth 192.0.2.45 "$SRV4" "$USER_OK" "$PW_OK" PLAIN; end
    begin auth-ok-v6 legit 2001:db8:2::61 "$USER_OK" "SMTP AUTH LOGIN over IPv6, right password, sends a mail"
    expect_ok pyclient smtp-auth 2001:db8:2::61 "$SRV6" "$USER_OK" "$PW_OK" LOGIN; end
    begin auth-ok-inject legit 192.0.2.46 "$USER_OK" "authenticated, the sender imitates another arrival"
    expect_ok pyclient smtp-auth 192.0.2.46 "$SRV4" "$USER_OK" "$PW_OK" PLAIN \
        '"x H=(x) [203.0.113.9] P=esmtpa A=plain:x"@bt-test'; end
    exim_stop

    # No PIPECONNECT: exim then refuses a client that talks first.
    exim_start '%slog-selectors.log' '+pid +incoming_port +smtp_connection +millisec' \
        'pipelining_connect_advertise_hosts ='
    begin sel-sync-greeting attack 203.0.113.76 - "talks before the greeting (SMTP synchronisation)"
    pyclient tcp 203.0.113.76 "$SRV4" 25 "EHLO x [203.0.113.9]" || true; end
    begin sel-auth-bad attack 203.0.113.72 "$USER_OK" "SMTP AUTH PLAIN, wrong password"
    expect_refused pyclient smtp-auth 203.0.113.72 "$SRV4" "$USER_OK" "$PW_BAD" PLAIN; end
    begin sel-auth-bad-v6 attack 2001:db8:2::72 "$USER_OK" "SMTP AUTH LOGIN over IPv6, wrong password"
    expect_refused pyclient smtp-auth 2001:db8:2::72 "$SRV6" "$USER_OK" "$PW_BAD" LOGIN; end
    begin sel-relay attack 203.0.113.73 - "relay attempt"
    expect_refused pyclient smtp-rcpt 203.0.113.73 "$SRV4" client.example a@client.example victim@remote.example; end
    begin sel-unknown-rcpt attack 203.0.113.74 - "RCPT to a local user that does not exist"
    expect_refused pyclient smtp-rcpt 203.0.113.74 "$SRV4" client.example a@client.example nosuchuser@bt-test; end
    begin sel-bad-helo attack 203.0.113.75 - "invalid EHLO name"
    expect_refused pyclient smtp-rcpt 203.0.113.75 "$SRV4" "bad_helo(x)" a@client.example "$USER_OK@bt-test"; end
    begin sel-sync-ehlo attack 2001:db8:2::69 - "MAIL before the EHLO reply (no PIPECONNECT), over IPv6"
    pyclient smtp-lines 2001:db8:2::69 "$SRV6" burst "EHLO client.example" "MAIL FROM:<a@client.example>" || true; end
    begin sel-sync-inject attack 203.0.113.78 - "MAIL before the EHLO reply; both commands imitate exim's H= field"
    pyclient smtp-lines 203.0.113.78 "$SRV4" burst "EHLO x H=[203.0.113.9]:25 next input=" \
        "MAIL FROM:<a@b> H=[203.0.113.9]:25 next input=" || true; end
    begin sel-tcp-close noise 203.0.113.77 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.77 "$SRV4" 25 || true; end
    begin sel-auth-ok legit 192.0.2.47 "$USER_OK" "SMTP AUTH PLAIN, right password, sends a mail"
    expect_ok pyclient smtp-auth 192.0.2.47 "$SRV4" "$USER_OK" "$PW_OK" PLAIN; end
    exim_stop
}
