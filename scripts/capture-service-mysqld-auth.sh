# Sourced by capture-service-fixtures.sh: MariaDB (Debian's mariadb-server)
# writing its error log file. Client: the mariadb command-line client.
capture_mysqld_auth() {
    apt_install mariadb-server mariadb-client
    service_begin mysqld-auth mariadb-error.log
    printf 'mysqld-auth\t%s\n' "$(mariadbd --version 2>&1 | head -1)" >>"$W/out/versions.tsv"
    local D=$W/mysql
    mkdir -p "$D/data"
    chown -R mysql:mysql "$D"
    touch "$W/logs/mariadb-error.log"
    chown mysql "$W/logs/mariadb-error.log"
    mariadb-install-db --no-defaults --user=mysql --datadir="$D/data" \
        --auth-root-authentication-method=normal >"$W/out/mariadb-install.log" 2>&1
    srv mariadbd --no-defaults --user=mysql --datadir="$D/data" --socket="$D/sock" \
        --pid-file="$D/mariadb.pid" --bind-address='*' --port=3306 \
        --log-error="$W/logs/mariadb-error.log" >/dev/null 2>&1 &
    wait_port "$SRV4" 3306
    mariadb --socket="$D/sock" -u root -e "CREATE USER '$USER_OK'@'%' IDENTIFIED BY '$PW_OK';"
    my() { # SRC USER PASSWORD
        # The mariadb client cannot bind a source address: the route to the
        # server names it instead.
        if [[ $1 == *:* ]]; then ip -n "$NS_CLI" -6 route replace "$SRV6/128" dev bt-svc-c src "$1"
        else ip -n "$NS_CLI" route replace "$SRV4/32" dev bt-svc-c src "$1"; fi
        cli timeout 20 mariadb --skip-ssl -h "$(srv_for "$1")" -u "$2" ${3:+-p"$3"} -e 'SELECT 1' </dev/null
    }
    begin bad-password attack 203.0.113.70 "$USER_OK" "wrong password"
    expect_refused my 203.0.113.70 "$USER_OK" "$PW_BAD"; end
    begin bad-password-v6 attack 2001:db8:2::70 "$USER_OK" "wrong password over IPv6"
    expect_refused my 2001:db8:2::70 "$USER_OK" "$PW_BAD"; end
    begin no-password attack 203.0.113.71 root "root without a password from the network"
    expect_refused my 203.0.113.71 root ""; end
    begin inject-user attack 203.0.113.72 "$INJECT" "user name carrying addresses and log-like text"
    expect_refused my 203.0.113.72 "$INJECT" "$PW_BAD"; end
    begin inject-user2 attack 203.0.113.73 "x'@'203.0.113.9' (using password: YES)" "user name imitating mariadb's own text"
    expect_refused my 203.0.113.73 "x'@'203.0.113.9' (using password: YES)" "$PW_BAD"; end
    begin tcp-close noise 203.0.113.74 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.74 "$SRV4" 3306 || true; end
    begin login legit 192.0.2.47 "$USER_OK" "right password"
    expect_ok my 192.0.2.47 "$USER_OK" "$PW_OK"; end
    stop_pidfile "$D/mariadb.pid"
}
