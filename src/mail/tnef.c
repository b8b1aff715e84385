/* Unpacks Outlook's winmail.dat (application/ms-tnef): the files attached to the message and
 * its own text, as UTF-8. libytnef reads the MAPI property blocks, which is where TNEF is hard;
 * this file reads the attribute framing around them itself first (signature, lengths, checksums,
 * which attribute belongs to which attachment) and hands libytnef one small private stream per
 * block, because libytnef 2.0 (Debian 12) trusts that framing too much: it leaks a repeated
 * attribute, walks its attachment list once per attribute, treats a short read as a full one
 * (119 bytes can make it allocate 320 MiB), and fails the whole stream over one sender, subject,
 * title or icon longer than its fixed limits. The blocks are filtered too (see mapi_filter()).
 * Compressed RTF goes to rtf.c, never to libytnef's DecompressRTF(), which reads past its input
 * and leaks what the stream claims to need, up to 4 GiB. */
#include "tnef.h"

#include "html.h"
#include "rtf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h> /* tnef-types.h uses FILE */
#include <string.h>
#include <ytnef.h>

#define TNEF_SIGNATURE 0x223E9F78u
/* signature, key, then attributes of level(1) id(4) length(4) data checksum(2) */
#define TNEF_HEADER_LEN 6
#define ATTR_OVERHEAD	11

/* One attribute as framed in the input; raw == NULL when absent. */
struct attr {
	const guint8 *raw; /* from the level byte to the checksum */
	size_t raw_len;
	const guint8 *data;
	guint32 len;
	guint32 id;
	guint8 level;
};

/* The attributes of one attachment that spocd reads; rend (attAttachRendData) opens it. */
struct attachment {
	struct attr rend, title, data, mapi;
};

/* What scan() found at the message's level. */
struct stream {
	struct attr mapi; /* the message's attMsgProps */
	struct attr body; /* the message's down-level attBody */
	guint32 oem_cp;	  /* attOemCodepage, 0 if absent */
	guint stray;	  /* attachment attributes before any attachment */
};

static guint32 le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static guint16 checksum(const guint8 *p, size_t n)
{
	guint16 sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (guint16)(sum + p[i]);
	return sum;
}

static const char *attr_name(guint32 id)
{
	switch (id) {
	case attAttachRenddata:
		return "attAttachRendData";
	case attAttachTitle:
		return "attAttachTitle";
	case attAttachData:
		return "attAttachData";
	case attAttachment:
		return "attAttachment";
	case attMAPIProps:
		return "attMsgProps";
	case attBody:
		return "attBody";
	default:
		return "attribute";
	}
}

/* The attribute at *off, whose framing fits in len (scan() checked it); moves *off past it. */
static void attr_at(const guint8 *p, size_t *off, struct attr *a)
{
	a->raw = p + *off;
	a->level = p[*off];
	a->id = le32(p + *off + 1);
	a->len = le32(p + *off + 5);
	a->data = p + *off + 9;
	a->raw_len = ATTR_OVERHEAD + (size_t)a->len;
	*off += a->raw_len;
}

/* The slot of an attachment's attribute that spocd reads, or NULL for one it does not. */
static struct attr *attachment_slot(struct attachment *att, guint32 id)
{
	switch (id) {
	case attAttachTitle:
		return &att->title;
	case attAttachData:
		return &att->data;
	case attAttachment:
		return &att->mapi;
	default:
		return NULL;
	}
}

/* Checks the framing of the whole stream (signature, every attribute's length and checksum, no
 * attribute that spocd reads twice in one place: libytnef would leak the first, and Outlook never
 * writes one twice) and fills s. Returns SPOC_OK, or SPOC_EPERM with the reason in err. Keeps
 * nothing per attachment, so memory does not grow with their number. */
