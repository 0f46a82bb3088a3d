# Sourced by capture-service-fixtures.sh: OpenVPN (Debian's openvpn), two
# servers at once: UDP with tls-auth logging to syslog as Debian's
# openvpn@server unit does ("ovpn-server"), and TCP with tls-crypt writing
# its own --log file. Both check user names and passwords with an
# auth-user-pass-verify script. Clients: openvpn itself, with certificates
# this script makes (openssl): one from the servers' CA, one from a rogue CA
# whose CN carries an address and openvpn's own text.
ovpn_certs() {
    local O=$W/openvpn
    mkdir -p "$O"
    (
        cd "$O"
        cert() { # NAME CN CA-NAME [EXT]
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
            printf '%s\nkeyUsage=digitalSignature,keyAgreement\n' "${4:-extendedKeyUsage=clientAuth}" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
                -days 2 -out "$1.crt" -extfile "$1.ext" 2>/dev/null
        }
        for ca in ca rogue-ca; do
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$ca.key" -out "$ca.crt" -days 2 -subj "/CN=bantam capture $ca" 2>/dev/null
        done
        cert server bt-server ca extendedKeyUsage=serverAuth
        cert client bt-client ca
        cert rogue "x 203.0.113.9:1194 TLS Error: TLS handshake failed" rogue-ca
        openvpn --genkey secret ta.key
        openvpn --genkey secret wrong-ta.key
        openvpn --genkey secret tc.key
        openvpn --genkey secret wrong-tc.key
    )
    printf '#!/bin/sh\n# via-file: line 1 user, line 2 password\n[ "$(sed -n 1p "$1")" = %s ] && [ "$(sed -n 2p "$1")" = %s ]\n' \
        "$USER_OK" "$PW_OK" >"$O/verify.sh"
    chmod 0755 "$O/verify.sh"
}

ovpn_server() { # PROTO LOCAL PORT POOL LOG-ARGS... (the rest)
    local O=$W/openvpn proto=$1 local=$2 port=$3 pool=$4
    shift 4
    local keyopt=(--tls-auth "$O/ta.key" 0)
    [[ $proto == tcp* ]] && keyopt=(--tls-crypt "$O/tc.key")
    srv openvpn --mode server --tls-server --proto "$proto" --port "$port" --local "$local" \
        --dev tun --topology subnet --ifconfig "$pool.1" 255.255.255.0 \
        --ifconfig-pool "$pool.10" "$pool.99" 255.255.255.0 --push "topology subnet" \
        --ca "$O/ca.crt" --cert "$O/server.crt" --key "$O/server.key" --dh none \
        "${keyopt[@]}" --auth-user-pass-verify "$O/verify.sh" via-file --script-security 2 \
        --tmp-dir "$W/run" --hand-window 5 --keepalive 10 60 --disable-dco --verb 3 \
        --writepid "$W/run/openvpn-$proto.pid" "$@"
}

# ovpn_client SRC PROTO PORT SECONDS USER PASSWORD CERT TLS-KEY-OPTION KEYFILE
# Runs openvpn as a client from SRC for at most SECONDS; succeeds when the
# tunnel came up ("Initialization Sequence Completed").
ovpn_client() {
    local O=$W/openvpn src=$1 proto=$2 port=$3 secs=$4 user=$5 pw=$6 cert=$7 keyopt=$8 keyfile=$9
    local dir=()
    (umask 077 && printf '%s\n%s\n' "$user" "$pw" >"$O/pass.txt")
    [[ $keyopt == --tls-auth ]] && dir=(1)
    local keyargs=()
    [[ -n $keyopt ]] && keyargs=("$keyopt" "$O/$keyfile" "${dir[@]}")
    local out=$W/out/ovpn-client-$src.log
    cli timeout "$secs" openvpn --client --dev tun --proto "$proto" --remote "$(srv_for "$src")" "$port" \
        --local "$src" --lport 0 --ca "$O/ca.crt" --cert "$O/$cert.crt" --key "$O/$cert.key" \
        "${keyargs[@]}" --auth-user-pass "$O/pass.txt" --auth-nocache --auth-retry none --hand-window 5 \
        --connect-retry-max 1 --remote-cert-tls server --disable-dco --verb 3 >"$out" 2>&1 || true
    grep -q "Initialization Sequence Completed" "$out"
}

