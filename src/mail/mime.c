/* GMime -> struct mail. This is the only module that sees GMime's parse tree: it turns raw bytes
 * into plain C strings that are always valid UTF-8 without NUL (headers, addresses, identifiers and
 * the text a person wrote), rejects with SPOC_EPERM what can never become a ticket, and works
 * around the GMime 3.2.13 defects listed in shared/LIBRARY-DEFECTS.md that touch incoming mail:
 * adjacent base64 encoded-words (#1) are rewritten to Q encoding before GMime decodes them, base64
 * text bodies made of padded chunks (#2) are decoded by our own code, and bodies with a missing or
 * lying charset (#4) go through g_mime_utils_decode_8bit() with our fallback charsets. This file
 * reads the header and chooses the body; mime_text.c turns a part's bytes into text and
 * mime_parts.c keeps the other parts as attachments. */
#include "mime.h"

#include "html.h"
#include "identity.h"
#include "mime_priv.h"
#include "prescan.h"
#include "reply.h"

#include <gmime/gmime.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* Parser options for the whole process: created by mime_init(), read-only afterwards, so parses
 * on several threads may share them. */
static GMimeParserOptions *mime_options;

void mime_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		/* windows-1252 rather than iso-8859-1: it is a superset that also maps the
		 * 0x80-0x9f bytes Outlook writes (curly quotes, euro sign). */
		static const char *fallback[] = {"utf-8", "windows-1252", NULL};

		g_mime_init();
		mime_options = g_mime_parser_options_new();
		/* GMime's defaults are already loose for addresses, parameters and RFC 2047 */
		g_mime_parser_options_set_fallback_charsets(mime_options, fallback);
		g_once_init_leave(&once, 1);
	}
}

GMimeParserOptions *mime_parser_options_new(const struct mime_limits *limits)
{
	GMimeParserOptions *opts;

	mime_init();
	opts = g_mime_parser_options_clone(mime_options);
	if (limits != NULL && limits->fallback_charsets != NULL &&
	    limits->fallback_charsets[0] != NULL)
		g_mime_parser_options_set_fallback_charsets(
		    opts, (const char **)limits->fallback_charsets);
	return opts;
}

void mime_shutdown(void)
{
	if (mime_options == NULL)
		return;
	g_mime_parser_options_free(mime_options);
	mime_options = NULL;
	g_mime_shutdown();
}

/* Replaces control characters (CR, LF, TAB, other C0, DEL) by spaces and trims, in place. Header
 * values, names and identifiers are single lines for everything downstream. */
static void line_clean(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	g_strstrip(s);
}

/* Takes ownership of s (may be NULL); returns it as a clean single UTF-8 line, or NULL when
 * nothing is left and empty_ok is FALSE. */
char *mime_utf8_line(char *s, gboolean empty_ok)
{
	if (s == NULL)
		return empty_ok ? g_strdup("") : NULL;
	if (!g_utf8_validate(s, -1, NULL)) {
		char *v = g_utf8_make_valid(s, -1);

		g_free(s);
		s = v;
	}
	line_clean(s);
	if (*s == '\0' && !empty_ok) {
		g_free(s);
		return NULL;
	}
	return s;
}

/* g_regex_replace_eval() callback: the matched base64 encoded-word, as a Q encoded-word. */
static gboolean b_word_to_q(const GMatchInfo *mi, GString *out, gpointer unused)
{
	char *cs = g_match_info_fetch(mi, 1), *payload = g_match_info_fetch(mi, 2);
	GByteArray *bytes = g_byte_array_new();

	(void)unused;
	mime_b64_decode_chunked(payload, strlen(payload), bytes);
	g_string_append_printf(out, "=?%s?Q?", cs);
	for (guint i = 0; i < bytes->len; i++) {
		if (g_ascii_isalnum(bytes->data[i]))
			g_string_append_c(out, (char)bytes->data[i]);
		else
			g_string_append_printf(out, "=%02X", bytes->data[i]);
	}
	g_string_append(out, "?=");
	g_byte_array_unref(bytes);
	g_free(cs);
	g_free(payload);
	return FALSE;
}

/* Returns a copy of text in which every RFC 2047 base64 encoded-word is rewritten as the
 * equivalent Q encoded-word. GMime 3.2.13 loses everything after the first padded base64 word of
 * a run of adjacent words (defect #1, "=?UTF-8?B?SGk=?= =?UTF-8?B?VGhlcmU=?=" -> "Hi"); its Q
 * decoder has no such state, and GMime still joins adjacent words and converts the charset. Raw
 * header bytes need not be UTF-8, hence G_REGEX_RAW. Caller frees. */
