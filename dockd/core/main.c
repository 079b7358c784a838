/* main.c - dockd's command line (docs/dockd.md, "Command line").
 *
 *   dockd --config FILE [--exit-when-idle]     run the daemon
 *   dockd [--config FILE] SUBCOMMAND ARGS...   administration (admin.h)
 *   dockd [SUBCOMMAND] --help | --version      usage or version on stdout, exit 0
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage or configuration.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "custp.h"
#include "daemon.h"
#include "linkc.h"
#include "qworker.h"
#include "storew.h"
#include "witw.h"
#include "volc.h"
#include "volw.h"
#include "version.h"

struct subcommand {
	const char *name;
	int (*fn)(const char *config, int argc, char **argv);
	const char *usage; /* `dockd SUBCOMMAND --help` */
};

/* Administration commands (dockd/admin.h). */
static const struct subcommand subcommands[] = {
	{ "keygen", admin_keygen, "dockd --config FILE keygen\n"
	  "  create the dock's Ed25519 key at [dock] key and print its public key (hex)" },
	{ "certify", admin_certify, "dockd certify --agency-key K --agency-id A --dock-id D "
	  "--dock-pub HEX|--dock-pub-file F [--days N] --out CERT\n"
	  "  run by the agency: certify a dock key" },
	{ "enroll", admin_enroll, "dockd --config FILE enroll --serial S --pubkey HEX|--pubkey-file F "
	  "--officer O [--model M] [--reason TEXT]\n"
	  "  or: enroll --storage VID:PID:SERIAL --officer O --profile NAME [--reason TEXT]\n"
	  "  enroll a camera (ledger event)" },
	{ "revoke", admin_revoke, "dockd --config FILE revoke (--serial S | --storage VID:PID:SERIAL) --reason TEXT\n"
	  "  revoke a camera (ledger event)" },
	{ "cameras", admin_cameras, "dockd --config FILE cameras [--json]\n"
	  "  list enrolled and revoked cameras" },
	{ "fixity", admin_fixity, "dockd --config FILE fixity [--items N] [--bytes-per-s N] [--json]\n"
	  "  run one fixity audit now" },
	{ "purge", admin_purge, "dockd --config FILE purge --dry-run\n"
	  "  vault copies the purge worker would remove now" },
	{ "volume-scan", admin_volume_scan, "dockd [--config FILE] volume-scan [--profile NAME] "
	  "[--fs auto|vfat|exfat|dir] [--verify] SOURCE\n"
	  "  read a mass-storage camera's volume through the sandboxed reader (no ledger event)" },
	{ "volume-ingest", admin_volume_ingest, "dockd --config FILE volume-ingest --camera SERIAL "
	  "[--profile NAME] [--fs auto|vfat|exfat|dir] SOURCE\n"
	  "  run the dock until idle with one docking of an enrolled mass-storage camera" },
};

static int usage(FILE *f)
{
	fputs("usage: dockd --config FILE [--exit-when-idle]\n"
	      "       dockd --config FILE keygen | enroll ... | revoke ... | cameras [--json]\n"
	      "       dockd [--config FILE] volume-scan [--profile NAME] [--fs auto|vfat|exfat|dir] [--verify] SOURCE\n"
	      "       dockd --config FILE volume-ingest --camera SERIAL [--profile NAME] [--fs FS] SOURCE\n"
	      "       dockd --config FILE fixity [--items N] [--bytes-per-s N] [--json]\n"
	      "       dockd --config FILE purge --dry-run\n"
	      "       dockd certify --agency-key K --agency-id A --dock-id D ...\n"
	      "       dockd --version | --help | SUBCOMMAND --help\n"
	      "see docs/dockd.md\n",
	      f);
	return f == stdout ? 0 : 2;
}

/* `dockd SUBCOMMAND --help | -h | --version`: stdout, exit 0, no
 * configuration read (each subcommand's own parser would refuse them). */
static bool sub_help(const struct subcommand *sc, int argc, char **argv)
{
	bool help = argc > 1 && !strcmp(argv[1], "-h");
	bool version = argc == 2 && !strcmp(argv[1], "--version"); /* alone, as custody's */

	for (int a = 1; a < argc; a++)
		help = help || !strcmp(argv[a], "--help");
	if (help)
		printf("usage: %s\n(see man dockd-%s, docs/dockd.md)\n", sc->usage, sc->name);
	else if (version)
		printf("dockd %s\n", EVIDENCE_DOCK_VERSION);
	return help || version;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	bool idle = false;
	int i;

	/* The camera-link worker is a program of its own, dockd-linkw
	 * (linkw.h). The volume reader worker (volw.h): exec'd by dockd only. */
	/* The query-service process (qworker.h), likewise exec'd by dockd. */
	if (argc == 7 && !strcmp(argv[1], "--query-service"))
		return qworker_main(argc, argv);
	/* The storage uploader (storew.h): exec'd by dockd only; it reads the
	 * configuration itself and holds the S3 credentials. */
	if (argc == 4 && !strcmp(argv[1], "--store-worker"))
		return storew_main(argv[2], argv[3]);
	/* The witness client (witw.h): exec'd by dockd only; it holds the
	 * [witness] URLs and vkeys and talks to the witnesses, dockd does not. */
	if (argc == 4 && !strcmp(argv[1], "--witness-client"))
		return witw_main(argv[2], argv[3]);
	/* The custodian (custp.h): exec'd by dockd only; it holds the dock
	 * and checkpoint keys and reads the ledger itself. */
	if (argc == 4 && !strcmp(argv[1], "--custodian"))
		return custp_main(argv[2], argv[3]);
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
		else if (!strcmp(argv[i], "--version")) {
			printf("dockd %s\n", EVIDENCE_DOCK_VERSION);
			return 0;
		}
		else
			return usage(stderr);
	}
	if (i < argc) {
		for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++) {
			if (strcmp(argv[i], subcommands[k].name))
				continue;
			if (sub_help(&subcommands[k], argc - i, argv + i))
				return 0;
			return subcommands[k].fn(config, argc - i, argv + i);
		}
		fprintf(stderr, "dockd: unknown command '%s'\n", argv[i]);
		return usage(stderr);
	}
	/* Frame and chunk buffers (about 1 MiB each, per camera) are mmap'd
	 * and given back on free; a fixed threshold stops glibc from moving
	 * them into per-thread arenas that keep the memory (peak RSS bound). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* Two arenas, not glibc's eight per core: each docked camera runs
	 * four threads, and an arena per thread kept 150-350 KiB each of
	 * freed small allocations (sixteen cameras: 3-4 MiB of the dock's
	 * PSS; docs/dockd.md "Memory"). The ingest's per-frame path does not
	 * call malloc, so the threads seldom meet on an arena lock. */
	mallopt(M_ARENA_MAX, 2);
	if (!config) {
		fputs("dockd: --config FILE is required\n", stderr);
		return 2;
	}
	return dockd_run(config, idle);
}
