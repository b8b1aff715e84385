/* libetpan IMAP for the ingest worker.
 *
 * Connection order matters for safety: TCP (or implicit TLS) -> STARTTLS when configured (a
 * server without it is refused, never used in clear) -> certificate verified by tls.c -> only
 * then LOGIN, or AUTHENTICATE XOAUTH2 / OAUTHBEARER with an OAuth 2.0 access token (oauth2.c)
 * for a mailbox with auth = "oauth2". A PREAUTH greeting on a connection that still has to be
 * upgraded is refused (Debian's libetpan reports it as authenticated). Sessions are torn down with
 * mailimap_free() alone when LOGOUT cannot be sent, because mailimap_logout() on a session that
 * never connected crashes.
 *
 * Message bodies are fetched with BODY.PEEK[] through libetpan's body handler, so a literal is
 * streamed into a buffer we bound ourselves instead of one libetpan sizes from the server's
 * announced length. Beyond max_message_bytes, at most IMAP_LITERAL_DRAIN bytes of a literal are
 * read and thrown away to stay in step with the server (so the message can be quarantined and
 * moved); a literal announced larger than that (a broken or hostile server's {4000000000}) is not
 * read at all: the connection is dropped and the message left where it is. */
#include "imap.h"

#include "oauth2.h"
#include "text.h"
#include "tls.h"

#include <string.h>

#define IMAP_LITERAL_DRAIN (64 * 1024 * 1024)

struct imap_session {
	mailimap *imap;
	const struct spoc_imap_conf *conf;
	char *where; /* "imap host:port" for messages */
	char delim;  /* the server's hierarchy delimiter */
	gboolean has_move, has_uidplus;
	gboolean has_idle; /* the server offers IDLE and the mailbox asked for it */
	gboolean idling;   /* IDLE sent, DONE not yet */
};

/* The server's last response text, for error messages; static string or the session's. */
static const char *server_says(struct imap_session *s)
{
	const char *r = s->imap != NULL ? s->imap->imap_response : NULL;

	return r != NULL && r[0] != '\0' ? r : "no response text";
}

/* The server's last line when it is a "* BYE" (a session it ended: a token expired, an
 * administrator), made printable and short; NULL otherwise. Caller g_free()s. */
static char *server_bye(struct imap_session *s)
{
	const MMAPString *line = s->imap != NULL ? s->imap->imap_stream_buffer : NULL;

	if (line == NULL || line->str == NULL || g_ascii_strncasecmp(line->str, "* BYE ", 6) != 0)
		return NULL;
	return text_for_terminal_cut(line->str + 6, (gssize)strcspn(line->str, "\r\n") - 6, 160);
}

/* Closes the connection without a word: after a broken or out-of-step stream, a LOGOUT would only
 * wait for a server that stalls, or read what is left of a literal as its answer. */
static void drop_connection(struct imap_session *s)
{
	if (s->imap->imap_stream != NULL)
		mailstream_close(s->imap->imap_stream);
	s->imap->imap_stream = NULL;
	s->imap->imap_state = MAILIMAP_STATE_DISCONNECTED;
	s->idling = FALSE;
}

static int fail(struct imap_session *s, int r, const char *what, struct errbuf *err)
{
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_CONNECTION_REFUSED) {
		g_autofree char *bye = server_bye(s);

		drop_connection(s);

		if (bye != NULL)
			return errbuf_set(err, SPOC_ETEMP,
					  "%s: %s: the server ended the session: %s", s->where,
					  what, bye);
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "%s: %s: connection lost, refused, or no data within imap.timeout "
		    "(%u s): connection dropped",
		    s->where, what, s->conf->ep.timeout_s);
	}
	return errbuf_set(err, SPOC_ETEMP, "%s: %s failed (libetpan error %d): %s", s->where, what,
			  r, server_says(s));
}

static int refresh_capabilities(struct imap_session *s, struct errbuf *err)
{
	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->imap, &cap);

	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "CAPABILITY", err);
	mailimap_capability_data_free(cap);
	return SPOC_OK;
}

