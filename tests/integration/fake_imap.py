"""A deliberately misbehaving IMAP server for the tests of libetpan's known defects
(../shared/LIBRARY-DEFECTS.md): it hangs up in the middle of a literal, greets with PREAUTH on a
plain connection, lacks STARTTLS, or sends a literal far larger than the RFC822.SIZE it
announced, or answers STARTTLS with plain-text bytes after its OK (a response injection), or
takes fetch_delay seconds before it answers a body FETCH (a slow server). For the fault tests
(test_fault_*.py) it also refuses STARTTLS with a NO ("starttls-refused"), announces a literal
of huge_literal bytes and streams filler until the client hangs up ("huge-literal"), stops
sending in the middle of a literal ("stall-mid-literal"), or hangs up on the first UID MOVE
without answering it, having done the move or not (drop_at_move, move_done). It
speaks just enough IMAP4rev1 for spocd's session and records every command it
receives, so a test can assert what was (not) sent."""

import socket
import threading
import time


class FakeImap:
    def __init__(self, scenario, message=b"", announced_size=None, literal=None, uidvalidity=4242,
                 delimiter="/", cert=None, fetch_delay=0, huge_literal=4000000000,
                 drop_at_move=False, move_done=False):
        self.scenario = scenario
        self.huge_literal = huge_literal
        self.literal_bytes_sent = 0  # of the huge literal, before the client hung up
        self.drop_at_move = drop_at_move  # hang up on the first UID MOVE, unanswered
        self.move_done = move_done  # ... after having moved the message
        self.track_moves = drop_at_move  # a later session sees what was moved
        self.moved = False  # the message left the mailbox
        self.sessions = 0
        self.stalled_at = self.stall_closed_at = None
        self.stall_received = b""
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
        self.sessions += 1
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

    def _stall(self, conn, head):
        """The first session only: announces the literal, sends half of it, then nothing, the
        connection kept open until the client closes it (stall_closed_at, monotonic); what the
        client sends meanwhile is kept in stall_received."""
        conn.sendall(head + self.literal[: len(self.literal) // 2])
        self.stalled_at = time.monotonic()
        conn.settimeout(0.1)
        while not self._stop:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self.stall_closed_at = time.monotonic()
                return False
            self.stall_received += data
        return False

    def _huge_literal(self, conn):
        """Announces a literal of huge_literal bytes and streams filler (at most 1 GiB, so a test
        without a cap still ends) until the client hangs up; counts what went out."""
        conn.sendall(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % self.huge_literal)
        chunk = b"X" * 65535 + b"\n"
        try:
            while self.literal_bytes_sent < (1 << 30) and not self._stop:
                conn.sendall(chunk)
                self.literal_bytes_sent += len(chunk)
        except OSError:
            pass
        return False

    def _answer(self, conn, tag, cmd):
        def ok(untagged=b"", text=b"done"):
            conn.sendall(untagged + tag.encode() + b" OK " + text + b"\r\n")
            return True

        if cmd.startswith("CAPABILITY"):
            caps = b"IMAP4rev1 UIDPLUS" if self.scenario == "no-move" else b"IMAP4rev1 UIDPLUS MOVE"
            if self.scenario not in ("no-starttls",):
                caps += b" STARTTLS"
            return ok(b"* CAPABILITY " + caps + b"\r\n")
        if cmd.startswith("STARTTLS") and self.scenario == "starttls-refused":
            conn.sendall(tag.encode() + b" NO STARTTLS unavailable right now\r\n")
            return True  # and listens on, in clear: whatever comes next is recorded
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
            exists = b"0" if self.moved else b"1"
            return ok(b"* " + exists + b" EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 4242] ok\r\n"
                      b"* OK [UIDNEXT 2] ok\r\n* FLAGS (\\Seen \\Deleted)\r\n".replace(
                          b"4242", str(self.uidvalidity).encode()),
                      b"[READ-WRITE] selected")
        if cmd.startswith("UID SEARCH"):
            return ok(b"* SEARCH\r\n" if self.moved else b"* SEARCH 1\r\n")
        if cmd.startswith("UID FETCH") and "RFC822.SIZE" in cmd:
            return ok(b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % self.announced_size)
        if cmd.startswith("UID FETCH") and "BODY.PEEK" in cmd:
            head = b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(self.literal)
            if self.fetch_delay:
                self.fetching = True
                time.sleep(self.fetch_delay)
                self.fetching = False
            if self.scenario == "huge-literal":
                return self._huge_literal(conn)
            if self.scenario == "stall-mid-literal" and self.stalled_at is None:
                return self._stall(conn, head)
            if self.scenario == "eof-mid-literal":
                # Announce the literal, send a tenth of it, hang up.
                conn.sendall(head + self.literal[: len(self.literal) // 10])
                conn.shutdown(socket.SHUT_RDWR)
                return False
            conn.sendall(head)
            for i in range(0, len(self.literal), 65536):
                conn.sendall(self.literal[i:i + 65536])
            return ok(b")\r\n")
        if cmd.startswith("UID MOVE") and self.drop_at_move:
            self.drop_at_move = False
            self.moved = self.move_done
            conn.shutdown(socket.SHUT_RDWR)
            return False
        if cmd.startswith("UID MOVE") and self.track_moves:
            self.moved = True
            return ok()
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
