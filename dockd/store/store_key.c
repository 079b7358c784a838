/* store_key.c - store_key_valid() (store.h), alone in its file so the
 * channel parser (storemsg.c) and its fuzzer link nothing else. */
#include <string.h>

#include "store.h"

int store_key_valid(const char *key)
{
	size_t n = strnlen(key, STORE_KEY_MAX + 1), comp = 0;

	if (n == 0 || n > STORE_KEY_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = key[i];

		if (ch == '/' || ch == '\0') {
			const char *c = key + i - comp;
			if (comp == 0 || (comp == 1 && c[0] == '.') ||
			    (comp == 2 && c[0] == '.' && c[1] == '.'))
				return 0;
			comp = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == ':' || ch == '-'))
			return 0;
		comp++;
	}
	return 1;
}