static int connect_tls(struct imap_session *s, struct errbuf *err)
{
	const struct spoc_endpoint *ep = &s->conf->ep;
	int r;

	switch (ep->tls) {
	case SPOC_TLS_IMPLICIT:
		r = mailimap_ssl_connect_with_callback(s->imap, ep->host, ep->port,
						       tls_sni_callback, ep->host);
		break;
	case SPOC_TLS_STARTTLS:
	case SPOC_TLS_NONE:
	default:
		r = mailimap_socket_connect(s->imap, ep->host, ep->port);
		break;
	}
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return errbuf_set(err, SPOC_ETEMP, "%s: cannot connect (libetpan error %d)",
				  s->where, r);
	tls_guard_eof(s->imap->imap_stream);

	if (ep->tls == SPOC_TLS_STARTTLS) {
		if (r == MAILIMAP_NO_ERROR_AUTHENTICATED)
			return errbuf_set(
			    err, SPOC_ETEMP,
			    "%s: server greeted with PREAUTH before STARTTLS: refused", s->where);
		if (refresh_capabilities(s, err) != SPOC_OK)
			return SPOC_ETEMP;
		if (!mailimap_has_extension(s->imap, "STARTTLS"))
			return errbuf_set(
			    err, SPOC_ETEMP,
			    "%s: server does not offer STARTTLS and tls = \"starttls\" "
			    "is configured: refusing to continue in clear",
			    s->where);
		r = mailimap_socket_starttls_with_callback(s->imap, tls_sni_callback, ep->host);
		if (r != MAILIMAP_NO_ERROR)
			return errbuf_set(err, SPOC_ETEMP,
					  "%s: STARTTLS failed (libetpan error %d): %s; tls = "
					  "\"starttls\" is configured: refusing to log in in clear",
					  s->where, r, server_says(s));
		/* Plain-text bytes that came with the tagged OK would be read as if they came
		 * through TLS (CVE-2020-15953, a response injection: a forged CAPABILITY, or
		 * answers to commands not sent yet). Debian's libetpan 1.9.4 already fails
		 * STARTTLS then (MAILIMAP_ERROR_STARTTLS); this check stands behind it for one
		 * that does not, as smtp.c's does for SMTP. */
		if (s->imap->imap_stream->read_buffer_len != 0)
			return errbuf_set(err, SPOC_ETEMP,
					  "%s: data injected after the STARTTLS reply: refusing, "
					  "nothing sent",
					  s->where);
		tls_guard_eof(s->imap->imap_stream);
	}
	if (ep->tls != SPOC_TLS_NONE &&
	    tls_verify_stream(s->imap->imap_stream, ep->host, ep->ca_file, err) != SPOC_OK)
		return errbuf_prefix(err, SPOC_ETEMP, "%s: nothing sent", s->where);
	return SPOC_OK;
}

/* Asks the server for its hierarchy delimiter (LIST "" ""). */
static void learn_delimiter(struct imap_session *s)
{
	clist *list = NULL;

	s->delim = '/';
	if (mailimap_list(s->imap, "", "", &list) == MAILIMAP_NO_ERROR && list != NULL &&
	    clist_begin(list) != NULL) {
		struct mailimap_mailbox_list *mb = clist_content(clist_begin(list));

		if (mb->mb_delimiter != '\0')
			s->delim = mb->mb_delimiter;
	}
	if (list != NULL)
		mailimap_list_result_free(list);
}

/* The configured folder name ('/' separates levels) in the server's own hierarchy. Caller
 * g_free()s. */
static char *server_folder(struct imap_session *s, const char *folder)
{
	char *name = g_strdup(folder);

	if (s->delim != '/')
		g_strdelimit(name, "/", s->delim);
	return name;
}

/* *exists_r tells whether the server lists a folder of that exact name. */
static int folder_exists(struct imap_session *s, const char *name, gboolean *exists_r,
			 struct errbuf *err)
{
	clist *list = NULL;
	int r = mailimap_list(s->imap, "", name, &list);

	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "LIST", err);
	*exists_r = list != NULL && clist_count(list) > 0;
	if (list != NULL)
		mailimap_list_result_free(list);
	return SPOC_OK;
}