static int scan(const guint8 *p, size_t len, struct stream *s, struct errbuf *err)
{
	struct attachment cur = {0};
	gboolean in_attachment = FALSE;
	size_t off = TNEF_HEADER_LEN;

	if (len < TNEF_HEADER_LEN + ATTR_OVERHEAD)
		return errbuf_set(err, SPOC_EPERM, "not TNEF: %zu bytes", len);
	if (le32(p) != TNEF_SIGNATURE)
		return errbuf_set(err, SPOC_EPERM, "not TNEF: no TNEF signature");
	while (off < len) {
		size_t at = off;
		struct attr a, *slot = NULL;

		if (len - off < ATTR_OVERHEAD)
			return errbuf_set(err, SPOC_EPERM,
					  "not TNEF: truncated attribute at offset %zu", off);
		if (le32(p + off + 5) > len - off - ATTR_OVERHEAD)
			return errbuf_set(err, SPOC_EPERM,
					  "not TNEF: %s 0x%08x at offset %zu: length %u past the "
					  "end",
					  attr_name(le32(p + off + 1)), le32(p + off + 1), off,
					  le32(p + off + 5));
		attr_at(p, &off, &a);
		if (checksum(a.data, a.len) != (p[off - 2] | p[off - 1] << 8))
			return errbuf_set(err, SPOC_EPERM,
					  "not TNEF: %s 0x%08x at offset %zu: bad checksum",
					  attr_name(a.id), a.id, at);
		switch (a.id) {
		case attAttachRenddata:
			memset(&cur, 0, sizeof(cur));
			in_attachment = TRUE;
			break;
		case attAttachTitle:
		case attAttachData:
		case attAttachment:
			if (in_attachment)
				slot = attachment_slot(&cur, a.id);
			else
				s->stray++;
			break;
		case attMAPIProps:
			slot = &s->mapi;
			break;
		case attBody:
			slot = &s->body;
			break;
		case attOemCodepage:
			if (a.len >= 4)
				s->oem_cp = le32(a.data);
			break;
		default:
			break; /* dates, icons, recipients: nothing spocd shows */
		}
		if (slot != NULL && slot->raw != NULL)
			return errbuf_set(err, SPOC_EPERM,
					  "not TNEF: %s 0x%08x at offset %zu repeated",
					  attr_name(a.id), a.id, at);
		if (slot != NULL)
			*slot = a;
	}
	return SPOC_OK;
}

/* Bytes a fixed-width MAPI value takes in TNEF (padded to 4, as libytnef reads them), 0 for the
 * counted types (strings, binary, objects), -1 for a type this walker does not know. */
static int mapi_fixed_size(guint32 type)
{
	switch (type) {
	case PT_I2:
	case PT_LONG:
	case PT_R4:
	case PT_ERROR:
	case PT_BOOLEAN:
		return 4;
	case PT_DOUBLE:
	case PT_CURRENCY:
	case PT_APPTIME:
	case PT_I8:
	case PT_SYSTIME:
		return 8;
	case PT_CLSID:
		return 16;
	case PT_STRING8:
	case PT_UNICODE:
	case PT_BINARY:
	case PT_OBJECT:
		return 0;
	default:
		return -1;
	}
}

/* libytnef 2.0 gives up on a whole property block over things spocd never reads: a named
 * property whose name is over 100 bytes (Exchange writes several, e.g.
 * x-ms-exchange-organization-originalclientipaddress), PT_CURRENCY and PT_APPTIME (it reads 4
 * of their 8 bytes and loses its place), a multi-valued property with no values or, in the last
 * place, with more than one (its loop ends before the values do), a single string with a value
 * count other than 1. Returns a copy of the block without named, multi-valued, PT_CURRENCY and
 * PT_APPTIME properties and *kept_r the number of the others, or NULL when the block cannot be
 * walked; libytnef then gets it unchanged, and will most likely refuse it. */
