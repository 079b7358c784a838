/* Fuzz the offline export receipt parser (custody/receipt.c:
 * receipt_parse): a receipt is filed back from a workstation, so the dock
 * parses bytes anyone with a socket can send (at most RECEIPT_MAX). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receipt r;
	uint8_t pub[EDKEY_PUB_LEN];

	memset(&r, 0x5a, sizeof(r));
	if (receipt_parse((const char *)data, size, &r) != 0)
		return 0;
	/* what the service relies on after a successful parse */
	if (!r.number || r.number > RECEIPT_NUMBER_MAX || r.signed_len >= size ||
	    !receipt_hex64(r.key_id) || !receipt_hex64(r.sha256) ||
	    !memchr(r.reason, '\0', sizeof(r.reason)) ||
	    !memchr(r.item, '\0', sizeof(r.item)) || !r.item[0] ||
	    (strcmp(r.command, "export") && strcmp(r.command, "share") &&
	     strcmp(r.command, "decrypt")))
		__builtin_trap();
	/* verifying must never crash either (any key: it just fails) */
	memset(pub, 0, sizeof(pub));
	(void)receipt_verify(&r, (const char *)data, pub);
	return 0;
}
