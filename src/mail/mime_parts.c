/* The parts of an incoming message that are not its body, kept as attachments (mime.h's struct
 * mail_attachment): files and inline images, forwarded messages (as .eml, with their text for
 * search), the files inside Outlook's winmail.dat, and files uuencoded into a plain text body.
 * Limits on parts, nesting and sizes are applied here and what they left out is listed. */
#include "mime_priv.h"

#include "tnef.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

char *mime_safe_filename(const char *name, const char *content_type, const char *fallback_stem)
{
	static const struct {
		const char *type, *ext;
	} exts[] = {
	    {"text/plain", "txt"},
	    {"text/html", "html"},
	    {"text/calendar", "ics"},
	    {"text/csv", "csv"},
	    {"text/rfc822-headers", "txt"},
	    {"message/rfc822", "eml"},
	    {"message/delivery-status", "txt"},
	    {"message/disposition-notification", "txt"},
	    {"message/feedback-report", "txt"},
	    {"image/png", "png"},
	    {"image/jpeg", "jpg"},
	    {"image/gif", "gif"},
	    {"image/bmp", "bmp"},
	    {"image/webp", "webp"},
	    {"application/pdf", "pdf"},
	    {"application/zip", "zip"},
	    {"application/pgp-signature", "asc"},
	    {"application/pgp-encrypted", "txt"},
	    {"application/pkcs7-signature", "p7s"},
	    {"application/x-pkcs7-signature", "p7s"},
	    {"application/pkcs7-mime", "p7m"},
	    {"application/x-pkcs7-mime", "p7m"},
	    {"application/ms-tnef", "dat"},
	};
	GString *out = g_string_new(NULL);
	const char *base = NULL;

	if (name != NULL) {
		char *valid = g_utf8_make_valid(name, -1);
		const char *p = valid;

		/* the last component after '/' or '\\' */
		for (const char *q = valid; *q != '\0'; q++)
			if (*q == '/' || *q == '\\')
				p = q + 1;
		for (; *p != '\0'; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);

			/* controls, bidi embeddings/overrides/isolates and marks, BOM */
			if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x200b && c <= 0x200f) ||
			    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
			    c == 0x061c || c == 0xfeff)
				continue;
			if (c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
			    c == '|')
				g_string_append_c(out, '_');
			else
				g_string_append_unichar(out, c);
		}
		g_free(valid);
		/* no hidden files, no "..", no blanks or dots at either end */
		while (out->len > 0 && (out->str[0] == '.' || out->str[0] == ' '))
			g_string_erase(out, 0, 1);
		while (out->len > 0 &&
		       (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
			g_string_truncate(out, out->len - 1);
		if (out->len > 200) {
			/* keep the extension, cut the stem on a character boundary */
			const char *dot = strrchr(out->str, '.');
			size_t ext = dot != NULL && strlen(dot) <= 16 ? strlen(dot) : 0;
			char *ext_copy = g_strdup(out->str + out->len - ext);
			const char *cut = out->str + (200 - ext);

			cut = g_utf8_find_prev_char(out->str, cut + 1);
			g_string_truncate(out, cut != NULL ? (gsize)(cut - out->str) : 0);
			g_string_append(out, ext_copy);
			g_free(ext_copy);
		}
		base = out->str;
	}
	if (base == NULL || *base == '\0') {
		const char *ext = "bin";

		for (size_t i = 0; content_type != NULL && i < G_N_ELEMENTS(exts); i++)
			if (g_ascii_strcasecmp(content_type, exts[i].type) == 0)
				ext = exts[i].ext;
		g_string_printf(out, "%s.%s", fallback_stem, ext);
	}
	return g_string_free(out, FALSE);
}

void mime_attachment_free(gpointer p)
{
	struct mail_attachment *a = p;

	g_free(a->name);
	g_free(a->content_type);
	g_free(a->content_id);
	g_clear_pointer(&a->data, g_bytes_unref);
	g_free(a->text);
	g_free(a);
}

/* Adds an attachment unless it is over max_attachment_bytes (then it is listed as left out).
 * Takes ownership of data and name. */
