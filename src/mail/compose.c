/* Builds the messages spocd sends, with GMime doing every encoding (RFC 2047 words for non-ASCII
 * subjects and names, quoted-printable or base64 for the body, folding, CRLF line ends). Nothing
 * is pasted into a header as a string: free text that came from a customer (a subject, a display
 * name) has its control characters flattened to spaces first, so a CR LF inside it can never start
 * a header of its own, and identifiers and addresses that do not look like what they claim to be
 * are refused (our own) or left out (the customer's, in In-Reply-To and References). */
#include "compose_priv.h"

#include <gmime/gmime.h>
#include <string.h>

/* References beyond this are trimmed to the first one and the most recent ones, as mail clients
 * do (RFC 5322 3.6.4 allows it): a long thread must not make a header of kilobytes. */
#define COMPOSE_MAX_REFERENCES 20
/* RFC 5322 caps a line at 998 octets; an identifier longer than this cannot be folded. */
#define COMPOSE_MAX_ID_LEN 250

gboolean compose_msgid_valid(const char *id)
{
	size_t n = 0;
	int at = 0;

	if (id == NULL || *id == '\0')
		return FALSE;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++, n++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
			return FALSE;
		if (*p == '@')
			at++;
	}
	return at == 1 && id[0] != '@' && id[n - 1] != '@' && n <= COMPOSE_MAX_ID_LEN;
}

/* An addr-spec fit for a header: no control characters, no angle brackets and no list separators
 * or whitespace outside a quoted local part, exactly one '@' outside quotes with both sides
 * non-empty. Non-ASCII (RFC 6531 addresses) is allowed when it is valid UTF-8. */
static gboolean addr_valid(const char *addr)
{
	gboolean quoted = FALSE;
	const char *at = NULL;
	size_t len;

	if (addr == NULL || *addr == '\0' || !g_utf8_validate(addr, -1, NULL))
		return FALSE;
	len = strlen(addr);
	if (len > 254)
		return FALSE;
	for (const char *p = addr; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return FALSE;
		if (quoted) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '"')
				quoted = FALSE;
			continue;
		}
		if (c == '"' && at == NULL)
			quoted = TRUE;
		else if (c == ' ' || c == ',' || c == ';' || c == ':' || c == '(' || c == ')')
			return FALSE;
		else if (c == '@') {
			if (at != NULL)
				return FALSE;
			at = p;
		}
	}
	return !quoted && at != NULL && at != addr && at[1] != '\0';
}

/* A copy of text fit for an unstructured header: valid UTF-8 (invalid bytes become U+FFFD), every
 * control character (CR, LF, TAB, NUL...) a space, runs of spaces collapsed, trimmed. Caller
 * g_free()s. */
static char *header_text(const char *text)
{
	char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid));
	gboolean space = FALSE;

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c) || g_unichar_isspace(c) || c == 0x2028 || c == 0x2029) {
			space = out->len > 0;
			continue;
		}
		if (space)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_unichar(out, c);
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}

/* A Content-Language tag: letters, digits and '-' only (RFC 5646), short. */
static gboolean language_valid(const char *lang)
{
	size_t n = 0;

	if (lang == NULL || *lang == '\0')
		return FALSE;
	for (const char *p = lang; *p != '\0'; p++, n++)
		if (!g_ascii_isalnum(*p) && *p != '-')
			return FALSE;
	return n <= 35;
}

/* A short token for our own headers (Auto-Submitted, the loop header): printable ASCII, no
 * whitespace issues because GMime folds it like any unstructured value. */
static gboolean token_valid(const char *value)
{
	if (value == NULL || *value == '\0' || strlen(value) > 200)
		return FALSE;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return FALSE;
	return TRUE;
}

/* "<a> <b> ...", the valid ids of refs (trimmed to the first and the most recent), or NULL when
 * none is valid. Caller g_free()s. */
static char *references_value(GPtrArray *refs)
{
	GPtrArray *ok;
	GString *out;
	guint from;

	if (refs == NULL || refs->len == 0)
		return NULL;
	ok = g_ptr_array_new();
	for (guint i = 0; i < refs->len; i++) {
		const char *id = g_ptr_array_index(refs, i);

		if (compose_msgid_valid(id))
			g_ptr_array_add(ok, (gpointer)id);
	}
	if (ok->len == 0) {
		g_ptr_array_free(ok, TRUE);
		return NULL;
	}
	out = g_string_new(NULL);
	g_string_append_printf(out, "<%s>", (const char *)g_ptr_array_index(ok, 0));
	from = ok->len > COMPOSE_MAX_REFERENCES ? ok->len - (COMPOSE_MAX_REFERENCES - 1) : 1;
	for (guint i = from; i < ok->len; i++)
		g_string_append_printf(out, " <%s>", (const char *)g_ptr_array_index(ok, i));
	g_ptr_array_free(ok, TRUE);
	return g_string_free(out, FALSE);
}

/* The body as canonical text (CRLF line ends, as RFC 2045 wants before a base64 encoding; the
 * quoted-printable encoder and the DOS newline filter keep CRLF as it is), ending with a line
 * end. Caller frees with g_byte_array_unref(). */
static GByteArray *body_bytes(const char *body)
{
	GByteArray *out = g_byte_array_sized_new((guint)strlen(body) + 64);

	for (const char *p = body; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue; /* the '\n' that follows writes the line end */
		if (*p == '\r' || *p == '\n')
			g_byte_array_append(out, (const guint8 *)"\r\n", 2);
		else
			g_byte_array_append(out, (const guint8 *)p, 1);
	}
	if (out->len < 2 || out->data[out->len - 2] != '\r' || out->data[out->len - 1] != '\n')
		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	return out;
}

