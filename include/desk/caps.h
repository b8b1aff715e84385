/* What the desk may send, and to whom. Every notification passes here when the notifier claims
 * it, whoever queued it (spocd, the database's status trigger, the SLA watch): the rate limits
 * count what was already sent to the same recipient (by a key that sees through case, +tags and
 * Gmail's dots), on the same ticket and, for automatic mail, to everyone in the last hour; a row
 * over a limit is held with the reason until the oldest mail it counted leaves the window. A
 * recipient no desk should write to (an address literal, a single-label or localhost domain, the
 * desk's own address, a domain the operator refuses) is refused with the reason. Two auto-
 * responders can never ping-pong, a flood of forged senders cannot turn the desk into a spam
 * cannon, and one victim's +1, +2, ... addresses are one victim. Pure: no I/O, no clock, no
 * database. */
#ifndef SPOC_CAPS_H
#define SPOC_CAPS_H

#include <glib.h>
#include <stdint.h>

/* The kinds of notification (the outbox's kind column), each with a budget of its own. */
enum caps_kind {
	CAPS_ACK,
	CAPS_STATUS,
	CAPS_FOLLOW_UP,
	CAPS_COMMAND_RESULT,
	CAPS_COMMAND_UNPROVEN,
	CAPS_SLA_WARNING,
	CAPS_SLA_BREACH,
	CAPS_NEW_TICKET, /* the desk told of a new ticket */
	CAPS_ASSIGNED,	 /* an agent told a ticket is theirs */
	CAPS_UNREACHABLE, /* the desk told a requester's address bounces */
	CAPS_MY_TICKETS,	/* a requester's list of their open tickets */
	CAPS_REQUESTER_RESULT, /* what became of a requester's #close */
	CAPS_AGENT_REPLY, /* a person's words relayed: not automatic */
	CAPS_KINDS,
};
/* Their names as in the outbox and in rate_limits.<kind>, by enum caps_kind. */
extern const char *const caps_kind_names[CAPS_KINDS];
/* The enum caps_kind of name, or -1 when it is none of them. */
int caps_kind_of(const char *name);
/* TRUE for the automatic mail to people outside the desk, which the shared budgets and the
 * hourly cap count: ack, status and the answers to a requester's commands (my-tickets,
 * requester-result; an unknown kind counts too). The notices to the desk's own
 * agents and a person's relayed reply have their own kind's budget only. */
gboolean caps_automatic(const char *kind);

/* The windows a budget counts in. */
enum caps_window {
	CAPS_RECIPIENT_HOUR, /* to one recipient key in the last hour */
	CAPS_RECIPIENT_DAY,  /* to one recipient key in the last day */
	CAPS_TICKET_DAY,     /* on one ticket, every recipient, in the last day */
	CAPS_WINDOWS,
};
/* "per_recipient_hour", "per_recipient_day", "per_ticket_day", by enum caps_window. */
extern const char *const caps_window_names[CAPS_WINDOWS];

/* How many mails may be sent in each window; 0: no limit. */
struct caps_budget {
	int per[CAPS_WINDOWS];
};

struct caps_conf {
	/* rate_limits.per_recipient_hour and friends: every automatic kind counted together */
	struct caps_budget automatic;
	/* rate_limits.<kind>.*: that kind counted alone, on top of the shared budget */
	struct caps_budget kinds[CAPS_KINDS];
	/* rate_limits.automatic_per_hour: all automatic mail to every recipient; 0: no limit */
	int automatic_per_hour;
	/* bounce.suppress_days: after a hard bounce, no automatic mail to that address for this
	 * many days; 0: none held back */
	int suppress_days;
};

/* Mails sent in a window, and when the oldest of them was sent (Unix seconds, 0: none). */
struct caps_count {
	int64_t n;
	int64_t oldest;
};

/* What the store counted for one row: sent rows only, by sent_at. */
struct caps_facts {
	struct caps_count automatic[CAPS_WINDOWS]; /* automatic kinds (agent-reply not) */
	struct caps_count kind[CAPS_WINDOWS];	   /* the row's own kind */
	struct caps_count automatic_hour;	   /* automatic mail to everyone, last hour */
	/* the recipient's address bounced for good at this time (Unix seconds; 0: it does not),
	 * and the reason the bounce gave */
	int64_t bouncing_since;
	const char *bounce_reason;
};

/* The row as the limits see it. */
struct caps_row {
	const char *kind;
	/* seconds since it was queued, or since an operator last pushed it */
	int64_t age_s;
	/* an operator pushed it (spocctl outbox retry): it goes whatever the limits say */
	gboolean waived;
	/* it is held already: past max_age_s it is given up even when a limit would let it go */
	gboolean held;
};

enum caps_action {
	CAPS_SEND,
	CAPS_HOLD, /* keep it until release, then ask again */
	CAPS_FAIL, /* held too long (smtp.max_retry_age): give it up */
};

struct caps_verdict {
	enum caps_action action;
	int64_t release; /* CAPS_HOLD: when to ask again, Unix seconds */
	/* CAPS_HOLD, CAPS_FAIL: the limit and its value first, then what was counted:
	 * "rate_limits.per_recipient_hour = 3: already 3 automatic mails to this address in the
	 * last hour" */
	char reason[300];
};

/* Whether row may be sent now, on the facts counted at now (the database's clock, Unix
 * seconds). A row over any of its limits is held until the oldest mail counted by the limit
 * that frees last leaves its window (asked again then: a later mail may still hold it), unless
 * it would then be older than max_age_s (smtp.max_retry_age): then it fails, and so does a held
 * row that is already older. The reason names the binding limit. */
void caps_decide(const struct caps_conf *c, const struct caps_row *row, const struct caps_facts *f,
		 int64_t now, int max_age_s, struct caps_verdict *v);

/* The key addr is counted by: lower case, a "+tag" cut from the local part, and for gmail.com
 * and googlemail.com (the same mailboxes) the dots of the local part removed and the domain read
 * as gmail.com. sql/015_caps.sql's outbox_recipient_key() computes the same. Caller frees. */
char *caps_recipient_key(const char *addr);

/* Why the desk must not write to addr: an address literal ("[10.0.0.5]") or a numeric domain, a
 * localhost domain, a single-label domain, one of own (the desk's own addresses, NULL-terminated,
 * compared by caps_recipient_key() so their +tag forms count too), or a domain that is or is
 * under one of refused_domains (smtp.refused_domains, NULL-terminated, lower case). NULL when it
 * may be written to; otherwise "refused recipient: ...", caller frees. */
char *caps_recipient_refused(const char *addr, const char *const *own,
			     const char *const *refused_domains);

#endif