static void attachment_add(struct parse *ps, char *name, const char *content_type,
			   const char *content_id, gboolean inline_, const char *origin,
			   GBytes *data, char *text)
{
	struct mail_attachment *a;
	char stem[32];
	gsize size = g_bytes_get_size(data);

	g_snprintf(stem, sizeof(stem), "attachment-%u", ps->m->attachments->len + 1);
	if (ps->lim->max_attachment_bytes > 0 && (gint64)size > ps->lim->max_attachment_bytes) {
		char *safe = mime_safe_filename(name, content_type, stem);

		mime_limit_hit(ps->m, "max_attachment_bytes",
			       "attachment \"%s\" (%s, %" G_GSIZE_FORMAT
			       " bytes) left out: over max_attachment_bytes (%" G_GINT64_FORMAT ")",
			       safe, content_type, size, ps->lim->max_attachment_bytes);
		g_free(safe);
		g_free(name);
		g_free(text);
		g_bytes_unref(data);
		return;
	}
	a = g_new0(struct mail_attachment, 1);
	a->name = mime_safe_filename(name, content_type, stem);
	a->content_type = g_ascii_strdown(content_type, -1);
	a->content_id = content_id != NULL ? mime_utf8_line(g_strdup(content_id), FALSE) : NULL;
	a->disposition = inline_ ? "inline" : "attachment";
	a->origin = origin;
	a->data = data;
	a->text = text;
	spoc_sha256_hex(g_bytes_get_data(data, NULL), size, a->sha256);
	g_ptr_array_add(ps->m->attachments, a);
	g_free(name);
}

/* The limit that made tnef_unpack() leave out what one of its notes says. Static. */
static const char *tnef_note_limit(const char *note)
{
	if (strstr(note, "max_files") != NULL)
		return "max_parts";
	if (strstr(note, "rich text") != NULL)
		return "max_attachment_bytes";
	return "max_message_bytes";
}

/* Unpacks winmail.dat into its files; TRUE when it was TNEF (then the container itself is not
 * kept, even when it held nothing: the raw message still has it). Its text is read (compressed
 * RTF decompressed up to max_attachment_bytes) only while the message has no other. */
static gboolean tnef_add(struct parse *ps, GBytes *data)
{
	size_t max_total = ps->lim->max_message_bytes > 0 ? (size_t)ps->lim->max_message_bytes * 2
							  : (size_t)256 * 1024 * 1024;
	size_t max_files = ps->lim->max_parts > 0 ? (size_t)ps->lim->max_parts : 1000;
	size_t max_rtf =
	    ps->lim->max_attachment_bytes > 0 ? (size_t)ps->lim->max_attachment_bytes : 0;
	gboolean want_body = ps->body == NULL && ps->tnef_body == NULL;
	GPtrArray *files = NULL;
	char *body = NULL, **notes;
	struct errbuf err = {{0}};
	gsize len;
	const void *raw = g_bytes_get_data(data, &len);

	if (tnef_unpack(raw, len, max_files, max_total, max_rtf, &files, want_body ? &body : NULL,
			&err) != SPOC_OK)
		return FALSE; /* not TNEF after all, or damaged: kept as it is */
	/* what the unpacking left out (too many files, too many bytes) is listed like any limit */
	notes = err.msg[0] != '\0' ? g_strsplit(err.msg, "; ", -1) : NULL;
	for (size_t i = 0; notes != NULL && notes[i] != NULL; i++)
		mime_limit_hit(ps->m, tnef_note_limit(notes[i]), "winmail.dat: %s", notes[i]);
	g_strfreev(notes);
	for (guint i = 0; i < files->len; i++) {
		struct tnef_file *f = g_ptr_array_index(files, i);

		attachment_add(ps, g_strdup(f->name), f->content_type, NULL, FALSE, "tnef",
			       g_bytes_ref(f->data), NULL);
	}
	g_ptr_array_unref(files);
	if (body != NULL && ps->tnef_body == NULL) {
		ps->tnef_body = mime_to_utf8(ps->opts, body, strlen(body), "utf-8");
		mime_newlines_normalise(ps->tnef_body);
	}
	g_free(body);
	return TRUE;
}

/* A forwarded or bounced message: kept whole as "<subject>.eml", its text kept for search. */
static void message_add(struct parse *ps, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeObject *obj = GMIME_OBJECT(mp);
	GByteArray *bytes;
	char *name = NULL, *text = NULL;
	gboolean inline_ = FALSE;
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	if (inner != NULL) {
		const char *subject = g_mime_message_get_subject(inner), *source;

		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, mem);
		if (subject != NULL && *subject != '\0') {
			char *clean = mime_utf8_line(g_strdup(subject), FALSE);

			if (clean != NULL) {
				if (strlen(clean) > 180) {
					const char *cut = g_utf8_find_prev_char(clean, clean + 181);

					clean[cut != NULL ? cut - clean : 0] = '\0';
				}
				/* a subject is not a path: "12/7" stays one name */
				g_strdelimit(clean, "/\\", '-');
				name = g_strconcat(clean, ".eml", NULL);
				g_free(clean);
			}
		}
		text = mime_message_text(ps, inner, &source);
	}
	if (name == NULL)
		name = g_strdup("forwarded-message.eml");
	inline_ = cd != NULL && !g_mime_content_disposition_is_attachment(cd);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	attachment_add(ps, name, "message/rfc822", g_mime_object_get_content_id(obj), inline_,
		       "message", g_bytes_new(bytes->data, bytes->len), text);
	g_object_unref(mem);
}

