/* HTML -> readable text for agents, for the HTML-only messages that many clients send (html.h
 * says what the text looks like). libxml2's error-recovering HTML parser tokenizes, decodes
 * entities and closes what the sender left open; its SAX events become text as they come. There
 * is no tree: no recursion, and memory stays a small multiple of the input, where htmlReadMemory()
 * would build some 120 bytes of node per 3-byte tag, and stop at depth 256 losing all the rest.
 * Nothing is fetched (no DTD, no entities from outside, no network) and nothing printed. Pure: no
 * I/O, no GMime.
 *
 * Hostile input is bounded in three places: the parser's stack (HTML_MAX_DEPTH, by parsing the
 * rest afresh), the head of each line (HTML_MAX_INDENT) and the search for end tags
 * (html_closer()). Everything else is a constant amount of work per byte or per event.
 * Over 900 lines: one SAX walker whose functions all share struct html_walk; a cut exposes it. */
#include "html.h"

#include <libxml/HTMLparser.h>
#include <string.h>

/* libxml2 compares each end tag with every open element and more, so a pile of unclosed tags
 * followed by stray end tags costs depth x tags. Past this depth the parse starts afresh where it
 * is: the elements still open stay open for the text, the parser forgets them. It is libxml2's
 * own limit for trees (where it stops parsing instead); a Gmail thread nests about four per
 * reply. */
#define HTML_MAX_DEPTH 256
/* bytes of "> " and list indentation before a line, so deep quoting cannot multiply the text */
#define HTML_MAX_INDENT 40
#define HTML_UNSET	G_MAXSIZE
#define HTML_READ_CHUNK 1024

#define HTML_OPTIONS                                                                               \
	(HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |       \
	 HTML_PARSE_IGNORE_ENC)

enum html_kind {
	HTML_INLINE, /* not in html_elems[]: text flows through (b, span, font, o:p, ...) */
	HTML_SKIP,   /* dropped with all it holds */
	HTML_BLOCK,  /* a line (nl 1) or a paragraph (nl 2) of its own */
	HTML_QUOTE,  /* a paragraph whose lines start with "> " */
	HTML_PRE,    /* a paragraph whose blanks and line breaks are kept */
	HTML_LIST,   /* ul, menu, dir: items "- " */
	HTML_OLIST,  /* ol: items "1. ", "2. ", ... */
	HTML_ITEM,   /* li */
	HTML_INDENT, /* dd: lines indented by two spaces */
	HTML_ROW,    /* tr: a line */
	HTML_CELL,   /* td, th: " | " from the previous cell of the row */
	HTML_LINK,   /* a */
	HTML_IMG,    /* its alt text */
	HTML_BR,
	HTML_HR, /* a paragraph break, nothing drawn */
};

struct html_elem {
	const char *name;
	guint8 kind, nl;
};

/* sorted by strcmp() for bsearch(); names come lowercased from libxml2 */
static const struct html_elem html_elems[] = {
    {"a", HTML_LINK, 0},	   {"address", HTML_BLOCK, 1}, {"applet", HTML_SKIP, 0},
    {"article", HTML_BLOCK, 1},	   {"aside", HTML_BLOCK, 1},   {"audio", HTML_SKIP, 0},
    {"blockquote", HTML_QUOTE, 2}, {"br", HTML_BR, 0},	       {"canvas", HTML_SKIP, 0},
    {"caption", HTML_BLOCK, 1},	   {"center", HTML_BLOCK, 1},  {"datalist", HTML_SKIP, 0},
    {"dd", HTML_INDENT, 1},	   {"details", HTML_BLOCK, 1}, {"dialog", HTML_BLOCK, 1},
    {"dir", HTML_LIST, 2},	   {"div", HTML_BLOCK, 1},     {"dl", HTML_BLOCK, 2},
    {"dt", HTML_BLOCK, 1},	   {"embed", HTML_SKIP, 0},    {"fieldset", HTML_BLOCK, 1},
    {"figcaption", HTML_BLOCK, 1}, {"figure", HTML_BLOCK, 1},  {"footer", HTML_BLOCK, 1},
    {"form", HTML_BLOCK, 1},	   {"frame", HTML_SKIP, 0},    {"frameset", HTML_SKIP, 0},
    {"h1", HTML_BLOCK, 2},	   {"h2", HTML_BLOCK, 2},      {"h3", HTML_BLOCK, 2},
    {"h4", HTML_BLOCK, 2},	   {"h5", HTML_BLOCK, 2},      {"h6", HTML_BLOCK, 2},
    {"header", HTML_BLOCK, 1},	   {"hgroup", HTML_BLOCK, 1},  {"hr", HTML_HR, 2},
    {"iframe", HTML_SKIP, 0},	   {"img", HTML_IMG, 0},       {"legend", HTML_BLOCK, 1},
    {"li", HTML_ITEM, 1},	   {"listing", HTML_PRE, 2},   {"main", HTML_BLOCK, 1},
    {"menu", HTML_LIST, 2},	   {"nav", HTML_BLOCK, 1},     {"noscript", HTML_SKIP, 0},
    {"object", HTML_SKIP, 0},	   {"ol", HTML_OLIST, 2},      {"p", HTML_BLOCK, 2},
    {"plaintext", HTML_PRE, 2},	   {"pre", HTML_PRE, 2},       {"script", HTML_SKIP, 0},
    {"section", HTML_BLOCK, 1},	   {"select", HTML_SKIP, 0},   {"style", HTML_SKIP, 0},
    {"summary", HTML_BLOCK, 1},	   {"svg", HTML_SKIP, 0},      {"table", HTML_BLOCK, 2},
    {"td", HTML_CELL, 0},	   {"template", HTML_SKIP, 0}, {"th", HTML_CELL, 0},
    {"title", HTML_SKIP, 0},	   {"tr", HTML_ROW, 1},	       {"ul", HTML_LIST, 2},
    {"video", HTML_SKIP, 0},	   {"xml", HTML_SKIP, 0},      {"xmp", HTML_PRE, 2},
};

