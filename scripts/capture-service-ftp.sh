# Sourced by capture-service-fixtures.sh: vsftpd and pure-ftpd. Debian's
# FTP servers conflict with each other, so both run from their unpacked
# .debs (see the header of capture-service-fixtures.sh). Client: ftplib.
ftp_scenarios() { # PREFIX-OF-ADDRESSES (e.g. 50 → 203.0.113.50..), PORT
    local n=$1
    begin bad-password attack "203.0.113.$n" "$USER_OK" "wrong password, 2 tries in one connection"
    expect_refused pyclient ftp "203.0.113.$n" "$SRV4" "$USER_OK" "$PW_BAD" 2; end
    begin bad-password-v6 attack "2001:db8:2::$n" "$USER_OK" "wrong password over IPv6"
    expect_refused pyclient ftp "2001:db8:2::$n" "$SRV6" "$USER_OK" "$PW_BAD"; end
    begin no-such-user attack "203.0.113.$((n + 1))" oracle "user does not exist"
    expect_refused pyclient ftp "203.0.113.$((n + 1))" "$SRV4" oracle "$PW_BAD"; end
    begin inject-user attack "203.0.113.$((n + 2))" "$INJECT" "user name carrying addresses and log-like text"
    expect_refused pyclient ftp "203.0.113.$((n + 2))" "$SRV4" "$INJECT" "$PW_BAD"; end
    begin inject-user2 attack "203.0.113.$((n + 3))" "$2" "user name imitating the daemon's own text"
    expect_refused pyclient ftp "203.0.113.$((n + 3))" "$SRV4" "$2" "$PW_BAD"; end
    begin tcp-close noise "203.0.113.$((n + 4))" - "bare TCP connect, then close"
    pyclient tcp "203.0.113.$((n + 4))" "$SRV4" 21 || true; end
    begin login legit "192.0.2.$((n - 30))" "$USER_OK" "right password"
    expect_ok pyclient ftp "192.0.2.$((n - 30))" "$SRV4" "$USER_OK" "$PW_OK"; end
    begin login-v6 legit "2001:db8:2::$((n + 1))" "$USER_OK" "right password over IPv6"
    expect_ok pyclient ftp "2001:db8:2::$((n + 1))" "$SRV6" "$USER_OK" "$PW_OK"; end
}

capture_vsftpd() {
    ensure_user
    [[ -x $W/root/usr/sbin/vsftpd ]] || unpack vsftpd
    service_begin vsftpd vsftpd.log
    printf 'vsftpd\tvsftpd %s (Debian package, unpacked)\n' "$(dpkg-deb -f "$W"/debs/vsftpd_*.deb Version)" >>"$W/out/versions.tsv"
    mkdir -p "$W/vsftpd-empty"
    printf 'btdenied\n' >"$W/vsftpd.user_list"
    local conf
    for conf in v4 v6; do
        {
            if [[ $conf == v4 ]]; then printf 'listen=YES\nlisten_address=%s\n' "$SRV4"
            else printf 'listen=NO\nlisten_ipv6=YES\nlisten_address6=%s\n' "$SRV6"; fi
            printf '%s\n' anonymous_enable=NO local_enable=YES pam_service_name=bt-capture \
                "secure_chroot_dir=$W/vsftpd-empty" nopriv_user=nobody xferlog_enable=YES \
                "vsftpd_log_file=$W/logs/vsftpd.log" syslog_enable=NO seccomp_sandbox=NO \
                userlist_enable=YES userlist_deny=YES "userlist_file=$W/vsftpd.user_list" \
                background=YES
        } >"$W/vsftpd-$conf.conf"
        srv "$W/root/usr/sbin/vsftpd" "$W/vsftpd-$conf.conf"
    done
    wait_port "$SRV4" 21
    ftp_scenarios 50 'x] FAIL LOGIN: Client "203.0.113.9'
    begin userlist attack 203.0.113.55 btdenied "user in the deny list"
    expect_refused pyclient ftp 203.0.113.55 "$SRV4" btdenied "$PW_BAD"; end
    local pid
    for pid in $(ip netns pids "$NS_SRV"); do
        [[ $(readlink "/proc/$pid/exe") == "$W/root/usr/sbin/vsftpd" ]] && kill -TERM "$pid"
    done
    sleep 0.5
}

capture_pure_ftpd() {
    ensure_user
    [[ -x $W/root/usr/sbin/pure-ftpd ]] || unpack pure-ftpd
    service_begin pure-ftpd
    printf 'pure-ftpd\tpure-ftpd %s (Debian package, unpacked)\n' "$(dpkg-deb -f "$W"/debs/pure-ftpd_*.deb Version)" >>"$W/out/versions.tsv"
    # -H: never resolve client names (a filter must not trust them); -l
    # unix: the system's users; -B: background.
    srv "$W/root/usr/sbin/pure-ftpd" -S ,21 -l unix -H -B -E -g "$W/run/pure-ftpd.pid"
    wait_port "$SRV4" 21
    ftp_scenarios 60 'x] (?@203.0.113.9) [WARNING] Authentication failed for user [x'
    stop_pidfile "$W/run/pure-ftpd.pid"
}