/* The text/plain; charset=utf-8 part, in the encoding GMime finds best for 7-bit transport.
 * Caller unrefs. */
static GMimePart *text_part(const char *body)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	GByteArray *bytes = body_bytes(body);
	GMimeStream *stream;
	GMimeDataWrapper *content;

	/* Not g_mime_text_part_set_text(): it would pick iso-8859-1 for Latin text, and people's
	 * mail clients all read UTF-8. */
	g_mime_text_part_set_charset(part, "utf-8");
	stream = g_mime_stream_mem_new_with_byte_array(bytes); /* the stream owns bytes now */
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(part), content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(GMIME_PART(part),
					 g_mime_part_get_best_content_encoding(
					     GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
	return GMIME_PART(part);
}

/* Adds "name <addr>" with a name encoded as UTF-8 when it needs encoding (GMime would otherwise
 * pick the smallest charset, such as iso-8859-1). */
static void add_mailbox(GMimeMessage *msg, GMimeAddressType type, const char *name,
			const char *addr)
{
	InternetAddress *ia = internet_address_mailbox_new(name, addr);

	internet_address_set_charset(ia, "utf-8");
	internet_address_list_add(g_mime_message_get_addresses(msg, type), ia);
	g_object_unref(ia);
}

/* Checks what must be right before anything is built; SPOC_OK or SPOC_EPERM with the reason. */
static int check_input(const struct compose_input *in, struct errbuf *err)
{
	if (!addr_valid(in->from_addr))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid From address \"%s\"",
				  in->from_addr != NULL ? in->from_addr : "(null)");
	if (!addr_valid(in->to_addr))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid To address \"%s\"",
				  in->to_addr != NULL ? in->to_addr : "(null)");
	if (!compose_msgid_valid(in->message_id))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid Message-ID \"%s\"",
				  in->message_id != NULL ? in->message_id : "(null)");
	if (in->reply_to_addr != NULL && !addr_valid(in->reply_to_addr))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid Reply-To address \"%s\"",
				  in->reply_to_addr);
	if (!token_valid(in->auto_submitted))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid Auto-Submitted value");
	if (!token_valid(in->loop_value))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid %s value", SPOC_LOOP_HEADER);
	if (in->language != NULL && *in->language != '\0' && !language_valid(in->language))
		return errbuf_set(err, SPOC_EPERM, "compose: invalid language tag \"%s\"",
				  in->language);
	if (in->body == NULL || !g_utf8_validate(in->body, -1, NULL))
		return errbuf_set(err, SPOC_EPERM, "compose: body is not valid UTF-8");
	return SPOC_OK;
}

GByteArray *compose_message(const struct compose_input *in, struct errbuf *err)
{
	GMimeMessage *msg;
	GMimeObject *obj, *body;
	GMimePart *part;
	GMimeFormatOptions *opts;
	GMimeStream *mem;
	GByteArray *out;
	GDateTime *now;
	char *from_name, *to_name, *subject, *refs, *bracketed;

	if (check_input(in, err) != SPOC_OK)
		return NULL;
	g_mime_init(); /* reference counted: cheap after the first call */

	msg = g_mime_message_new(TRUE);
	obj = GMIME_OBJECT(msg);
	from_name = header_text(in->from_name);
	to_name = header_text(in->to_name);
	subject = header_text(in->subject);

	add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, in->from_addr);
	add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, to_name, in->to_addr);
	if (in->reply_to_addr != NULL)
		add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, in->from_name, in->reply_to_addr);
	g_mime_message_set_subject(msg, subject, "utf-8");
	now = g_date_time_new_now_local();
	g_mime_message_set_date(msg, now);
	g_date_time_unref(now);
	g_mime_message_set_message_id(msg, in->message_id);

	if (compose_msgid_valid(in->in_reply_to)) {
		bracketed = g_strdup_printf("<%s>", in->in_reply_to);
		g_mime_object_set_header(obj, "In-Reply-To", bracketed, NULL);
		g_free(bracketed);
	}
	refs = references_value(in->references);
	if (refs != NULL)
		g_mime_object_set_header(obj, "References", refs, NULL);
	g_free(refs);

	g_mime_object_set_header(obj, "MIME-Version", "1.0", NULL);
	/* RFC 3834: a machine answered; well-behaved responders will not answer back. */
	g_mime_object_set_header(obj, "Auto-Submitted", in->auto_submitted, NULL);
	g_mime_object_set_header(obj, SPOC_LOOP_HEADER, in->loop_value, NULL);
	/* Exchange: no out-of-office or delivery receipts in reply to this. */
	g_mime_object_set_header(obj, "X-Auto-Response-Suppress", "All", NULL);
	if (in->language != NULL && *in->language != '\0')
		g_mime_object_set_header(obj, "Content-Language", in->language, NULL);

	part = text_part(in->body);
	body = compose_parts_body(part, in->attachments);
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);
	g_object_unref(part);

	opts = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
	mem = g_mime_stream_mem_new();
	if (g_mime_object_write_to_stream(obj, opts, mem) < 0 || g_mime_stream_flush(mem) < 0) {
		errbuf_set(err, SPOC_ETEMP, "compose: cannot write message %s", in->message_id);
		out = NULL;
	} else {
		/* Take the array from the stream so it survives the stream. */
		out = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	}
	g_object_unref(mem);
	g_mime_format_options_free(opts);
	g_object_unref(msg);
	g_free(from_name);
	g_free(to_name);
	g_free(subject);
	return out;
}