/* An open element that asks for something when it ends. Inline elements get none. */
struct html_frame {
	guint depth; /* its ctxt->nameNr in the parse window that opened it */
	guint segs;  /* w->segs->len before it pushed its own */
	guint8 kind; /* enum html_kind */
	guint8 nl;   /* line breaks its end asks for */
};

/* A piece of every line's head: "> " for a quote, "  " of indentation, a list item's marker that
 * goes out once and is blanked on the item's next lines. */
struct html_seg {
	char text[16];
	guint8 len;
	gboolean pending; /* the marker has not gone out yet */
	gboolean blank;	  /* spaces after the first line */
};

struct html_list {
	long next;
	gboolean ordered;
};

struct html_link {
	char *href;
	gsize start; /* where its text begins in out, HTML_UNSET before any */
};

/* Where the search for "</name" of one droppable element stopped (see html_closer()). */
struct html_closer {
	gsize from, at;
};

struct html_walk {
	GString *out;
	const char *src; /* the whole (prepared) input */
	gsize src_len;
	const char *window; /* the part the current parse reads */
	const char *next;   /* what html_read() hands libxml2 next */
	gsize unread;
	GArray *frames; /* struct html_frame */
	GArray *segs;	/* struct html_seg */
	GArray *lists;	/* struct html_list */
	GArray *rows;	/* gboolean: the row has text */
	GArray *links;	/* struct html_link */
	struct html_closer closers[G_N_ELEMENTS(html_elems)];
	guint floor;	  /* frames below belong to an earlier parse window */
	int skip;	  /* depth of the element whose content is dropped, 0 for none */
	int pre;	  /* open <pre> */
	int items;	  /* open <li> */
	int cells;	  /* open <td>, <th>: a row is one line, whatever blocks its cells hold */
	int nl;		  /* line breaks wanted before the next text: 0, 1 or 2 */
	gsize indent;	  /* bytes of segs */
	guint shared;	  /* segs open since the last text: the head of an empty line between */
	gboolean ghost;	  /* a line of nothing but no-break spaces is open */
	gboolean sp;	  /* a collapsed blank is due before the next text */
	gboolean sep;	  /* a cell separator is due before the next text */
	gboolean pre_nl;  /* just after <pre>, where a first newline does not count */
	gboolean stopped; /* the parse window ends; later events are the parser unwinding */
	gsize resume;	  /* where the next window starts in src, 0 for none */
};

