/* Fuzz the query service's request parser (custody/qops.c: qop_parse):
 * hostile local clients send arbitrary bytes (at most QREQ_MAX). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qop q;
	char msg[160];

	if (size > QREQ_MAX)
		return 0;
	memset(&q, 0, sizeof(q));
	if (qop_parse(&q, (const char *)data, size, msg, sizeof(msg)) == 0) {
		/* what the rest of the service relies on */
		if (!q.op_name || !q.params || !json_is_object(q.params))
			__builtin_trap();
		if (q.op != ACCESS_OP_NONE &&
		    strcmp(q.op_name, access_op_name(q.op)) != 0)
			__builtin_trap();
	} else if (!memchr(msg, '\0', sizeof(msg))) {
		__builtin_trap();
	}
	json_decref(q.req);
	json_decref(q.params);
	return 0;
}
