#ifndef CUSTODY_EVFILE_H
#define CUSTODY_EVFILE_H

/*
 * evfile: the encrypted evidence file format (encryption at rest).
 * ================================================================
 *
 * A recording is stored as   header || chunk_0 || ... || chunk_{n-1}.
 * The byte-exact format is docs/evidence-format.md; this is the C API.
 *
 *  - A random 32-byte data key per file, wrapped in the header to 1..8
 *    agency PUBLIC keys (ECDH P-256/P-384 + HKDF, or RSA-OAEP-SHA256).
 *    Nothing the dock keeps after evfile_writer_free() can decrypt.
 *  - The header is authenticated (HMAC under a key derived from the data
 *    key); each chunk is AES-256-GCM with nonce = 88-bit big-endian chunk
 *    index || final flag and AAD = SHA-256(header) (final chunk: also the
 *    total plaintext length). Truncation, reordering, splicing, dropping
 *    or appending chunks all fail with -EBADMSG.
 *  - Every chunk but the last holds exactly 2^chunk_log2 plaintext bytes,
 *    so chunk i starts at header_len + i * (2^chunk_log2 + 16) and the
 *    ciphertext is a pure function of (header, data key, plaintext): a
 *    byte range can be regenerated, and a writer can resume at a chunk.
 *
 * Errors (all negative errno values):
 *   -EINVAL           bad argument from the caller (never from file bytes)
 *   -EPROTO           malformed file: bad magic, field out of range, bad
 *                     length, trailing garbage in the header, ...
 *   -EPROTONOSUPPORT  unknown format version or recipient type
 *   -EBADMSG          authentication failed: header MAC, chunk tag,
 *                     truncated / reordered / spliced / extended file
 *   -ENOKEY           no recipient stanza is addressed to this key
 *                     (a stanza addressed to it that does not unwrap is
 *                     tampering: -EBADMSG)
 *   -EMSGSIZE         a limit was exceeded (header, recipients, metadata)
 *   -ENOMEM, -EIO     resources; callback errors are passed through
 * A writer or reader that failed stays failed (same error on every call).
 *
 * The data key is secret. It exists in the writer's memory, and in the
 * caller's memory only when the caller asks for it to resume later
 * (evfile_writer_checkpoint); evfile_key_wipe() wipes it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>

#define EVFILE_VERSION          1
#define EVFILE_MAGIC_LEN        8
#define EVFILE_KEY_LEN          32   /* data key */
#define EVFILE_SALT_LEN         32
#define EVFILE_TAG_LEN          16   /* GCM tag appended to every chunk */
#define EVFILE_KEYID_LEN        32   /* SHA-256 of SubjectPublicKeyInfo DER */
#define EVFILE_MAC_LEN          32
#define EVFILE_MAX_HEADER       65536
#define EVFILE_MAX_RECIPIENTS   8
#define EVFILE_MAX_ID           255  /* recording id, camera serial */
#define EVFILE_MAX_CONTEXT      4096 /* opaque associated data */
#define EVFILE_CHUNK_LOG2_MIN   12   /* 4 KiB */
#define EVFILE_CHUNK_LOG2_MAX   24   /* 16 MiB */
#define EVFILE_CHUNK_LOG2_DEFAULT 20 /* 1 MiB */
/* Bytes needed to learn header_len: magic, version, chunk, flags, length. */
#define EVFILE_PREFIX_LEN       16

/* Recipient stanza types (byte 0 of a stanza). */
enum evfile_recipient_type {
	EVFILE_R_ECDH_P256 = 1,   /* ECDH-P256-HKDF-SHA256 + AES-256-GCM */
	EVFILE_R_ECDH_P384 = 2,   /* ECDH-P384-HKDF-SHA384 + AES-256-GCM */
	EVFILE_R_RSA_OAEP  = 3,   /* RSA-OAEP-SHA256 (MGF1-SHA256), >= 3072 bit */
};

