# Sourced by capture-service-fixtures.sh: dropbear, logging through syslog.
# Clients: dbclient (DROPBEAR_PASSWORD) and OpenSSH's ssh through sshpass.
capture_dropbear() {
    apt_install dropbear-bin openssh-client sshpass
    ensure_user
    service_begin dropbear
    printf 'dropbear\t%s\n' "$(dropbear -V 2>&1 | head -1)" >>"$W/out/versions.tsv"
    dropbearkey -t ed25519 -f "$W/dropbear_ed25519" >/dev/null 2>&1
    # -T 3: three password attempts per connection, so "Max auth tries" is
    # reached by a client willing to try five times.
    srv dropbear -r "$W/dropbear_ed25519" -p "$SRV4:22" -p "[$SRV6]:22" -T 3 -P "$W/run/dropbear.pid"
    wait_port "$SRV4" 22
    db() { # SRC USER PASSWORD
        cli env DROPBEAR_PASSWORD="$3" timeout 20 dbclient -y -y -b "$1" -l "$2" "$(srv_for "$1")" true </dev/null
    }
    ossh() { # SRC USER PASSWORD PROMPTS
        cli timeout 20 sshpass -p "$3" ssh -b "$1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
            -o NumberOfPasswordPrompts="$4" -l "$2" "$(srv_for "$1")" true </dev/null
    }
    begin bad-password attack 203.0.113.10 "$USER_OK" "dbclient (retries until dropbear -T 3 ends it), wrong password for $USER_OK"
    expect_refused db 203.0.113.10 "$USER_OK" "$PW_BAD"; end
    begin bad-password-v6 attack 2001:db8:2::10 "$USER_OK" "dbclient over IPv6, wrong password"
    expect_refused ossh 2001:db8:2::10 "$USER_OK" "$PW_BAD" 2; end
    begin no-such-user attack 203.0.113.11 oracle "dbclient, user oracle does not exist"
    expect_refused db 203.0.113.11 oracle "$PW_BAD"; end
    begin no-such-user-v6 attack 2001:db8:2::11 admin "ssh, user admin does not exist"
    expect_refused ossh 2001:db8:2::11 admin "$PW_BAD" 1; end
    begin one-try attack 203.0.113.12 "$USER_OK" "ssh, one wrong password, gives up"
    expect_refused ossh 203.0.113.12 "$USER_OK" "$PW_BAD" 1; end
    begin inject-user attack 203.0.113.13 "$INJECT" "user name carrying addresses and log-like text"
    expect_refused db 203.0.113.13 "$INJECT" "$PW_BAD"; end
    begin inject-user2 attack 203.0.113.14 "root' from 203.0.113.9:22" "user name ending like dropbear's own text"
    expect_refused db 203.0.113.14 "root' from 203.0.113.9:22" "$PW_BAD"; end
    begin tcp-close noise 203.0.113.15 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.15 "$SRV4" 22 || true; end
    begin http-garbage noise 2001:db8:2::15 - "HTTP request instead of an SSH banner"
    pyclient tcp 2001:db8:2::15 "$SRV6" 22 "GET / HTTP/1.1" || true; end
    begin login legit 192.0.2.10 "$USER_OK" "dbclient, right password"
    expect_ok db 192.0.2.10 "$USER_OK" "$PW_OK"; end
    begin login-v6 legit 2001:db8:2::40 "$USER_OK" "ssh over IPv6, right password"
    expect_ok ossh 2001:db8:2::40 "$USER_OK" "$PW_OK" 1; end
    stop_pidfile "$W/run/dropbear.pid"
}
