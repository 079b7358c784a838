/* version.h - the release version, printed by `dockd --version` and
 * `custody --version`; the Makefile's DEB_VERSION defaults to it. */
#ifndef PROTO_VERSION_H
#define PROTO_VERSION_H

#define EVIDENCE_DOCK_VERSION "0.1.0"

#endif
