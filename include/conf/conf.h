/* The configuration: libconfig file -> one immutable struct spoc_conf. Paths inside the file are
 * relative to the file's own directory; passwords are read from their own files, never from it. */
#ifndef SPOC_CONF_H
#define SPOC_CONF_H

#include "spoc.h"
#include "authres.h"
#include "caps.h"
#include "judge.h"
#include "spam.h"
#include "ticket.h"

#include <stdint.h>

enum spoc_tls {
	SPOC_TLS_IMPLICIT,
	SPOC_TLS_STARTTLS,
	SPOC_TLS_NONE, /* allowed only towards a loopback address */
};

struct spoc_oauth2_conf;

/* What a TLS client needs to reach and verify one server (IMAP and SMTP share it). */
struct spoc_endpoint {
	char *host;
	uint16_t port;
	enum spoc_tls tls;
	char *ca_file;	/* NULL: the system trust store */
	char *user;	/* NULL: no authentication (SMTP only) */
	char *password; /* read from password_file */
	char *password_file;
	int timeout_s; /* every network step */
	/* auth = "oauth2": log in with an access token from there (conf_oauth.h), password and
	 * password_file NULL; NULL: log in with the password */
	struct spoc_oauth2_conf *oauth2;
};

/* One mailbox spocd reads (several may be configured, each on its own server). */
struct spoc_imap_conf {
	/* its key in the database (mailbox_state, ingest_log, quarantine), logs and metrics:
	 * mailboxes.[n].name, or for the single imap section its folder name */
	char *name;
	struct spoc_endpoint ep;
	char *mailbox;
	char *processed_folder;
	char *failed_folder;
	int poll_interval_s;
	int batch_size;		   /* UIDs fetched, committed and moved together */
	int64_t max_message_bytes; /* checked from RFC822.SIZE before the download */
	int default_kind; /* enum spoc_kind of a ticket no rule decides here; -1: the rules' own */
	gboolean idle;	  /* wait with IMAP IDLE where the server offers it */
};

struct spoc_smtp_conf {
	struct spoc_endpoint ep;
	char *from_address; /* envelope sender and From: of what spocd sends */
	char *helo_name;
	int max_attempts; /* temporary failures before a row is given up */
	int retry_base_s; /* first retry delay; doubles each attempt */
	/* a temporary failure is retried until the row is this old (counted from when it was
	 * queued, or pushed again by an operator), then given up */
	int max_retry_age_s;
	gboolean verp; /* envelope sender from+TOKEN@domain names the row a bounce returns */
	/* smtp.connections: how many connections send the parts of a batch at once */
	int connections;
	/* smtp.refused_domains: never written to, nor their subdomains (NULL-terminated, lower
	 * case, never NULL) */
	char **refused_domains;
};

struct spoc_desk_conf {
	char *name;
	char **addresses;	/* NULL-terminated, lower case; the desk's own addresses */
	char *default_language; /* "es" or "en" */
	enum spoc_kind default_kind;
	gboolean cc_watchers;	      /* people in Cc of a new ticket become its watchers */
	gboolean lists_are_automatic; /* mailing-list mail (List-Id...) is never acknowledged */
	gboolean requester_reply_to;  /* the requester is Reply-To (when set) rather than From */
	/* the domains whose addresses may become watchers (NULL-terminated, lower case); the
	 * desk's own domains unless desk.watcher_domains says otherwise */
	char **watcher_domains;
	int max_watchers;
	char *templates_dir;
	char *message_id_domain; /* right-hand side of the Message-IDs spocd mints */
	/* desk.time_zone: the zone times are shown in to people (the business calendar's unless
	 * set; the host's when neither says) */
	GTimeZone *time_zone;
	/* desk.triage_address: who hears of a ticket nobody has and no team owns; NULL: every
	 * active agent */
	char *triage_address;
	/* notify.new_ticket: NULL for "off"; "team" (the ticket's team, else triage); or an
	 * address (a team mailbox) */
	char *notify_new_ticket;
	/* notify.max_attachment_bytes: what the attachments of one relayed mail may add to it, as
	 * they travel (base64 and headers); 0: no attachment is ever sent, each is listed */
	int64_t notify_max_attachment_bytes;
	/* notify.batch_size: how many due rows the notifier claims, sends and records together
	 * (one transaction); a crash in the middle of a batch sends each of its rows delivered
	 * but not yet recorded once more, with the same Message-ID */
	int notify_batch_size;
};

/* How incoming mail is read: limits past which parts are left out or the message refused, and
 * the charsets tried for 8-bit text that declares none. */
