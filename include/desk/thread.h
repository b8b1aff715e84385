/* Which ticket an incoming mail belongs to, and whether its sender may add to it: the defence
 * against the "Ticket Trick" (a stranger who knows or guesses a ticket number, harvested one of
 * our Message-IDs or got hold of a ticket's reply address must never be added to a ticket nor
 * receive its contents). This module mints and verifies the identifiers spocd hands out
 * (HMAC-tagged Message-IDs and plus-address reply tokens) and decides from the facts the caller
 * looked up in the database. Pure: no I/O, no logging.
 *
 * Formats (b32 is RFC 4648 base32 in lower case, "a-z2-7"; kid is one b32 character naming the
 * key, tag is the first 80 bits of an HMAC-SHA256 in 16 b32 characters):
 *   Message-ID   spocd.<ticket>.<12 b32 random>.<kid><tag>@<domain>
 *                tag over "msgid\0<ticket>\0<random>"
 *   reply token  <ticket>a<agent><kid><tag>      e.g. "4711a0" + 17 characters
 *                tag over "reply-token\0<ticket>\0<agent>"
 *   agent token  <ticket>a<agent>d<day>g<gen><kid><tag>   e.g. "4711a3d20430g0" + 17
 *                tag over "agent-token\0<ticket>\0<agent>.<day>.<gen>"; day: the UTC day it was
 *                issued, counted from 1970-01-01; gen: the agent's token generation then
 * where <ticket> and <agent> are canonical decimal (no sign, no leading zero). */
#ifndef SPOC_THREAD_H
#define SPOC_THREAD_H

#include "spoc.h"
#include "ticket.h"

#include <glib.h>
#include <stdint.h>

/* Shortest secret thread_keys_new() accepts, in bytes. */
#define THREAD_SECRET_MIN 32
/* Longest reply token, in characters; also the longest thread_token_from_address() returns. */
#define THREAD_TOKEN_MAX 56
/* Largest ticket or agent id a reply token can carry (11 digits each keep it within
 * THREAD_TOKEN_MAX; a desk will never count this many tickets). */
#define THREAD_TOKEN_MAX_ID INT64_C(99999999999)

struct thread_keys {
	GPtrArray *secrets; /* GBytes *; [0] is current (used to mint), the others still verify */
	char *kids;	    /* kids[i] is the key id of secrets[i]; NUL-terminated */
};

/* Keys from a NULL-terminated list of secrets, the current one first. Each secret must be at
 * least THREAD_SECRET_MIN bytes, and no two may share a key id (the first b32 character of their
 * SHA-256): on failure returns NULL with the reason in err (secrets named by position, never
 * quoted). Caller frees with thread_keys_free(). */
struct thread_keys *thread_keys_new(const char *const *secrets, struct errbuf *err);
/* Frees *keys (wiping the secrets) and sets it to NULL. */
void thread_keys_free(struct thread_keys **keys);

/* A new Message-ID (no angle brackets) for a message spocd sends about ticket_id, tagged with the
 * current key; NULL when ticket_id < 1 or domain is NULL or empty. Caller frees with g_free(). */
char *thread_mint_message_id(const struct thread_keys *keys, int64_t ticket_id, const char *domain);
/* TRUE when msgid (no angle brackets) has exactly the shape thread_mint_message_id() makes, its
 * domain equals domain (ASCII case-insensitive) and its tag verifies under one of keys; then
 * *ticket_r (may be NULL) gets the ticket. */
gboolean thread_verify_message_id(const struct thread_keys *keys, const char *msgid,
				  const char *domain, int64_t *ticket_r);

/* The reply token for ticket_id, for agent_id's notifications (0 for the requester and the
 * participants), tagged with the current key; NULL when an id is outside 1..THREAD_TOKEN_MAX_ID
 * (ticket) or 0..THREAD_TOKEN_MAX_ID (agent). Caller frees with g_free(). */
char *thread_mint_reply_token(const struct thread_keys *keys, int64_t ticket_id, int64_t agent_id);
/* An agent's reply token, which also says when it was issued and under which of the agent's
 * token generations (spocctl agent revoke bumps it), so that it can expire and be revoked.
 * NULL when an id is out of range, agent_id < 1, day outside 1..THREAD_TOKEN_MAX_DAY or
 * generation outside 0..THREAD_TOKEN_MAX_GEN. Caller frees. */
char *thread_mint_agent_token(const struct thread_keys *keys, int64_t ticket_id, int64_t agent_id,
			      int64_t day, int64_t generation);
#define THREAD_TOKEN_MAX_DAY INT64_C(999999)
#define THREAD_TOKEN_MAX_GEN INT64_C(999999)

/* What a verified token says. */
struct thread_token {
	int64_t ticket, agent; /* agent 0: the requester's or participants' token */
	/* an agent token's issue day and generation; day 0 for a reply token, which has none
	 * (an agent's reply token from before agent tokens: it proves nothing any more) */
	int64_t day, generation;
};

/* TRUE when token is a reply token or an agent token whose tag verifies under one of keys; then
 * *t_r (may be NULL) gets what it says. */
gboolean thread_verify_token(const struct thread_keys *keys, const char *token,
			     struct thread_token *t_r);

