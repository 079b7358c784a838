/*
 * test_canonjson.c - the canonical details rule (custody/canonjson.h,
 * docs/custody-ledger.md "details"): accepted and refused spellings, and
 * agreement with what jansson writes (JSON_COMPACT | JSON_SORT_KEYS) for
 * generated objects, since the writer produces details with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "canonjson.h"

static int ok(const char *s)
{
	return cust_json_canonical_object(s, strlen(s));
}

static void test_accepted(void **state)
{
	static const char *good[] = {
		"{}", "{\"a\":1}", "{\"a\":-1,\"b\":0}", "{\"a\":[1,\"x\",{},[],true,false,null]}",
		"{\"a\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\"}", "{\"a\":\"/\xc3\xa9\xe2\x80\xa8\"}",
		"{\"a\":9223372036854775807,\"b\":-9223372036854775808}",
		"{\"a\":1,\"a\\\"\":2}", "{\"\":1,\"a\":2,\"ab\":3,\"b\":4}",
		"{\"a\\u0001\":1,\"a\\u001F\":2,\"a \":3}", "{\"\xc3\xa9\":1,\"\xf0\x9f\x98\x80\":2}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!ok(good[i]))
			fail_msg("refused canonical %s", good[i]);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"", "[]", "1", "\"a\"", "{", "{} ", " {}", "{ }", "{\"a\": 1}", "{\"a\":1 }",
		"{\"b\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "{\"a\":01}", "{\"a\":-0}", "{\"a\":1.5}",
		"{\"a\":1e3}", "{\"a\":+1}", "{\"a\":9223372036854775808}",
		"{\"a\":-9223372036854775809}", "{\"a\":\"\\/\"}", "{\"a\":\"\\u00e9\"}",
		"{\"a\":\"\\u000a\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\u001f\"}",
		"{\"a\":\"\\u0020\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\x7f\"}", "{\"a\":\"\xc3\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":TRUE}", "{\"a\":nul}",
		"{\"a\":[1,]}", "{\"a\":1,}", "{a:1}", "{\"a\":1}{}", "{\"a\":\"x}",
		"{\"a\\u001F\":1,\"a\\u0001\":2}", "{\"\xf0\x9f\x98\x80\":1,\"\xc3\xa9\":2}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ok(bad[i]))
			fail_msg("accepted non-canonical %s", bad[i]);
}

static void test_depth(void **state)
{
	char s[256];
	int d, i;

	(void)state;
	for (d = 31; d <= 33; d++) {
		size_t o = 0;
		for (i = 0; i < d; i++)
			o += (size_t)snprintf(s + o, sizeof(s) - o, "%s", i ? "[" : "{\"a\":");
		for (i = 1; i < d; i++)
			s[o++] = ']';
		s[o++] = '}';
		s[o] = '\0';
		/* d levels: the object plus d - 1 arrays */
		assert_int_equal(ok(s), d <= CUST_JSON_MAX_DEPTH);
	}
}

/* Random objects dumped by jansson are accepted; the same objects with
 * two members swapped or a space added are not. */
static void test_agrees_with_jansson(void **state)
{
	static const char *keys[] = { "a", "b", "ab", "\xc3\xa9", "k\n", "\"q", "z/", "\x1f" };
	unsigned seed = 12345;
	int n, i;

	(void)state;
	for (n = 0; n < 2000; n++) {
		json_t *o = json_object(), *arr = json_array();
		char *s;
		for (i = 0; i < 1 + (int)(seed % 6); i++) {
			seed = seed * 1103515245u + 12345u;
			switch (seed % 5) {
			case 0: json_object_set_new(o, keys[(seed >> 8) % 8],
				json_integer((json_int_t)(seed >> 3) - 100000)); break;
			case 1: json_object_set_new(o, keys[(seed >> 8) % 8],
				json_string(keys[(seed >> 12) % 8])); break;
			case 2: json_object_set_new(o, keys[(seed >> 8) % 8], json_true()); break;
			case 3: json_array_append_new(arr, json_integer(-(json_int_t)seed)); break;
			default: json_object_set_new(o, keys[(seed >> 8) % 8], json_null()); break;
			}
		}
		json_object_set(o, "arr", arr);
		s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		assert_non_null(s);
		if (!ok(s))
			fail_msg("jansson output refused: %s", s);
		free(s);
		json_decref(arr);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_agrees_with_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