static const struct html_elem *html_elem(const char *name)
{
	size_t lo = 0, hi = G_N_ELEMENTS(html_elems);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, html_elems[mid].name);

		if (c == 0)
			return &html_elems[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const char *html_attr(const xmlChar **atts, const char *name)
{
	for (size_t i = 0; atts != NULL && atts[i] != NULL; i += 2)
		if (strcmp((const char *)atts[i], name) == 0)
			return atts[i + 1] != NULL ? (const char *)atts[i + 1] : "";
	return NULL;
}

static gboolean html_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Whether s[0..n) with blanks trimmed is word, ignoring ASCII case. */
static gboolean html_trimmed_is(const char *s, size_t n, const char *word)
{
	while (n > 0 && html_blank(*s))
		s++, n--;
	while (n > 0 && html_blank(s[n - 1]))
		n--;
	return n == strlen(word) && g_ascii_strncasecmp(s, word, n) == 0;
}

/* Whether a style attribute says display:none (with or without !important). Senders hide
 * preheaders and the other half of responsive layouts this way; a reader never sees them. */
static gboolean html_style_hidden(const char *s)
{
	while (*s != '\0') {
		const char *end = strchr(s, ';'), *colon;

		if (end == NULL)
			end = s + strlen(s);
		colon = memchr(s, ':', (size_t)(end - s));
		if (colon != NULL && html_trimmed_is(s, (size_t)(colon - s), "display")) {
			const char *v = colon + 1, *bang = memchr(v, '!', (size_t)(end - v));

			if (html_trimmed_is(v, (size_t)((bang != NULL ? bang : end) - v), "none"))
				return TRUE;
		}
		s = *end != '\0' ? end + 1 : end;
	}
	return FALSE;
}

static gboolean html_hidden(const xmlChar **atts)
{
	const char *style = html_attr(atts, "style");

	return html_attr(atts, "hidden") != NULL || (style != NULL && html_style_hidden(style));
}

/* The href of a link a reader may follow, cleaned of the blanks mail clients wrap into long
 * URLs; NULL for any other scheme (javascript:, data:, file:, relative, ...). Caller g_free()s. */
static char *html_href(const char *href)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://", "mailto:"};
	GString *url = g_string_new(NULL);

	for (const char *p = href; *p != '\0'; p++)
		if (!html_blank(*p) && (guchar)*p >= 0x20 && *p != 0x7f)
			g_string_append_c(url, *p);
	for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++)
		if (g_ascii_strncasecmp(url->str, schemes[i], strlen(schemes[i])) == 0 &&
		    url->len > strlen(schemes[i]))
			return g_string_free(url, FALSE);
	g_string_free(url, TRUE);
	return NULL;
}

/* s without a leading "scheme://" or "mailto:" and a trailing "/": what a person writes of a URL */
static void html_url_core(const char **s, size_t *n)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://", "mailto:"};

	for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++) {
		size_t l = strlen(schemes[i]);

		if (*n >= l && g_ascii_strncasecmp(*s, schemes[i], l) == 0) {
			*s += l;
			*n -= l;
			break;
		}
	}
	if (*n > 0 && (*s)[*n - 1] == '/')
		(*n)--;
}

/* Whether a link's text already says where it goes, so "<url>" would only repeat it. */
static gboolean html_link_says(const char *text, size_t tn, const char *href)
{
	size_t hn = strlen(href);

	/* the text can only be shorter than the URL by the scheme: no need to look at long text */
	if (tn > hn + 16)
		return FALSE;
	html_url_core(&text, &tn);
	html_url_core(&href, &hn);
	return tn == hn && g_ascii_strncasecmp(text, href, tn) == 0;
}

/* Asks for nl line breaks before the next text. A line that held nothing but no-break spaces
 * ends as an empty line: that is how Outlook and others write one, "<p>&nbsp;</p>". */
static void walk_nl(struct html_walk *w, int nl)
{
	if (nl == 0)
		return;
	/* Outlook writes each line of a cell as a paragraph of its own (<p class=MsoNormal>):
	 * inside a cell a break is a blank, so a row stays one line */
	if (w->cells > 0 && w->pre == 0) {
		w->sp = w->out->len > 0;
		w->ghost = FALSE;
		return;
	}
	if (w->ghost && w->nl < 2)
		w->nl++;
	w->ghost = FALSE;
	if (w->nl < nl)
		w->nl = nl;
}

/* Writes the head of a new line: markers of items not yet started, else quote marks and
 * indentation. The empty line of a paragraph break gets those of the lines both before and after
 * it, and no marker. */
static void walk_head(struct html_walk *w, gboolean blank_line)
{
	guint n = blank_line ? MIN(w->shared, w->segs->len) : w->segs->len;

	for (guint i = 0; i < n; i++) {
		struct html_seg *s = &g_array_index(w->segs, struct html_seg, i);

		if (s->pending && !blank_line) {
			g_string_append_len(w->out, s->text, s->len);
			s->pending = FALSE;
		} else if (s->blank) {
			for (guint j = 0; j < s->len; j++)
				g_string_append_c(w->out, ' ');
		} else {
			g_string_append_len(w->out, s->text, s->len);
		}
	}
}