static int ensure_folder(struct imap_session *s, const char *folder, struct errbuf *err)
{
	char *name = server_folder(s, folder);
	gboolean exists = FALSE;
	int rc;

	rc = folder_exists(s, name, &exists, err);
	/* A CREATE that fails because another worker created it a moment ago is fine. */
	if (rc == SPOC_OK && !exists && mailimap_create(s->imap, name) != MAILIMAP_NO_ERROR &&
	    (rc = folder_exists(s, name, &exists, err)) == SPOC_OK && !exists)
		rc = errbuf_set(err, SPOC_ETEMP, "%s: cannot create folder \"%s\": %s", s->where,
				name, server_says(s));
	g_free(name);
	return rc;
}

/* Writes text on the session's stream; a libetpan error code. */
static int send_text(mailimap *imap, const char *text)
{
	return mailstream_write(imap->imap_stream, text, strlen(text)) == -1 ? MAILIMAP_ERROR_STREAM
									     : MAILIMAP_NO_ERROR;
}

/* One AUTHENTICATE with an access token (RFC 4959 SASL-IR where offered, else the response after
 * the server's first "+"). SPOC_OK when logged in; SPOC_EPERM when the server refused (NO), with
 * its decoded error challenge in *why_r when it sent one (caller frees); SPOC_ETEMP with err set
 * when the connection failed or the server went out of step. libetpan's own
 * mailimap_oauth2_authenticate() cannot be used: it throws the error challenge away. */
static int authenticate_once(struct imap_session *s, enum oauth2_mech mech, const char *token,
			     char **why_r, struct errbuf *err)
{
	const struct spoc_endpoint *ep = &s->conf->ep;
	mailimap *imap = s->imap;
	gboolean sent = mailimap_has_extension(imap, "SASL-IR");
	char *resp = oauth2_sasl_response(mech, ep->user, ep->host, ep->port, token);
	struct mailimap_response *response = NULL;
	int r, state, challenges = 0;

	/* what carries the token stays out of libetpan's stream debug log */
	mailstream_set_privacy(imap->imap_stream, 0);
	r = mailimap_send_current_tag(imap);
	if (r == MAILIMAP_NO_ERROR)
		r = send_text(imap, "AUTHENTICATE ");
	if (r == MAILIMAP_NO_ERROR)
		r = send_text(imap, oauth2_mech_name(mech));
	if (r == MAILIMAP_NO_ERROR && sent && (r = send_text(imap, " ")) == MAILIMAP_NO_ERROR)
		r = send_text(imap, resp);
	if (r == MAILIMAP_NO_ERROR)
		r = send_text(imap, "\r\n");
	if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
		r = MAILIMAP_ERROR_STREAM;
	while (r == MAILIMAP_NO_ERROR) {
		const char *line = mailimap_read_line(imap);

		if (line == NULL) {
			r = MAILIMAP_ERROR_STREAM;
			break;
		}
		if (line[0] != '+')
			break; /* the tagged answer, or untagged data before it */
		if (!sent) {
			r = send_text(imap, resp);
			sent = TRUE;
		} else if (challenges++ == 0) {
			/* after the response, a "+" carries the server's error (RFC 7628 3.2.2):
			 * kept, and answered as the mechanism wants, to get the tagged NO */
			const char *b64 = line + 1;

			while (*b64 == ' ')
				b64++;
			g_free(*why_r);
			*why_r = oauth2_sasl_error_text(b64, strcspn(b64, "\r\n"));
			r = send_text(imap, oauth2_sasl_abort(mech));
		} else {
			r = MAILIMAP_ERROR_PROTOCOL;
			break;
		}
		if (r == MAILIMAP_NO_ERROR)
			r = send_text(imap, "\r\n");
		if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
			r = MAILIMAP_ERROR_STREAM;
	}
	mailstream_set_privacy(imap->imap_stream, 1);
	oauth2_secret_free(resp);
	if (r == MAILIMAP_NO_ERROR)
		r = mailimap_parse_response(imap, &response);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "AUTHENTICATE", err);
	state = response->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
	mailimap_response_free(response);
	if (state != MAILIMAP_RESP_COND_STATE_OK)
		return SPOC_EPERM;
	imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return SPOC_OK;
}

/* Logs in with an access token: XOAUTH2 where offered (what Microsoft and Google document),
 * else OAUTHBEARER. A cached token the server refuses is renewed and tried once more. */
