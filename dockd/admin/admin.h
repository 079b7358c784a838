/* admin.h - dockd's administration subcommands.
 *
 *   dockd --config FILE keygen                 the dock's Ed25519 key
 *   dockd certify --agency-key K ...           (agency side) a dock certificate
 *   dockd --config FILE enroll --serial S ...  enroll a camera
 *   dockd --config FILE revoke --serial S --reason TEXT
 *   dockd --config FILE cameras [--json]       list the enrolment table
 *   dockd --config FILE fixity [--items N] [--bytes-per-s N] [--json]
 *                                              run one fixity audit now (fixity.h)
 *   dockd --config FILE purge --dry-run        vault copies the purge would remove now
 *
 * Each is called by dockd/main.c's dispatch table with the --config value
 * (NULL when none was given) and the remaining arguments, argv[0] being
 * the subcommand's name. Options are parsed with getopt_long; `--help`
 * prints the usage. Each returns the process exit status:
 *     0 success, 1 runtime failure (message on stderr), 2 usage or
 *     configuration error (message on stderr).
 *
 * Every change is a ledger event whose actor is the OS user who ran the
 * command: kind clerk, id "user:<name>(<uid>)" (run as root under sudo:
 * "user:root(0) sudo:<name>(<uid>)"). Run as root, the commands that write
 * the ledger or the state directory first switch to the owner of [dock]
 * state_dir, so the files they create stay readable by the daemon.
 * docs/dockd.md "Command line" and docs/operations.md describe them.
 */
#ifndef DOCKD_ADMIN_H
#define DOCKD_ADMIN_H

int admin_keygen(const char *config, int argc, char **argv);
int admin_certify(const char *config, int argc, char **argv);
int admin_enroll(const char *config, int argc, char **argv);
int admin_revoke(const char *config, int argc, char **argv);
int admin_cameras(const char *config, int argc, char **argv);
int admin_fixity(const char *config, int argc, char **argv);
int admin_purge(const char *config, int argc, char **argv); /* admin_purge.c */
/* admin_volume.c: read a mass-storage camera volume through the sandboxed
 * reader and print what a camera profile makes of it (reads only). */
int admin_volume_scan(const char *config, int argc, char **argv);
/* `dockd volume-ingest` (admin_volingest.c): the daemon, until idle, with
 * one mass-storage docking queued (volsess.h). */
int admin_volume_ingest(const char *config, int argc, char **argv);

#endif