static char *rfc2047_b_to_q(const char *text)
{
	static GRegex *re;
	static gsize once;
	char *out;

	if (g_once_init_enter(&once)) {
		re = g_regex_new("=\\?([^?\\s]+)\\?[Bb]\\?([^?\\s]*)\\?=",
				 G_REGEX_RAW | G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	out = g_regex_replace_eval(re, text, -1, 0, 0, b_word_to_q, NULL, NULL);
	return out != NULL ? out : g_strdup(text);
}

/* text (already unfolded) with each blank-separated word that is not UTF-8 converted from the
 * first of charsets that takes it. GMime decodes raw 8-bit header text as a whole: one stray
 * byte in an otherwise UTF-8 name ("José Pérez" with a Latin-1 "ñ" pasted in) would turn every
 * word into windows-1252 mojibake; word by word, one byte spoils one word. Caller frees. */
static char *header_words_utf8(const char *text, const char *const *charsets)
{
	GString *out;

	if (g_utf8_validate(text, -1, NULL))
		return g_strdup(text);
	out = g_string_sized_new(strlen(text) + 16);
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, " \t");
		char *conv = NULL;

		if (g_utf8_validate(p, (gssize)n, NULL)) {
			g_string_append_len(out, p, (gssize)n);
		} else {
			for (size_t i = 0; charsets != NULL && charsets[i] != NULL && conv == NULL;
			     i++)
				if (g_ascii_strcasecmp(charsets[i], "utf-8") != 0)
					conv = g_convert(p, (gssize)n, "UTF-8", charsets[i], NULL,
							 NULL, NULL);
			if (conv == NULL)
				conv = g_utf8_make_valid(p, (gssize)n);
			g_string_append(out, conv);
			g_free(conv);
		}
		p += n;
		n = strspn(p, " \t");
		g_string_append_len(out, p, (gssize)n);
		p += n;
	}
	return g_string_free(out, FALSE);
}

/* Unfolds a raw header value, makes its 8-bit words UTF-8 one by one (header_words_utf8) and
 * rewrites its base64 encoded-words (see rfc2047_b_to_q), ready for GMime's decoders. Caller
 * frees. */
static char *header_prepare(GMimeParserOptions *opts, const char *raw)
{
	char *unfolded = g_mime_utils_header_unfold(raw != NULL ? raw : "");
	char *words = header_words_utf8(
	    unfolded, opts != NULL ? g_mime_parser_options_get_fallback_charsets(opts) : NULL);
	char *fixed = rfc2047_b_to_q(words);

	g_free(unfolded);
	g_free(words);
	return fixed;
}

/* Decoded, single-line, valid UTF-8 value of a raw header value; caller frees. */
static char *header_decode(GMimeParserOptions *opts, const char *raw)
{
	char *fixed = header_prepare(opts, raw);
	char *decoded = g_mime_utils_header_decode_text(opts, fixed);

	g_free(fixed);
	return mime_utf8_line(decoded, TRUE);
}

static void mail_addr_free(gpointer p)
{
	struct mail_addr *a = p;

	g_free(a->name);
	g_free(a->addr);
	g_free(a);
}

/* Appends every mailbox of list to out as struct mail_addr; a group contributes its members, or
 * one entry without address when it is empty ("undisclosed-recipients:;"). */
static void addr_collect(InternetAddressList *list, GPtrArray *out, int depth)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		struct mail_addr *a;

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2) {
			InternetAddressList *members =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

			if (members != NULL && internet_address_list_length(members) > 0) {
				addr_collect(members, out, depth + 1);
				continue;
			}
		}
		a = g_new0(struct mail_addr, 1);
		a->name = mime_utf8_line(g_strdup(internet_address_get_name(ia)), FALSE);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			a->addr = mime_utf8_line(g_strdup(internet_address_mailbox_get_addr(
						     INTERNET_ADDRESS_MAILBOX(ia))),
						 FALSE);
		if (a->name == NULL && a->addr == NULL)
			mail_addr_free(a);
		else
			g_ptr_array_add(out, a);
	}
}

