/* linkw.h - the camera-link worker: the only dockd process that parses
 * camera bytes (docs/architecture.md, "The camera-link worker").
 *
 * It is a program of its own, dockd-linkw (linkw_exe.c; installed as
 * PREFIX/LINKW_EXE_REL, e.g. /usr/libexec/dockd/dockd-linkw), built from
 * protocol/ and dockd/link/linkw*.c, linkio.c only: no custody code, no
 * SQLite, libcurl or libusb in its image. dockd (linkc.c) forks and execs
 * it by absolute path as `dockd-linkw DEV CHAN RING`
 * with the camera's stream on fd DEV, a socketpair to the daemon on fd
 * CHAN and the daemon's sealed memfd ring (linkring.h) on fd RING (all
 * >= LINKW_FD_MIN_PASSED); the worker moves DEV and CHAN to fd 3 and 4
 * and maps and closes RING before anything else (linkw_sandbox.h), so the
 * worker starts from a fresh address space: no copy of the dock key, the
 * ledger or storage secrets. linkw_main() loads the protocol's needs
 * (OpenSSL), locks itself down (linkw_sandbox.h), then serves the daemon's
 * commands (linkmsg.h) by running the camera session (protocol/session.h).
 * It holds no key: AUTH_DOCK is signed by the daemon (LM_HELLO / LM_AUTH),
 * receipts arrive signed (LM_RELEASE). Returns the process exit status.
 *
 * Test build only (-DLINK_ATTACK_TESTS, make's dockd_attack binary): the
 * environment variable LINK_ATTACK names an attacker action the worker
 * runs after it has parsed the camera's manifest (linkw_attack.c); that
 * build's daemon execs the attack worker, LINKW_EXE_REL with "-attack"
 * appended. The normal build contains no such code.
 */
#ifndef DOCKD_LINKW_H
#define DOCKD_LINKW_H

/* The worker program, relative to the installation prefix (the folder
 * above the daemon's bin/ or sbin/; linkc.h link_init_exe). */
#ifdef LINK_ATTACK_TESTS
#define LINKW_EXE_REL "libexec/dockd/dockd-linkw-attack"
#else
#define LINKW_EXE_REL "libexec/dockd/dockd-linkw"
#endif

/* dev_fd, chan_fd, ring_fd: the decimal descriptor numbers from the
 * command line (anything else, or a ring that is not one: exit status 3,
 * nothing read). */
int linkw_main(const char *dev_fd, const char *chan_fd, const char *ring_fd);

#ifdef LINK_ATTACK_TESTS
/* Run the attack named by $LINK_ATTACK (arguments in $LINK_ATTACK_ARG);
 * chan is the daemon socket. Returns if the sandbox let the attempt
 * return (the test then fails: it expects the worker killed). */
void linkw_attack(int chan);

struct linkmsg;
/* On the first LM_DATA m (ring: the shared ring): the ring_* attacks of
 * $LINK_ATTACK. 1 when it sent a descriptor itself (the caller then only
 * waits for the daemon's answer), 0 to send m as usual. */
int linkw_attack_data(int chan, const struct linkmsg *m, unsigned char *ring);
#endif

#endif