/* Output sink: consume all len bytes; 0 or a negative errno. */
typedef int (*evfile_write_fn)(void *arg, const void *buf, size_t len);
/* Sequential input: up to len bytes into buf; returns the count (0 only at
 * end of file) or a negative errno. Short reads are retried. */
typedef ssize_t (*evfile_read_fn)(void *arg, void *buf, size_t len);
/* Positional input: exactly len bytes at off; 0 or a negative errno. */
typedef int (*evfile_pread_fn)(void *arg, uint64_t off, void *buf, size_t len);

/* Ready-made callbacks; arg points to an int file descriptor. */
int evfile_fd_write(void *arg, const void *buf, size_t len);
ssize_t evfile_fd_read(void *arg, void *buf, size_t len);
int evfile_fd_pread(void *arg, uint64_t off, void *buf, size_t len);

/* What the writer puts in the header (authenticated, NOT encrypted). */
struct evfile_meta {
	const char *recording_id;   /* 1..255 printable ASCII bytes */
	const char *camera_serial;  /* NULL or 0..255 printable ASCII bytes */
	const uint8_t *context;     /* opaque associated data, may be NULL */
	size_t context_len;         /* <= EVFILE_MAX_CONTEXT */
	unsigned chunk_log2;        /* 0 = default (1 MiB); else 12..24 */
};

/* A parsed header (evfile_header_parse). Offsets are into the header. */
struct evfile_stanza {
	uint8_t type;                       /* enum evfile_recipient_type */
	uint8_t key_id[EVFILE_KEYID_LEN];
	uint32_t body_off, body_len;        /* the type-specific body */
};
struct evfile_info {
	uint32_t header_len;
	unsigned chunk_log2;
	uint8_t salt[EVFILE_SALT_LEN];
	char recording_id[EVFILE_MAX_ID + 1];
	char camera_serial[EVFILE_MAX_ID + 1];
	uint32_t context_off, context_len;
	unsigned n_stanzas;
	struct evfile_stanza stanzas[EVFILE_MAX_RECIPIENTS];
};

/*
 * Parse and validate a header's structure (NOT its MAC: that needs the
 * data key). `buf` holds at least the header; `len` may exceed it (the
 * header length is in the header). Hostile input: every error is one of
 * the codes above. *info is written only on success.
 */
int evfile_header_parse(const uint8_t *buf, size_t len, struct evfile_info *info);

/* header_len from the first EVFILE_PREFIX_LEN bytes (checks magic,
 * version, chunk size and the length cap). */
int evfile_header_peek(const uint8_t *buf, size_t len, uint32_t *header_len);

/* ---- layout arithmetic (pure, no I/O) --------------------------------- */

/* Number of chunks for a plaintext of `pt_len` bytes (at least 1). */
uint64_t evfile_chunk_count(unsigned chunk_log2, uint64_t pt_len);
/* File offset of chunk i. */
uint64_t evfile_chunk_offset(uint32_t header_len, unsigned chunk_log2, uint64_t i);
/* Whole file size for a plaintext of `pt_len` bytes; -EOVERFLOW if it
 * does not fit in 64 bits. */
int evfile_ciphertext_size(uint32_t header_len, unsigned chunk_log2,
			   uint64_t pt_len, uint64_t *ct_size);
/* Inverse: plaintext size from a complete file's size; -EPROTO if no
 * plaintext size gives exactly this file size. */
int evfile_plaintext_size(uint32_t header_len, unsigned chunk_log2,
			  uint64_t ct_size, uint64_t *pt_len);

/* ---- writing ---------------------------------------------------------- */

struct evfile_writer;

/*
 * Start a new file: draws the data key and salt, wraps the key to each of
 * the `n` agency public keys (EC P-256, EC P-384 or RSA >= 3072 bits;
 * duplicates refused), and emits the header through `out`. Memory is
 * bounded by one chunk buffer.
 */
