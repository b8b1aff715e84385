/* The attachments of the mails spocd sends: which of a relayed mail's stored attachments go
 * (the budget of notify.max_attachment_bytes, programs never), and the MIME parts they become.
 * Every name and type was a stranger's: the name is made safe again as intake makes it
 * (mime_safe_filename(): no path, no quote or control character, at most 200 bytes) and GMime
 * encodes it (RFC 2231 for non-ASCII); a type that is not a plain type/subtype goes as
 * application/octet-stream, and so does a message or multipart (only 7bit/8bit/binary may
 * carry those, and their bytes go base64 here). Our text is plain text, which refers to no
 * Content-ID: an image the original showed inline goes as a part of multipart/mixed with
 * disposition inline and its Content-ID kept (multipart/related would promise an HTML root
 * that refers to it), so mail clients show it below the text. */
#include "compose_priv.h"

#include "mime.h"

#include <string.h>

void compose_attachment_free(gpointer p)
{
	struct compose_attachment *a = p;

	if (a == NULL)
		return;
	g_free(a->name);
	g_free(a->content_type);
	g_free(a->content_id);
	g_clear_pointer(&a->data, g_bytes_unref);
	g_free(a);
}

int64_t compose_attachment_cost(const struct compose_attachment *a)
{
	int64_t b64 = (MAX(a->size, 0) + 2) / 3 * 4;
	int64_t name = a->name != NULL ? (int64_t)strlen(a->name) : 0;

	/* base64 lines of 76 with CRLF; the name twice (Content-Type name, Content-Disposition
	 * filename) at up to three bytes a byte, the rest of the headers and the boundary */
	return b64 + (b64 / 76 + 1) * 2 + 6 * name +
	       (a->content_id != NULL ? (int64_t)strlen(a->content_id) + 20 : 0) + 256;
}

gboolean compose_attachment_risky(const struct compose_attachment *a)
{
	/* what Windows, macOS or a desktop runs when opened, and what relays refuse */
	static const char *const exts[] = {
	    "exe", "com", "scr", "pif",	   "bat",	  "cmd", "vbs", "vbe", "js",  "jse", "wsf",
	    "wsh", "msi", "msp", "hta",	   "cpl",	  "jar", "ps1", "lnk", "reg", "dll", "sys",
	    "app", "apk", "sh",	 "gadget", "application", "msc", "inf", "scf", "url",
	};
	static const char *const types[] = {
	    "application/x-msdownload", "application/x-msdos-program",
	    "application/x-dosexec",	"application/x-executable",
	    "application/x-sh",		"application/java-archive",
	    "application/hta",		"application/x-ms-shortcut",
	    "application/x-msi",
	};
	const char *dot = a->name != NULL ? strrchr(a->name, '.') : NULL;

	for (size_t i = 0; dot != NULL && i < G_N_ELEMENTS(exts); i++)
		if (g_ascii_strcasecmp(dot + 1, exts[i]) == 0)
			return TRUE;
	for (size_t i = 0; a->content_type != NULL && i < G_N_ELEMENTS(types); i++)
		if (g_ascii_strcasecmp(a->content_type, types[i]) == 0)
			return TRUE;
	return FALSE;
}

void compose_attachments_choose(GPtrArray *list, int64_t budget)
{
	int64_t left = MAX(budget, 0);

	for (guint i = 0; list != NULL && i < list->len; i++) {
		struct compose_attachment *a = g_ptr_array_index(list, i);
		int64_t cost = compose_attachment_cost(a);

		if (compose_attachment_risky(a)) {
			a->fate = COMPOSE_FATE_RISKY;
		} else if (cost <= left) {
			a->fate = COMPOSE_FATE_ATTACH;
			left -= cost;
		} else {
			a->fate = COMPOSE_FATE_TOO_BIG;
		}
	}
}

/* TRUE when t is a token of RFC 2045 (what a type or subtype may be), short. */
static gboolean type_token(const char *t, size_t n)
{
	if (n == 0 || n > 100)
		return FALSE;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return FALSE;
	}
	return TRUE;
}

/* The part's type: the stored one when it is a plain type/subtype that may be base64, else
 * application/octet-stream. */
