#!/usr/bin/python3
"""A server that offers STARTTLS and then refuses it (NO) when spocd is configured with
tls = "starttls": spocd does not log in in clear (neither LOGIN nor AUTHENTICATE reaches the
server, which keeps listening in clear), exits 75 and says why, with the server's answer. (The
upgrade is done in connect_tls() before either way of logging in, password or OAuth 2.0.)"""

import spocdtest as st
from fake_imap import FakeImap


def test(check):
    good = st.make_message("pau.vidal@example.com", "No tengo red en la sala 2",
                           "El cable de red de la sala 2 no da conexión.\r\n")
    with st.Services(name="spocd-fault-starttls") as s:
        with FakeImap("starttls-refused", good) as fake:
            conf = s.write_config(name="starttls.conf", imap__tls="starttls", imap__port=fake.port)
            rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
            cmds = [c.split(" ", 1)[1].upper() if " " in c else c.upper() for c in fake.commands]
            print(f"    commands the server received: {cmds}")
            check.ok("STARTTLS" in cmds, "spocd asked for STARTTLS (the set-up works)", repr(cmds))
            check.eq(rc, 75, "STARTTLS refused: spocd --once exits 75")
            check.ok(not any(c.startswith(("LOGIN", "AUTHENTICATE", "SELECT", "UID ")) for c in cmds),
                     "no LOGIN or AUTHENTICATE reached the server, nor anything after it", repr(cmds))
            check.ok("STARTTLS failed" in err and "STARTTLS unavailable right now" in err,
                     "the error names STARTTLS and gives the server's answer", err)
            check.ok("refusing to log in in clear" in err, "and says it will not log in in clear", err)
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 0, "no ticket")


if __name__ == "__main__":
    st.main(test)