int evfile_writer_open(struct evfile_writer **w, EVP_PKEY *const *recipients,
		       size_t n, const struct evfile_meta *meta,
		       evfile_write_fn out, void *out_arg);

/* Feed plaintext. Full chunks are emitted once more data follows them
 * (the last chunk must carry the final flag, so one is held back). */
int evfile_writer_write(struct evfile_writer *w, const void *buf, size_t len);

/*
 * Streaming: announce the whole plaintext size, after open or resume and
 * before the first write. Every chunk's final flag is then known from the
 * start, so the writer encrypts the caller's bytes as they arrive, out of
 * place, and hands the ciphertext to `out` in pieces of at most
 * EVFILE_STREAM_PIECE bytes followed by each chunk's tag: the plaintext is
 * never copied or buffered, and the writer's buffer shrinks from one chunk
 * to one piece. The output is byte-identical to the buffered mode. Writing
 * more than announced, or finishing with fewer bytes, fails with -EINVAL
 * (sticky; the output is then not a valid file). A checkpoint's
 * chunks_done counts whole chunks; the output may hold part of the next.
 */
#define EVFILE_STREAM_PIECE (64u << 10)
int evfile_writer_set_size(struct evfile_writer *w, uint64_t pt_len);

/* Emit the final chunk. Optional out-parameters: plaintext and whole-file
 * sizes. After this only evfile_writer_free() is valid. */
int evfile_writer_finish(struct evfile_writer *w, uint64_t *pt_len,
			 uint64_t *ct_len);

/* Wipe the keys and free. NULL is fine. A file never finished stays
 * undecryptable (no final chunk). */
void evfile_writer_free(struct evfile_writer *w);

/* The header bytes the writer emitted (valid until free). */
const uint8_t *evfile_writer_header(const struct evfile_writer *w, size_t *len);

/*
 * Resume support. A checkpoint is (header, data key, chunks_done): the
 * output then holds exactly header_len + chunks_done * (chunk + 16) bytes
 * and plaintext bytes [0, chunks_done << chunk_log2) are consumed. The
 * data key is SECRET: persist it only where the in-flight plaintext may
 * live, and wipe it when the file is finished (see the doc, "Resume").
 * (Streaming writers: at least that many bytes; part of chunk chunks_done
 * may follow, and a resume truncates it away.)
 */
int evfile_writer_checkpoint(const struct evfile_writer *w,
			     uint8_t data_key[EVFILE_KEY_LEN],
			     uint64_t *chunks_done);

/*
 * Continue a file at chunk `next_chunk`: the caller has truncated the
 * output to evfile_chunk_offset(header_len, log2, next_chunk) and feeds
 * plaintext from next_chunk << chunk_log2. The header's MAC is checked
 * with `data_key` (-EBADMSG if they do not belong together). Nothing is
 * emitted until write/finish; the result is byte-identical to one pass.
 */
int evfile_writer_resume(struct evfile_writer **w, const uint8_t *hdr,
			 size_t hdr_len, const uint8_t data_key[EVFILE_KEY_LEN],
			 uint64_t next_chunk, evfile_write_fn out, void *out_arg);

/* Wipe a data key copy held by the caller. */
void evfile_key_wipe(uint8_t data_key[EVFILE_KEY_LEN]);

/*
 * Regenerate the ciphertext of chunks [first, last) of a file whose whole
 * plaintext is `pt_len` bytes, reading plaintext through `in` (positional)
 * and writing through `out`. Byte-identical to what the writer produced.
 * Needs the data key, so it is possible only while a checkpoint is held.
 */
int evfile_regen_chunks(const uint8_t *hdr, size_t hdr_len,
			const uint8_t data_key[EVFILE_KEY_LEN], uint64_t pt_len,
			uint64_t first, uint64_t last,
			evfile_pread_fn in, void *in_arg,
			evfile_write_fn out, void *out_arg);

