#!/usr/bin/python3
"""spocctl agent add|list|disable against the real database: add, update and re-enable by
address (case-insensitive), list active or all (human table and --json), disable keeps the row
for the audit trail, and bad input is refused with exit 2 before touching the database."""

import json

import spocdtest as st


def test(check):
    with st.Services(name="spocd-agents", smtp=False) as s:
        rc, out, err = s.run_spocd("--migrate")
        check.eq(rc, 0, "spocd --migrate")
        rc, out, err = s.run_spocctl("agent", "list")
        check.ok(rc == 0 and b"No agents yet" in out, "an empty list says so", out.decode())
        rc, out, err = s.run_spocctl("agent", "add", "Ana.Perez@Desk.Test", "--name", "Ana Pérez", "--team", "Redes")
        check.ok(rc == 0 and b"added" in out, "agent add", out.decode())
        rc, out, err = s.run_spocctl("agent", "add", "luis@desk.test", "--name", "Luis")
        check.eq(rc, 0, "a second agent")
        check.eq(s.sql("SELECT address, name, team, active FROM agents ORDER BY address"),
                 [("ana.perez@desk.test", "Ana Pérez", "Redes", True), ("luis@desk.test", "Luis", "", True)],
                 "stored lower case, with name and team")
        rc, out, err = s.run_spocctl("agent", "list")
        check.ok(rc == 0 and b"ana.perez@desk.test" in out and "Ana Pérez".encode() in out and b"Redes" in out,
                 "the human list shows address, name and team", out.decode())

        rc, out, err = s.run_spocctl("agent", "disable", "ANA.PEREZ@desk.test")
        check.ok(rc == 0 and b"disabled" in out, "agent disable, any case", out.decode())
        rc, out, err = s.run_spocctl("--json", "agent", "add", "o\\brien@desk.test")
        check.eq((rc, json.loads(out)), (0, {"address": "o\\brien@desk.test", "created": True}),
                 "agent add --json escapes what the address holds")
        s.sql("DELETE FROM agents WHERE address = 'o\\brien@desk.test'")
        rc, out, err = s.run_spocctl("--json", "agent", "list")
        check.eq([a["address"] for a in json.loads(out)], ["luis@desk.test"], "disabled agents leave the list")
        rc, out, err = s.run_spocctl("agent", "list", "--all", "--json")
        check.eq([(a["address"], a["active"]) for a in json.loads(out)],
                 [("ana.perez@desk.test", False), ("luis@desk.test", True)], "--all shows them, inactive")
        rc, out, err = s.run_spocctl("agent", "add", "ana.perez@desk.test", "--team", "Sistemas")
        check.ok(rc == 0 and b"updated" in out, "adding again updates and re-enables", out.decode())
        check.eq(s.sql("SELECT name, team, active FROM agents WHERE address = 'ana.perez@desk.test'"),
                 [("Ana Pérez", "Sistemas", True)], "the name is kept, the team changed, active again")

        check.eq(s.run_spocctl("agent", "disable", "nobody@desk.test")[0], 1, "disabling an unknown agent exits 1")
        check.eq(s.run_spocctl("agent", "add", "not-an-address")[0], 2, "a bad address exits 2")
        check.eq(s.run_spocctl("agent", "add")[0], 2, "a missing address exits 2")
        check.eq(s.run_spocctl("agent", "fire", "luis@desk.test")[0], 2, "an unknown subcommand exits 2")
        check.eq(s.sql_value("SELECT count(*) FROM agents"), 2, "nothing else was written")


if __name__ == "__main__":
    st.main(test)