/* Gets out what is due before text: line breaks and the next line's head, else a cell
 * separator or a collapsed blank; marks the row as having text and where open links start. */
static void walk_begin(struct html_walk *w)
{
	if (w->out->len == 0) {
		walk_head(w, FALSE);
	} else if (w->nl > 0) {
		g_string_append_c(w->out, '\n');
		if (w->nl > 1) {
			walk_head(w, TRUE);
			g_string_append_c(w->out, '\n');
		}
		walk_head(w, FALSE);
	} else if (w->sep) {
		g_string_append(w->out, " | ");
	} else if (w->sp) {
		g_string_append_c(w->out, ' ');
	}
	w->nl = 0;
	w->sp = w->sep = w->ghost = FALSE;
	w->shared = w->segs->len;
	/* text in a row is text in every row around it (a table inside a cell); each row is
	 * marked once, so the walk down stops at the first one already marked */
	for (guint i = w->rows->len; i > 0 && !g_array_index(w->rows, gboolean, i - 1); i--)
		g_array_index(w->rows, gboolean, i - 1) = TRUE;
	/* each link is marked once, so the walk down stops at the first one already marked */
	for (guint i = w->links->len; i > 0; i--) {
		struct html_link *l = &g_array_index(w->links, struct html_link, i - 1);

		if (l->start != HTML_UNSET)
			break;
		l->start = w->out->len;
	}
}

/* What HTML makes of U+0080..U+009F in numeric references, Windows-1252, for these code points
 * in text are nearly always cp1252 bytes taken for Latin-1; 0 for the five controls it leaves
 * undefined, which are dropped. */
static const gunichar html_c1[32] = {
    0x20ac, 0,	    0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,	    0x017d, 0,	    0,	    0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	    0x017e, 0x0178,
};

/* Appends s[0..n), which has no blanks but in <pre> may have no-break spaces: plain ones there.
 * Stray C1 controls become what the sender meant (html_c1). */
static void walk_put(struct html_walk *w, const char *s, size_t n)
{
	const char *end = s + n, *p;

	walk_begin(w);
	while ((p = memchr(s, 0xc2, (size_t)(end - s))) != NULL && p + 1 < end) {
		guchar c = (guchar)p[1];

		if (c >= 0x80 && c <= 0xa0) {
			g_string_append_len(w->out, s, p - s);
			if (c == 0xa0)
				g_string_append_c(w->out, ' ');
			else if (html_c1[c - 0x80] != 0)
				g_string_append_unichar(w->out, html_c1[c - 0x80]);
		} else {
			g_string_append_len(w->out, s, p + 2 - s);
		}
		s = p + 2;
	}
	g_string_append_len(w->out, s, end - s);
}

static size_t html_nbsp(const char *s, size_t i, size_t n)
{
	return i + 1 < n && (guchar)s[i] == 0xc2 && (guchar)s[i + 1] == 0xa0 ? 2 : 0;
}

/* Text outside <pre>: runs of blanks, no-break spaces among them, are one space, and none at all
 * at the start of a line; but a line of nothing but no-break spaces is an empty line. */
static void walk_words(struct html_walk *w, const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		size_t j = i;

		if (html_blank(s[i])) {
			w->sp = TRUE;
			i++;
			continue;
		}
		if ((k = html_nbsp(s, i, n)) > 0) {
			if (w->nl > 0 || w->out->len == 0)
				w->ghost = TRUE;
			w->sp = TRUE;
			i += k;
			continue;
		}
		while (j < n && !html_blank(s[j]) && html_nbsp(s, j, n) == 0)
			j++;
		walk_put(w, s + i, j - i);
		i = j;
	}
}

/* Text inside <pre>: blanks kept, each newline a line break (the final pass trims and limits
 * empty lines). A newline right after <pre> is not content, as HTML says. */
static void walk_pre(struct html_walk *w, const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && w->pre_nl && s[0] == '\n')
		i++;
	w->pre_nl = FALSE;
	while (i < n) {
		size_t j = i;

		if (s[i] == '\n' || s[i] == '\r') {
			/* CR is gone from the input (html_prepare()), this one is a "&#13;" */
			if (s[i] == '\n' && w->nl < 2)
				w->nl++;
			i++;
			continue;
		}
		while (j < n && s[j] != '\n' && s[j] != '\r')
			j++;
		walk_put(w, s + i, j - i);
		i = j;
	}
}

