"""A deliberately misbehaving IMAP server for the tests of libetpan's known defects
(../shared/LIBRARY-DEFECTS.md): it hangs up in the middle of a literal, greets with PREAUTH on a
plain connection, lacks STARTTLS, or sends a literal far larger than the RFC822.SIZE it
announced, or answers STARTTLS with plain-text bytes after its OK (a response injection), or
takes fetch_delay seconds before it answers a body FETCH (a slow server). It
speaks just enough IMAP4rev1 for spocd's session and records every command it
receives, so a test can assert what was (not) sent."""

import socket
import threading
import time


class FakeImap:
    def __init__(self, scenario, message=b"", announced_size=None, literal=None, uidvalidity=4242,
                 delimiter="/", cert=None, fetch_delay=0):
        self.scenario = scenario
        self.fetch_delay = fetch_delay
        self.fetching = False  # a body FETCH arrived and is not answered yet
        self.cert = cert  # (certificate, key) files: STARTTLS really upgrades the connection
        self.delimiter = delimiter.encode()
        self.folders = set()
        self.uidvalidity = uidvalidity
        self.message = message
        self.announced_size = announced_size if announced_size is not None else len(message)
        self.literal = literal if literal is not None else message
        self.commands = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        self.conn = conn
        f = conn.makefile("rb")
        try:
            greeting = b"* PREAUTH fake server\r\n" if self.scenario == "preauth" else \
                b"* OK fake server ready\r\n"
            conn.sendall(greeting)
            while True:
                line = f.readline()
                if not line:
                    return
                self.commands.append(line.decode("latin-1").rstrip("\r\n"))
                tag, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
                cmd = rest.upper()
                if cmd.startswith("STARTTLS") and self.cert is not None:
                    tls, tls_f = self._starttls(conn, tag)
                    if tls is None:
                        return
                    conn, f = tls, tls_f
                    continue
                if not self._answer(conn, tag, cmd):
                    return
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _starttls(self, conn, tag):
        """Answers OK and upgrades to TLS; with scenario "starttls-inject" a forged untagged
        response rides in the same plain-text packet as the OK."""
        import ssl
        reply = tag.encode() + b" OK begin TLS now\r\n"
        if self.scenario == "starttls-inject":
            reply += b"* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGINDISABLED\r\n"
        conn.sendall(reply)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.cert)
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return None, None
        self.tls_up = True
        return tls, tls.makefile("rb")

    def _answer(self, conn, tag, cmd):
        def ok(untagged=b"", text=b"done"):
            conn.sendall(untagged + tag.encode() + b" OK " + text + b"\r\n")
            return True

        if cmd.startswith("CAPABILITY"):
            caps = b"IMAP4rev1 UIDPLUS" if self.scenario == "no-move" else b"IMAP4rev1 UIDPLUS MOVE"
            if self.scenario not in ("no-starttls",):
                caps += b" STARTTLS"
            return ok(b"* CAPABILITY " + caps + b"\r\n")
        if cmd.startswith("STARTTLS"):
            conn.sendall(tag.encode() + b" BAD not really\r\n")
            return False
        if cmd.startswith("LOGIN"):
            return ok(text=b"logged in")
        if cmd.startswith("LIST"):
            name = cmd.split(" ", 2)[2].strip().strip('"') if cmd.count(" ") >= 2 else ""
            if name == "":
                return ok(b'* LIST (\\Noselect) "' + self.delimiter + b'" ""\r\n')
            if self.scenario == "delimiter" and name not in self.folders:
                return ok()
            return ok(b'* LIST () "' + self.delimiter + b'" "' + name.encode() + b'"\r\n')
        if cmd.startswith("CREATE"):
            self.folders.add(cmd.split(" ", 1)[1].strip().strip('"'))
            return ok()
        if cmd.startswith("SELECT") or cmd.startswith("EXAMINE"):
            return ok(b"* 1 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 4242] ok\r\n"
                      b"* OK [UIDNEXT 2] ok\r\n* FLAGS (\\Seen \\Deleted)\r\n".replace(
                          b"4242", str(self.uidvalidity).encode()),
                      b"[READ-WRITE] selected")
        if cmd.startswith("UID SEARCH"):
            return ok(b"* SEARCH 1\r\n")
        if cmd.startswith("UID FETCH") and "RFC822.SIZE" in cmd:
            return ok(b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % self.announced_size)
        if cmd.startswith("UID FETCH") and "BODY.PEEK" in cmd:
            head = b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(self.literal)
            if self.fetch_delay:
                self.fetching = True
                time.sleep(self.fetch_delay)
                self.fetching = False
            if self.scenario == "eof-mid-literal":
                # Announce the literal, send a tenth of it, hang up.
                conn.sendall(head + self.literal[: len(self.literal) // 10])
                conn.shutdown(socket.SHUT_RDWR)
                return False
            conn.sendall(head)
            for i in range(0, len(self.literal), 65536):
                conn.sendall(self.literal[i:i + 65536])
            return ok(b")\r\n")
        if cmd.startswith("UID MOVE") or cmd.startswith("UID COPY") or \
                cmd.startswith("UID STORE") or cmd.startswith("UID EXPUNGE"):
            return ok()
        if cmd.startswith("LOGOUT"):
            conn.sendall(b"* BYE bye\r\n" + tag.encode() + b" OK bye\r\n")
            return False
        if cmd.startswith("NOOP"):
            return ok()
        conn.sendall(tag.encode() + b" BAD unknown command\r\n")
        return True