static int login_oauth2(struct imap_session *s, struct errbuf *err)
{
	const struct spoc_endpoint *ep = &s->conf->ep;
	enum oauth2_mech mech;
	char *why = NULL;
	int rc = SPOC_EPERM;

	if (refresh_capabilities(s, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (mailimap_has_authentication(s->imap, "XOAUTH2"))
		mech = OAUTH2_XOAUTH2;
	else if (mailimap_has_authentication(s->imap, "OAUTHBEARER"))
		mech = OAUTH2_OAUTHBEARER;
	else
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "%s: the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER: "
		    "auth = \"oauth2\" cannot log in there",
		    s->where);
	for (int attempt = 0; rc == SPOC_EPERM && attempt < 2; attempt++) {
		const char *token = NULL;
		gboolean fresh = FALSE;

		if (oauth2_token(ep, &token, &fresh, err) != SPOC_OK) {
			rc = errbuf_prefix(err, SPOC_ETEMP, "%s: no access token for %s", s->where,
					   ep->user);
			break;
		}
		rc = authenticate_once(s, mech, token, &why, err);
		if (rc == SPOC_EPERM) {
			oauth2_token_refused(ep);
			if (fresh)
				break; /* a new token refused: another would be too */
		}
	}
	if (rc == SPOC_EPERM)
		rc = errbuf_set(err, SPOC_ETEMP, "%s: AUTHENTICATE %s as %s refused: %s (%s)",
				s->where, oauth2_mech_name(mech), ep->user, server_says(s),
				why != NULL ? why : "no error details from the server");
	g_free(why);
	return rc;
}

int imap_open(const struct spoc_imap_conf *conf, struct imap_session **s_r, struct errbuf *err)
{
	struct imap_session *s = g_new0(struct imap_session, 1);
	int r;

	s->conf = conf;
	s->where = g_strdup_printf("imap %s:%u", conf->ep.host, conf->ep.port);
	s->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(s->imap, conf->ep.timeout_s);
	mailstream_network_delay.tv_sec = conf->ep.timeout_s;
	mailstream_network_delay.tv_usec = 0;

	if (connect_tls(s, err) != SPOC_OK)
		goto fail;
	if (s->imap->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED && conf->ep.oauth2 != NULL) {
		if (login_oauth2(s, err) != SPOC_OK)
			goto fail;
	} else if (s->imap->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED) {
		r = mailimap_login(s->imap, conf->ep.user, conf->ep.password);
		if (r != MAILIMAP_NO_ERROR) {
			errbuf_set(err, SPOC_ETEMP, "%s: LOGIN as %s refused: %s", s->where,
				   conf->ep.user, server_says(s));
			goto fail;
		}
	}
	if (refresh_capabilities(s, err) != SPOC_OK)
		goto fail;
	s->has_move = mailimap_has_extension(s->imap, "MOVE");
	s->has_idle = conf->idle && mailimap_has_idle(s->imap);
	s->has_uidplus = mailimap_has_extension(s->imap, "UIDPLUS");
	learn_delimiter(s);
	if (ensure_folder(s, conf->processed_folder, err) != SPOC_OK ||
	    ensure_folder(s, conf->failed_folder, err) != SPOC_OK)
		goto fail;
	*s_r = s;
	return SPOC_OK;
fail:
	imap_close(&s);
	return SPOC_ETEMP;
}

void imap_close(struct imap_session **sp)
{
	struct imap_session *s = *sp;

	if (s == NULL)
		return;
	if (s->imap != NULL) {
		/* DONE first: LOGOUT inside IDLE would be taken for a broken DONE */
		if (s->idling && mailimap_idle_done(s->imap) != MAILIMAP_NO_ERROR)
			s->idling = FALSE;
		else if (s->imap->imap_stream != NULL &&
			 s->imap->imap_state != MAILIMAP_STATE_DISCONNECTED)
			mailimap_logout(s->imap);
		mailimap_free(s->imap);
	}
	g_free(s->where);
	g_free(s);
	*sp = NULL;
}

int imap_select(struct imap_session *s, struct imap_mark *mark, struct errbuf *err)
{
	uint64_t modseq = 0;
	int r;

	/* with CONDSTORE the server says how far the folder's changes have got (HIGHESTMODSEQ):
	 * together with UIDNEXT, proof that nothing arrived or left since it was last seen */
	if (mailimap_has_condstore(s->imap))
		r = mailimap_select_condstore(s->imap, s->conf->mailbox, &modseq);
	else
		r = mailimap_select(s->imap, s->conf->mailbox);

	if (r == MAILIMAP_ERROR_STREAM)
		return fail(s, r, "SELECT", err);
	if (r != MAILIMAP_NO_ERROR)
		return errbuf_set(err, SPOC_ETEMP, "%s: cannot select \"%s\": %s", s->where,
				  s->conf->mailbox, server_says(s));
	if (s->imap->imap_selection_info == NULL ||
	    s->imap->imap_selection_info->sel_uidvalidity == 0)
		return errbuf_set(err, SPOC_ETEMP, "%s: \"%s\" has no UIDVALIDITY", s->where,
				  s->conf->mailbox);
	mark->uidvalidity = s->imap->imap_selection_info->sel_uidvalidity;
	mark->uidnext = s->imap->imap_selection_info->sel_uidnext;
	mark->modseq = modseq;
	return SPOC_OK;
}

static gint cmp_u32(gconstpointer a, gconstpointer b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* UIDs matching key (consumed), ascending; caller frees with g_array_unref(). */
static int search_uids(struct imap_session *s, struct mailimap_search_key *key, GArray **uids_r,
		       struct errbuf *err)
{
	clist *result = NULL;
	GArray *uids;
	int r;

	r = mailimap_uid_search(s->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "UID SEARCH", err);
	uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it))
		g_array_append_val(uids, *(uint32_t *)clist_content(it));
	mailimap_search_result_free(result);
	g_array_sort(uids, cmp_u32);
	*uids_r = uids;
	return SPOC_OK;
}