static void walk_seg(struct html_walk *w, const char *text, gboolean pending, gboolean blank)
{
	struct html_seg s = {.pending = pending, .blank = blank};
	size_t n = strlen(text);

	if (n >= sizeof(s.text) || w->indent + n > HTML_MAX_INDENT)
		return;
	memcpy(s.text, text, n);
	s.len = (guint8)n;
	w->indent += n;
	g_array_append_val(w->segs, s);
}

static void walk_push(struct html_walk *w, guint depth, enum html_kind kind, int nl)
{
	struct html_frame f = {depth, w->segs->len, (guint8)kind, (guint8)nl};

	walk_nl(w, nl);
	g_array_append_val(w->frames, f);
}

/* Parses an integer attribute such as <ol start="3">, kept to a sane marker width. */
static long html_number(const char *s, long dflt)
{
	char *end;
	gint64 v;

	if (s == NULL)
		return dflt;
	v = g_ascii_strtoll(s, &end, 10);
	if (end == s)
		return dflt;
	return (long)CLAMP(v, -99999999, 99999999);
}

/* Ends the innermost frame: its line breaks, segments and side stacks go; a link whose text does
 * not already say where it goes gets " <url>" right after its text. */
static void walk_pop(struct html_walk *w)
{
	struct html_frame f = g_array_index(w->frames, struct html_frame, w->frames->len - 1);

	g_array_set_size(w->frames, w->frames->len - 1);
	for (guint i = f.segs; i < w->segs->len; i++)
		w->indent -= g_array_index(w->segs, struct html_seg, i).len;
	g_array_set_size(w->segs, f.segs);
	w->shared = MIN(w->shared, f.segs);
	walk_nl(w, f.nl);
	switch (f.kind) {
	case HTML_PRE:
		w->pre--;
		w->pre_nl = FALSE;
		break;
	case HTML_LIST:
	case HTML_OLIST:
		g_array_set_size(w->lists, w->lists->len - 1);
		break;
	case HTML_ITEM:
		w->items--;
		break;
	case HTML_ROW:
		g_array_set_size(w->rows, w->rows->len - 1);
		break;
	case HTML_CELL:
		w->cells--;
		break;
	case HTML_LINK: {
		struct html_link *l = &g_array_index(w->links, struct html_link, w->links->len - 1);

		if (l->start != HTML_UNSET &&
		    !html_link_says(w->out->str + l->start, w->out->len - l->start, l->href))
			g_string_append_printf(w->out, " <%s>", l->href);
		g_free(l->href);
		g_array_set_size(w->links, w->links->len - 1);
		break;
	}
	default:
		break;
	}
}

/* Where the parser is in src, HTML_UNSET if it cannot tell. At a start tag's event it is on the
 * tag's closing ">" or "/>". libxml2's buffer holds what it read of the window, less what it
 * dropped from the front (consumed); UTF-8 to UTF-8 leaves the bytes as they were. */
static gsize walk_here(const struct html_walk *w, xmlParserCtxtPtr ctxt)
{
	xmlParserInputPtr in = ctxt->input;
	gsize at;

	if (in == NULL || in->cur == NULL || in->base == NULL || in->cur < in->base)
		return HTML_UNSET;
	at = (gsize)(w->window - w->src) + in->consumed + (gsize)(in->cur - in->base);
	return at <= w->src_len ? at : HTML_UNSET;
}

static gsize html_tag_end(const struct html_walk *w, gsize at)
{
	if (w->src[at] == '>')
		return at + 1;
	if (w->src[at] == '/' && w->src[at + 1] == '>')
		return at + 2;
	return at;
}

/* The offset of the first "</name" at or after from in src, HTML_UNSET if there is none. Start
 * tags come in document order, so each element's search goes on from where its last one ended
 * and all of them together read src once per name. */
static gsize html_closer(struct html_walk *w, const struct html_elem *e, gsize from)
{
	struct html_closer *c = &w->closers[e - html_elems];
	size_t n = strlen(e->name);
	const char *p;

	if (c->from != HTML_UNSET && from >= c->from && (c->at == HTML_UNSET || from <= c->at))
		return c->at;
	c->from = from;
	c->at = HTML_UNSET;
	for (p = w->src + from; (p = strchr(p, '<')) != NULL; p++) {
		if (p[1] == '/' && g_ascii_strncasecmp(p + 2, e->name, n) == 0 &&
		    !g_ascii_isalnum(p[2 + n]) && p[2 + n] != ':' && p[2 + n] != '-') {
			c->at = (gsize)(p - w->src);
			break;
		}
	}
	return c->at;
}

