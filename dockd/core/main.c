/* main.c - dockd's command line (docs/dockd.md, "Command line").
 *
 *   dockd --config FILE [--exit-when-idle]     run the daemon
 *   dockd [--config FILE] SUBCOMMAND ARGS...   administration (admin.h)
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage or configuration.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "daemon.h"
#include "linkc.h"
#include "linkw.h"
#include "volc.h"
#include "volw.h"

struct subcommand {
	const char *name;
	int (*fn)(const char *config, int argc, char **argv);
};

/* Administration commands (dockd/admin.h). */
static const struct subcommand subcommands[] = {
	{ "keygen", admin_keygen },
	{ "certify", admin_certify },
	{ "enroll", admin_enroll },
	{ "revoke", admin_revoke },
	{ "cameras", admin_cameras },
	{ "fixity", admin_fixity },
	{ "purge", admin_purge },
	{ "volume-scan", admin_volume_scan },
};

static int usage(FILE *f)
{
	fputs("usage: dockd --config FILE [--exit-when-idle]\n"
	      "       dockd --config FILE keygen | enroll ... | revoke ... | cameras [--json]\n"
	      "       dockd [--config FILE] volume-scan [--profile NAME] [--fs auto|vfat|exfat|dir] [--verify] SOURCE\n"
	      "       dockd --config FILE fixity [--items N] [--bytes-per-s N] [--json]\n"
	      "       dockd --config FILE purge --dry-run\n"
	      "       dockd certify --agency-key K --agency-id A --dock-id D ...\n"
	      "see docs/dockd.md\n",
	      f);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	bool idle = false;
	int i;

	/* The camera-link worker (linkw.h): exec'd by dockd itself, never by
	 * hand; it reads no configuration and locks itself down at once. */
	if (argc == 4 && !strcmp(argv[1], "--link-worker"))
		return linkw_main(argv[2], argv[3]);
	/* The volume reader worker (volw.h): likewise exec'd by dockd only. */
	if (argc == 2 && !strcmp(argv[1], "--volume-worker"))
		return volw_main();
	if (argc == 4 && !strcmp(argv[1], "--volume-mount"))
		return volm_main(argc, argv);
	link_init_exe();
	for (i = 1; i < argc && !strncmp(argv[i], "-", 1); i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
		else if (!strcmp(argv[i], "--exit-when-idle"))
			idle = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
		else
			return usage(stderr);
	}
	if (i < argc) {
		for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++)
			if (!strcmp(argv[i], subcommands[k].name))
				return subcommands[k].fn(config, argc - i, argv + i);
		fprintf(stderr, "dockd: unknown command '%s'\n", argv[i]);
		return usage(stderr);
	}
	/* Frame and chunk buffers (about 1 MiB each, per camera) are mmap'd
	 * and given back on free; a fixed threshold stops glibc from moving
	 * them into per-thread arenas that keep the memory (peak RSS bound). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (!config) {
		fputs("dockd: --config FILE is required\n", stderr);
		return 2;
	}
	return dockd_run(config, idle);
}