static struct mailimap_search_key *key_undeleted(void)
{
	return mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL, NULL,
				       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0,
				       NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL);
}

/* UIDs from..to (inclusive) not flagged \Deleted: one UID SEARCH. What a server answers outside
 * the span is dropped: a window holds no more than it asked for. */
static int search_span(struct imap_session *s, uint32_t from, uint32_t to, GArray **uids_r,
		       struct errbuf *err)
{
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	int rc;

	mailimap_search_key_multiple_add(
	    key, mailimap_search_key_new_uid(mailimap_set_new_interval(from, to)));
	mailimap_search_key_multiple_add(key, key_undeleted());
	if ((rc = search_uids(s, key, uids_r, err)) != SPOC_OK)
		return rc;
	for (guint i = (*uids_r)->len; i-- > 0;) {
		uint32_t uid = g_array_index(*uids_r, uint32_t, i);

		if (uid < from || uid > to)
			g_array_remove_index(*uids_r, i);
	}
	return SPOC_OK;
}

/* The UID of the message at sequence number seq into *uid_r, 0 past the end (a server that
 * answers an out-of-range number with an empty result, as Dovecot does, or an EXISTS count
 * that went stale while messages were moved away). */
static int uid_at(struct imap_session *s, uint32_t seq, uint32_t *uid_r, struct errbuf *err)
{
	GArray *one = NULL;
	int rc =
	    search_uids(s, mailimap_search_key_new_set(mailimap_set_new_single(seq)), &one, err);

	if (rc != SPOC_OK)
		return rc;
	*uid_r = one->len > 0 ? g_array_index(one, uint32_t, 0) : 0;
	g_array_unref(one);
	return SPOC_OK;
}

/* The lowest UID at or above from in the selected mailbox, whatever its flags, into *uid_r (0:
 * none): a binary search over sequence numbers, whose UIDs ascend, so each answer is one UID
 * however many messages the mailbox holds. Should another client expunge messages meanwhile,
 * the answer may lie past a message, which then waits for the next pass: nothing is lost. */
static int first_uid_from(struct imap_session *s, uint32_t from, uint32_t *uid_r,
			  struct errbuf *err)
{
	const struct mailimap_selection_info *sel = s->imap->imap_selection_info;
	uint32_t lo = 1, hi = sel != NULL ? sel->sel_exists : 0, found = 0;