/* TRUE when token has exactly the shape thread_mint_reply_token() makes (lower case) and its tag
 * verifies under one of keys; then *ticket_r and *agent_r (either may be NULL) get the ids. */
gboolean thread_verify_reply_token(const struct thread_keys *keys, const char *token,
				   int64_t *ticket_r, int64_t *agent_r);
/* The VERP token of outbox row outbox_id ("b" + id + key id + tag), put in the envelope sender of
 * that notification (from+TOKEN@domain) so that a bounce names the row it returns; NULL when
 * outbox_id < 1 or there is no key. Caller frees with g_free(). */
char *thread_mint_verp_token(const struct thread_keys *keys, int64_t outbox_id);
/* TRUE when token (any case: some MTAs change it) is one thread_mint_verp_token() made under one of
 * keys; then *outbox_r (may be NULL) gets the row. */
gboolean thread_verify_verp_token(const struct thread_keys *keys, const char *token,
				  int64_t *outbox_r);

/* The lower-cased token of a plus-addressed desk recipient: "Help+AbC123@Desk.Example" gives
 * "abc123" when "help@desk.example" is in desk_addresses (NULL-terminated; local part and domain
 * compared ASCII case-insensitively). NULL when addr is no desk address with a "+token", or the
 * token is empty, longer than THREAD_TOKEN_MAX or not all [A-Za-z0-9]. The token is unverified:
 * pass it to thread_verify_reply_token(). Caller frees with g_free(). */
char *thread_token_from_address(const char *addr, const char *const *desk_addresses);

/* subject without reply/forward prefixes (Re:, Fwd:, RV:, AW:, ... in any case, with optional
 * "[n]" counters, repeated), without our "[INC-000123]"/"[REQ-000123]" tags wherever they are,
 * and with runs of blanks made one space, trimmed; "" for NULL. For comparing subjects and for
 * the subject of a new linked ticket. Caller frees with g_free(). */
char *thread_subject_base(const char *subject);

/* One ticket the mail points at, and who the sender is to that ticket. ticket_id 0: none. */
struct thread_candidate {
	int64_t ticket_id;
	enum ticket_status status;
	GDateTime *resolved_at;		/* may be NULL */
	gboolean sender_is_participant; /* the sender is a participant of this ticket */
	gboolean sender_is_agent;	/* authenticated agent, decided by the caller */
};

struct thread_facts {
	struct thread_candidate by_minted_id;	/* In-Reply-To/References named a Message-ID that
						 * thread_verify_message_id() accepted */
	struct thread_candidate by_stored_id;	/* ...named the Message-ID of a stored message of a
						 * ticket (incoming or outgoing) */
	struct thread_candidate by_token;	/* a verified reply token in a recipient address */
	struct thread_candidate by_subject_tag; /* the (existing) ticket the subject tag names */
	GDateTime *now;
	int reopen_window_s; /* a reply within this long after resolution reopens; after it, a new
			      * linked ticket */
};

enum thread_action {
	THREAD_ATTACH,	   /* add to ticket_id */
	THREAD_REOPEN,	   /* add to ticket_id and set it back to in progress */
	THREAD_NEW_LINKED, /* new ticket, linked to link_ticket_id with link_kind */
	THREAD_NEW_TICKET, /* new ticket */
};

struct thread_verdict {
	enum thread_action action;
	int64_t ticket_id;	/* ATTACH, REOPEN; else 0 */
	int64_t link_ticket_id; /* NEW_LINKED; else 0 */
	/* NEW_LINKED: "possibly-related" (the sender may not write to that ticket) or "follow-up"
	 * (resolved too long ago, or closed); else NULL */
	const char *link_kind;
	const char *why; /* static: which rule decided, for logs and inspect */
};

/* The link kinds of struct thread_verdict. */
#define THREAD_LINK_POSSIBLY_RELATED "possibly-related"
#define THREAD_LINK_FOLLOW_UP	     "follow-up"

/* Decides where the mail goes; see thread.c for the rules and why. */
void thread_decide(const struct thread_facts *facts, struct thread_verdict *v);

/* Most Message-IDs in the References of a mail spocd sends: the first of the person's chain and
 * the most recent ones (RFC 5322 3.6.4 lets a long list be trimmed; clients keep the root). */
#define THREAD_MAX_REFERENCES 11

/* The threading headers of a mail to one person about a ticket, from the conversation as that
 * person has it: chain holds the Message-IDs (char *, no brackets, oldest first) of what they
 * sent to the desk on the ticket and of what the desk sent them, and nothing else, so nobody is
 * shown an identifier they never saw. Ids that cannot go into a header (compose_msgid_valid())
 * are left out, and an id met twice counts where it was seen last. *in_reply_to_r is the latest
 * id left, NULL when none (caller frees); *references_r the ids left, in order, trimmed to the
 * first and the THREAD_MAX_REFERENCES - 1 latest, so it ends with *in_reply_to_r (never NULL,
 * caller unrefs). chain may be NULL. */
void thread_reply_headers(const GPtrArray *chain, char **in_reply_to_r, GPtrArray **references_r);

#endif