/* Addresses of all top-level headers called name, joined; a new array of struct mail_addr *
 * (freed with g_ptr_array_unref). */
static GPtrArray *addr_parse(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(mail_addr_free);
	int n = g_mime_header_list_get_count(hl);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		InternetAddressList *list;
		char *fixed;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		fixed = header_prepare(opts, g_mime_header_get_raw_value(h));
		list = internet_address_list_parse(opts, fixed);
		g_free(fixed);
		if (list != NULL) {
			addr_collect(list, out, 0);
			g_object_unref(list);
		}
	}
	return out;
}

/* Copies into dst the first entry of the named header that has an address; FALSE if none. */
static gboolean addr_first(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name,
			   struct mail_addr *dst)
{
	GPtrArray *list = addr_parse(opts, hl, name);
	gboolean found = FALSE;

	for (guint i = 0; i < list->len && !found; i++) {
		struct mail_addr *a = g_ptr_array_index(list, i);

		if (a->addr == NULL)
			continue;
		dst->name = g_strdup(a->name);
		dst->addr = g_strdup(a->addr);
		found = TRUE;
	}
	g_ptr_array_unref(list);
	return found;
}

/* Last resort for a From that GMime cannot parse but a person can read ("Big Bug bb@bug.com"):
 * the first bare addr-spec in the decoded value becomes the address, the rest the name. */
static gboolean addr_rescue(const char *value, struct mail_addr *dst)
{
	static GRegex *re;
	static gsize once;
	GMatchInfo *mi = NULL;
	gboolean found = FALSE;

	if (g_once_init_enter(&once)) {
		re =
		    g_regex_new("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+",
				G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	/* a header line is at most 998 bytes; longer garbage is not worth a regex scan */
	if (value != NULL && strlen(value) <= 998 && g_regex_match(re, value, 0, &mi)) {
		int start, end;
		GString *name = g_string_new(value);

		g_match_info_fetch_pos(mi, 0, &start, &end);
		dst->addr = g_match_info_fetch(mi, 0);
		g_string_erase(name, start, end - start);
		dst->name = mime_utf8_line(g_string_free(name, FALSE), FALSE);
		found = TRUE;
	}
	g_match_info_free(mi);
	return found;
}

/* "Name <addr>, addr, ..." for display; caller frees. */
static char *addr_text(const GPtrArray *list)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < list->len; i++) {
		const struct mail_addr *a = g_ptr_array_index(list, i);

		if (s->len > 0)
			g_string_append(s, ", ");
		if (a->name != NULL && a->addr != NULL)
			g_string_append_printf(s, "%s <%s>", a->name, a->addr);
		else
			g_string_append(s, a->name != NULL ? a->name : a->addr);
	}
	return g_string_free(s, FALSE);
}

void mime_limit_hit(struct mail *m, const char *limit, const char *fmt, ...)
{
	struct mail_limit_hit *h = g_new0(struct mail_limit_hit, 1);
	va_list ap;

	h->limit = limit;
	va_start(ap, fmt);
	h->detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(m->limits_hit, h);
}

gboolean mime_part_has_name(GMimeObject *obj)
{
	return GMIME_IS_PART(obj) && g_mime_part_get_filename(GMIME_PART(obj)) != NULL;
}

/* Disposition attachment, or a file name on a part that is not the whole message. */
static gboolean part_is_attachment(GMimeObject *obj, gboolean top)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	if (cd != NULL && g_mime_content_disposition_is_attachment(cd))
		return TRUE;
	if (top)
		return FALSE;
	return mime_part_has_name(obj);
}

/* The part that holds what the person wrote: the first text/plain or text/html leaf in document
 * order that is not an attachment, except that inside multipart/alternative text/plain is
 * preferred to text/html (so a mailing-list footer after an HTML-only body does not win over
 * the body). Forwarded or bounced messages (message/rfc822) are not descended into: their text
 * is someone else's. Parts deeper than max_depth (0: 64) are not looked at. *html_r tells which
 * kind was found. Borrowed pointer, or NULL. */
