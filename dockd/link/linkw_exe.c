/* linkw_exe.c - main() of dockd-linkw, the camera-link worker program
 * (linkw.h; docs/architecture.md, "The camera-link worker").
 *
 *   dockd-linkw DEV CHAN RING
 *
 * exec'd by dockd only (linkc.c), never by hand: it reads no
 * configuration and locks itself down before the first camera byte.
 * Built on its own (Makefile: protocol/ + linkw.c, linkw_sandbox.c,
 * linkio.c, linkring.c), so this file is kept out of libdockd.a.
 */
#include <stdio.h>

#include "linkw.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fputs("dockd-linkw: started by dockd only (dockd-linkw DEV CHAN RING)\n", stderr);
		return 3;
	}
	return linkw_main(argv[1], argv[2], argv[3]);
}