	while (lo <= hi) {
		uint32_t mid = lo + (hi - lo) / 2, uid = 0;
		int rc = uid_at(s, mid, &uid, err);

		if (rc != SPOC_OK)
			return rc;
		if (uid == 0 || uid >= from) {
			/* past the end counts as "high enough": nothing lies beyond it */
			if (uid != 0)
				found = uid;
			hi = mid - 1;
		} else
			lo = mid + 1;
	}
	*uid_r = found;
	return SPOC_OK;
}

/* The last UID of the window that starts at from. */
static uint32_t window_end(uint32_t from, uint32_t window)
{
	return from > UINT32_MAX - (window - 1) ? UINT32_MAX : from + (window - 1);
}

int imap_list_window(struct imap_session *s, uint32_t from, uint32_t window, GArray **uids_r,
		     uint32_t *next_r, struct errbuf *err)
{
	uint32_t last = window_end(from, window), start = 0;
	int rc;

	*uids_r = NULL;
	if ((rc = search_span(s, from, last, uids_r, err)) != SPOC_OK)
		return rc;
	if ((*uids_r)->len == 0 && last < UINT32_MAX) {
		/* a gap (messages moved away, or the first UIDs of an old mailbox): jump to the
		 * next message there is instead of walking the gap a window at a time */
		g_clear_pointer(uids_r, g_array_unref);
		if ((rc = first_uid_from(s, last + 1, &start, err)) != SPOC_OK)
			return rc;
		if (start == 0) {
			*uids_r = g_array_new(FALSE, FALSE, sizeof(uint32_t));
			*next_r = 0;
			return SPOC_OK;
		}
		last = window_end(start, window);
		if ((rc = search_span(s, start, last, uids_r, err)) != SPOC_OK)
			return rc;
	}
	*next_r = last == UINT32_MAX ? 0 : last + 1;
	return SPOC_OK;
}

/* A UID set for the given UIDs, ranges merged. Caller frees with mailimap_set_free(). */
static struct mailimap_set *uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		mailimap_set_add_interval(set, uids[i], uids[j]);
		i = j + 1;
	}
	return set;
}

/* Fetch results: walk the attribute list of one FETCH response. */
/* An INTERNALDATE as Unix seconds; 0 when it makes no sense. */
static int64_t date_time_unix(const struct mailimap_date_time *dt)
{
	/* libetpan keeps the zone as written: +0130 is 130 */
	int zone_min = (dt->dt_zone / 100) * 60 + dt->dt_zone % 100;
	GTimeZone *tz = g_time_zone_new_offset(zone_min * 60);
	GDateTime *t = g_date_time_new(tz, dt->dt_year, dt->dt_month, dt->dt_day, dt->dt_hour,
				       dt->dt_min, dt->dt_sec);
	int64_t unix_s = t != NULL ? g_date_time_to_unix(t) : 0;

	if (t != NULL)
		g_date_time_unref(t);
	g_time_zone_unref(tz);
	return unix_s;
}

static void msg_att_static(struct mailimap_msg_att *att, uint32_t *uid_r, uint32_t *size_r,
			   int64_t *arrived_r)
{
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid_r = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			*size_r = st->att_data.att_rfc822_size;
		else if (st->att_type == MAILIMAP_MSG_ATT_INTERNALDATE && arrived_r != NULL &&
			 st->att_data.att_internal_date != NULL)
			*arrived_r = date_time_unix(st->att_data.att_internal_date);
	}
}

int imap_fetch_sizes(struct imap_session *s, const uint32_t *uids, size_t n, GHashTable **sizes_r,
		     struct errbuf *err)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = uid_set(uids, n);
	clist *result = NULL;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	r = mailimap_uid_fetch(s->imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "UID FETCH (RFC822.SIZE)", err);
	*sizes_r = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		uint32_t uid = 0, size = 0;

		msg_att_static(clist_content(it), &uid, &size, NULL);
		if (uid != 0)
			g_hash_table_insert(*sizes_r, GUINT_TO_POINTER(uid),
					    GSIZE_TO_POINTER(size));
	}
	mailimap_fetch_list_free(result);
	return SPOC_OK;
}