static GMimePart *body_find(GMimeObject *obj, gboolean top, int depth, int max_depth,
			    gboolean *html_r)
{
	if (depth > (max_depth > 0 ? MIN(max_depth, 64) : 64))
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		gboolean alt = g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
							   "multipart", "alternative");
		GMimePart *best = NULL;
		gboolean best_html = FALSE;
		int n = g_mime_multipart_get_count(mp);

		/* the signature of multipart/signed and the key part of multipart/encrypted are
		 * never the body */
		if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
			n = MIN(n, 1);
		if (GMIME_IS_MULTIPART_ENCRYPTED(obj))
			n = 0;
		for (int i = 0; i < n; i++) {
			gboolean html = FALSE;
			GMimePart *p = body_find(g_mime_multipart_get_part(mp, i), FALSE, depth + 1,
						 max_depth, &html);

			if (p == NULL)
				continue;
			if (!alt || !html) {
				*html_r = html;
				return p;
			}
			if (best == NULL) {
				best = p;
				best_html = html;
			}
		}
		*html_r = best_html;
		return best;
	}
	if (!GMIME_IS_PART(obj))
		return NULL;

	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (part_is_attachment(obj, top))
		return NULL;
	*html_r = g_mime_content_type_is_type(ct, "text", "html");
	if (*html_r || g_mime_content_type_is_type(ct, "text", "plain"))
		return GMIME_PART(obj);
	return NULL;
}

/* The readable text of a message (a forwarded one included): its body part converted to UTF-8,
 * HTML turned into text. *source_r says where it came from. Caller frees. */
char *mime_message_text(struct parse *ps, GMimeMessage *msg, const char **source_r)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	gboolean html = FALSE;
	GMimePart *part;
	char *text, *stripped;

	*source_r = "none";
	if (top == NULL || (part = body_find(top, TRUE, 1, ps->lim->max_depth, &html)) == NULL)
		return g_strdup("");
	text = mime_part_text(ps, part);
	*source_r = html ? "text/html" : "text/plain";
	if (!html)
		return text;
	stripped = html_to_text(text);
	g_free(text);
	return stripped;
}

static void limit_hit_free(gpointer p)
{
	struct mail_limit_hit *h = p;

	g_free(h->detail);
	g_free(h);
}

/* Drops blank lines at the start and white space at the end of text, in place. */
static void text_trim_lines(char *text)
{
	size_t skip = 0;

	for (size_t i = 0; text[i] == ' ' || text[i] == '\t' || text[i] == '\n'; i++)
		if (text[i] == '\n')
			skip = i + 1;
	if (skip > 0)
		memmove(text, text + skip, strlen(text + skip) + 1);
	g_strchomp(text);
}

/* Chooses the body, collects the attachments and splits the text into new, quoted and
 * signature. */
static void body_fill(struct parse *ps, GMimeMessage *msg)
{
	struct mail *m = ps->m;
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	struct reply_parts rp = {0};
	gboolean html = FALSE;

	ps->body = top != NULL ? body_find(top, TRUE, 1, ps->lim->max_depth, &html) : NULL;
	ps->extra = g_string_new(NULL);
	mime_walk(ps, top, 1, FALSE, FALSE);
	if (ps->body != NULL) {
		char *text = mime_part_text(ps, ps->body);
		const char *cs =
		    g_mime_object_get_content_type_parameter(GMIME_OBJECT(ps->body), "charset");

		m->body_source = html ? "text/html" : "text/plain";
		if (!html &&
		    (g_str_has_prefix(text, "begin ") || strstr(text, "\nbegin ") != NULL)) {
			char *rest = mime_uu_extract(ps, text);

			g_free(text);
			text = rest;
		}
		m->body_charset = cs != NULL ? mime_utf8_line(g_strdup(cs), FALSE) : NULL;
		if (html) {
			m->text = html_to_text(text);
			g_free(text);
		} else {
			m->text = text;
		}
		if (ps->extra->len > 0) {
			char *joined = g_strconcat(m->text, ps->extra->str, NULL);

			g_free(m->text);
			m->text = joined;
		}
	} else if (ps->tnef_body != NULL) {
		m->body_source = "tnef";
		m->text = g_steal_pointer(&ps->tnef_body);
	} else {
		m->body_source = "none";
		m->text = g_strdup("");
	}
	g_string_free(ps->extra, TRUE);
	g_free(ps->tnef_body);
	text_trim_lines(m->text);
	reply_split_flags(m->text, reply_subject_is_forward(m->subject) ? REPLY_FORWARDED : 0, &rp);
	m->text_new = g_steal_pointer(&rp.new_text);
	m->text_new_forward_at = rp.forward_at;
	m->text_quoted = g_steal_pointer(&rp.quoted);
	m->text_signature = g_steal_pointer(&rp.signature);
	reply_parts_clear(&rp);
}