static GByteArray *mapi_filter(const guint8 *p, size_t n, guint32 *kept_r)
{
	GByteArray *out;
	guint32 count, kept = 0;
	size_t o = 4;

	if (n < 4)
		return NULL;
	count = le32(p);
	if (count > n / 8) /* every property takes at least 8 bytes */
		return NULL;
	out = g_byte_array_sized_new((guint)n);
	g_byte_array_append(out, p, 4);
	for (guint32 k = 0; k < count; k++) {
		size_t start = o;
		guint32 tag, type, nvals = 1;
		gboolean named, mv;
		int fixed;

		if (n - o < 4)
			goto bad;
		tag = le32(p + o);
		o += 4;
		type = tag & 0xFFFF;
		named = (tag >> 16) >= 0x8000;
		if (named) {
			guint32 kind;

			if (n - o < 24)
				goto bad;
			kind = le32(p + o + 16);
			o += 20;
			if (kind == 0) {
				o += 4;
			} else if (kind == 1) {
				guint32 name_len = le32(p + o);

				o += 4;
				if (name_len > n - o || ((name_len + 3) & ~3u) > n - o)
					goto bad;
				o += (name_len + 3) & ~3u;
			} else {
				goto bad;
			}
		}
		mv = (type & MV_FLAG) != 0;
		fixed = mapi_fixed_size(type & ~MV_FLAG);
		if (fixed < 0)
			goto bad;
		if (mv || fixed == 0) {
			if (n - o < 4)
				goto bad;
			nvals = le32(p + o);
			o += 4;
			if (nvals > (n - o) / 4)
				goto bad;
		}
		for (guint32 v = 0; v < nvals; v++) {
			size_t step = (size_t)fixed;

			if (fixed == 0) {
				guint32 vlen;

				if (n - o < 4)
					goto bad;
				vlen = le32(p + o);
				o += 4;
				if (vlen > n - o)
					goto bad;
				step = ((size_t)vlen + 3) & ~(size_t)3;
			}
			if (step > n - o)
				goto bad;
			o += step;
		}
		if (named || mv || (type & ~MV_FLAG) == PT_CURRENCY ||
		    (type & ~MV_FLAG) == PT_APPTIME || (fixed == 0 && nvals != 1))
			continue;
		g_byte_array_append(out, p + start, (guint)(o - start));
		kept++;
	}
	if (o != n)
		goto bad;
	out->data[0] = (guint8)kept;
	out->data[1] = (guint8)(kept >> 8);
	out->data[2] = (guint8)(kept >> 16);
	out->data[3] = (guint8)(kept >> 24);
	*kept_r = kept;
	return out;
bad:
	g_byte_array_unref(out);
	return NULL;
}

static void append_attr(GByteArray *buf, guint8 level, guint32 id, const guint8 *data, guint32 len)
{
	guint8 head[9] = {level,
			  (guint8)id,
			  (guint8)(id >> 8),
			  (guint8)(id >> 16),
			  (guint8)(id >> 24),
			  (guint8)len,
			  (guint8)(len >> 8),
			  (guint8)(len >> 16),
			  (guint8)(len >> 24)};
	guint16 sum = checksum(data, len);
	guint8 tail[2] = {(guint8)sum, (guint8)(sum >> 8)};

	g_byte_array_append(buf, head, sizeof(head));
	g_byte_array_append(buf, data, len);
	g_byte_array_append(buf, tail, sizeof(tail));
}

/* Runs libytnef on a private stream of one property block (mapi), behind the attachment's
 * attAttachRendData when rend is not NULL. Returns TRUE with *t filled, or FALSE; either way the
 * caller frees *t with ytnef_free(). *props_r is the block's properties, or NULL when it held
 * none. */
static gboolean ytnef_parse(const struct attr *rend, const struct attr *mapi, TNEFStruct *t,
			    MAPIProps **props_r)
{
	static const guint8 head[TNEF_HEADER_LEN] = {0x78, 0x9F, 0x3E, 0x22, 0, 0};
	GByteArray *buf, *filtered;
	guint32 kept = 1;
	int rc;

	memset(t, 0, sizeof(*t));
	TNEFInitialize(t);
	t->Debug = 0; /* TNEFInitialize() leaves it as it was; above 0 it prints to stdout */
	t->attachmentSize =
	    TNEF_MAX_LEN / (1024 * 1024); /* in MiB; lengths were checked by scan() */
	/* libytnef copies PR_SUBJECT into t->subject only while that is empty, and fails the whole
	 * block when the subject is over 100 bytes; a placeholder keeps it out of that code. */
	t->subject.size = 1;
	*props_r = NULL;

	filtered = mapi_filter(mapi->data, mapi->len, &kept);
	if (kept == 0) {
		g_byte_array_unref(filtered);
		return TRUE;
	}
	buf = g_byte_array_sized_new(TNEF_HEADER_LEN + 2 * ATTR_OVERHEAD + mapi->len);
	g_byte_array_append(buf, head, sizeof(head));
	/* libytnef refuses zero-length attributes; without attAttachRendData it puts the block
	 * into t->starting_attach, which ytnef_free() frees too */
	if (rend != NULL && rend->len > 0)
		g_byte_array_append(buf, rend->raw, (guint)rend->raw_len);
	if (filtered != NULL)
		append_attr(buf, mapi->level, mapi->id, filtered->data, filtered->len);
	else
		g_byte_array_append(buf, mapi->raw, (guint)mapi->raw_len);
	if (filtered != NULL)
		g_byte_array_unref(filtered);
	rc = TNEFParseMemory(buf->data, (long)buf->len, t);
	g_byte_array_unref(buf);
	if (rc != 0)
		return FALSE;
	if (mapi->id == attMAPIProps)
		*props_r = &t->MapiProperties;
	else if (t->starting_attach.next != NULL)
		*props_r = &t->starting_attach.next->MAPI;
	else
		*props_r = &t->starting_attach.MAPI;
	return TRUE;
}