/* Ends this parse window; the next one starts at resume (see HTML_MAX_DEPTH). */
static void walk_stop(struct html_walk *w, xmlParserCtxtPtr ctxt, gsize resume)
{
	w->stopped = TRUE;
	w->resume = resume;
	xmlStopParser(ctxt);
}

/* A start tag that drops its content (script, title, ...). If its end tag is nowhere in the rest
 * of the input, it would swallow all that follows: its tag is ignored instead, and for script
 * and style, whose content libxml2 reads as raw text, parsing starts again after it. */
static void walk_skip(struct html_walk *w, xmlParserCtxtPtr ctxt, const struct html_elem *e,
		      gsize here)
{
	gboolean raw = strcmp(e->name, "script") == 0 || strcmp(e->name, "style") == 0;
	gsize at;

	if (here == HTML_UNSET) {
		w->skip = ctxt->nameNr;
		return;
	}
	at = html_closer(w, e, here);
	if (at != HTML_UNSET) {
		w->skip = ctxt->nameNr;
		if (raw && ctxt->nameNr > HTML_MAX_DEPTH) {
			/* parsing starts again after the end tag, not inside the raw text */
			const char *gt = strchr(w->src + at, '>');

			w->skip = 0;
			walk_stop(w, ctxt, gt != NULL ? (gsize)(gt + 1 - w->src) : w->src_len);
		}
	} else if (raw) {
		w->sp = TRUE;
		walk_stop(w, ctxt, html_tag_end(w, here));
	}
}

static void walk_item(struct html_walk *w, const xmlChar **atts)
{
	char marker[16] = "- ";

	if (w->lists->len > 0) {
		struct html_list *l = &g_array_index(w->lists, struct html_list, w->lists->len - 1);

		if (l->ordered) {
			long n = html_number(html_attr(atts, "value"), l->next);

			g_snprintf(marker, sizeof(marker), "%ld. ", n);
			l->next = n + 1;
		}
	}
	walk_seg(w, marker, TRUE, TRUE);
	w->items++;
}

/* One start tag outside any dropped element; here is where the parser is (walk_here()). */
static void walk_start(struct html_walk *w, xmlParserCtxtPtr ctxt, const char *name,
		       const xmlChar **atts, gsize here)
{
	const struct html_elem *e = html_elem(name);
	guint depth = (guint)ctxt->nameNr;

	w->pre_nl = FALSE;
	if (html_hidden(atts)) {
		w->skip = (int)depth;
	} else if (e == NULL) {
		/* inline */
	} else if (e->kind == HTML_SKIP) {
		walk_skip(w, ctxt, e, here);
	} else if (e->kind == HTML_BR) {
		if (w->cells > 0 && w->pre == 0)
			w->sp = w->out->len > 0;
		else if (w->nl < 2)
			w->nl++;
		w->ghost = FALSE;
	} else if (e->kind == HTML_HR) {
		walk_nl(w, 2);
	} else if (e->kind == HTML_IMG) {
		const char *alt = html_attr(atts, "alt");

		if (alt != NULL)
			walk_words(w, alt, strlen(alt));
	} else if (e->kind == HTML_CELL) {
		if (w->rows->len > 0 && g_array_index(w->rows, gboolean, w->rows->len - 1))
			w->sep = TRUE;
		walk_push(w, depth, HTML_CELL, 0);
		w->cells++;
	} else if (e->kind == HTML_LINK) {
		const char *attr = html_attr(atts, "href");
		char *href = attr != NULL ? html_href(attr) : NULL;

		if (href != NULL) {
			struct html_link l = {href, HTML_UNSET};

			walk_push(w, depth, HTML_LINK, 0);
			g_array_append_val(w->links, l);
		}
	} else if (e->kind == HTML_LIST || e->kind == HTML_OLIST) {
		/* in a list a list is a line, not a paragraph; outside an item it is indented */
		gboolean nested = w->lists->len > 0 || w->items > 0;
		struct html_list l = {html_number(html_attr(atts, "start"), 1),
				      e->kind == HTML_OLIST};

		walk_push(w, depth, e->kind, nested ? 1 : 2);
		if (w->lists->len > (guint)w->items)
			walk_seg(w, "  ", FALSE, TRUE);
		g_array_append_val(w->lists, l);
	} else if (strcmp(name, "p") == 0 && here != HTML_UNSET && html_tag_end(w, here) == here) {
		/* the <p> libxml2 makes up around text outside any element (it is not on a tag's
		 * end then): no paragraph in a browser */
	} else {
		int nl = e->nl;
		const char *cls = html_attr(atts, "class");

		/* Outlook's paragraphs (class MsoNormal, MsoListParagraph, ...) have no margins:
		 * its empty lines are paragraphs of their own, "<p class=MsoNormal>&nbsp;</p>" */
		if (strcmp(name, "p") == 0 && cls != NULL &&
		    g_ascii_strncasecmp(cls, "Mso", 3) == 0)
			nl = 1;
		walk_push(w, depth, e->kind, nl);
		if (e->kind == HTML_QUOTE) {
			walk_seg(w, "> ", FALSE, FALSE);
		} else if (e->kind == HTML_INDENT) {
			walk_seg(w, "  ", FALSE, TRUE);
		} else if (e->kind == HTML_ITEM) {
			walk_item(w, atts);
		} else if (e->kind == HTML_ROW) {
			gboolean none = FALSE;

			g_array_append_val(w->rows, none);
		} else if (e->kind == HTML_PRE) {
			w->pre++;
			w->pre_nl = TRUE;
		}
	}
}

