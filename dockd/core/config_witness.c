/* config_witness.c - the [witness] section of dockd's configuration:
 * where dockd sends each checkpoint to be cosigned (docs/witness.md,
 * keys in docs/dockd-config.md).
 *
 *   [witness]
 *   witness = http://127.0.0.1:8080 w1.example/w+acf45429+BA4e...   (repeat)
 *   timeout_s = 10
 *   retry_s = 30
 */
#include <errno.h>
#include <string.h>

#include "config_int.h"
#include "cosig.h"

void dcfg_witness_defaults(struct dock_config *c)
{
	c->n_witnesses = 0;
	c->witness_timeout_s = 10;
	c->witness_retry_s = 30;
}

/* "URL VKEY": http(s) URL without spaces, a type-0x04 vkey. */
static int add_witness(struct dock_config *c, const char *v, const char **why)
{
	const char *sp = strchr(v, ' ');
	struct dock_witness *w;
	struct ckpt_vkey k;
	size_t ulen;

	*why = "want 'URL VKEY' (http:// or https:// URL, the witness's vkey)";
	if (!sp)
		return -EINVAL;
	ulen = (size_t)(sp - v);
	while (*sp == ' ')
		sp++;
	if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
	    ulen >= sizeof(w->url) || strlen(sp) >= sizeof(w->vkey) ||
	    memchr(v, '?', ulen) || memchr(v, '#', ulen))
		return -EINVAL;
	if (cosig_vkey_parse(sp, strlen(sp), &k)) {
		*why = "not a witness cosignature vkey (name+id+base64 of type 0x04)";
		return -EINVAL;
	}
	if (c->n_witnesses == DOCK_CONFIG_MAX_WITNESSES) {
		*why = "at most 8 witnesses";
		return -E2BIG;
	}
	for (size_t i = 0; i < c->n_witnesses; i++)
		if (!strncmp(c->witnesses[i].vkey, sp, strcspn(sp, "+")) &&
		    c->witnesses[i].vkey[strcspn(sp, "+")] == '+') {
			*why = "two witnesses with the same name";
			return -EINVAL;
		}
	w = &c->witnesses[c->n_witnesses++];
	memcpy(w->url, v, ulen);
	w->url[ulen] = '\0';
	while (ulen > 0 && w->url[ulen - 1] == '/')
		w->url[--ulen] = '\0';
	memcpy(w->vkey, sp, strlen(sp) + 1);
	return 0;
}

int dcfg_witness_key(struct dock_config *c, const char *k, const char *v,
		     const char **why)
{
	if (!strcmp(k, "witness"))
		return add_witness(c, v, why);
	if (!strcmp(k, "timeout_s"))
		return dcfg_parse_u32(v, 1, 300, &c->witness_timeout_s);
	if (!strcmp(k, "retry_s"))
		return dcfg_parse_u32(v, 1, 86400, &c->witness_retry_s);
	*why = "unknown key";
	return -ENOKEY;
}
