/* s3xml.h - parse the XML bodies of S3 replies (expat).
 *
 * Server replies are hostile input: every function takes the body as
 * (pointer, length), refuses more than S3_REPLY_MAX bytes, any DOCTYPE or
 * entity declaration (no external entities, no "billion laughs"), element
 * nesting deeper than S3XML_DEPTH_MAX, text longer than the field it fills,
 * more items than the caller's capacity, and malformed numbers or dates.
 * This module holds no credentials and does no I/O.
 *
 * Returns:
 *   0        parsed; outputs filled
 *   -ENOMSG  the body is an S3 <Error> document (also inside a 200, as
 *            CompleteMultipartUpload may answer); *err filled when not NULL,
 *            other outputs untouched
 *   -EPROTO  anything else: not XML, wrong root element, missing or
 *            oversized field, too many items, bad number
 * Outputs are untouched on failure (parsing goes to a scratch copy first).
 */
#ifndef DOCKD_S3XML_H
#define DOCKD_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "s3.h"

#define S3XML_DEPTH_MAX 8
#define S3XML_TEXT_MAX 4096 /* longest text node we look at, bytes */

struct s3xml_error {
	char code[64];
	char message[256];    /* truncated to fit */
	char request_id[128];
};

/* <Error><Code/><Message/><RequestId/></Error>. -EPROTO if not an Error. */
int s3xml_error(const char *xml, size_t n, struct s3xml_error *out);

/* InitiateMultipartUploadResult/UploadId. */
int s3xml_initiate(const char *xml, size_t n, char upload_id[S3_UPLOAD_ID_MAX + 1],
		   struct s3xml_error *err);

/* ListPartsResult: up to cap Parts, IsTruncated, NextPartNumberMarker. */
int s3xml_list_parts(const char *xml, size_t n, struct s3_part *parts, size_t cap,
		     size_t *n_out, bool *truncated, unsigned *next_marker,
		     struct s3xml_error *err);

/* ListMultipartUploadsResult: up to cap Uploads, IsTruncated, NextKeyMarker,
 * NextUploadIdMarker ("" when absent). */
int s3xml_list_uploads(const char *xml, size_t n, struct s3_upload *ups, size_t cap,
		       size_t *n_out, bool *truncated, char next_key[S3_KEY_MAX + 1],
		       char next_id[S3_UPLOAD_ID_MAX + 1], struct s3xml_error *err);

/* CompleteMultipartUploadResult/ETag (quotes removed; may be "": RGW 16). */
int s3xml_complete(const char *xml, size_t n, char etag[S3_ETAG_MAX + 1],
		   struct s3xml_error *err);

/* Tagging/TagSet/Tag/{Key,Value}: up to cap tags. */
int s3xml_tagging(const char *xml, size_t n, struct s3_tag *tags, size_t cap, size_t *n_out,
		  struct s3xml_error *err);

/* ObjectLockConfiguration/ObjectLockEnabled == "Enabled". */
int s3xml_object_lock(const char *xml, size_t n, bool *enabled, struct s3xml_error *err);

/* "2023-05-01T12:34:56.000Z" (or without fraction) -> UTC seconds. */
int s3xml_parse_time(const char *s, time_t *out);

#endif