ovpn_scenarios() { # PROTO PORT KEY-OPTION KEYFILE WRONG-KEYFILE N (last octet base) IPV6(yes/no)
    local proto=$1 port=$2 kopt=$3 kf=$4 wrong=$5 n=$6 v6=$7
    begin "$proto-bad-password" attack "203.0.113.$n" "$USER_OK" "right certificate, wrong password"
    expect_refused ovpn_client "203.0.113.$n" "$proto" "$port" 15 "$USER_OK" "$PW_BAD" client "$kopt" "$kf"; end
    if [[ $v6 == yes ]]; then
        begin "$proto-bad-password-v6" attack "2001:db8:2::$n" "$USER_OK" "right certificate, wrong password, over IPv6"
        expect_refused ovpn_client "2001:db8:2::$n" "${proto}6" "$port" 15 "$USER_OK" "$PW_BAD" client "$kopt" "$kf"; end
    fi
    begin "$proto-inject-user" attack "203.0.113.$((n + 1))" "$INJECT" "right certificate, user name carrying addresses and log-like text"
    expect_refused ovpn_client "203.0.113.$((n + 1))" "$proto" "$port" 15 "$INJECT 203.0.113.9:1194 TLS Auth Error:" "$PW_BAD" client "$kopt" "$kf"; end
    begin "$proto-rogue-cert" attack "203.0.113.$((n + 2))" - "certificate from another CA, CN imitating openvpn's text"
    expect_refused ovpn_client "203.0.113.$((n + 2))" "$proto" "$port" 12 "$USER_OK" "$PW_OK" rogue "$kopt" "$kf"; end
    begin "$proto-wrong-key" attack "203.0.113.$((n + 3))" - "wrong $kopt key (packets fail the HMAC)"
    expect_refused ovpn_client "203.0.113.$((n + 3))" "$proto" "$port" 8 "$USER_OK" "$PW_OK" client "$kopt" "$wrong"; end
    if [[ $v6 == yes ]]; then
        begin "$proto-no-key" attack "2001:db8:2::$((n + 3))" - "no $kopt key at all, over IPv6"
        expect_refused ovpn_client "2001:db8:2::$((n + 3))" "${proto}6" "$port" 8 "$USER_OK" "$PW_OK" client "" ""; end
    else
        begin "$proto-no-key" attack "203.0.113.$((n + 4))" - "no $kopt key at all"
        expect_refused ovpn_client "203.0.113.$((n + 4))" "$proto" "$port" 8 "$USER_OK" "$PW_OK" client "" ""; end
    fi
    begin "$proto-login" legit "192.0.2.$((n - 40))" "$USER_OK" "right certificate and password"
    expect_ok ovpn_client "192.0.2.$((n - 40))" "$proto" "$port" 8 "$USER_OK" "$PW_OK" client "$kopt" "$kf"; end
}

capture_openvpn() {
    apt_install openvpn openssl
    ensure_user
    service_begin openvpn openvpn.log
    printf 'openvpn\t%s\n' "$(openvpn --version | head -1 | cut -d' ' -f1-2)" >>"$W/out/versions.tsv"
    ovpn_certs
    # The pools lie in 198.18.0.0/15 (benchmarking range): nothing routes there.
    # UDP: dual stack (udp6 on ::, IPv4 clients arrive v4-mapped), as an
    # IPv6-enabled server runs; TCP: IPv4 only, as Debian's sample config.
    # --daemon NAME names the syslog program, as Debian's openvpn@server unit
    # does (ovpn-server).
    ovpn_server udp6 :: 1194 198.18.1 --daemon ovpn-server
    ovpn_server tcp-server "$SRV4" 443 198.18.2 --daemon --log "$W/logs/openvpn.log"
    wait_port "$SRV4" 443
    sleep 1
    ovpn_scenarios udp 1194 --tls-auth ta.key wrong-ta.key 80 yes
    ovpn_scenarios tcp 443 --tls-crypt tc.key wrong-tc.key 85 no
    begin udp-garbage noise 203.0.113.90 - "one UDP datagram of garbage"
    cli python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); s.sendto(b"GET / HTTP/1.0\r\n\r\n", (sys.argv[2], 1194))' 203.0.113.90 "$SRV4"; end
    begin tcp-close noise 203.0.113.91 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.91 "$SRV4" 443 || true; end
    stop_pidfile "$W/run/openvpn-udp6.pid"
    stop_pidfile "$W/run/openvpn-tcp-server.pid"
}
