/* serve_int.h - what serve.c (the session) and serve_data.c (the
 * manifest and the recordings' bytes) share: the session's state and the
 * replies. Results: 0 or -errno / -PROTO_E_*, or DONE, SIM_DISCONNECT. */
#ifndef CAMSIM_SERVE_INT_H
#define CAMSIM_SERVE_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "camsim.h"
#include "dockcert.h"
#include "wire.h"

#define IO_TIMEOUT_MS 30000 /* sending: a dock that stops reading */
#define DONE 1              /* BYE received */
#define SIM_DISCONNECT (-ESHUTDOWN)

enum { WANT_HELLO, WANT_AUTH, READY };

struct srv {
	struct cam_store *st;
	const struct cam_faults *f;
	struct transport *t;
	struct edsig_key *dev, *agency;
	uint8_t *rx, *tx, *held, *data;
	size_t held_len; /* --out-of-order: a frame held back */
	uint8_t dock_nonce[PROTO_NONCE_LEN], cam_nonce[PROTO_NONCE_LEN];
	char dock_id[PROTO_ID_MAX + 1];
	struct proto_dock_cert cert;
	int state;
	bool stalled, swapped, misreplied;
	uint32_t list_pages; /* LIST_REPLY pages sent (--abandon-list) */
	uint64_t data_sent;
	int64_t data_start_ns;
	int dock_error; /* code of an ERROR frame the dock sent us */
};

int64_t mono_ns(void);
/* --flood: unknown-type frames before a reply */
int flood(struct srv *v, uint32_t seq);
int reply(struct srv *v, const struct proto_msg *m, uint32_t seq);
int error_reply(struct srv *v, uint32_t seq, int err, const char *why);
/* --bad-hello / --misreply: send m broken the MODE way instead of as is */
int bad_reply(struct srv *v, const struct proto_msg *m, uint32_t seq, int mode);
/* an ERROR frame from the dock: logged, its code kept in v->dock_error */
void dock_sent_error(struct srv *v, const struct proto_msg *m);

/* serve_data.c */
int on_list(struct srv *v, uint32_t seq, uint32_t start);
int on_read(struct srv *v, uint32_t seq, const struct proto_read_req *q);

#endif
