/* wire_priv.h - internals shared by wire_enc.c, wire_dec.c and wire_util.c.
 *
 * Not part of the protocol API: only the codec files include it. The field
 * rules live here once so the encoder refuses exactly what the decoder
 * refuses (an encoded frame always decodes).
 */
#ifndef DOCK_WIRE_PRIV_H
#define DOCK_WIRE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Domain-separation prefixes, each including its trailing NUL byte. */
#define WIRE_DOM_CAMERA_AUTH "BCDK-v1 camera-auth"
#define WIRE_DOM_DOCK_CERT "BCDK-v1 dock-cert"
#define WIRE_DOM_DOCK_AUTH "BCDK-v1 dock-auth"
#define WIRE_DOM_MANIFEST "BCDK-v1 manifest"
#define WIRE_DOM_RECEIPT "BCDK-v1 receipt"

/* Latitude/longitude bounds in degrees * 1e7. */
#define WIRE_LAT_MAX 900000000
#define WIRE_LON_MAX 1800000000

enum wire_str_kind { WIRE_ID, WIRE_TEXT };

/* Check n bytes of a string field: 0, -PROTO_E_TOO_LONG (n > max) or
 * -PROTO_E_BAD_STRING (ids: empty or outside [A-Za-z0-9._:-]; text: NUL,
 * C0 control, DEL or invalid UTF-8). */
int wire_check_str(const uint8_t *s, size_t n, size_t max, enum wire_str_kind kind);

/* true when type is one of enum proto_type. */
bool wire_type_known(uint8_t type);

/* Range rules on decoded values (0 or -PROTO_E_BAD_FIELD / -TOO_LONG). */
int wire_check_hello(const struct proto_hello *h);
int wire_check_cert(const struct proto_dock_cert *c);
int wire_check_entry(const struct proto_manifest_entry *e);
int wire_check_read(const struct proto_read_req *r);
int wire_check_data(const struct proto_data *d);
int wire_check_status(const struct proto_status_reply *s);
int wire_check_error(const struct proto_error *e);
int wire_check_flags(uint8_t type, uint16_t flags);

#endif
