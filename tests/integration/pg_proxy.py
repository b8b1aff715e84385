"""A TCP proxy between spocd and the test's PostgreSQL that reads the frontend/backend protocol
going by and misbehaves once (or `times` times), at a chosen point of an ingest transaction (one that writes
`ingest_log`, the claim of a message):

  drop-before-commit  the COMMIT of such a transaction is not forwarded: both connections are
                      closed at once (the server rolls the transaction back);
  drop-after-commit   the COMMIT is forwarded and the server's CommandComplete "COMMIT" is not:
                      both connections are closed when it comes (the transaction is committed,
                      and the client cannot know);
  stall               from the first statement of such a transaction on, nothing more is
                      forwarded either way, and the connections stay open until the client
                      closes its own (a server that stops answering mid-statement).

spocd sends statements through the extended protocol (Parse/Bind/Execute/Sync, prepared ones by
name, COMMIT unnamed), which the proxy follows: it keeps each connection's prepared statements'
texts to know what a Bind runs. After its one fault it forwards everything as it is.

    with PgProxy(s.pg_port, "drop-after-commit") as proxy:
        conf = s.write_config(database__conninfo=proxy.conninfo)
        ...
        proxy.fired          # monotonic time of the first fault, or None; proxy.faults: how many
        proxy.client_closed  # monotonic time the client closed a stalled connection, or None
"""

import socket
import struct
import threading
import time

INGEST_MARK = b"INSERT INTO ingest_log"
SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


class PgProxy:
    def __init__(self, pg_port, mode, times=1):
        assert mode in ("drop-before-commit", "drop-after-commit", "stall")
        self.pg_port = pg_port
        self.mode = mode
        self.times = times        # faults to make before forwarding everything
        self.faults = 0
        self.fired = None
        self.client_closed = None
        self.connections = 0
        self.commits = 0          # COMMITs forwarded
        self._lock = threading.Lock()
        self._socks = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.conninfo = f"host=127.0.0.1 port={self.port} dbname=spocd user=postgres sslmode=disable gssencmode=disable"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self._stop = True
        for s in [self.listener] + self._socks:
            try:
                s.close()
            except OSError:
                pass

    def _take_fault(self):
        """True for the first `times` callers: each is one to misbehave."""
        with self._lock:
            if self.faults >= self.times:
                return False
            self.faults += 1
            if self.fired is None:
                self.fired = time.monotonic()
            return True

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.pg_port))
            self._socks += [client, server]
            self.connections += 1
            Connection(self, client, server).start()


class Connection:
    """One client's connection: a thread per direction, sharing what they learn."""

    def __init__(self, proxy, client, server):
        self.proxy = proxy
        self.client = client
        self.server = server
        self.statements = {}      # prepared statement name -> text
        self.in_ingest = False    # this transaction wrote ingest_log
        self.commit_sent = False  # a COMMIT of an ingest transaction went to the server
        self.drop_commit_reply = False
        self.stalled = False

    def start(self):
        threading.Thread(target=self._client_to_server, daemon=True).start()
        threading.Thread(target=self._server_to_client, daemon=True).start()

    def _close(self):
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _stall(self):
        """Forward nothing more; wait for the client to close, then close the server side."""
        self.stalled = True
        try:
            while self.client.recv(65536):
                pass
        except OSError:
            pass
        if self.proxy.client_closed is None:
            self.proxy.client_closed = time.monotonic()
        self._close()

    def _client_to_server(self):
        try:
            # the start-up packets have no type byte; an SSL or GSS request comes first
            while True:
                head = _recv_exact(self.client, 8)
                length, code = struct.unpack("!ii", head)
                body = _recv_exact(self.client, length - 8)
                self.server.sendall(head + body)
                if code not in (SSL_REQUEST, GSS_REQUEST):
                    break
            while True:
                head = _recv_exact(self.client, 5)
                kind, length = head[:1], struct.unpack("!i", head[1:])[0]
                body = _recv_exact(self.client, length - 4)
                if self.stalled:
                    return
                if not self._frontend(kind, body, head):
                    return
        except (ConnectionError, OSError):
            self._close()

    def _frontend(self, kind, body, head):
        """Looks at one client message and forwards it, or misbehaves; False: stop reading."""
        text = None
        # what runs: an unnamed statement when it is parsed (its Bind follows at once), a named
        # one each time it is bound
        if kind == b"P":  # Parse: name, query
            name, query = body.split(b"\0")[:2]
            self.statements[name] = query
            text = query if name == b"" else None
        elif kind == b"B":  # Bind: portal, statement
            name = body.split(b"\0")[1]
            text = self.statements.get(name, b"") if name != b"" else None
        elif kind == b"Q":
            text = body.rstrip(b"\0")
        if text is not None:
            stripped = text.strip().upper()
            if INGEST_MARK in text:
                if self.proxy.mode == "stall" and self.proxy._take_fault():
                    self._stall()
                    return False
                self.in_ingest = True
            elif stripped in (b"COMMIT", b"ROLLBACK"):
                if stripped == b"COMMIT" and self.in_ingest:
                    if self.proxy.mode == "drop-before-commit" and self.proxy._take_fault():
                        self._close()
                        return False
                    if self.proxy.mode == "drop-after-commit" and self.proxy.faults < self.proxy.times:
                        self.drop_commit_reply = True
                    self.proxy.commits += 1
                self.in_ingest = False
        self.server.sendall(head + body)
        return True

    def _server_to_client(self):
        try:
            first = _recv_exact(self.server, 1)  # the answer to an SSL request, or a message
            pending = first
            while True:
                if pending in (b"N", b"S", b"G"):
                    self.client.sendall(pending)
                    pending = b""
                head = pending + _recv_exact(self.server, 5 - len(pending))
                pending = b""
                kind, length = head[:1], struct.unpack("!i", head[1:])[0]
                body = _recv_exact(self.server, length - 4)
                if self.stalled:
                    return
                if (kind == b"C" and body.rstrip(b"\0") == b"COMMIT" and self.drop_commit_reply
                        and self.proxy._take_fault()):
                    self._close()
                    return
                self.client.sendall(head + body)
        except (ConnectionError, OSError):
            self._close()