/*
 * Resume helper: decrypt the first `nchunks` (non-final) chunks of a
 * partial file through `in` (positional, whole file incl. header) and feed
 * their plaintext to `md` (e.g. an initialised SHA-256 context), so the
 * plaintext hash can be recomputed without keeping the plaintext. OpenSSL 3
 * cannot export a SHA-256 mid-state portably, hence re-hashing.
 */
int evfile_rehash_prefix(const uint8_t *hdr, size_t hdr_len,
			 const uint8_t data_key[EVFILE_KEY_LEN], uint64_t nchunks,
			 evfile_pread_fn in, void *in_arg, EVP_MD_CTX *md);

/* ---- checking a file read back, with the writer's data key ------------- */

/*
 * Authenticate a whole file as its writer's process reads it back (e.g.
 * from the device, to prove the disk holds what was written), without an
 * agency key: the data key is the writer's (evfile_writer_checkpoint) and
 * `pt_len` the plaintext size the writer was given. Feed the file's bytes
 * in order, in pieces of any size; then evfile_check_end.
 *
 * What success proves: the header read back carries a valid MAC under the
 * data key (so every field, recipient stanza included, is the one the
 * writer built), and every chunk read back passes its AES-256-GCM tag
 * under the payload key with the writer's nonce (index, final flag) and
 * AAD (SHA-256 of the header read back; final chunk also pt_len). Only the
 * holder of the data key can produce such chunks, so each chunk on disk is
 * the one the writer sealed at that index for that header; the final
 * chunk at index n-1 with nothing after it fixes the length. A changed,
 * missing, reordered or appended byte anywhere fails (-EBADMSG), short of
 * a 2^-128 tag forgery. The plaintext is computed and discarded: `buf` is
 * OVERWRITTEN (its bytes are undefined after the call; wipe it before it
 * is freed).
 *
 * The keys are wiped once the final chunk verified, on the first error,
 * and by evfile_check_free. Errors are sticky: -EBADMSG for anything the
 * bytes read back do wrong (a header that does not parse included),
 * -EFBIG when pt_len needs too many chunks, -ENOMEM, -EINVAL.
 */
struct evfile_check;
int evfile_check_new(struct evfile_check **c, const uint8_t data_key[EVFILE_KEY_LEN],
		     uint64_t pt_len);
int evfile_check_feed(struct evfile_check *c, uint8_t *buf, size_t len);
/* All bytes fed: 0 and the total fed (*ct_len, optional) when the final
 * chunk verified; -EBADMSG when the file ended before it (truncated). */
int evfile_check_end(struct evfile_check *c, uint64_t *ct_len);
void evfile_check_free(struct evfile_check *c);

/* ---- reading ---------------------------------------------------------- */

struct evfile_reader;

/*
 * Read and parse the header from `in`, find the stanza addressed to the
 * agency PRIVATE key `key`, unwrap the data key and verify the header MAC.
 * `info` (optional) receives the parsed header.
 */
int evfile_reader_open(struct evfile_reader **r, EVP_PKEY *key,
		       evfile_read_fn in, void *in_arg, struct evfile_info *info);

/*
 * Next authenticated plaintext chunk: returns 1 with *buf and *len set (valid
 * until the next call), 0 once the final chunk verified and the input
 * ended, or a negative error. Plaintext delivered before 0 is returned is
 * authentic but may be INCOMPLETE: commit it only after 0.
 */
int evfile_reader_next(struct evfile_reader *r, const uint8_t **buf, size_t *len);

/* Plaintext bytes delivered so far. */
uint64_t evfile_reader_plaintext_len(const struct evfile_reader *r);

/* Wipe keys, free. NULL is fine. */
void evfile_reader_free(struct evfile_reader *r);

/* Human-readable text for an error code returned by this module. */
const char *evfile_strerror(int err);

#endif