/* TRUE when obj is, or contains, part. */
static gboolean subtree_has(GMimeObject *obj, GMimeObject *part, int depth)
{
	if (obj == part)
		return TRUE;
	if (depth > 64 || !GMIME_IS_MULTIPART(obj))
		return FALSE;
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
		if (subtree_has(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), part,
				depth + 1))
			return TRUE;
	return FALSE;
}

/* Whether a leaf is a text part that reads as part of the body (inline, nameless, plain). */
static gboolean part_is_inline_text(GMimeObject *obj)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	return g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", "plain") &&
	       !mime_part_has_name(obj) &&
	       (cd == NULL || !g_mime_content_disposition_is_attachment(cd));
}

/* Walks the part tree in document order and collects everything that is not the body. Parts of
 * a multipart/alternative that holds the body are the body in another form: their text parts
 * are skipped, their images (multipart/related) kept. Inline nameless text/plain parts after the
 * body of a multipart/mixed (Apple Mail's text around an inline image) join the body. */
void mime_walk(struct parse *ps, GMimeObject *obj, int depth, gboolean body_alt,
	       gboolean after_body)
{
	if (obj == NULL)
		return;
	if (ps->lim->max_parts > 0 && ps->parts >= ps->lim->max_parts) {
		if (!ps->parts_hit)
			mime_limit_hit(ps->m, "max_parts",
				       "parts after the first %d left out (max_parts)",
				       ps->lim->max_parts);
		ps->parts_hit = TRUE;
		return;
	}
	ps->parts++;
	if (ps->lim->max_depth > 0 && depth > ps->lim->max_depth) {
		if (!ps->depth_hit)
			mime_limit_hit(ps->m, "max_depth",
				       "parts nested deeper than %d levels left out (max_depth)",
				       ps->lim->max_depth);
		ps->depth_hit = TRUE;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		gboolean alt = g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
							   "multipart", "alternative") &&
			       ps->body != NULL && subtree_has(obj, GMIME_OBJECT(ps->body), 0);
		gboolean seen_body = FALSE;

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			GMimeObject *child = g_mime_multipart_get_part(mp, i);

			mime_walk(ps, child, depth + 1, body_alt || alt, seen_body);
			if (ps->body != NULL && subtree_has(child, GMIME_OBJECT(ps->body), 0))
				seen_body = TRUE;
		}
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		message_add(ps, GMIME_MESSAGE_PART(obj));
		return;
	}
	if (!GMIME_IS_PART(obj) || obj == GMIME_OBJECT(ps->body))
		return;

	GMimePart *part = GMIME_PART(obj);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = g_mime_content_type_get_mime_type(ct);
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
	const char *cid = g_mime_object_get_content_id(obj);
	const char *fname = g_mime_part_get_filename(part);
	gboolean inline_;
	GBytes *data;

	if (body_alt && g_mime_content_type_is_type(ct, "text", "*") && !mime_part_has_name(obj)) {
		g_free(type);
		return;
	}
	if (after_body && ps->body != NULL && part_is_inline_text(obj)) {
		char *text = mime_part_text(ps, part);

		g_string_append(ps->extra, "\n\n");
		g_string_append(ps->extra, text);
		g_free(text);
		g_free(type);
		return;
	}
	data = mime_part_bytes(part);
	if ((g_ascii_strcasecmp(type, "application/ms-tnef") == 0 ||
	     g_ascii_strcasecmp(type, "application/vnd.ms-tnef") == 0 ||
	     (fname != NULL && g_ascii_strcasecmp(fname, "winmail.dat") == 0)) &&
	    tnef_add(ps, data)) {
		g_bytes_unref(data);
		g_free(type);
		return;
	}
	inline_ = cd != NULL ? !g_mime_content_disposition_is_attachment(cd) : cid != NULL;
	attachment_add(ps, fname != NULL ? g_strdup(fname) : NULL, type, cid, inline_, "mime", data,
		       NULL);
	g_free(type);
}