static void ytnef_free(TNEFStruct *t)
{
	TNEFFree(t);
	/* TNEFFree() frees the attachments after the first list node, never the node itself */
	TNEFFreeAttachment(&t->starting_attach);
}

/* libytnef turns a PT_UNICODE value into UTF-8 one UTF-16 unit at a time, so a character outside
 * the BMP comes out as two encoded surrogates, which is not UTF-8. This reads its units back and
 * pairs them; a lone surrogate becomes U+FFFD. Caller g_free()s. */
static char *ytnef_unicode(const char *s, size_t n)
{
	const guint8 *p = (const guint8 *)s;
	GString *out = g_string_sized_new(n);
	gunichar high = 0;
	size_t i = 0;

	while (i < n) {
		gunichar u;

		if (p[i] < 0x80) {
			u = p[i];
			i += 1;
		} else if ((p[i] & 0xE0) == 0xC0 && n - i >= 2) {
			u = (gunichar)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
			i += 2;
		} else if ((p[i] & 0xF0) == 0xE0 && n - i >= 3) {
			u = (gunichar)(p[i] & 0x0F) << 12 | (gunichar)(p[i + 1] & 0x3F) << 6 |
			    (p[i + 2] & 0x3F);
			i += 3;
		} else {
			u = 0xFFFD;
			i += 1;
		}
		if (high != 0 && u >= 0xDC00 && u <= 0xDFFF) {
			g_string_append_unichar(out,
						0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
			high = 0;
			continue;
		}
		if (high != 0)
			g_string_append_unichar(out, 0xFFFD);
		high = 0;
		if (u >= 0xD800 && u <= 0xDBFF)
			high = u;
		else if (u >= 0xDC00 && u <= 0xDFFF)
			g_string_append_unichar(out, 0xFFFD);
		else
			g_string_append_unichar(out, u);
	}
	if (high != 0)
		g_string_append_unichar(out, 0xFFFD);
	return g_string_free(out, FALSE);
}

static variableLength *mapi_find(MAPIProps *props, guint32 type, guint32 id)
{
	variableLength *v;

	if (props == NULL)
		return NULL;
	v = MAPIFindProperty(props, PROP_TAG(type, id));
	if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size <= 0)
		return NULL;
	return v;
}

/* A string property (PT_UNICODE, else PT_STRING8 in code page cp) as valid UTF-8, or NULL when
 * absent or empty. Caller g_free()s. */
static char *mapi_string(MAPIProps *props, guint32 id, guint32 cp)
{
	variableLength *v;
	char *s = NULL;

	if ((v = mapi_find(props, PT_UNICODE, id)) != NULL)
		/* libytnef's converted copy: NUL-terminated within 3 * size / 2 + 1 bytes */
		s = ytnef_unicode((const char *)v->data,
				  strnlen((const char *)v->data, 3 * (size_t)v->size / 2 + 1));
	else if ((v = mapi_find(props, PT_STRING8, id)) != NULL)
		s = rtf_codepage_to_utf8(v->data, (size_t)v->size, cp);
	if (s != NULL && *s == '\0') {
		g_free(s);
		s = NULL;
	}
	return s;
}

static gboolean mapi_long(MAPIProps *props, guint32 id, guint32 *value_r)
{
	variableLength *v = mapi_find(props, PT_LONG, id);

	if (v == NULL || v->size < 4)
		return FALSE;
	*value_r = le32(v->data);
	return TRUE;
}

