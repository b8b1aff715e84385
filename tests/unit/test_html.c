/* Unit tests of html.c: what an agent reads of an HTML-only message, and that hostile HTML (deep
 * nesting, stray tags, unclosed everything) neither crashes nor takes long. Every output is also
 * checked against the contract in html.h: valid UTF-8, no trailing blanks, no empty line first,
 * last or twice in a row. */

#include "html.h"

#include "testlib.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fails unless text keeps the promises html.h makes of every output. */
static void check_contract(const char *html, const char *text)
{
	size_t n = strlen(text);

	if (!g_utf8_validate(text, -1, NULL))
		fail_msg("html_to_text(\"%.200s\"): invalid UTF-8", html);
	if (n > 0 && (text[0] == '\n' || text[n - 1] == '\n'))
		fail_msg("html_to_text(\"%.200s\"): empty line first or last", html);
	if (strstr(text, "\n\n\n") != NULL)
		fail_msg("html_to_text(\"%.200s\"): two empty lines in a row", html);
	if (strstr(text, " \n") != NULL || strstr(text, "\t\n") != NULL ||
	    (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t')))
		fail_msg("html_to_text(\"%.200s\"): trailing blanks", html);
}

static void expect(const char *html, const char *text)
{
	char *got = html_to_text(html);

	check_contract(html, got);
	if (strcmp(got, text) != 0)
		fail_msg("html_to_text(\"%s\")\n  got  \"%s\"\n  want \"%s\"", html, got, text);
	g_free(got);
}

/* html_to_text() of s, which must contain want; caller frees. */
static char *expect_in(const char *s, const char *want)
{
	char *got = html_to_text(s);

	check_contract(s, got);
	if (strstr(got, want) == NULL)
		fail_msg("html_to_text(\"%.200s...\") lacks \"%s\":\n%.2000s", s, want, got);
	return got;
}

static GString *repeat(GString *s, const char *piece, int times)
{
	for (int i = 0; i < times; i++)
		g_string_append(s, piece);
	return s;
}

static void test_paragraphs_and_lines(void **state)
{
	(void)state;
	expect("<html><body><p>Hola,</p><p>la impresora no funciona.</p></body></html>",
	       "Hola,\n\nla impresora no funciona.");
	expect("<h1>Title</h1><p>Para</p><hr><div>line<div>inner</div>after</div>",
	       "Title\n\nPara\n\nline\ninner\nafter");
	/* a div is a line, not a paragraph, as browsers show it */
	expect("<div>a</div><div>b</div>", "a\nb");
	expect("Hello<div>World</div>", "Hello\nWorld");
	expect("<section>s</section><article>a</article><footer>f</footer>", "s\na\nf");
	expect("<p>x</p>tail", "x\n\ntail");
}

static void test_line_breaks(void **state)
{
	(void)state;
	expect("Primera línea<br>segunda<br/>tercera", "Primera línea\nsegunda\ntercera");
	expect("a<br><br>b", "a\n\nb");
	/* at most one empty line, however many <br> */
	expect("a<br><br><br><br>b", "a\n\nb");
	expect("<div>a<br></div><div>b</div>", "a\nb");
	/* leading and trailing breaks are no empty lines */
	expect("<br><br>x<br><br>", "x");
}

static void test_lists(void **state)
{
	(void)state;
	expect("<p>Steps:</p><ul><li>one</li><li>two<ul><li>two.a</li><li>two.b</li></ul></li>"
	       "<li>three</li></ul><p>End</p>",
	       "Steps:\n\n- one\n- two\n  - two.a\n  - two.b\n- three\n\nEnd");
	expect("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second");
	expect(
	    "<ol start=\"3\"><li>x</li><li value=\"10\">y</li><li>z<ol><li>in</li></ol></li></ol>",
	    "3. x\n10. y\n11. z\n    1. in");
	/* a list right inside a list, as some editors write it, is indented too */
	expect("<ul><li>a</li><ul><li>nested</li></ul><li>b</li></ul>", "- a\n  - nested\n- b");
	/* unclosed items close each other; an empty item shows nothing */
	expect("<ul><li>a<li><li>b</ul>", "- a\n- b");
	expect("<ul><li>long item<br>second line</li></ul>", "- long item\n  second line");
	expect("<dl><dt>Term</dt><dd>Definition</dd></dl>", "Term\n  Definition");
}

static void test_tables(void **state)
{
	(void)state;
	expect("<table><tr><th>Host</th><th>Status</th></tr>"
	       "<tr><td>srv1</td><td>DOWN</td></tr></table>after",
	       "Host | Status\nsrv1 | DOWN\n\nafter");
	/* empty and &nbsp; cells, the spacers of layout tables, get no separator */
	expect("<table><tr><td></td><td>&nbsp;</td><td>x</td><td> </td><td>y</td></tr></table>",
	       "x | y");
	/* unclosed cells and rows, tbody */
	expect("<table><tbody><tr><td>a<td>b<tr><td>c</table>", "a | b\nc");
	/* a row is one line, whatever its cells hold: a layout table inside a cell too */
	expect("<table><tr><td><table><tr><td>in1</td><td>in2</td></tr></table></td>"
	       "<td>out</td></tr></table>",
	       "in1 | in2 | out");
	/* Outlook: each line of a cell is a paragraph, an empty one a &nbsp; paragraph */
	expect("<table class=MsoNormalTable><tr>"
	       "<td><p class=MsoNormal>Servidor<o:p></o:p></p></td>"
	       "<td><p class=MsoNormal>Estado<o:p></o:p></p></td></tr>"
	       "<tr><td><p class=MsoNormal>srv-files01</p><p class=MsoNormal>&nbsp;</p></td>"
	       "<td><p class=MsoNormal>Ca&iacute;do<br>desde las 8:00</p></td></tr></table>"
	       "<p class=MsoNormal>Gracias</p>",
	       "Servidor | Estado\nsrv-files01 | Caído desde las 8:00\n\nGracias");
}

static void test_links(void **state)
{
	(void)state;
	expect("<a href=\"https://example.com/a\">the report</a>",
	       "the report <https://example.com/a>");
	expect("<a href=\"http://example.com/\">http://example.com</a>", "http://example.com");
	expect("<a href=\"https://example.com/\">example.com</a>", "example.com");
	expect("<a href=\"mailto:bob@example.com\">bob@example.com</a>", "bob@example.com");
	expect("<a href=\"mailto:bob@example.com\">Bob</a>", "Bob <mailto:bob@example.com>");
	expect("<a href=\"mailto:help@example.com?subject=Hi\">help@example.com</a>",
	       "help@example.com <mailto:help@example.com?subject=Hi>");
	expect("<a href=\"ftp://ftp.example.com/f\">file</a>", "file <ftp://ftp.example.com/f>");
	/* never a script or data URL, nor a relative one */
	expect("<a href=\"javascript:alert(1)\">click</a> <a href=\" JavaScript:x\">j</a>",
	       "click j");
	expect("<a href=\"data:text/html;base64,PHA+\">d</a> <a href=\"/rel\">r</a> <a>none</a>",
	       "d r none");
	/* blanks wrapped into a long URL go, markup inside the text does not matter */
	expect("<a href=\" https://example.com/long\npath \"><b>bold</b> link</a>.",
	       "bold link <https://example.com/longpath>.");
	/* a link with no text is nothing; an image's alt is its text */
	expect("a <a href=\"https://t.example.com/x\"><img src=\"cid:1\"></a> b", "a b");
	expect("<a href=\"https://example.com\"><img alt=\"Logo\"></a>",
	       "Logo <https://example.com>");
}

static void test_images(void **state)
{
	(void)state;
	expect("<img alt=\"Company  logo\"> and <img src=\"x.png\">", "Company logo and");
	expect("a<img alt=\"\">b<img alt=\"x\" style=\"display:none\">c", "abc");
}

static void test_pre(void **state)
{
	(void)state;
	/* the newline right after <pre> is not content; blanks stay, trailing ones go */
	expect("<p>Log:</p><pre>\n  indented\n\ttab   kept   \n\n end</pre>after",
	       "Log:\n\n  indented\n\ttab   kept\n\n end\n\nafter");
	expect("<pre>a\r\nb\rc</pre>", "a\nb\nc");
	expect("<blockquote><pre>line1\n  line2</pre></blockquote>", "> line1\n>   line2");
	expect("<pre>x  &amp;&nbsp;&nbsp;y</pre>", "x  &  y");
}

static void test_quotes(void **state)
{
	(void)state;
	expect("<p>Thanks!</p><blockquote><p>quoted</p><p>second</p>"
	       "<blockquote>deeper</blockquote></blockquote><p>me</p>",
	       "Thanks!\n\n> quoted\n>\n> second\n>\n> > deeper\n\nme");
	expect("<blockquote type=\"cite\">a<br>b</blockquote>", "> a\n> b");
}

static void test_dropped(void **state)
{
	(void)state;
	expect("<head><title>T</title><style>p{color:red}</style></head><p>Texto</p>", "Texto");
	expect("<script>alert('x<p>y</p>')</script>visible", "visible");
	expect("antes<!-- <p>oculto</p> -->después", "antesdespués");
	expect("<template><p>t</p></template><noscript>ns</noscript><object>obj</object>"
	       "<svg><text>svg</text></svg><select><option>opt</option></select>v<?php echo 1 ?>w"
	       "<iframe>if</iframe>z",
	       "vwz");
	/* Outlook's conditional comments and "downlevel-revealed" markers */
	expect("<!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]-->"
	       "<p>a<![if !supportLists]>·<![endif]>b</p><!--[if !mso]><!-->c<!--<![endif]-->",
	       "a·b\n\nc");
}

static void test_hidden(void **state)
{
	(void)state;
	expect("<div style=\"display:none;max-height:0\">preheader</div><p>Body</p>", "Body");
	expect(
	    "<span hidden>h</span><span style=\"color:red; DISPLAY : None !important\">x</span>y",
	    "y");
	expect("<div style=\"display:block\">shown</div><div style=\"mso-display:none\">too</div>",
	       "shown\ntoo");
	/* the end of a hidden element ends the hiding, nested ones included */
	expect("<div style=\"display:none\"><div>a</div><br><img alt=b></div>c", "c");
}

static void test_entities(void **state)
{
	(void)state;
	expect("Tom &amp; Jerry &lt;3 &quot;ok&quot; &apos;x&apos;", "Tom & Jerry <3 \"ok\" 'x'");
	expect("caf&#233; &#x2014; ni&ntilde;o &euro;&copy; &#x1F600;", "café — niño €© 😀");
	expect("a&nbsp;b", "a b");
	/* unknown entities and bare '&' stay as written; "&amp" needs its ';' */
	expect("R&D; 5 & 6 &bogus; x&amp y", "R&D; 5 & 6 &bogus; x&amp y");
	/* invalid references are dropped; C1 ones are what Windows-1252 meant, as in browsers */
	expect("[&#0;][&#xD800;][&#1114112;]", "[][][]");
	expect("&#150; &#147;q&#148; &#128;", "– “q” €");
}

static void test_whitespace(void **state)
{
	(void)state;
	expect("  muchos    espacios\n\n\n\ny \t  saltos  ", "muchos espacios y saltos");
	expect("<p>a</p>\n\n<p></p><p></p>\n<p>b</p>", "a\n\nb");
	expect("a<b> </b>c<i>d</i> e", "a cd e");
	/* no-break spaces collapse like blanks, but a line of only them is an empty line */
	expect("a&nbsp;&nbsp;&nbsp;b", "a b");
	expect("<div>x</div><div>&nbsp;</div><div>y</div>", "x\n\ny");
	expect("", "");
	expect("   \n\t  ", "");
	expect("<p>&nbsp;</p><br>&nbsp;", "");
	expect("<html><head></head><body></body></html>", "");
}

static void test_malformed(void **state)
{
	(void)state;
	/* an unclosed <style> or <script> keeps the text instead of swallowing everything after */
	expect("<style>body{}<p>sigue aquí", "body{}\n\nsigue aquí");
	expect("<p>a<script>x = 1;<p>b", "a x = 1;\n\nb");
	/* so does an unclosed <title>, which a browser would not show either way */
	expect("<title>Subject<p>Body", "Subject\n\nBody");
	expect("<a href=\"x>y\">enlace</a> fin", "enlace fin");
	expect("<a title='a > b' href='https://e.com/'>e</a>", "e <https://e.com/>");
	expect("1 < 2 y 3 > 2", "1 < 2 y 3 > 2");
	expect("<", "<");
	expect("</div>stray</div></b>end", "strayend");
	expect("<div><b>unclosed <i>tags<p>para", "unclosed tags\n\npara");
	expect("<b>x</i>y", "xy");
	expect("<p>a<div>b</div>c</p>d", "a\n\nb\ncd");
	expect("<!-- never closed <p>x", "");
	expect("<html><body>a</body></html>after<p>more", "aafter\n\nmore");
	expect("<p =x a=\"\" b=c d>ok</p><div<div>", "ok");
}

static void test_charset_ignored(void **state)
{
	(void)state;
	/* the input is UTF-8 already: a <meta> saying otherwise must not re-decode it */
	expect("<meta charset=iso-8859-1><p>Ñandú é ü</p>", "Ñandú é ü");
	expect("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
	       "charset=windows-1252\"></head><body>Café ☃</body></html>",
	       "Café ☃");
	expect("\xef\xbb\xbf<p>BOM</p>", "BOM");
	/* not UTF-8 after all: still valid UTF-8 out */
	expect("<p>caf\xe9</p>", "caf\xef\xbf\xbd");
}

static void test_outlook(void **state)
{
	static const char html[] =
	    "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\">\n<head>\n"
	    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">\n"
	    "<style><!--\np.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;}\n--></style>"
	    "<!--[if gte mso 9]><xml>\n<o:shapedefaults v:ext=\"edit\" spidmax=\"1026\" />\n"
	    "</xml><![endif]-->\n</head>\n<body lang=\"EN-US\">\n<div class=\"WordSection1\">\n"
	    "<p class=\"MsoNormal\">Hi team,<o:p></o:p></p>\n"
	    "<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>\n"
	    "<p class=\"MsoNormal\">My laptop won&#8217;t connect to the "
	    "<b>VPN</b>:<o:p></o:p></p>\n"
	    "<p class=\"MsoListParagraph\" style=\"text-indent:-18.0pt;mso-list:l0 level1 lfo1\">"
	    "<![if !supportLists]><span style=\"font-family:Symbol\"><span "
	    "style=\"mso-list:Ignore\">"
	    "·<span style=\"font:7.0pt &quot;Times New Roman&quot;\">&nbsp;&nbsp;&nbsp;&nbsp;\n"
	    "</span></span></span><![endif]>Error 809<o:p></o:p></p>\n"
	    "<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>\n"
	    "<p class=\"MsoNormal\">Regards,<o:p></o:p></p>\n"
	    "<p class=\"MsoNormal\">Ana Garc&iacute;a<o:p></o:p></p>\n"
	    "<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>\n"
	    "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\">\n"
	    "<p class=\"MsoNormal\"><b>From:</b> Service Desk &lt;help@example.com&gt; <br>\n"
	    "<b>Sent:</b> Monday, March 4, 2024 9:12 AM<br>\n"
	    "<b>Subject:</b> RE: VPN<o:p></o:p></p>\n</div>\n"
	    "<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>\n"
	    "<p class=\"MsoNormal\">See <a href=\"https://kb.example.com/vpn\">the KB</a>."
	    "<o:p></o:p></p>\n</div>\n</body>\n</html>\n";

	(void)state;
	expect(html, "Hi team,\n\n"
		     "My laptop won’t connect to the VPN:\n"
		     "· Error 809\n\n"
		     "Regards,\n"
		     "Ana García\n\n"
		     "From: Service Desk <help@example.com>\n"
		     "Sent: Monday, March 4, 2024 9:12 AM\n"
		     "Subject: RE: VPN\n\n"
		     "See the KB <https://kb.example.com/vpn>.");
}

static void test_gmail(void **state)
{
	static const char html[] =
	    "<div dir=\"ltr\">Thanks, it works now.<div><br></div><div>Bob</div></div><br>"
	    "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, Mar 4, 2024 "
	    "at "
	    "9:12 AM Service Desk &lt;<a href=\"mailto:help@example.com\">help@example.com</a>&gt; "
	    "wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;"
	    "border-left:1px solid rgb(204,204,204);padding-left:1ex\"><div dir=\"ltr\">Please "
	    "restart the client.<div><br></div><div>-- <br>IT</div></div>\n</blockquote></div>\n";

	(void)state;
	expect(html, "Thanks, it works now.\n\nBob\n\n"
		     "On Mon, Mar 4, 2024 at 9:12 AM Service Desk <help@example.com> wrote:\n\n"
		     "> Please restart the client.\n>\n> --\n> IT");
}

/* 100,000 levels of nesting built at runtime: no recursion to overflow, nothing quadratic (the
 * parser's own stack scans included), and the text inside and after still comes out. */
static void test_deep_nesting(void **state)
{
	static const char *const shapes[][3] = {
	    {"<div>", "</div>", "deep\nafter"},
	    {"<b>", "</b>", "deepafter"},
	    {"<b>", "</i>", "deepafter"},
	    {"<span>", "</div>", "deepafter"},
	    {"<table><tr><td>", "</td></tr></table>", "deep"},
	    {"<ul><li>", "</li></ul>", "- deep"},
	    {"<div style=\"display:none\">", "</div>", "after"},
	    {"<a href=\"https://example.com/\">", "</a>", "deep <https://example.com/>"},
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(shapes); i++) {
		GString *s = g_string_new(NULL);
		char *got;

		repeat(s, shapes[i][0], 100000);
		g_string_append(s, "deep");
		repeat(s, shapes[i][1], 100000);
		g_string_append(s, "after");
		got = expect_in(s->str, shapes[i][2]);
		g_free(got);
		g_string_free(s, TRUE);
	}
	/* quoting deeper than anyone reads is not repeated on every line without end */
	{
		GString *s = repeat(g_string_new(NULL), "<blockquote>", 100000);
		char *got;

		repeat(s, "x<br>", 1000);
		got = expect_in(s->str, "> > x\n");
		assert_true(strlen(got) < 100 * 1000);
		g_free(got);
		g_string_free(s, TRUE);
	}
	/* how fast is for a benchmark to say; a quadratic parser would still hit ctest's timeout */
}

static void test_linear_on_hostile_input(void **state)
{
	static const char *const pieces[] = {"&<script", "<![if x",    "<style>a", "<title>a<p>",
					     "<!--",	 "<a href=x>", "&#",	   "<p"};
	(void)state;
	/* 30,000 of each keep the output contract; a quadratic parser would hit ctest's timeout */
	for (size_t i = 0; i < G_N_ELEMENTS(pieces); i++) {
		GString *s = repeat(g_string_new(NULL), pieces[i], 30000);
		char *got = html_to_text(s->str);

		check_contract(pieces[i], got);
		g_free(got);
		g_string_free(s, TRUE);
	}
	{
		GString *s = repeat(g_string_new(NULL), "&<script", 30000);
		char *got = html_to_text(s->str);

		assert_true(strlen(got) > 0);
		g_free(got);
		g_string_free(s, TRUE);
	}
}

/* libxml2 reports every recovered error; none of it may reach stderr (the journal). */
static void test_silent(void **state)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *got;

	(void)state;
	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) == 2);
	got = html_to_text("<p <<>>&#0;&bogus;<b></i></x><!DOCTYPE x><html><html><body><body>"
			   "<?x<![CDATA[<meta charset=\"utf-16\">\xc3\xa9<table><td><tr></table");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	assert_int_equal(ftell(tmp), 0);
	fclose(tmp);
	g_free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paragraphs_and_lines),
	    cmocka_unit_test(test_line_breaks),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_images),
	    cmocka_unit_test(test_pre),
	    cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_dropped),
	    cmocka_unit_test(test_hidden),
	    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_whitespace),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_charset_ignored),
	    cmocka_unit_test(test_outlook),
	    cmocka_unit_test(test_gmail),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_linear_on_hostile_input),
	    cmocka_unit_test(test_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
