/* usbrelay.h - carry a USB camera link to its camera-link worker.
 *
 * libusb stays in the daemon for now (docs/architecture.md, "What is not
 * split yet"): a thread copies the camera's bulk IN bytes into a stream
 * socketpair whose other end is the worker's device fd, and the worker's
 * frames back out as one bulk OUT transfer each. It never interprets
 * camera bytes; of the worker's bytes it reads only the 16-byte frame
 * header (proto_hdr_decode) to find where each frame ends. When the
 * device goes away the worker sees end of stream.
 */
#ifndef DOCKD_USBRELAY_H
#define DOCKD_USBRELAY_H

#include "transport.h"

struct usbrelay;

/* Start relaying t (borrowed until usbrelay_stop); *worker_fd is the end
 * to hand to the worker (close-on-exec). */
int usbrelay_start(struct transport *t, struct usbrelay **out, int *worker_fd);

/* The worker holds its end now: close the daemon's copy. */
void usbrelay_worker_started(struct usbrelay *r);

/* Stop the thread and free r (NULL is fine). */
void usbrelay_stop(struct usbrelay *r);

#endif
