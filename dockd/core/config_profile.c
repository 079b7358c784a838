/* config_profile.c - [profile NAME] sections of dockd.conf (profile.h,
 * docs/dockd-config.md "Writing a camera profile"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

void dcfg_profile_defaults(struct dock_config *c)
{
	profile_generic(&c->profiles[0]);
	c->n_profiles = 1;
}

const struct msc_profile *dock_config_profile(const struct dock_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_profiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return &c->profiles[i];
	return NULL;
}

/* The first key of a section starts its profile; a file's own
 * "generic-dcim" replaces the built-in one (its first key clears it). */
int dcfg_profile_key(struct dock_config *c, const char *name, const char *k, const char *v,
		     const char **why)
{
	struct msc_profile *p = (struct msc_profile *)dock_config_profile(c, name);

	if (p && p->builtin)
		(void)profile_init(p, name); /* the file redefines it from scratch */
	if (!p) {
		if (c->n_profiles >= DOCK_CONFIG_MAX_PROFILES) {
			*why = "too many [profile] sections (at most 7 besides generic-dcim)";
			return -EINVAL;
		}
		p = &c->profiles[c->n_profiles];
		if (profile_init(p, name) < 0) {
			*why = "profile name must be 1-32 of [A-Za-z0-9._-]";
			return -EINVAL;
		}
		c->n_profiles++;
	}
	return profile_key(p, k, v, why);
}

int dcfg_profile_check(const struct dock_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_profiles; i++) {
		const char *why = "";

		if (profile_check(&c->profiles[i], &why) < 0) {
			snprintf(err, errlen, "%s: [profile %s] %s", c->path, c->profiles[i].name, why);
			return -EINVAL;
		}
	}
	return 0;
}