/* A MIME type for a file name's extension, for files that came without one. Static. */
static const char *type_for_extension(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"jpg", "image/jpeg"},	   {"jpeg", "image/jpeg"},
	    {"png", "image/png"},	   {"gif", "image/gif"},
	    {"bmp", "image/bmp"},	   {"pdf", "application/pdf"},
	    {"zip", "application/zip"},	   {"txt", "text/plain"},
	    {"log", "text/plain"},	   {"csv", "text/csv"},
	    {"htm", "text/html"},	   {"html", "text/html"},
	    {"doc", "application/msword"}, {"xls", "application/vnd.ms-excel"},
	    {"tar", "application/x-tar"},  {"gz", "application/gzip"},
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;

	for (size_t i = 0; dot != NULL && i < G_N_ELEMENTS(types); i++)
		if (g_ascii_strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Appends the bytes of one uuencoded line (its length character first, len > 0) to out. GMime
 * decodes them, one line at a time, after the line is cut or padded with '`' (zero) to the
 * characters its length character counts. Not one g_mime_encoding_uudecode_step() call over the
 * whole block: it carries a group of four characters that a line left unfinished over into the
 * next line, so one line whose trailing blanks (zeros, in old encoders) a relay stripped shifts
 * every byte after it, and it takes a character after the counted ones (some encoders add a
 * checksum) for the next line's length. */
static void uu_line(const char *line, size_t len, GByteArray *out)
{
	/* a length character counts at most 63 bytes: 21 groups of four characters */
	guchar in[1 + 21 * 4], bytes[21 * 3];
	size_t need = 1 + ((size_t)(((guchar)line[0] - ' ') & 63) + 2) / 3 * 4;
	int state = GMIME_UUDECODE_STATE_BEGIN;
	guint32 save = 0;

	memset(in, '`', sizeof(in));
	memcpy(in, line, MIN(len, need));
	g_byte_array_append(out, bytes,
			    (guint)g_mime_encoding_uudecode_step(in, need, bytes, &state, &save));
}

/* Takes the uuencoded files out of a plain text body ("begin 644 name" ... "end", as old mail
 * clients and mailing-list gateways attach them) and keeps them as attachments; the text loses
 * those lines. A block without its "end" line is left alone, and so is every block once the
 * message has max_parts attachments (listed as left out). Linear in the text: a block without
 * its "end" ran to the end of the text looking for it, so no later block has one. Returns a new
 * text. */
char *mime_uu_extract(struct parse *ps, const char *text)
{
	size_t total = strlen(text);
	GString *out = g_string_sized_new(total);
	const char *p = text, *end = text + total;
	gboolean more = TRUE; /* a later block may still be taken out */

	while (*p != '\0') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl != NULL ? nl + 1 : p + len;
		char mode[8], *name = NULL;

		if (more && len > 10 && len < 1000 && strncmp(p, "begin ", 6) == 0) {
			char *line = g_strndup(p, len);

			if (sscanf(line, "begin %7[0-7] ", mode) == 1 && strlen(mode) >= 3) {
				const char *n = line + 6 + strlen(mode);

				while (*n == ' ')
					n++;
				if (*n != '\0')
					name = g_strdup(n);
			}
			g_free(line);
		}
		if (name != NULL && ps->lim->max_parts > 0 &&
		    ps->m->attachments->len >= (guint)ps->lim->max_parts) {
			mime_limit_hit(ps->m, "max_parts",
				       "uuencoded files after the first %d attachments left in the "
				       "text (max_parts)",
				       ps->lim->max_parts);
			g_clear_pointer(&name, g_free);
			more = FALSE;
		}
		if (name != NULL) {
			GByteArray *data = g_byte_array_new();
			const char *q = next;
			gboolean ended = FALSE;

			while (*q != '\0' && !ended) {
				const char *qnl = memchr(q, '\n', (size_t)(end - q));
				size_t qlen = qnl != NULL ? (size_t)(qnl - q) : (size_t)(end - q);

				if (qlen == 3 && strncmp(q, "end", 3) == 0) {
					ended = TRUE;
				} else if (qlen > 0) {
					uu_line(q, qlen, data);
				}
				q = qnl != NULL ? qnl + 1 : q + qlen;
			}
			if (ended) {
				attachment_add(ps, name, type_for_extension(name), NULL, FALSE,
					       "mime", g_byte_array_free_to_bytes(data), NULL);
				p = q;
				continue;
			}
			g_byte_array_unref(data);
			g_free(name);
			more = FALSE;
		}
		g_string_append_len(out, p, (gssize)(next - p));
		p = next;
	}
	return g_string_free(out, FALSE);
}
