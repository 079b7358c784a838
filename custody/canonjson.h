/*
 * canonjson.h - strict check of the canonical JSON of event details.
 *
 * An event's `details` is a JSON object in exactly the form jansson writes
 * with JSON_COMPACT | JSON_SORT_KEYS, restricted so that the rule can be
 * stated in a few lines (docs/custody-ledger.md, "details"):
 *   - no whitespace outside strings; values are objects, arrays, strings,
 *     integers, true, false, null (no fractions or exponents);
 *   - object members sorted by the bytes of their (unescaped) keys,
 *     strictly increasing (so no duplicates);
 *   - integers: -?(0|[1-9][0-9]*), within signed 64 bits, no "-0";
 *   - strings: raw UTF-8 (shortest form, no surrogates) except '"', '\\'
 *     and bytes below 0x20, which are escaped as \" \\ \b \f \n \r \t, or
 *     \u00XX with upper-case hex for the other bytes 0x01..0x1F; no other
 *     escape, no \u0000;
 *   - nesting at most CUST_JSON_MAX_DEPTH.
 * It is a pure function of the bytes, with no allocation: `custody verify`
 * runs it on every event.
 */
#ifndef CUSTODY_CANONJSON_H
#define CUSTODY_CANONJSON_H

#include <stddef.h>

#define CUST_JSON_MAX_DEPTH 32

/* 1 if s[0..n) is a canonical JSON object as above, else 0. */
int cust_json_canonical_object(const char *s, size_t n);

#endif /* CUSTODY_CANONJSON_H */
