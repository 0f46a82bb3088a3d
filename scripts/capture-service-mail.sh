# Sourced by capture-service-fixtures.sh: postfix with dovecot SASL, and
# dovecot's IMAP/POP3, both logging through syslog (mail facility).
# Clients: python's smtplib, imaplib, poplib.
capture_mail() {
    apt_install postfix dovecot-core dovecot-imapd dovecot-pop3d
    ensure_user
    service_begin mail
    printf 'mail\tpostfix %s, dovecot %s\n' "$(postconf -d -h mail_version)" "$(dovecot --version)" >>"$W/out/versions.tsv"
    local D=$W/dovecot P=$W/postfix
    mkdir -p "$D"/{run,state,mail} "$P"
    chown nobody:nogroup "$D/mail"
    printf '%s:{PLAIN}%s\n' "$USER_OK" "$PW_OK" >"$D/users"
    cat >"$D/dovecot.conf" <<DEOF
base_dir = $D/run
state_dir = $D/state
listen = $SRV4, $SRV6
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
log_path = syslog
syslog_facility = mail
first_valid_uid = 1
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/mail/%u
}
service auth {
  unix_listener $W/postfix-auth {
    mode = 0666
  }
}
DEOF
    srv dovecot -c "$D/dovecot.conf"
    wait_port "$SRV4" 143
    cp /etc/postfix/master.cf "$P/master.cf"
    cat >"$P/main.cf" <<PEOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.bt-test
mydomain = bt-test
mydestination = bt-test
inet_interfaces = $SRV4, $SRV6
inet_protocols = all
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_transport = discard:
default_transport = discard:
smtputf8_enable = no
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $W/postfix-auth
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_invalid_helo_hostname
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination, reject_rbl_client rbl.bt-test
PEOF
    postconf -c "$P" -F '*/*/chroot = n'
    mkdir -p "$P/spool" "$P/data"
    chown postfix "$P/data"
    srv postfix -c "$P" check
    srv postfix -c "$P" start
    wait_port "$SRV4" 25

    begin smtp-auth-bad attack 203.0.113.20 "$USER_OK" "SMTP AUTH PLAIN, wrong password for $USER_OK"
    expect_refused pyclient smtp-auth 203.0.113.20 "$SRV4" "$USER_OK" "$PW_BAD" PLAIN; end
    begin smtp-auth-bad-v6 attack 2001:db8:2::20 "$USER_OK" "SMTP AUTH LOGIN over IPv6, wrong password"
    expect_refused pyclient smtp-auth 2001:db8:2::20 "$SRV6" "$USER_OK" "$PW_BAD" LOGIN; end
    begin smtp-auth-unknown attack 203.0.113.21 "$INJECT" "SMTP AUTH PLAIN, injected user name"
    expect_refused pyclient smtp-auth 203.0.113.21 "$SRV4" "$INJECT" "$PW_BAD" PLAIN; end
    begin smtp-relay attack 203.0.113.22 - "RCPT to a foreign domain without AUTH; the sender carries an address"
    expect_refused pyclient smtp-rcpt 203.0.113.22 "$SRV4" "client.example" "x@[203.0.113.9]" "victim@remote.example"; end
    begin smtp-relay-v6 attack 2001:db8:2::22 - "RCPT to a foreign domain without AUTH, over IPv6"
    expect_refused pyclient smtp-rcpt 2001:db8:2::22 "$SRV6" "client.example" "a@client.example" "victim@remote.example"; end
    begin smtp-rbl attack 203.0.113.66 - "client listed on the test RBL sends to a local user"
    expect_refused pyclient smtp-rcpt 203.0.113.66 "$SRV4" "client.example" "a@client.example" "$USER_OK@bt-test"; end
    begin smtp-unknown-rcpt attack 203.0.113.23 - "RCPT to a local user that does not exist"
    expect_refused pyclient smtp-rcpt 203.0.113.23 "$SRV4" "client.example" "a@client.example" "nosuchuser@bt-test"; end
    begin smtp-bad-helo attack 203.0.113.24 - "invalid HELO name"
    expect_refused pyclient smtp-rcpt 203.0.113.24 "$SRV4" "bad..helo[203.0.113.9]" "a@client.example" "$USER_OK@bt-test"; end
    begin smtp-tcp-close noise 203.0.113.25 - "bare TCP connect, then close"
    pyclient tcp 203.0.113.25 "$SRV4" 25 || true; end
    begin smtp-auth-ok legit 192.0.2.20 "$USER_OK" "SMTP AUTH PLAIN, right password, sends a mail"
    expect_ok pyclient smtp-auth 192.0.2.20 "$SRV4" "$USER_OK" "$PW_OK" PLAIN; end

    begin imap-bad attack 203.0.113.30 "$USER_OK" "IMAP LOGIN, wrong password, 3 times in one connection"
    expect_refused pyclient imap 203.0.113.30 "$SRV4" "$USER_OK" "$PW_BAD" 3; end
    begin pop3-bad-v6 attack 2001:db8:2::30 "$USER_OK" "POP3 USER/PASS over IPv6, wrong password"
    expect_refused pyclient pop3 2001:db8:2::30 "$SRV6" "$USER_OK" "$PW_BAD"; end
    begin imap-unknown attack 203.0.113.31 oracle "IMAP LOGIN, user does not exist"
    expect_refused pyclient imap 203.0.113.31 "$SRV4" oracle "$PW_BAD"; end
    begin imap-inject attack 203.0.113.32 "$INJECT" "IMAP LOGIN, injected user name"
    expect_refused pyclient imap 203.0.113.32 "$SRV4" "$INJECT" "$PW_BAD"; end
    begin pop3-inject attack 203.0.113.33 "x>, method=PLAIN, rip=203.0.113.9, lip=$SRV4" "POP3, user name imitating dovecot's fields"
    expect_refused pyclient pop3 203.0.113.33 "$SRV4" "x>, method=PLAIN, rip=203.0.113.9, lip=$SRV4" "$PW_BAD"; end
    begin imap-tcp-close noise 203.0.113.34 - "bare TCP connect to IMAP, then close"
    pyclient tcp 203.0.113.34 "$SRV4" 143 || true; end
    begin imap-ok legit 192.0.2.30 "$USER_OK" "IMAP LOGIN, right password"
    expect_ok pyclient imap 192.0.2.30 "$SRV4" "$USER_OK" "$PW_OK"; end
    begin pop3-ok-v6 legit 2001:db8:2::41 "$USER_OK" "POP3 over IPv6, right password"
    expect_ok pyclient pop3 2001:db8:2::41 "$SRV6" "$USER_OK" "$PW_OK"; end

    srv postfix -c "$P" stop || true
    stop_pidfile "$D/run/master.pid"
}