struct spoc_parsing_conf {
	char **fallback_charsets; /* NULL-terminated, each known to iconv */
	int max_parts;
	int max_depth;
	int64_t max_attachment_bytes;
	int64_t max_header_bytes;
};

struct rules;
struct sla_conf;

/* How replies find their ticket. */
struct spoc_threading_conf {
	/* HMAC secrets, current first (it mints; the others still verify), read from
	 * threading.secret_files; NULL: the secret spocd keeps in the database */
	char **secrets;
	int reopen_window_s; /* a requester's reply this long after resolution still reopens */
};

struct spoc_conf {
	char *path;
	char *database_conninfo;
	/* at most this long between attempts to reach the database again after losing it (a
	 * failover: the standby is promoted and the next attempt finds it) */
	int database_reconnect_s;
	/* database.pooler = "transaction": a pooler (PgBouncer) hands each transaction its own
	 * server session, so nothing may live in the session: no named prepared statements, no
	 * LISTEN (the notifier looks at the outbox every few seconds instead) */
	gboolean database_pooled;
	int database_timeout_s; /* longest wait for the database's answer to one statement */
	/* NULL-terminated, at least one; [0] is also where limits shared by all are read */
	struct spoc_imap_conf **mailboxes;
	struct spoc_smtp_conf smtp;
	struct spoc_desk_conf desk;
	struct spoc_parsing_conf parsing;
	struct spoc_threading_conf threading;
	struct caps_conf caps; /* rate_limits: what may be sent, per recipient, ticket, kind */
	/* the authserv-id of the border MTA whose Authentication-Results prove a sender's From
	 * (DMARC pass, aligned DKIM or SPF pass); NULL: none (see agents_border) */
	char *agents_trusted_authserv_id;
	/* agents.border: how that border writes its header, AUTHRES_RFC8601 ("rfc8601", the
	 * default: the one with agents_trusted_authserv_id, which authserv_id points to) or
	 * AUTHRES_MICROSOFT365 ("microsoft365": Exchange Online's, without an authserv-id). Use
	 * conf_border(). */
	struct authres_border agents_border;
	/* agents.proof: TRUE for "token-and-domain" (the default with a border): an agent's mail
	 * needs their reply token and the border's pass for their domain */
	gboolean agents_token_and_domain;
	/* trust.unverified = "accept" (the default without a border): a sender the border did
	 * not authenticate still counts as the participant their From names */
	gboolean trust_accept_unverified;
	int agents_token_days; /* agents.token_days: an agent's reply token expires after this */
	struct rules
	    *rules; /* the desk's judgement: kind, impact, urgency, priority (conf_rules.c) */
	struct sla_conf *sla; /* SLA targets and business calendar (conf_rules.c) */
	int log_level;	      /* syslog priority: LOG_ERR .. LOG_DEBUG */
	int kb_suggestions;   /* articles suggested in an acknowledgement, 0: none */
	char *metrics_listen; /* "127.0.0.1:9464": the Prometheus endpoint; NULL: none */
	/* spocctl health: a mailbox not read successfully for this many poll intervals is
	 * unhealthy */
	int health_intervals;
	/* ingest.lease_seconds: how long a mailbox's worker or the SLA watcher holds its lease
	 * (sql/026_leases.sql) without renewing it; another instance takes over after that */
	int lease_seconds;
	/* ingest.parse_threads: threads that read (parse and judge) a fetched window of mail
	 * before its transaction; 0: one per processor, at most 8 */
	int parse_threads;
	/* spam.verdict_headers: the border's spam verdicts (struct spam_rule *, spam.h); empty:
	 * none read */
	GPtrArray *spam_rules;
	/* spam.dmarc_fail: a trusted DMARC fail for the From domain under a policy of quarantine
	 * or reject makes the mail spam */
	gboolean spam_dmarc_fail;
};

/* Reads and validates the file at path. On failure returns NULL and err names file, line, setting
 * and what is allowed. Caller frees with conf_free(). */
struct spoc_conf *conf_load(const char *path, struct errbuf *err);
void conf_free(struct spoc_conf **conf);

/* The border whose Authentication-Results prove senders (authres.h), or NULL when the desk has
 * none (neither agents.trusted_authserv_id nor agents.border = "microsoft365"). Points into c. */
const struct authres_border *conf_border(const struct spoc_conf *c);

/* That border as people name it: its authserv-id or "Microsoft 365"; NULL without one. Points
 * into c or is static. */
const char *conf_border_name(const struct spoc_conf *c);

/* TRUE when host is a loopback name or address (127.0.0.0/8, ::1, localhost). */
gboolean conf_host_is_loopback(const char *host);

#endif