struct body_ctx {
	GByteArray *current; /* bytes of the literal being received */
	gboolean truncated;
	int64_t limit;
	size_t announced; /* the size the server gave the literal being received, once known */
	gboolean refused; /* announced over limit + IMAP_LITERAL_DRAIN: reading stopped */
	GPtrArray *msgs;  /* struct imap_message * */
};

static bool on_body(int type, struct mailimap_msg_att_body_section *section, const char *bytes,
		    size_t len, void *data)
{
	struct body_ctx *ctx = data;
	size_t room;

	(void)type;
	(void)section;
	if ((int64_t)ctx->announced > ctx->limit + IMAP_LITERAL_DRAIN) {
		ctx->refused = TRUE;
		return false; /* libetpan gives up the FETCH here */
	}
	if (ctx->current == NULL)
		ctx->current = g_byte_array_new();
	room =
	    ctx->current->len < (uint64_t)ctx->limit ? (size_t)ctx->limit - ctx->current->len : 0;
	if (len > room) {
		ctx->truncated = TRUE;
		len = room;
	}
	g_byte_array_append(ctx->current, (const guint8 *)bytes, (guint)len);
	return true;
}

static void message_free(gpointer p)
{
	struct imap_message *m = p;

	g_byte_array_unref(m->raw);
	g_free(m);
}

/* Called once per FETCH response, after its body went through on_body(). */
static void on_msg_att(struct mailimap_msg_att *att, void *data)
{
	struct body_ctx *ctx = data;
	struct imap_message *m;
	uint32_t uid = 0, size = 0;
	int64_t arrived = 0;

	msg_att_static(att, &uid, &size, &arrived);
	if (uid == 0 || ctx->current == NULL) {
		/* A FETCH without our body (an unsolicited flag update): nothing to keep. */
		return;
	}
	m = g_new0(struct imap_message, 1);
	m->uid = uid;
	m->raw = ctx->current;
	m->truncated = ctx->truncated;
	m->arrived = arrived;
	ctx->current = NULL;
	ctx->truncated = FALSE;
	ctx->announced = 0;
	g_ptr_array_add(ctx->msgs, m);
}

/* libetpan 1.9.4 hands FETCH responses to the msg_att handler only when a progress callback is
 * set. It is called after each read of a literal with the size the server announced for it, which
 * on_body() checks on the next read. */
static void on_progress(size_t current, size_t maximum, void *data)
{
	struct body_ctx *ctx = data;

	(void)current;
	ctx->announced = maximum;
}

int imap_fetch_messages(struct imap_session *s, const uint32_t *uids, size_t n, int64_t limit,
			GPtrArray **msgs_r, struct errbuf *err)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = uid_set(uids, n);
	struct body_ctx ctx = {.limit = limit,
			       .msgs = g_ptr_array_new_with_free_func(message_free)};
	clist *result = NULL;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(
	    ft, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	mailimap_set_msg_body_handler(s->imap, on_body, &ctx);
	mailimap_set_msg_att_handler(s->imap, on_msg_att, &ctx);
	mailimap_set_progress_callback(s->imap, on_progress, NULL, &ctx);
	r = mailimap_uid_fetch(s->imap, set, ft, &result);
	mailimap_set_progress_callback(s->imap, NULL, NULL, NULL);
	mailimap_set_msg_body_handler(s->imap, NULL, NULL);
	mailimap_set_msg_att_handler(s->imap, NULL, NULL);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (result != NULL)
		mailimap_fetch_list_free(result);
	if (ctx.current != NULL)
		g_byte_array_unref(ctx.current);
	if (r != MAILIMAP_NO_ERROR) {
		g_ptr_array_unref(ctx.msgs);
		if (!ctx.refused)
			return fail(s, r, "UID FETCH (BODY.PEEK[])", err);
		g_autofree char *which = n > 1
					     ? g_strdup_printf("uids %u..%u", uids[0], uids[n - 1])
					     : g_strdup_printf("uid %u", uids[0]);

		drop_connection(s);
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "%s: UID FETCH (BODY.PEEK[]) of %s: the server announced a literal "
		    "of %zu bytes, more than max_message_bytes (%" G_GINT64_FORMAT
		    ") allows: connection dropped, message left on the server",
		    s->where, which, ctx.announced, limit);
	}
	*msgs_r = ctx.msgs;
	return SPOC_OK;
}