static GMimeContentType *part_type(const char *stored)
{
	const char *slash = stored != NULL ? strchr(stored, '/') : NULL;

	if (slash != NULL && type_token(stored, (size_t)(slash - stored)) &&
	    type_token(slash + 1, strlen(slash + 1)) &&
	    g_ascii_strncasecmp(stored, "message/", 8) != 0 &&
	    g_ascii_strncasecmp(stored, "multipart/", 10) != 0) {
		char *type = g_strndup(stored, (gsize)(slash - stored));
		GMimeContentType *ct = g_mime_content_type_new(type, slash + 1);

		g_free(type);
		return ct;
	}
	return g_mime_content_type_new("application", "octet-stream");
}

/* TRUE when id can stand between angle brackets as a Content-ID: printable ASCII without
 * blanks or brackets, short. A stored one that cannot is left out (the part still goes). */
static gboolean content_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL || *id == '\0')
		return FALSE;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++, n++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == '\\')
			return FALSE;
	return n <= 250;
}

/* Names every parameter called name of params to be written by RFC 2231 in UTF-8 when it needs
 * encoding (GMime's default could pick another charset or RFC 2047 words). */
static void params_rfc2231(GMimeParamList *params, const char *name)
{
	for (int i = 0; params != NULL && i < g_mime_param_list_length(params); i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(params, i);

		if (g_ascii_strcasecmp(g_mime_param_get_name(p), name) == 0) {
			g_mime_param_set_encoding_method(p, GMIME_PARAM_ENCODING_METHOD_RFC2231);
			g_mime_param_set_charset(p, "utf-8");
		}
	}
}

/* The part of one attachment (n: its place among the mail's, for a name when it has none).
 * Caller unrefs. */
static GMimeObject *attachment_part(const struct compose_attachment *a, guint n)
{
	GMimeContentType *ct = part_type(a->content_type);
	GMimePart *part = g_mime_part_new();
	GMimeObject *obj = GMIME_OBJECT(part);
	gsize len;
	const guint8 *data = g_bytes_get_data(a->data, &len);
	GByteArray *copy = g_byte_array_sized_new((guint)len);
	GMimeStream *stream;
	GMimeDataWrapper *content;
	char stem[32], *type, *name;

	g_mime_object_set_content_type(obj, ct);
	g_object_unref(ct);
	g_byte_array_append(copy, data != NULL ? data : (const guint8 *)"", (guint)len);
	stream = g_mime_stream_mem_new_with_byte_array(copy); /* the stream owns copy */
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);

	g_snprintf(stem, sizeof(stem), "attachment-%u", n);
	type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
	name = mime_safe_filename(a->name, type, stem);
	g_mime_object_set_disposition(obj, a->inline_ ? "inline" : "attachment");
	g_mime_part_set_filename(part, name);
	params_rfc2231(
	    g_mime_content_disposition_get_parameters(g_mime_object_get_content_disposition(obj)),
	    "filename");
	params_rfc2231(g_mime_content_type_get_parameters(g_mime_object_get_content_type(obj)),
		       "name");
	if (content_id_valid(a->content_id))
		g_mime_object_set_content_id(obj, a->content_id);
	g_free(name);
	g_free(type);
	return obj;
}

GMimeObject *compose_parts_body(GMimePart *text, const GPtrArray *attachments)
{
	GMimeMultipart *mixed = NULL;
	guint n = 0;

	for (guint i = 0; attachments != NULL && i < attachments->len; i++) {
		const struct compose_attachment *a = g_ptr_array_index(attachments, i);
		GMimeObject *part;

		if (a->fate != COMPOSE_FATE_ATTACH || a->data == NULL)
			continue;
		if (mixed == NULL) {
			mixed = g_mime_multipart_new_with_subtype("mixed");
			g_mime_multipart_add(mixed, GMIME_OBJECT(text));
		}
		part = attachment_part(a, ++n);
		g_mime_multipart_add(mixed, part);
		g_object_unref(part);
	}
	if (mixed == NULL)
		return g_object_ref(GMIME_OBJECT(text));
	return GMIME_OBJECT(mixed);
}
