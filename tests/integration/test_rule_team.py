#!/usr/bin/python3
"""A rule sets the team of the tickets it decides, through the real daemon: with
notify.new_ticket = "team", a new ticket a rule gives to "erp" is announced to the erp agents
alone, not to another team's agent nor to the triage address; a ticket no rule gives a team goes
to the triage address as before. A rule naming a team no active agent is in is said at start,
and its tickets still reach the triage address (nobody unheard). A team that cannot be a team
name is refused with the setting named, and nothing is read. The team comes from the
configuration only: a mail naming a team in a header or its subject does not choose one."""

import email.utils

import spocdtest as st

RULES = """rules:
{
  kind = (
    { name = "ERP"; pattern = "\\\\bSAP\\\\b"; kind = "incident"; team = "erp"; },
    { name = "nóminas"; pattern = "n[oó]mina"; kind = "request"; team = "rrhh"; }
  );
};
"""


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def test(check):
    with st.Services(name="spocd-rule-team") as s:
        tree = s.config_tree()
        tree["desk"]["triage_address"] = "triage@desk.test"
        tree["notify"] = {"new_ticket": "team"}
        s.conf = s.write_config(text=st.render_conf(tree) + RULES)
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        for addr, name, team in (("ana@desk.test", "Ana", "erp"), ("luis@desk.test", "Luis", "redes")):
            check.eq(s.run_spocctl("agent", "add", addr, "--name", name, "--team", team)[0], 0,
                     f"agent {addr} in team {team}")

        s.append(st.make_message("marta@example.com", "SAP no carga", "Desde las 9 no carga el SAP.\r\n",
                                 extra_headers=[("X-Team", "redes")]))
        rc, _, err = s.run_spocd("--once")
        check.eq(rc, 0, "a mail the ERP rule decides")
        check.eq(s.sql("SELECT team, kind_rule FROM tickets WHERE id = 1"), [("erp", 'ERP ("SAP" in the subject)')],
                 "the ticket is the erp team's, by the rule")
        told = sent_to(s, "ana@desk.test")
        check.eq(len(told), 1, "the erp agent hears of the new ticket")
        check.ok(told and "Desde las 9 no carga el SAP." in body(told[0]), "with what was written",
                 told and body(told[0]))
        check.ok(told and st.ids_in(told[0]["In-Reply-To"]) == st.ids_in([s.sql_value(
            "SELECT message_id FROM messages WHERE ticket_id = 1 AND direction = 'in'")]),
                 "answering the requester's mail, which agents may see",
                 told and (told[0]["In-Reply-To"], told[0]["References"]))
        check.eq(sent_to(s, "luis@desk.test"), [], "an agent of another team does not")
        check.eq(sent_to(s, "triage@desk.test"), [], "nor the triage address")
        check.ok('rule "nóminas": team "rrhh": no active agent is in it' in err,
                 "the rule whose team has no agent is named at start", err)
        check.ok('team "erp"' not in err, "the staffed team is not", err)

        s.append(st.make_message("pablo@example.com", "La impresora no imprime [redes]",
                                 "Sale en blanco.\r\n"))
        s.append(st.make_message("eva@example.com", "Duda con la nómina de marzo",
                                 "No me cuadra el IRPF.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a mail no team rule decides, and one for an empty team")
        check.eq(s.sql("SELECT requester, team FROM tickets WHERE id > 1 ORDER BY id"),
                 [("pablo@example.com", ""), ("eva@example.com", "rrhh")],
                 "no team from the subject; the rule's team even with nobody in it")
        triage = [body(m) for m in sent_to(s, "triage@desk.test")]
        check.eq(len(triage), 2, "both reach the triage address")
        check.ok(any("Sale en blanco." in b for b in triage) and any("IRPF" in b for b in triage),
                 "each with its text", triage)
        for m in sent_to(s, "triage@desk.test"):
            first = s.sql_value("SELECT m.message_id FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                                " WHERE m.direction = 'in' AND %s LIKE '%%' || t.display || '%%'",
                                (str(m["Subject"]),))
            check.eq(st.ids_in(m["References"]), st.ids_in([first]),
                     "the triage mailbox's notice threads on that ticket's mail alone")
        check.eq(len(sent_to(s, "ana@desk.test")) + len(sent_to(s, "luis@desk.test")), 1,
                 "and no agent besides the first notice")

        bad = s.write_config(name="bad.conf", text=st.render_conf(tree) + RULES.replace(
            'team = "rrhh"', 'team = " rrhh"'))
        rc, _, err = s.run_spocd("--check-config", config=bad)
        check.eq(rc, 1, "a team name with a blank at its start is refused")
        check.ok("rules.kind.[1].team: \" rrhh\" is not a team name" in err, "naming the setting", err)


if __name__ == "__main__":
    st.main(test)
