/* session_fuzz.h - TEST-ONLY hook, not part of the session API.
 *
 * Exists only when the protocol sources are compiled with -DPROTO_FUZZING,
 * which only the libFuzzer build (`make fuzz`) does: no production binary
 * contains it. With signatures skipped, a fuzzer's random bytes get past the
 * Ed25519 checks into the deeper LIST/READ parsing.
 */
#ifndef DOCK_SESSION_FUZZ_H
#define DOCK_SESSION_FUZZ_H

#ifdef PROTO_FUZZING
/* on != 0: every camera signature check in session.c passes. */
void session_fuzz_skip_signatures(int on);
#endif

#endif