static void mail_header_free(gpointer p)
{
	struct mail_header *h = p;

	g_free(h->name);
	g_free(h->value);
	g_free(h->raw);
	g_free(h);
}

void mail_free(struct mail **mailp)
{
	struct mail *m = NULL;

	if (mailp == NULL || (m = *mailp) == NULL)
		return;
	g_free(m->message_id);
	g_free(m->in_reply_to);
	g_clear_pointer(&m->references, g_ptr_array_unref);
	g_free(m->from.name);
	g_free(m->from.addr);
	g_free(m->reply_to.name);
	g_free(m->reply_to.addr);
	g_clear_pointer(&m->to, g_ptr_array_unref);
	g_clear_pointer(&m->cc, g_ptr_array_unref);
	g_free(m->to_text);
	g_free(m->cc_text);
	g_free(m->subject);
	g_clear_pointer(&m->date, g_date_time_unref);
	g_free(m->body_charset);
	g_free(m->text);
	g_free(m->text_new);
	g_free(m->text_quoted);
	g_free(m->text_signature);
	g_clear_pointer(&m->headers, g_ptr_array_unref);
	g_clear_pointer(&m->attachments, g_ptr_array_unref);
	g_clear_pointer(&m->limits_hit, g_ptr_array_unref);
	g_free(m);
	*mailp = NULL;
}

static const struct mail_header *header_find(const struct mail *mail, const char *name)
{
	for (guint i = 0; mail->headers != NULL && i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);

		if (g_ascii_strcasecmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

const char *mail_header(const struct mail *mail, const char *name)
{
	const struct mail_header *h = header_find(mail, name);

	return h != NULL ? h->value : NULL;
}

const char *mail_header_raw(const struct mail *mail, const char *name)
{
	const struct mail_header *h = header_find(mail, name);

	return h != NULL ? h->raw : NULL;
}

/* Message-ids of the first header called name, oldest first, without brackets: a new array of
 * char * (freed with g_ptr_array_unref). */
static GPtrArray *msgids_parse(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GMimeHeader *h = g_mime_header_list_get_header(hl, name);
	GMimeReferences *refs;
	char *unfolded;

	if (h == NULL || g_mime_header_get_raw_value(h) == NULL)
		return out;
	unfolded = g_mime_utils_header_unfold(g_mime_header_get_raw_value(h));
	refs = g_mime_references_parse(opts, unfolded);
	g_free(unfolded);
	if (refs == NULL)
		return out;
	for (int i = 0; i < g_mime_references_length(refs); i++) {
		char *id =
		    mime_utf8_line(g_strdup(g_mime_references_get_message_id(refs, i)), FALSE);

		if (id != NULL && strlen(id) <= MIME_MAX_ID_LEN)
			g_ptr_array_add(out, id);
		else
			g_free(id);
	}
	g_mime_references_free(refs);
	/* Threads can grow long; the root and the most recent ones are what find a ticket. */
	if (out->len > MIME_MAX_REFS)
		g_ptr_array_remove_range(out, 1, out->len - MIME_MAX_REFS);
	return out;
}

/* The top-level header as written: GMime keeps the Content-* fields in the body part's list and
 * the others in the message's, so the two are merged back by position. A new array of borrowed
 * GMimeHeader * (g_ptr_array_unref). */
static GPtrArray *headers_top(GMimeMessage *msg)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	GMimeHeaderList *a = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeaderList *b = body != NULL ? g_mime_object_get_header_list(body) : NULL;
	int na = g_mime_header_list_get_count(a),
	    nb = b != NULL ? g_mime_header_list_get_count(b) : 0;
	GPtrArray *out = g_ptr_array_sized_new((guint)(na + nb));
	int i = 0, j = 0;

	while (i < na || j < nb) {
		GMimeHeader *ha = i < na ? g_mime_header_list_get_header_at(a, i) : NULL;
		GMimeHeader *hb = j < nb ? g_mime_header_list_get_header_at(b, j) : NULL;

		if (hb == NULL ||
		    (ha != NULL && g_mime_header_get_offset(ha) <= g_mime_header_get_offset(hb))) {
			g_ptr_array_add(out, ha);
			i++;
		} else {
			g_ptr_array_add(out, hb);
			j++;
		}
	}
	return out;
}

/* Options for decoding this message's header: raw 8-bit bytes in a header are most likely in
 * the charset the body declares (GB2312 spam, Latin-1 Outlook), so that one is tried right after
 * the first fallback charset (utf-8 by default) and before the others. Returns base itself or a
 * copy the caller frees. */
static GMimeParserOptions *header_options(GMimeParserOptions *base, GMimeMessage *msg)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	const char *cs =
	    body != NULL ? g_mime_object_get_content_type_parameter(body, "charset") : NULL;
	const char **fallback = g_mime_parser_options_get_fallback_charsets(base);
	GPtrArray *list;
	GMimeParserOptions *opts;
	iconv_t cd;

	if (cs == NULL || *cs == '\0' || mime_charset_is_weak(cs) ||
	    (cd = g_mime_iconv_open("UTF-8", cs)) == (iconv_t)-1)
		return base;
	g_mime_iconv_close(cd);
	list = g_ptr_array_new();
	for (int i = 0; fallback != NULL && fallback[i] != NULL; i++) {
		g_ptr_array_add(list, (char *)fallback[i]);
		if (i == 0)
			g_ptr_array_add(list, (char *)cs);
	}
	if (list->len == 0)
		g_ptr_array_add(list, (char *)cs);
	g_ptr_array_add(list, NULL);
	opts = g_mime_parser_options_clone(base);
	g_mime_parser_options_set_fallback_charsets(opts, (const char **)list->pdata);
	g_ptr_array_free(list, TRUE);
	return opts;
}

