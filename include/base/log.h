/* Logging for main.c and the drivers of the pipeline: to the journal with structured fields when
 * systemd connected our stderr to it (JOURNAL_STREAM names stderr's device and inode), otherwise
 * "<N>"-prefixed lines on stderr (sd-daemon(3) style). Never pass message bodies or secrets. */
#ifndef SPOC_LOG_H
#define SPOC_LOG_H

#include <glib.h>
#include <stdint.h>
#include <syslog.h>

/* Stable journald MESSAGE_IDs, one per kind of event (journalctl MESSAGE_ID=...). */
#define LOG_EV_STARTED	       "683ac449e4c54b63bb68d9f1d72a177f"
#define LOG_EV_STOPPING	       "0c63fb346817406d9d2751af0a000c45"
#define LOG_EV_RELOADED	       "8ae6d742a14d4a65b56be0df0e511ebb"
#define LOG_EV_RELOAD_FAILED   "c8f425d97f5146a1aca8ab7683554b79"
#define LOG_EV_MAIL_TAKEN      "aee9c76761af477a8ad92a1e988ee0f3" /* ticket, reply, duplicate... */
#define LOG_EV_MAIL_QUARANTINE "ab6b1fc0381b4791ba93175cd7fb7cda"
#define LOG_EV_MAILBOX_FAILED  "17ae20b716e74c2190e59e2cec845b73"
#define LOG_EV_MAILBOX_OK      "c52bee4d3511426ba3b66b2ff186e3b4"
#define LOG_EV_OUTBOX_SENT     "19cf9456c5484887812dda214db2c736"
#define LOG_EV_OUTBOX_RETRY    "a17b042f75fd4ca5b18153aef1d409c2"
#define LOG_EV_OUTBOX_FAILED   "ce82296825044a9eb36a3c164c3ddac1"
#define LOG_EV_OUTBOX_HELD     "353fe0c92ef441a88a9c30d2b5e7c5eb" /* over a rate limit */
#define LOG_EV_DATABASE_FAILED "3d8546f02ec24a8c9ed407c8c9d05a8e"
#define LOG_EV_SLA_QUEUED      "2e680c66a37e44e090c0b2286489537d"

/* What an event is about; every member may be unset (NULL / 0). Each set one becomes a journal
 * field: MAILBOX, UID, MAIL_MESSAGE_ID (the mail's Message-ID: journald's own MESSAGE_ID is the
 * event's), TICKET, OUTBOX_ID. */
struct log_fields {
	const char *mailbox;
	uint32_t uid;
	const char *message_id;
	const char *ticket;
	int64_t outbox_id;
};

void log_init(const char *ident);
void log_set_level(int priority);
/* A plain line (no event id, no fields). */
void log_msg(int priority, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* A line about event (a LOG_EV_* id, or NULL) with the fields of f (may be NULL). */
void log_event(int priority, const char *event, const struct log_fields *f, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

#endif