/* One attempt at moving set to the folder named name (in the server's hierarchy). */
static int move_once(struct imap_session *s, struct mailimap_set *set, const char *name,
		     struct errbuf *err)
{
	struct mailimap_flag_list *flags;
	struct mailimap_store_att_flags *sf;
	int r;

	if (s->has_move) {
		r = mailimap_uid_move(s->imap, set, name);
		return r == MAILIMAP_NO_ERROR ? SPOC_OK : fail(s, r, "UID MOVE", err);
	}
	r = mailimap_uid_copy(s->imap, set, name);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "UID COPY", err);
	flags = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(flags, mailimap_flag_new_deleted());
	sf = mailimap_store_att_flags_new_add_flags_silent(flags);
	r = mailimap_uid_store(s->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "UID STORE +FLAGS (\\Deleted)", err);
	/* Without UIDPLUS a plain EXPUNGE could remove messages someone else flagged: leave ours
	 * flagged; imap_list_window() skips \Deleted messages. */
	if (s->has_uidplus && (r = mailimap_uid_expunge(s->imap, set)) != MAILIMAP_NO_ERROR)
		return fail(s, r, "UID EXPUNGE", err);
	return SPOC_OK;
}

int imap_move(struct imap_session *s, const uint32_t *uids, size_t n, const char *folder,
	      struct errbuf *err)
{
	char *name;
	struct mailimap_set *set;
	struct mailimap_search_key *key;
	GArray *left = NULL;
	int rc;

	if (n == 0)
		return SPOC_OK;
	name = server_folder(s, folder);
	set = uid_set(uids, n);
	rc = move_once(s, set, name, err);
	mailimap_set_free(set);
	if (rc != SPOC_OK && s->imap->imap_state == MAILIMAP_STATE_SELECTED) {
		/* A server refuses the whole command when one UID is gone ("no longer exist"):
		 * another worker moved it, which is what we wanted. Move what is still here, once
		 * more. */
		key = mailimap_search_key_new_multiple_empty();
		mailimap_search_key_multiple_add(key,
						 mailimap_search_key_new_uid(uid_set(uids, n)));
		mailimap_search_key_multiple_add(key, key_undeleted());
		if (search_uids(s, key, &left, err) == SPOC_OK) {
			rc = SPOC_OK;
			if (left->len > 0) {
				set = uid_set((uint32_t *)(void *)left->data, left->len);
				rc = move_once(s, set, name, err);
				mailimap_set_free(set);
			}
			g_array_unref(left);
		}
	}
	g_free(name);
	return rc;
}

/* ---- waiting with IDLE (RFC 2177) ---- */

/* IDLE waits on the selected mailbox: a pass that found another spocd working the mailbox
 * selected nothing, and libetpan's mailimap_idle() writes through the selection it assumes
 * (a NULL imap_selection_info without one), so such a session waits for its next poll instead. */
gboolean imap_can_idle(const struct imap_session *s)
{
	return s != NULL && s->imap != NULL && s->has_idle && s->imap->imap_stream != NULL &&
	       s->imap->imap_state == MAILIMAP_STATE_SELECTED &&
	       s->imap->imap_selection_info != NULL;
}

int imap_idle_start(struct imap_session *s, struct errbuf *err)
{
	int r;

	if (!imap_can_idle(s))
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "%s: no IDLE: the server does not offer it or no mailbox is selected",
		    s->where);
	r = mailimap_idle(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "IDLE", err);
	s->idling = TRUE;
	return SPOC_OK;
}

int imap_idle_fd(const struct imap_session *s)
{
	return s->idling ? mailimap_idle_get_fd(s->imap) : -1;
}

gboolean imap_idle_pending(const struct imap_session *s)
{
	/* what came with the continuation may already sit in libetpan's buffer, where poll()
	 * cannot see it */
	return s->idling && s->imap->imap_stream != NULL &&
	       s->imap->imap_stream->read_buffer_len > 0;
}

int imap_idle_done(struct imap_session *s, struct errbuf *err)
{
	int r;

	if (!s->idling)
		return SPOC_OK;
	s->idling = FALSE;
	r = mailimap_idle_done(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return fail(s, r, "IDLE DONE", err);
	return SPOC_OK;
}