/* Fills everything but the sender checks from a parsed message; top is from headers_top(). */
static void mail_fill(struct parse *ps, GMimeMessage *msg, GPtrArray *top)
{
	struct mail *m = ps->m;
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeParserOptions *opts = header_options(ps->opts, msg);
	GPtrArray *irt;
	GDateTime *date;
	const char *subject;

	m->headers = g_ptr_array_new_with_free_func(mail_header_free);
	for (guint i = 0; i < top->len; i++) {
		GMimeHeader *h = g_ptr_array_index(top, i);
		struct mail_header *mh = g_new0(struct mail_header, 1);
		const char *raw = g_mime_header_get_raw_value(h);

		mh->name = mime_utf8_line(g_strdup(g_mime_header_get_name(h)), TRUE);
		mh->value = header_decode(opts, raw);
		mh->raw = mime_utf8_line(g_mime_utils_header_unfold(raw != NULL ? raw : ""), TRUE);
		g_ptr_array_add(m->headers, mh);
	}
	subject = mail_header(m, "Subject");
	m->subject = g_strdup(subject != NULL ? subject : "");

	m->message_id = mime_utf8_line(g_strdup(g_mime_message_get_message_id(msg)), FALSE);
	/* RFC 5322 lines end at 998 characters; a longer "identifier" is noise, and could not be
	 * indexed for threading either. */
	if (m->message_id != NULL && strlen(m->message_id) > MIME_MAX_ID_LEN) {
		g_free(m->message_id);
		m->message_id = NULL;
	}
	if (m->message_id == NULL) {
		/* the same for every copy of the message, whatever delivery added */
		m->message_id = g_strdup_printf("%s@spocd.invalid", m->content_sha256);
		m->message_id_synthetic = TRUE;
	}
	irt = msgids_parse(opts, hl, "In-Reply-To");
	if (irt->len > 0)
		m->in_reply_to = g_strdup(g_ptr_array_index(irt, 0));
	g_ptr_array_unref(irt);
	m->references = msgids_parse(opts, hl, "References");

	if (!addr_first(opts, hl, "From", &m->from) && !addr_first(opts, hl, "Sender", &m->from) &&
	    !addr_rescue(mail_header(m, "From"), &m->from) &&
	    !addr_rescue(mail_header(m, "Sender"), &m->from)) {
		/* No address anywhere: the name still tells who sent it. GMime parses nothing out
		 * of the bounces' "MAILER-DAEMON <>", so take the decoded value up to its '<'. */
		GPtrArray *list = addr_parse(opts, hl, "From");
		const char *value = mail_header(m, "From");

		if (list->len > 0)
			m->from.name =
			    g_strdup(((struct mail_addr *)g_ptr_array_index(list, 0))->name);
		else if (value != NULL)
			m->from.name = mime_utf8_line(g_strndup(value, strcspn(value, "<")), FALSE);
		g_ptr_array_unref(list);
	}
	addr_first(opts, hl, "Reply-To", &m->reply_to);
	m->to = addr_parse(opts, hl, "To");
	m->cc = addr_parse(opts, hl, "Cc");
	if (opts != ps->opts)
		g_mime_parser_options_free(opts);
	m->to_text = addr_text(m->to);
	m->cc_text = addr_text(m->cc);

	date = g_mime_message_get_date(msg);
	m->date = date != NULL ? g_date_time_ref(date) : NULL;
	m->attachments = g_ptr_array_new_with_free_func(mime_attachment_free);
	m->limits_hit = g_ptr_array_new_with_free_func(limit_hit_free);
	body_fill(ps, msg);
}

