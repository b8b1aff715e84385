/* What outbox.c (rendering and building one row's mail) shares with outbox_send.c (claiming,
 * sending and recording a batch of rows). */
#ifndef SPOC_OUTBOX_PRIV_H
#define SPOC_OUTBOX_PRIV_H

#include "compose.h"
#include "outbox.h"
#include "smtp.h"
#include "thread.h"

/* The languages templates are shipped in. */
#define OUTBOX_LANGS 2
/* The kinds of notification (outbox.c's outbox_kinds). */
#define OUTBOX_KINDS 13

struct outbox {
	const struct spoc_conf *conf; /* borrowed: the caller keeps it alive as long as ob */
	/* the desk's own addresses (desk.addresses, smtp.from_address), never written to */
	char **own;
	struct template *tpl[OUTBOX_KINDS][OUTBOX_LANGS];
	/* one result of an agent's commands, into the {{message}} of command-result.txt */
	struct template *line_tpl[OUTBOX_LANGS];
	/* one ticket of a requester's list, into the {{message}} of my-tickets.txt */
	struct template *list_tpl[OUTBOX_LANGS];
	struct thread_keys *keys; /* for the Reply-To tokens; loaded by each run */
	gboolean unreachable;	  /* the last run could not open an SMTP session */
};

/* What one row becomes; free with outgoing_clear(). */
struct outgoing {
	char *subject;
	char *body;
	GByteArray *raw;
	/* what is kept of it once sent: raw without the files it carried (they are on the ticket
	 * already, `spocctl attachment list`), so that a file relayed to twenty agents is not
	 * stored twenty times more; NULL: raw itself */
	GByteArray *record;
	char *carried; /* the attachments.id of the files it carries, "12,13"; NULL: none */
};

void outgoing_clear(struct outgoing *out);

/* text made fit for one line of a mail body: valid UTF-8, control characters as spaces,
 * trimmed. Caller g_free()s. */
char *outbox_flat_text(const char *text);
/* The attachments each of rows[0..n) carries or lists, for the whole batch in one query:
 * (*lists_r)[i] for rows[i], NULL for a kind that carries none; without their bytes.
 * SPOC_ETEMP when the database failed. Free with outbox_attachments_free(lists_r, n). */
int outbox_batch_attachments(struct store *st, const struct outbox_row *const *rows, guint n,
			     GPtrArray ***lists_r, struct errbuf *err);
void outbox_attachments_free(GPtrArray ***lists, guint n);
/* Chooses which of one row's atts (may be NULL) go into its mail and reads their bytes.
 * SPOC_ETEMP when the database failed. */
int outbox_attachments_read(const struct outbox *ob, struct store *st, GPtrArray *atts,
			    struct errbuf *err);
/* Renders and builds the message of row into out (the caller clears it after): SPOC_OK, or
 * SPOC_EPERM with the reason in err. suggestions: the list an acknowledgement offers ("" for
 * none). */
int outbox_build(const struct outbox *ob, const struct outbox_row *row, const char *suggestions,
		 const GPtrArray *atts, struct outgoing *out, struct errbuf *err);
/* The envelope sender of row (smtp.from_address, with its VERP token when smtp.verp). Caller
 * frees. */
char *outbox_envelope_sender(const struct outbox *ob, const struct outbox_row *row);
/* The delay before the next attempt of a row attempted attempts times, in seconds. */
int outbox_retry_delay(const struct spoc_smtp_conf *conf, int attempts);

#endif
