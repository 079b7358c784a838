/* admin_volingest.c - `dockd volume-ingest`: one docking of an enrolled
 * USB mass-storage camera, now (docs/dockd.md, "Mass-storage cameras").
 * Until udev detection starts mass-storage dockings by itself, this is
 * how an operator (or a test) docks one: the daemon runs as usual with
 * --exit-when-idle and this docking queued, so ingest, storage and
 * release are the daemon's own; it exits once the docking and the uploads
 * are done. A dockd already running on the same state refuses it (one
 * dockd per state). */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "daemon.h"
#include "volsess.h"

static int usage(void)
{
	fputs("usage: dockd --config FILE volume-ingest --camera SERIAL [--profile NAME]"
	      " [--fs auto|vfat|exfat|dir] SOURCE\n", stderr);
	return 2;
}

int admin_volume_ingest(const char *config, int argc, char **argv)
{
	const char *serial = NULL, *profile = NULL, *fs = "auto", *src = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--camera") && i + 1 < argc)
			serial = argv[++i];
		else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			profile = argv[++i];
		else if (!strcmp(argv[i], "--fs") && i + 1 < argc)
			fs = argv[++i];
		else if (argv[i][0] != '-' && !src)
			src = argv[i];
		else
			return usage();
	}
	if (!config || !serial || !src)
		return usage();
	if ((r = volsess_queue(serial, profile, src, fs)) < 0) {
		fprintf(stderr, "dockd volume-ingest: %s: %s\n", serial, strerror(-r));
		return 2;
	}
	return dockd_run(config, true);
}
