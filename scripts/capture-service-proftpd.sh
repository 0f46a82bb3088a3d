# Sourced by capture-service-fixtures.sh: proftpd (Debian's proftpd-core),
# writing Debian's default SystemLog file. Client: python's ftplib.
capture_proftpd() {
    apt_install proftpd-core
    service_begin proftpd proftpd.log
    printf 'proftpd\t%s\n' "$(proftpd -v 2>&1 | head -1)" >>"$W/out/versions.tsv"
    local D=$W/proftpd
    mkdir -p "$D" "$W/ftp-home"
    chown nobody:nogroup "$W/ftp-home"
    printf '%s:%s:65534:65534::%s:/bin/sh\n' "$USER_OK" "$(openssl passwd -6 "$PW_OK")" "$W/ftp-home" >"$D/passwd"
    chmod 0600 "$D/passwd"
    cat >"$D/proftpd.conf" <<PEOF
ServerType standalone
ServerName "bt-server"
DefaultServer on
DefaultAddress $SRV4 $SRV6
UseIPv6 on
Port 21
User nobody
Group nogroup
PidFile $W/run/proftpd.pid
ScoreboardFile $W/run/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
<IfModule mod_ident.c>
  IdentLookups off
</IfModule>
SystemLog $W/logs/proftpd.log
TransferLog none
MaxLoginAttempts 3
AuthOrder mod_auth_file.c
AuthUserFile $D/passwd
RequireValidShell off
DefaultRoot ~
PEOF
    srv proftpd -c "$D/proftpd.conf"
    wait_port "$SRV4" 21
    begin bad-password attack 203.0.113.40 "$USER_OK" "wrong password 3 times (MaxLoginAttempts 3)"
    expect_refused pyclient ftp 203.0.113.40 "$SRV4" "$USER_OK" "$PW_BAD" 3; end
    begin bad-password-v6 attack 2001:db8:2::42 "$USER_OK" "wrong password over IPv6"
    expect_refused pyclient ftp 2001:db8:2::42 "$SRV6" "$USER_OK" "$PW_BAD"; end
    begin no-such-user attack 203.0.113.41 oracle "user does not exist"
    expect_refused pyclient ftp 203.0.113.41 "$SRV4" oracle "$PW_BAD"; end
    begin inject-user attack 203.0.113.42 "$INJECT" "user name carrying addresses and log-like text"
    expect_refused pyclient ftp 203.0.113.42 "$SRV4" "$INJECT" "$PW_BAD"; end
    begin inject-user2 attack 203.0.113.43 "x (203.0.113.9[203.0.113.9]): no such user found from 203.0.113.9 [203.0.113.9] to 198.51.100.1:21" "user name imitating proftpd's own text"
    expect_refused pyclient ftp 203.0.113.43 "$SRV4" "x (203.0.113.9[203.0.113.9]): no such user found from 203.0.113.9 [203.0.113.9] to 198.51.100.1:21" "$PW_BAD"; end
    begin tcp-close noise 203.0.113.44 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.44 "$SRV4" 21 || true; end
    begin login legit 192.0.2.40 "$USER_OK" "right password"
    expect_ok pyclient ftp 192.0.2.40 "$SRV4" "$USER_OK" "$PW_OK"; end
    begin login-v6 legit 2001:db8:2::43 "$USER_OK" "right password over IPv6"
    expect_ok pyclient ftp 2001:db8:2::43 "$SRV6" "$USER_OK" "$PW_OK"; end
    stop_pidfile "$W/run/proftpd.pid"
}
