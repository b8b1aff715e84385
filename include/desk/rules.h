/* The desk's judgement of one mail, as rules a person can read and change: is it an incident or a
 * service request, how many people it touches (impact), how soon it hurts (urgency), and the ITIL
 * priority that the impact x urgency matrix gives. Three ordered lists of named rules, first match
 * wins in each, so every verdict names the rule that made it; a built-in Spanish and English set
 * is used where the configuration says nothing. Pure: no I/O, nothing logged. */
#ifndef SPOC_RULES_H
#define SPOC_RULES_H

#include "mime.h"
#include "ticket.h"

/* Impact and urgency run from 1 (high) to this (low); the matrix is this square. */
#define RULES_LEVELS 3
/* Impact and urgency when nothing in the mail says: medium, so that only evidence moves a
 * ticket up or down (P3 in ITIL's matrix). */
#define RULES_DEFAULT_LEVEL 2
/* Highest priority number a matrix may give (ITIL's P1..P5). */
#define RULES_MAX_PRIORITY 5
/* Room for an explanation of a verdict, its NUL included (the ticket keeps it). */
#define RULES_WHY_MAX 256
/* Longest team name a rule may give, in bytes (agents' teams are named the same way). */
#define RULES_TEAM_MAX 64
/* Longest quote of a mail's words in an explanation, in characters; longer ones are cut. */
#define RULES_QUOTE_MAX 40

/* Compiled rules; after rules_new() and the rules_add*() calls that build it, only read. */
struct rules;

enum rules_list {
	RULES_KIND,
	RULES_IMPACT,
	RULES_URGENCY,
};

/* Where a pattern looks (bit mask); 0 means both. */
enum rules_field {
	RULES_IN_SUBJECT = 1,
	RULES_IN_TEXT = 2, /* what the sender wrote now (text_new), else the whole text */
};

/* One rule as configured. Every condition given must hold (AND); a list matches when any of its
 * elements does (OR); at least one condition is required. */
struct rules_spec {
	const char *name; /* shown in verdicts and kept on the ticket; copied */
	/* the desk address the mail was sent to: "incidents@example.org" (exactly,
	 * case-insensitive), "incidents@" (that local part at any desk domain), or "+request" (that
	 * plus-suffix of any desk address, e.g. help+request@example.org) */
	const char *const *to;
	const char *const *subject_tags;   /* "SOLICITUD" matches "[SOLICITUD]" in the subject */
	const char *const *sender_domains; /* the From domain, or a subdomain of it */
	const char *const *senders;	   /* From addresses, e.g. the VIP list */
	const char *const *mailboxes;	   /* names of the mailboxes it was read from (exactly) */
	const char *header;  /* header name: present, or with pattern, its value matches */
	const char *pattern; /* GRegex, case-insensitive, UTF-8; over the header, or over `in` */
	unsigned in;	     /* enum rules_field bits, 0: subject and text; not with header */
	int value;	     /* enum spoc_kind for RULES_KIND, the level 1..3 otherwise */
	/* the team a new ticket the rule decides goes to (its agents hear of it), or NULL: a
	 * name as agents' teams have (spocctl agent add --team), at most RULES_TEAM_MAX bytes */
	const char *team;
};

struct rules_verdict {
	enum spoc_kind kind;
	const char *kind_rule; /* the deciding rule's name or "default"; borrowed from the rules */
	gboolean triage;       /* no kind rule matched: default kind, a person should look */
	int impact;	       /* 1 (high) .. 3 (low) */
	int urgency;	       /* 1 (high) .. 3 (low) */
	const char *impact_rule;  /* a rule's name, or "default" */
	const char *urgency_rule; /* a rule's name, or "default" */
	int priority;		  /* 1 .. RULES_MAX_PRIORITY, from the matrix */
	/* the team named by the deciding rules, the kind's first, then the impact's and the
	 * urgency's; NULL when none names one. team_rule is that rule's name. Borrowed. */
	const char *team;
	const char *team_rule;
	/* What decided, for a person: the words of the mail that matched, quoted (one line, cut
	 * at RULES_QUOTE_MAX characters) with where they are, or a configured rule's name with
	 * its words when it has some, or "default":
	 *   "\"se ha caído\" in the text", "to: incidents@", "ERP (\"SAP no carga\" in the
	 *   subject)", "default" */
	char kind_why[RULES_WHY_MAX];
	/* "impact: high (\"toda la planta\"); urgency: high (\"es urgente\")", "impact: high
	 * (vip); urgency: medium (default)", "urgency: high (\"High\" in the Importance header)" */
	char priority_why[RULES_WHY_MAX];
};

/* Empty rules (no rule in any list, default impact and urgency RULES_DEFAULT_LEVEL, ITIL's 3x3
 * matrix). Mail counts
 * as sent to the desk through desk_addresses (NULL-terminated, may be NULL) and the full
 * addresses of `to` conditions. Caller frees with rules_free(). */
struct rules *rules_new(const char *const *desk_addresses, enum spoc_kind default_kind);
/* The built-in set, in Spanish and English, with nothing configured. Caller frees. */
struct rules *rules_new_builtin(const char *const *desk_addresses, enum spoc_kind default_kind);
void rules_free(struct rules **rules);

/* Appends a rule to a list. Returns FALSE when the spec is unusable, with *field_r (may be NULL)
 * set to the spec field at fault ("to", "pattern", ...: static) and the reason in err. */
gboolean rules_add(struct rules *rules, enum rules_list list, const struct rules_spec *spec,
		   const char **field_r, struct errbuf *err);
/* Appends the built-in rules of one list, after whatever is there. */
void rules_add_builtin(struct rules *rules, enum rules_list list);
/* Level when no impact (urgency) rule matches, 1..3. */
void rules_set_default_levels(struct rules *rules, int impact, int urgency);
/* matrix[impact - 1][urgency - 1] is the priority. Returns FALSE, with the reason in err, unless
 * every cell is 1..RULES_MAX_PRIORITY and priority never gets better as impact or urgency fall. */
gboolean rules_set_matrix(struct rules *rules, const int matrix[RULES_LEVELS][RULES_LEVELS],
			  struct errbuf *err);

/* Calls fn once for each configured rule that names a team, in list order. */
void rules_each_team(const struct rules *rules,
		     void (*fn)(const char *rule, const char *team, void *ctx), void *ctx);

/* Calls fn once for each rule with a pattern, in list order, with the pattern as written. */
void rules_each_pattern(const struct rules *rules,
			void (*fn)(const char *rule, const char *pattern, void *ctx), void *ctx);
/* Judges one mail. recipient is the desk address it was delivered to (an envelope recipient), or
 * NULL to take the desk addresses among To and Cc. The verdict's strings belong to rules. */
void rules_decide(const struct rules *rules, const struct mail *mail, const char *recipient,
		  struct rules_verdict *v);
/* rules_decide() for a mail read from the mailbox of that name (mailbox conditions need it; NULL:
 * none of them holds). */
void rules_decide_in(const struct rules *rules, const struct mail *mail, const char *recipient,
		     const char *mailbox, struct rules_verdict *v);

#endif
