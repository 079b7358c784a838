#ifndef CUSTODY_MERKLE_INT_H
#define CUSTODY_MERKLE_INT_H
/*
 * merkle_int.h - the hashing context shared by merkle.c (tree hashes,
 * proofs) and merkle_verify.c (checking proofs); not an API for anything
 * else (merkle.h is).
 */
#include <openssl/evp.h>

#include "merkle.h"

/* One fetched SHA-256 and one reusable context: per-hash EVP_Digest()
 * would re-fetch the algorithm each time, which dominates for 65-byte
 * inputs and matters at a million leaves. */
struct merkle_hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

/* Open h on the process-wide SHA-256; 0 or -EIO / -ENOMEM. */
int merkle_hasher_open(struct merkle_hasher *h);
void merkle_hasher_close(struct merkle_hasher *h);

/* out = SHA-256(0x01 || l || r), RFC 6962 interior node; out may alias
 * l or r. 0 or -EIO. */
int merkle_node(struct merkle_hasher *h, const merkle_hash l,
		const merkle_hash r, merkle_hash out);

#endif