/* "type/subtype" in lower case from a MIME tag property, or NULL if it is not one. */
static char *mime_tag(const char *tag)
{
	const char *slash = NULL;
	size_t n = strcspn(tag, "; \t\r\n");

	if (n == 0 || n > 127)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (tag[i] == '/' && slash == NULL && i > 0)
			slash = tag + i;
		else if (!g_ascii_isalnum(tag[i]) && strchr("!#$&^_.+-", tag[i]) == NULL)
			return NULL;
	}
	if (slash == NULL || slash == tag + n - 1)
		return NULL;
	return g_ascii_strdown(tag, (gssize)n);
}

/* The usual type for a file name's extension, or NULL. A fixed table rather than the shared MIME
 * database, so the result does not depend on what the machine has installed. */
static const char *type_for_name(const char *name)
{
	static const char *const table[][2] = {
	    {"7z", "application/x-7z-compressed"},
	    {"bmp", "image/bmp"},
	    {"csv", "text/csv"},
	    {"doc", "application/msword"},
	    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	    {"eml", "message/rfc822"},
	    {"gif", "image/gif"},
	    {"gz", "application/gzip"},
	    {"heic", "image/heic"},
	    {"htm", "text/html"},
	    {"html", "text/html"},
	    {"ics", "text/calendar"},
	    {"jpeg", "image/jpeg"},
	    {"jpg", "image/jpeg"},
	    {"json", "application/json"},
	    {"log", "text/plain"},
	    {"mp3", "audio/mpeg"},
	    {"mp4", "video/mp4"},
	    {"msg", "application/vnd.ms-outlook"},
	    {"odp", "application/vnd.oasis.opendocument.presentation"},
	    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
	    {"odt", "application/vnd.oasis.opendocument.text"},
	    {"pdf", "application/pdf"},
	    {"png", "image/png"},
	    {"ppt", "application/vnd.ms-powerpoint"},
	    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	    {"rar", "application/vnd.rar"},
	    {"rtf", "application/rtf"},
	    {"svg", "image/svg+xml"},
	    {"tar", "application/x-tar"},
	    {"tif", "image/tiff"},
	    {"tiff", "image/tiff"},
	    {"txt", "text/plain"},
	    {"vcf", "text/vcard"},
	    {"wav", "audio/wav"},
	    {"webp", "image/webp"},
	    {"xls", "application/vnd.ms-excel"},
	    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	    {"xml", "application/xml"},
	    {"zip", "application/zip"},
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;

	if (dot == NULL || dot[1] == '\0')
		return NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
		if (g_ascii_strcasecmp(dot + 1, table[i][0]) == 0)
			return table[i][1];
	return NULL;
}

static void note(GString *notes, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void note(GString *notes, const char *fmt, ...)
{
	va_list ap;

	if (notes->len > 0)
		g_string_append(notes, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(notes, fmt, ap);
	va_end(ap);
}

void tnef_file_free(gpointer file)
{
	struct tnef_file *f = file;

	if (f == NULL)
		return;
	g_free(f->name);
	g_free(f->content_type);
	if (f->data != NULL)
		g_bytes_unref(f->data);
	g_free(f);
}

/* What the limits left out. */
struct tally {
	size_t total, over_files, over_bytes;
};

/* Turns attachment number index (from 1) into a file appended to files, unless the limits or
 * its being empty leave it out. */
static void add_attachment(const struct attachment *a, guint index, guint32 cp, size_t max_files,
			   size_t max_total_bytes, GPtrArray *files, struct tally *tally,
			   GString *notes)
{
	static const guint8 iid_imessage[16] = {0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
						0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	MAPIProps *props = NULL;
	TNEFStruct t;
	gboolean parsed = FALSE, embedded = FALSE;
	const guint8 *data = NULL;
	size_t len = 0;
	struct tnef_file *f;
	variableLength *v;
	char *name = NULL, *tag;

	if (max_files > 0 && files->len >= max_files) {
		tally->over_files++;
		return;
	}
	if (a->mapi.raw != NULL && a->mapi.len > 0) {
		parsed = TRUE;
		if (!ytnef_parse(&a->rend, &a->mapi, &t, &props))
			note(notes,
			     "attachment %u: libytnef could not read its properties, kept its "
			     "short name and data",
			     index);
	}
	if (props != NULL && (name = mapi_string(props, PR_ATTACH_LONG_FILENAME, cp)) == NULL &&
	    (name = mapi_string(props, PR_DISPLAY_NAME, cp)) == NULL)
		name = mapi_string(props, PR_ATTACH_FILENAME, cp);
	if (name == NULL && a->title.raw != NULL && a->title.len > 0) {
		name = rtf_codepage_to_utf8(a->title.data, a->title.len, cp);
		if (*name == '\0')
			g_clear_pointer(&name, g_free);
	}

	/* an embedded message or OLE object is in PR_ATTACH_DATA_OBJ, and attAttachData only
	 * holds a line saying the mail system cannot show it */
	if ((v = mapi_find(props, PT_OBJECT, PR_ATTACH_DATA_OBJ)) != NULL && v->size >= 16) {
		data = v->data + 16; /* after the interface's IID */
		len = (size_t)v->size - 16;
		embedded = memcmp(v->data, iid_imessage, 16) == 0 && len >= 4 &&
			   le32(data) == TNEF_SIGNATURE;
	} else if ((v = mapi_find(props, PT_BINARY, PR_ATTACH_DATA_OBJ)) != NULL) {
		data = v->data;
		len = (size_t)v->size;
	} else if (a->data.raw != NULL) {
		data = a->data.data;
		len = a->data.len;
	}

	if (name == NULL && data == NULL) {
		/* nothing to show: no name and no bytes */
	} else if (max_total_bytes > 0 && len > max_total_bytes - tally->total) {
		tally->over_bytes++;
	} else {
		f = g_new0(struct tnef_file, 1);
		f->name = g_steal_pointer(&name);
		if (embedded) {
			f->content_type = g_strdup("application/ms-tnef");
		} else if ((tag = mapi_string(props, PR_ATTACH_MIME_TAG, cp)) != NULL) {
			f->content_type = mime_tag(tag);
			g_free(tag);
		}
		if (f->content_type == NULL)
			f->content_type = g_strdup(type_for_name(f->name));
		if (f->content_type == NULL)
			f->content_type = g_strdup("application/octet-stream");
		f->data = g_bytes_new(data, len);
		tally->total += len;
		g_ptr_array_add(files, f);
	}
	g_free(name);
	if (parsed)
		ytnef_free(&t);
}

/* Text with \n line ends, no trailing blanks on a line and no blank lines at either end; NULL
 * when nothing is left. Takes ownership of text. */
static char *finish_text(char *text)
{
	GString *out;
	char **lines;
	size_t first = 0, last;

	if (text == NULL)
		return NULL;
	/* CRLF and a lone CR end a line as LF does */
	for (char *cr = strchr(text, '\r'); cr != NULL; cr = strchr(cr, '\r'))
		*cr = cr[1] == '\n' ? ' ' : '\n';
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (size_t i = 0; lines[i] != NULL; i++)
		g_strchomp(lines[i]);
	last = g_strv_length(lines);
	while (first < last && lines[first][0] == '\0')
		first++;
	while (last > first && lines[last - 1][0] == '\0')
		last--;
	out = g_string_new(NULL);
	for (size_t i = first; i < last; i++) {
		if (i > first)
			g_string_append_c(out, '\n');
		g_string_append(out, lines[i]);
	}
	g_strfreev(lines);
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* The message's text from its properties (props may be NULL) or its down-level body, compressed
 * RTF decompressed up to max_rtf bytes; what was left out of it goes into notes. */
static char *message_body(MAPIProps *props, const struct attr *body, guint32 cp, size_t max_rtf,
			  GString *notes)
{
	guint32 body_cp = cp;
	variableLength *v;
	char *text;

	mapi_long(props, PR_INTERNET_CPID, &body_cp);
	if ((text = finish_text(mapi_string(props, PR_BODY, body_cp))) != NULL)
		return text;
	if (body->raw != NULL &&
	    (text = finish_text(rtf_codepage_to_utf8(body->data, body->len, cp))) != NULL)
		return text;
	if ((v = mapi_find(props, PT_BINARY, PR_RTF_COMPRESSED)) != NULL) {
		GByteArray *rtf;
		unsigned flaws;

		if (rtf_decompress(v->data, (size_t)v->size, max_rtf, &rtf, &flaws, NULL) ==
		    SPOC_OK) {
			/* a wrong CRC or size costs nothing here: the text is read as far as
			 * it goes */
			if ((flaws & RTF_CAPPED) != 0)
				note(notes,
				     "the message's rich text over %zu bytes once decompressed: "
				     "its text after that left out",
				     max_rtf);
			text = finish_text(rtf_to_text(rtf->data, rtf->len));
			g_byte_array_unref(rtf);
			if (text != NULL)
				return text;
		}
	}
	if ((v = mapi_find(props, PT_BINARY, PR_BODY_HTML)) != NULL)
		text = rtf_codepage_to_utf8(v->data, (size_t)v->size, body_cp);
	else
		text = mapi_string(props, PR_BODY_HTML, body_cp);
	if (text != NULL) {
		char *plain = html_to_text(text);

		g_free(text);
		return finish_text(plain);
	}
	return NULL;
}

int tnef_unpack(const void *data, size_t len, size_t max_files, size_t max_total_bytes,
		size_t max_rtf_bytes, GPtrArray **files_r, char **body_r, struct errbuf *err)
{
	const guint8 *p = data;
	struct stream s = {0};
	struct tally tally = {0};
	struct attachment cur = {0};
	MAPIProps *props = NULL;
	TNEFStruct msg;
	gboolean parsed = FALSE;
	guint index = 0;
	size_t off = TNEF_HEADER_LEN;
	GString *notes;
	guint32 cp;
	int rc;

	*files_r = NULL;
	if (body_r != NULL)
		*body_r = NULL;
	if (err != NULL)
		err->msg[0] = '\0';
	if (len > TNEF_MAX_LEN)
		return errbuf_set(err, SPOC_EPERM, "TNEF of %zu bytes, over %d", len, TNEF_MAX_LEN);
	if (p == NULL)
		len = 0;
	rc = scan(p, len, &s, err);
	if (rc != SPOC_OK)
		return rc;

	notes = g_string_new(NULL);
	if (s.mapi.raw != NULL && s.mapi.len > 0) {
		parsed = TRUE;
		if (!ytnef_parse(NULL, &s.mapi, &msg, &props) && body_r != NULL)
			note(notes, "libytnef could not read the message's properties, so not its "
				    "text");
	}
	cp = s.oem_cp;
	if (cp == 0 && !mapi_long(props, PR_MESSAGE_CODEPAGE, &cp))
		cp = 1252;

	/* each attachment runs from its attAttachRendData to the next one */
	*files_r = g_ptr_array_new_with_free_func(tnef_file_free);
	while (off < len) {
		struct attr a, *slot;

		attr_at(p, &off, &a);
		if (a.id == attAttachRenddata) {
			if (index > 0)
				add_attachment(&cur, index, cp, max_files, max_total_bytes,
					       *files_r, &tally, notes);
			memset(&cur, 0, sizeof(cur));
			cur.rend = a;
			index++;
		} else if (index > 0 && (slot = attachment_slot(&cur, a.id)) != NULL) {
			*slot = a;
		}
	}
	if (index > 0)
		add_attachment(&cur, index, cp, max_files, max_total_bytes, *files_r, &tally,
			       notes);
	if (tally.over_files > 0)
		note(notes, "%zu more file%s over max_files (%zu) left out", tally.over_files,
		     tally.over_files == 1 ? "" : "s", max_files);
	if (tally.over_bytes > 0)
		note(notes, "%zu file%s over max_total_bytes (%zu) left out", tally.over_bytes,
		     tally.over_bytes == 1 ? "" : "s", max_total_bytes);
	if (s.stray > 0)
		note(notes, "%u attachment attribute%s outside any attachment ignored", s.stray,
		     s.stray == 1 ? "" : "s");

	if (body_r != NULL)
		*body_r = message_body(props, &s.body, cp,
				       max_rtf_bytes > 0 ? MIN(max_rtf_bytes, TNEF_MAX_RTF_BYTES)
							 : TNEF_MAX_RTF_BYTES,
				       notes);
	if (parsed)
		ytnef_free(&msg);
	if (err != NULL)
		g_strlcpy(err->msg, notes->str, sizeof(err->msg));
	g_string_free(notes, TRUE);
	return SPOC_OK;
}
