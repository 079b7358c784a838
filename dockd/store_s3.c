/* store_s3.c - the s3:// storage target (store.h). Not built yet: this
 * placeholder refuses s3:// until the multipart implementation lands. */
#include <errno.h>
#include <stdio.h>

#include "store.h"

int store_s3_open(const struct dock_config *c, const atomic_bool *cancel,
		  struct store_target **out, char *err, size_t errlen)
{
	(void)cancel;
	(void)out;
	snprintf(err, errlen, "[storage] target %s: s3:// is not supported by this build",
		 c->storage_target);
	return -ENOTSUP;
}
