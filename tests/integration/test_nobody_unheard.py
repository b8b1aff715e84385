#!/usr/bin/python3
"""Nobody unheard. Through the real daemon:
  - a new ticket is announced to the desk: with notify.new_ticket = "team" and no team, to
    desk.triage_address; with a team mailbox, to that mailbox; with "off", to nobody;
  - an agent told a ticket is theirs whoever assigns it: `spocctl ticket set`, SQL, another
    agent's #assign; not an agent who assigns it to themselves;
  - a requester's reply on a ticket nobody has and no team owns reaches the triage address, and
    without one every active agent;
  - an agent's first public reply takes a new ticket to in-progress and meets the first
    response; the requester gets one mail, the answer."""

import email.utils

import spocdtest as st


def to(s, addr, kind=None):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr
            and (kind is None or kind in str(m["Subject"]) or True)]


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def test(check):
    with st.Services(name="spocd-unheard") as s:
        desk = s.config_tree()["desk"]
        s.conf = s.write_config(desk={**desk, "triage_address": "triage@desk.test"},
                                notify={"new_ticket": "team"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        for a, n in (("ana@desk.test", "Ana"), ("luis@desk.test", "Luis")):
            check.eq(s.run_spocctl("agent", "add", a, "--name", n)[0], 0, f"agent {a}")

        s.append(st.make_message("marta@example.com", "La impresora no imprime", "No imprime nada.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a new ticket")
        notes = to(s, "triage@desk.test")
        check.eq(len(notes), 1, "no team: the new ticket is announced to desk.triage_address")
        check.ok(notes and "INC-000001" in body(notes[0]) and "No imprime nada." in body(notes[0])
                 and "marta@example.com" in body(notes[0]),
                 "with the number, the requester and what they wrote", notes and body(notes[0]))
        check.eq(len(to(s, "ana@desk.test")) + len(to(s, "luis@desk.test")), 0, "and to no agent")

        # assignment by spocctl: Ana is told, by whom
        check.eq(s.run_spocctl("ticket", "set", "INC-000001", "assignee", "ana@desk.test")[0], 0,
                 "spocctl ticket set assignee")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        got = to(s, "ana@desk.test")
        check.ok(len(got) == 1 and "le ha asignado INC-000001" in body(got[0]) and "No imprime nada." in body(got[0]),
                 "the assignee is told, with the ticket's text", got and body(got[0]))
        # by SQL: Luis is told
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'luis@desk.test')")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        check.eq(len(to(s, "luis@desk.test")), 1, "an assignment made in SQL is told too")
        notice = to(s, "luis@desk.test")[0]
        # Luis assigns it to himself again through Ana? No: Luis answers with #assign ana (tells Ana),
        # and his first public answer takes the ticket to in-progress.
        token = email.utils.parseaddr(str(notice["Reply-To"]))[1]
        marta_before = len(to(s, "marta@example.com"))
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "new", "still new")
        s.append(st.make_message("luis@desk.test", "Re: " + str(notice["Subject"]),
                                 "#assign ana\r\n\r\nLe pasamos el caso a Ana, que está en su planta.\r\n",
                                 to=token, in_reply_to=notice["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "an agent answers and assigns")
        check.eq(s.sql("SELECT status, first_response_at IS NOT NULL FROM tickets WHERE id = 1"),
                 [("in-progress", True)], "an agent's first public answer: in progress, first response met")
        marta = to(s, "marta@example.com")[marta_before:]
        check.ok(len(marta) == 1 and "Le pasamos el caso" in body(marta[0]),
                 "the requester gets one mail, the answer", [body(m) for m in marta])
        check.eq(len(to(s, "ana@desk.test")), 2, "#assign by another agent tells the assignee")

        # Ana assigns it to herself: nobody told
        s.sql("UPDATE tickets SET assignee_id = NULL")
        s.sql("BEGIN; SELECT set_config('spocd.actor', 'ana@desk.test', true);"
              " UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test'); COMMIT")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        check.eq(len(to(s, "ana@desk.test")), 2, "an agent who takes a ticket is not told of it")

        # a reply on a ticket nobody has: the triage address
        s.sql("UPDATE tickets SET assignee_id = NULL")
        ack = to(s, "marta@example.com")[0]
        triage_before = len(to(s, "triage@desk.test"))
        s.append(st.make_message("marta@example.com", "Re: " + str(ack["Subject"]), "Se me olvidó: es la HP.\r\n",
                                 in_reply_to=ack["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "the requester adds something")
        check.eq(len(to(s, "triage@desk.test")) - triage_before, 1, "nobody has it: the triage address hears")

        # without a triage address: every active agent; a team mailbox for new tickets
        s.conf = s.write_config(name="noteam.conf", notify={"new_ticket": "soporte@desk.test"})
        before = {a: len(to(s, a)) for a in ("ana@desk.test", "luis@desk.test", "soporte@desk.test")}
        s.append(st.make_message("marta@example.com", "Re: " + str(ack["Subject"]), "Y la de la planta 2.\r\n",
                                 in_reply_to=ack["Message-ID"]))
        s.append(st.make_message("pablo@example.com", "Necesito una licencia", "De Visio, por favor.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a reply and a new ticket")
        after = {a: len(to(s, a)) - before[a] for a in before}
        check.eq(after, {"ana@desk.test": 1, "luis@desk.test": 1, "soporte@desk.test": 1},
                 "no triage address: every agent hears of the reply; the new ticket goes to the mailbox")

        s.conf = s.write_config(name="off.conf", notify={"new_ticket": "off"})
        sent = len(s.captured())
        s.append(st.make_message("rosa@example.com", "Otra cosa", "Nada urgente.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a new ticket with notify.new_ticket = off")
        check.eq(len(s.captured()) - sent, 1, "only the acknowledgement")


if __name__ == "__main__":
    st.main(test)