static void sax_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct html_walk *w = ctxt->_private;
	gsize here;

	if (w->stopped || name == NULL)
		return;
	here = walk_here(w, ctxt);
	if (w->skip == 0)
		walk_start(w, ctxt, (const char *)name, atts, here);
	if (!w->stopped && ctxt->nameNr > HTML_MAX_DEPTH && here != HTML_UNSET) {
		/* a dropped element cannot end in a later window: what follows it is kept */
		w->skip = 0;
		walk_stop(w, ctxt, html_tag_end(w, here));
	}
}

static void sax_end(void *ctx, const xmlChar *name)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct html_walk *w = ctxt->_private;
	guint depth = (guint)ctxt->nameNr;

	(void)name;
	if (w->stopped)
		return;
	if (w->skip > 0) {
		if (depth <= (guint)w->skip)
			w->skip = 0;
		return;
	}
	/* libxml2 calls this before popping its stack, and every open element deeper than this one
	 * is gone too, including one it dropped without an event (an unterminated last tag) */
	while (w->frames->len > w->floor &&
	       g_array_index(w->frames, struct html_frame, w->frames->len - 1).depth >= depth)
		walk_pop(w);
}

static void sax_text(void *ctx, const xmlChar *s, int n)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct html_walk *w = ctxt->_private;

	if (w->stopped || w->skip > 0 || n <= 0)
		return;
	if (w->pre > 0)
		walk_pre(w, (const char *)s, (size_t)n);
	else
		walk_words(w, (const char *)s, (size_t)n);
}

/* libxml2 errors are recovered from; none of them is for anyone to read */
static void sax_error(void *ctx, xmlErrorPtr error)
{
	(void)ctx;
	(void)error;
}

/* The input as libxml2 gets it: no byte-order mark, CR LF and CR as LF (as HTML's tokenizer
 * does), and without Outlook's "<![if !supportLists]>" and "<![endif]>", which browsers drop as
 * bogus comments and libxml2 would show as text. Caller frees. */
static GString *html_prepare(const char *html)
{
	size_t n = strlen(html);
	GString *s = g_string_sized_new(n + 1);
	const char *p = html, *end = html + n;

	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		if (*p == '\r') {
			g_string_append_c(s, '\n');
			p += p[1] == '\n' ? 2 : 1;
		} else if (*p == '<' && p[1] == '!' && p[2] == '[') {
			const char *q = p + 3;

			/* stops at the first of < > ]: the scans never overlap */
			while (q < end && *q != '<' && *q != '>' && *q != ']')
				q++;
			if (q[0] == ']' && q[1] == '>') {
				p = q + 2;
			} else {
				g_string_append_len(s, p, q - p);
				p = q;
			}
		} else {
			g_string_append_c(s, *p++);
		}
	}
	return s;
}

/* Lines trimmed of trailing blanks, at most one empty line in a row (a line of nothing but quote
 * marks counts as empty, and the first such line of a run is kept), none first or last. */
