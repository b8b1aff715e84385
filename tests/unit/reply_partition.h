/* What the unit tests of reply.c share: the check that reply_split() partitions a text's lines
 * into new text, quoted history and signature, and a walk that splits every file of a tree raw
 * (headers, base64 and all: hostile enough) and checks that partition for each. Include after
 * cmocka.h and reply.h. */
#ifndef SPOC_TEST_REPLY_PARTITION_H
#define SPOC_TEST_REPLY_PARTITION_H

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* The line at s (n bytes) without trailing blanks, or NULL when it is blank. */
static char *line_content(const char *s, size_t n)
{
	size_t a = 0;

	while (n > 0) {
		if (strchr(" \t\r\f\v", s[n - 1]) != NULL && s[n - 1] != '\0')
			n--;
		else if (n >= 2 && (guchar)s[n - 2] == 0xc2 && (guchar)s[n - 1] == 0xa0)
			n -= 2;
		else
			break;
	}
	while (a < n && (s[a] == ' ' || s[a] == '\t'))
		a++;
	return a < n ? g_strndup(s, n) : NULL;
}

/* The non-blank lines of text, right-trimmed; free with g_ptr_array_unref(). */
static GPtrArray *content_lines(const char *text)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *p = text, *end = text + strlen(text);

	/* memchr with the known end: strchr from every line would read the whole rest of a
	 * megabyte text each time under ASan's strict_string_checks */
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char *l = line_content(p, n);

		if (l != NULL)
			g_ptr_array_add(lines, l);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return lines;
}

static gint compare_lines(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fails unless every non-blank line of text is in exactly one of the parts, each part keeping
 * the input's order, and each part is valid UTF-8. */
static void check_partition(const char *label, const char *text, const struct reply_parts *p)
{
	const char *fields[] = {p->new_text, p->quoted, p->signature};
	GPtrArray *in = content_lines(text), *all = g_ptr_array_new();
	GPtrArray *parts[3];

	for (int f = 0; f < 3; f++) {
		guint j = 0;

		if (fields[f] == NULL || !g_utf8_validate(fields[f], -1, NULL))
			fail_msg("%s: part %d is NULL or not UTF-8", label, f);
		parts[f] = content_lines(fields[f]);
		/* a subsequence of the input */
		for (guint i = 0; i < parts[f]->len; i++) {
			while (j < in->len && strcmp(g_ptr_array_index(in, j),
						     g_ptr_array_index(parts[f], i)) != 0)
				j++;
			if (j == in->len)
				fail_msg("%s: part %d line \"%s\" out of order or not in the input",
					 label, f, (char *)g_ptr_array_index(parts[f], i));
			j++;
			g_ptr_array_add(all, g_ptr_array_index(parts[f], i));
		}
	}
	if (all->len != in->len)
		fail_msg("%s: %u input lines, %u in the parts", label, in->len, all->len);
	g_ptr_array_sort(in, compare_lines);
	g_ptr_array_sort(all, compare_lines);
	for (guint i = 0; i < in->len; i++)
		if (strcmp(g_ptr_array_index(in, i), g_ptr_array_index(all, i)) != 0)
			fail_msg("%s: line \"%s\" lost or duplicated", label,
				 (char *)g_ptr_array_index(in, i));
	for (int f = 0; f < 3; f++)
		g_ptr_array_unref(parts[f]);
	g_ptr_array_unref(all);
	g_ptr_array_unref(in);
}

/* Splits every regular file under root raw and checks the partition of each. Returns how many
 * files were split. */
static int split_tree(const char *root)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
	int files = 0;

	g_ptr_array_add(dirs, g_strdup(root));
	while (dirs->len > 0) {
		char *dir = g_ptr_array_steal_index(dirs, dirs->len - 1);
		GDir *d = g_dir_open(dir, 0, NULL);
		const char *name;

		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			char *path = g_build_filename(dir, name, NULL);
			char *raw, *text;
			gsize len;
			struct reply_parts p;

			if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
				g_ptr_array_add(dirs, path);
				continue;
			}
			if (g_file_get_contents(path, &raw, &len, NULL)) {
				text = g_utf8_make_valid(raw, (gssize)strnlen(raw, len));
				reply_split(text, &p);
				check_partition(path, text, &p);
				reply_parts_clear(&p);
				g_free(text);
				g_free(raw);
				files++;
			}
			g_free(path);
		}
		if (d != NULL)
			g_dir_close(d);
		g_free(dir);
	}
	g_ptr_array_unref(dirs);
	return files;
}

#endif
