#!/usr/bin/env python3
"""Real protocol clients for scripts/capture-service-fixtures.sh.

Each subcommand makes one or more real connections from a chosen source
address (the scenario's client address) and prints what happened on the
client side, so the capture log shows the ground truth next to the server's
lines. Exit status: 0 when the server said what the scenario expected
(login accepted / refused), 1 otherwise; the capture script checks it.

  smtp-auth  SRC SRV USER PASSWORD [MECH [FROM]] AUTH against postfix/exim
  smtp-rcpt  SRC SRV HELO FROM TO               MAIL/RCPT without AUTH
  smtp-send  SRC SRV HELO FROM TO               a whole message without AUTH
  smtp-lines SRC SRV burst|step LINE...         raw commands after the greeting
  imap       SRC SRV USER PASSWORD              LOGIN against dovecot
  pop3       SRC SRV USER PASSWORD              USER/PASS against dovecot
  ftp        SRC SRV USER PASSWORD [TRIES]      USER/PASS, TRIES times
  tcp        SRC SRV PORT [DATA]                connect, send DATA, hang up
Arguments USER, PASSWORD may hold any text, injection attempts included.
"""
import ftplib
import imaplib
import poplib
import smtplib
import socket
import sys

TIMEOUT = 10


def bound(src, srv, port):
    fam = socket.AF_INET6 if ":" in srv else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.bind((src, 0))
    sock.connect((srv, port))
    return sock


class BoundIMAP(imaplib.IMAP4):
    def __init__(self, src, srv):
        self._src = src
        super().__init__(srv, 143, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return bound(self._src, self.host, self.port)


class BoundPOP3(poplib.POP3):
    def __init__(self, src, srv):
        self._src = src
        super().__init__(srv, 110, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return bound(self._src, self.host, self.port)


def smtp_auth(src, srv, user, password, mech="PLAIN", sender=None):
    s = smtplib.SMTP(srv, 25, timeout=TIMEOUT, source_address=(src, 0),
                     local_hostname="client.example")
    s.ehlo()
    auth = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mech.upper()]
    s.user, s.password = user, password
    try:
        code, msg = s.auth(mech.upper(), auth, initial_response_ok=True)
        print("smtp auth accepted:", code, msg)
        # smtpd logs the SASL login ("client=..., sasl_username=...") only
        # once a message is queued.
        s.sendmail(sender or user + "@bt-test", [user + "@bt-test"], "Subject: t\r\n\r\nhi\r\n")
        ok = True
    except smtplib.SMTPAuthenticationError as e:
        print("smtp auth refused:", e.smtp_code, e.smtp_error)
        ok = False
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    return ok


def smtp_rcpt(src, srv, helo, sender, rcpt):
    s = smtplib.SMTP(srv, 25, timeout=TIMEOUT, source_address=(src, 0),
                     local_hostname=helo)
    s.ehlo()
    code, msg = s.mail(sender)
    print("MAIL:", code, msg)
    code, msg = s.rcpt(rcpt)
    print("RCPT:", code, msg)
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    return code < 300


def smtp_send(src, srv, helo, sender, rcpt):
    """A whole message without AUTH: the arrival line names the sender."""
    s = smtplib.SMTP(srv, 25, timeout=TIMEOUT, source_address=(src, 0),
                     local_hostname=helo)
    try:
        s.sendmail(sender, [rcpt], "Subject: t\r\n\r\nhi\r\n")
        print("message accepted")
        ok = True
    except smtplib.SMTPException as e:
        print("message refused:", e)
        ok = False
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    return ok


def smtp_lines(src, srv, how, *lines):
    """Reads the greeting, then sends LINES: all in one write ("burst",
    which breaks SMTP's command synchronisation) or one by one, reading a
    reply to each ("step"). Returns False: these are attacks."""
    sock = bound(src, srv, 25)
    f = sock.makefile("rb")
    print("greeting:", f.readline().decode(errors="replace").rstrip())
    try:
        if how == "burst":
            sock.sendall("".join(l + "\r\n" for l in lines).encode())
            for _ in lines:
                reply = f.readline()
                if not reply:
                    break
                print("reply:", reply.decode(errors="replace").rstrip())
        else:
            for l in lines:
                sock.sendall(l.encode() + b"\r\n")
                while True:
                    reply = f.readline().decode(errors="replace")
                    print("reply:", reply.rstrip())
                    if not reply or reply[3:4] != "-":
                        break
                if not reply:
                    break
    except OSError as e:
        print("connection ended:", e)
    sock.close()
    return False


def imap(src, srv, user, password, tries="1"):
    # imaplib quotes the password but not the user name: a name with spaces
    # must be sent as an IMAP quoted string.
    user = '"' + user.replace("\\", "\\\\").replace('"', '\\"') + '"'
    c = BoundIMAP(src, srv)
    try:
        for _ in range(int(tries) - 1):
            try:
                c.login(user, password)
            except imaplib.IMAP4.error as e:
                print("imap login refused:", e)
        c.login(user, password)
        print("imap login accepted")
        c.logout()
        return True
    except imaplib.IMAP4.error as e:
        print("imap login refused:", e)
        try:
            c.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
        return False


def pop3(src, srv, user, password):
    c = BoundPOP3(src, srv)
    try:
        c.user(user)
        c.pass_(password)
        print("pop3 login accepted")
        c.quit()
        return True
    except poplib.error_proto as e:
        print("pop3 login refused:", e)
        try:
            c.quit()
        except (poplib.error_proto, OSError):
            pass
        return False


def ftp(src, srv, user, password, tries="1"):
    ok = False
    c = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
    c.connect(srv, 21)
    for _ in range(int(tries)):
        try:
            c.login(user, password)
            print("ftp login accepted")
            ok = True
            break
        except ftplib.error_perm as e:
            print("ftp login refused:", e)
        except (EOFError, OSError, ftplib.error_temp) as e:
            print("ftp connection ended:", e)
            return False
    try:
        c.quit()
    except (ftplib.Error, EOFError, OSError):
        pass
    return ok


def tcp(src, srv, port, data=""):
    """Connects, sends DATA (if any), waits a little and hangs up."""
    sock = bound(src, srv, int(port))
    if data:
        sock.sendall(data.encode() + b"\r\n")
    try:
        sock.recv(4096)
    except OSError:
        pass
    sock.close()
    return False


COMMANDS = {"tcp": tcp, "smtp-auth": smtp_auth, "smtp-rcpt": smtp_rcpt,
            "smtp-send": smtp_send, "smtp-lines": smtp_lines, "imap": imap,
            "pop3": pop3, "ftp": ftp}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        result = COMMANDS[sys.argv[1]](*sys.argv[2:])
    except (OSError, smtplib.SMTPException, EOFError) as e:
        print("client error:", type(e).__name__, e)
        result = False
    sys.exit(0 if result else 1)
