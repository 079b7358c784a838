#ifndef CUSTODY_QCLIENT_H
#define CUSTODY_QCLIENT_H
/*
 * qclient: the client side of the query service (qservice.h), used by
 * `custody remote ...` and `custody user ...` when the caller cannot open
 * the ledger file itself.
 *
 * Route selection (qclient_should_use): the service is used when a socket
 * was given explicitly (--socket), or when the config names one and the
 * ledger file is not readable by the caller (the normal case for a clerk:
 * the file is 0600 and belongs to the service account).
 *
 * The reply is the service's JSON object (qrequest.h): {"ok":true,
 * "result":...} or {"ok":false,"error":...,"message":...}.
 */

#include <stdio.h>

#include <jansson.h>

#define QCLIENT_DEFAULT_TIMEOUT_MS 30000

/* 1 if the service should be used (see above), else 0. Any argument may
 * be NULL/"". */
int qclient_should_use(const char *socket_opt, const char *config_socket,
		       const char *ledger_path);

/* Send request (a JSON object) to the service at socket_path and wait at
 * most timeout_ms (<= 0: default) for the reply. 0 and *reply (caller
 * json_decref's), or negative errno: -ENOENT/-ECONNREFUSED no service,
 * -EACCES socket not ours to use, -ETIMEDOUT, -EMSGSIZE request over 8 KiB
 * or reply over 16 MiB, -EBADMSG reply not a JSON object. */
int qclient_call(const char *socket_path, const json_t *request,
		 int timeout_ms, json_t **reply);

/* qclient_call for a reply that carries an open descriptor (op
 * "export-package", qpackage.h): on success *reply and, when the reply
 * is ok, *fd (close-on-exec; the caller closes it), else *fd = -1 with
 * an error reply. Errors as qclient_call, and -EPROTO: an ok reply
 * without a descriptor or an error reply with one, or more descriptors
 * than fit. Replies over 64 KiB: -EMSGSIZE. */
int qclient_call_fd(const char *socket_path, const json_t *request,
		    int timeout_ms, json_t **reply, int *fd);

/* The same exchange with raw bytes, unchecked (for tests and debugging:
 * `custody remote --raw`): sends len bytes, half-closes, and returns the
 * raw reply (malloc'd, not NUL-terminated; caller frees). */
int qclient_call_raw(const char *socket_path, const char *req, size_t len,
		     int timeout_ms, char **reply, size_t *reply_len);

/* Print a reply for a person: the result as text tables (history, search,
 * events, users, status) or as JSON (as_json; indented, keys sorted - the
 * layout of the local commands' --json), an error as "custody: MESSAGE"
 * on stderr. Returns the exit status: 0 ok, 1 denied, 2 other error. */
int qclient_print(const json_t *reply, const char *op, FILE *out,
		  int as_json);

#endif