static char *html_tidy(const GString *in)
{
	GString *t = g_string_sized_new(in->len + 1);
	const char *p = in->str, *end = in->str + in->len;
	const char *gap = NULL;
	size_t gap_len = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;
		size_t n = (size_t)(e - p);

		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (strspn(p, "> ") >= n) {
			if (t->len > 0 && gap == NULL) {
				gap = p;
				gap_len = n;
			}
		} else {
			if (t->len > 0) {
				g_string_append_c(t, '\n');
				if (gap != NULL) {
					g_string_append_len(t, gap, gap_len);
					g_string_append_c(t, '\n');
				}
			}
			g_string_append_len(t, p, n);
			gap = NULL;
		}
		p = e + 1;
	}
	if (!g_utf8_validate(t->str, t->len, NULL)) {
		char *valid = g_utf8_make_valid(t->str, t->len);

		g_string_free(t, TRUE);
		return valid;
	}
	return g_string_free(t, FALSE);
}

/* libxml2's read callback: the next piece of the window. Small pieces, as a window may end a few
 * bytes in; libxml2 asks again whenever it runs short. */
static int html_read(void *ctx, char *buf, int len)
{
	struct html_walk *w = ctx;
	size_t n = MIN((size_t)MAX(len, 0), MIN(w->unread, (size_t)HTML_READ_CHUNK));

	memcpy(buf, w->next, n);
	w->next += n;
	w->unread -= n;
	return (int)n;
}

/* Parses src[from..] until its end or a walk_stop(); returns where the next window starts, 0 for
 * none. The input is read through a callback rather than handed over whole, which would copy
 * all the rest of it for every window. It is declared UTF-8 and IGNORE_ENC keeps a <meta
 * charset> from switching to another. */
static gsize html_parse(htmlParserCtxtPtr ctxt, struct html_walk *w, gsize from)
{
	w->window = w->src + from;
	w->next = w->window;
	w->unread = w->src_len - from;
	w->floor = w->frames->len;
	w->skip = 0;
	w->pre_nl = FALSE;
	w->stopped = FALSE;
	w->resume = 0;
	/* no tree is built: the SAX handler gets everything, NULL is all this returns */
	htmlCtxtReadIO(ctxt, html_read, NULL, w, NULL, "UTF-8", HTML_OPTIONS);
	return w->resume > from ? w->resume : 0;
}

char *html_to_text(const char *html)
{
	xmlSAXHandler sax = {
	    .startElement = sax_start,
	    .endElement = sax_end,
	    .characters = sax_text,
	    .ignorableWhitespace = sax_text,
	    .cdataBlock = sax_text,
	    .initialized = XML_SAX2_MAGIC,
	    .serror = sax_error,
	};
	struct html_walk w = {0};
	htmlParserCtxtPtr ctxt;
	GString *src;
	gsize from = 0;
	char *text;

	if (!g_utf8_validate(html, -1, NULL)) {
		char *valid = g_utf8_make_valid(html, -1);

		text = html_to_text(valid);
		g_free(valid);
		return text;
	}
	src = html_prepare(html);
	/* libxml2 takes an int; mail is limited far below this */
	if (src->len > G_MAXINT / 2)
		g_string_truncate(src, g_utf8_find_prev_char(src->str, src->str + G_MAXINT / 2) -
					   src->str);
	w.out = g_string_sized_new(src->len / 2 + 16);
	w.src = src->str;
	w.src_len = src->len;
	w.frames = g_array_new(FALSE, FALSE, sizeof(struct html_frame));
	w.segs = g_array_new(FALSE, FALSE, sizeof(struct html_seg));
	w.lists = g_array_new(FALSE, FALSE, sizeof(struct html_list));
	w.rows = g_array_new(FALSE, FALSE, sizeof(gboolean));
	w.links = g_array_new(FALSE, FALSE, sizeof(struct html_link));
	for (size_t i = 0; i < G_N_ELEMENTS(w.closers); i++)
		w.closers[i].from = w.closers[i].at = HTML_UNSET;
	if (src->len > 0) {
		ctxt = htmlNewParserCtxt();
		if (ctxt == NULL)
			g_error("libxml2: out of memory");
		*ctxt->sax = sax;
		ctxt->_private = &w;
		while ((from = html_parse(ctxt, &w, from)) > 0 && from < src->len)
			;
		htmlFreeParserCtxt(ctxt);
	}
	w.floor = 0;
	while (w.frames->len > 0)
		walk_pop(&w);
	text = html_tidy(w.out);
	g_string_free(w.out, TRUE);
	g_array_free(w.frames, TRUE);
	g_array_free(w.segs, TRUE);
	g_array_free(w.lists, TRUE);
	g_array_free(w.rows, TRUE);
	g_array_free(w.links, TRUE);
	g_string_free(src, TRUE);
	return text;
}