/* TRUE when the bytes are nothing but white space. */
static gboolean all_space(const char *raw, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isspace(raw[i]))
			return FALSE;
	return TRUE;
}

/* Where the header block starts: after a UTF-8 byte order mark and blank lines that some
 * exporters put in front (the SHA-256 still covers every byte). */
static size_t header_start(const char *raw, size_t len)
{
	size_t at = 0;

	if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
		at = 3;
	for (;;) {
		size_t e = at;

		while (e < len && (raw[e] == ' ' || raw[e] == '\t' || raw[e] == '\r'))
			e++;
		if (e >= len || raw[e] != '\n')
			return at;
		at = e + 1;
	}
}

int mime_parse(const char *raw, size_t len, const struct mime_limits *limits, struct mail **mail_r,
	       struct errbuf *err)
{
	static const struct mime_limits none = {0};
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	GPtrArray *top;
	struct mail *m = NULL;
	struct parse ps = {0};
	struct mime_limits scan_limits;
	int rc = SPOC_OK;
	size_t skip, in_len;
	const char *in;
	char *lf = NULL;

	*mail_r = NULL;
	if (limits == NULL)
		limits = &none;
	mime_init();
	if (raw == NULL || len == 0 || all_space(raw, len))
		return errbuf_set(err, SPOC_EPERM, "empty message");
	if (limits->max_message_bytes > 0 && (uint64_t)len > (uint64_t)limits->max_message_bytes)
		return errbuf_set(err, SPOC_EPERM,
				  "message over max_message_bytes (%zu > %" PRId64 ")", len,
				  limits->max_message_bytes);

	skip = header_start(raw, len);
	in = raw + skip;
	in_len = len - skip;
	if (memchr(raw, '\n', len) == NULL && memchr(raw, '\r', len) != NULL) {
		/* old Mac line ends: GMime only knows LF and CRLF */
		lf = g_memdup2(in, in_len);
		for (size_t i = 0; i < in_len; i++)
			if (lf[i] == '\r')
				lf[i] = '\n';
		in = lf;
	}
	/* GMime builds every part and header field before anything can count them: the bytes it
	 * is about to read are counted first, and a bomb is refused here, also without limits */
	scan_limits = *limits;
	if (scan_limits.max_parts <= 0 || scan_limits.max_parts > MIME_CEILING_PARTS)
		scan_limits.max_parts = MIME_CEILING_PARTS;
	if (scan_limits.max_header_bytes <= 0 ||
	    scan_limits.max_header_bytes > MIME_CEILING_HEADER_BYTES)
		scan_limits.max_header_bytes = MIME_CEILING_HEADER_BYTES;
	if ((rc = mime_prescan(in, in_len, &scan_limits, NULL, err)) != SPOC_OK) {
		g_free(lf);
		return rc;
	}
	stream = g_mime_stream_mem_new_with_buffer(in, in_len);
	g_free(lf);
	ps.lim = limits;
	ps.opts = mime_parser_options_new(limits);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, ps.opts);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL) {
		rc = errbuf_set(err, SPOC_EPERM, "no header block");
		goto out;
	}
	top = headers_top(msg);
	if (top->len == 0) {
		rc = errbuf_set(err, SPOC_EPERM, "no header block");
	} else {
		m = g_new0(struct mail, 1);
		spoc_sha256_hex(raw, len, m->sha256);
		identity_digests(raw, len, m->body_sha256, m->content_sha256);
		m->raw_len = len;
		ps.m = m;
		mail_fill(&ps, msg, top);
	}
	g_ptr_array_unref(top);
	g_object_unref(msg);
out:
	g_mime_parser_options_free(ps.opts);
	*mail_r = m;
	return rc;
}
