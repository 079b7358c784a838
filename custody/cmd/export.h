/*
 * export.h - texts shared by `custody export` (export.c) and
 * `custody verify-package` (verifypkg.c): docs/court-package.md.
 */
#ifndef CUSTODY_CMD_EXPORT_H
#define CUSTODY_CMD_EXPORT_H

#define EXP_BAGIT_TXT "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

/* VERIFY.md, a tag file of every package: how to check it with public
 * tools and the project's documents alone. */
#define EXP_VERIFY_MD \
"# Verifying this court package\n" \
"\n" \
"This is a BagIt bag (RFC 8493) in a POSIX tar file, made by `custody export`\n" \
"of the evidence dock. Its layout is specified in docs/court-package.md of\n" \
"the evidence-dock project; nothing here needs our software.\n" \
"\n" \
"1. Completeness and integrity (public tools):\n" \
"\n" \
"       tar -xf PACKAGE.tar && cd BAGNAME\n" \
"       sha256sum -c manifest-sha256.txt\n" \
"       sha256sum -c tagmanifest-sha256.txt\n" \
"       find data -type f | sort    # each file must be in manifest-sha256.txt\n" \
"\n" \
"   (Extract as an unprivileged user into an empty directory; a careful\n" \
"   checker first lists the archive with `tar -tvf` and refuses links,\n" \
"   devices, absolute paths and `..`.)\n" \
"\n" \
"2. Custody history: data/items/SERIAL/RECORDING/history.json is the\n" \
"   item's ledger record and events (docs/custody-ledger.md); history.txt\n" \
"   is the same for people.\n" \
"\n" \
"3. Inclusion in the witnessed log: every file in .../tlog-proof/ is a\n" \
"   C2SP tlog-proof (c2sp.org/tlog-proof, docs/custody-ledger.md \"tlog-proof\n" \
"   files\"): one ledger event, its Merkle inclusion proof, and the\n" \
"   checkpoint signed by the dock key that the agency certified and\n" \
"   cosigned by the witnesses of the agency's witness policy.\n" \
"   Check them with the AGENCY KEY YOU OBTAINED FROM THE AGENCY, not the\n" \
"   copy in data/keys/ (which only shows the package is consistent):\n" \
"\n" \
"       custody verify-package PACKAGE.tar --agency YOUR-agency.vkey\n" \
"\n" \
"   or with an independent verifier written from docs/custody-ledger.md\n" \
"   and docs/trust.md.\n" \
"\n" \
"4. The evidence file (evidence.bcde) is the stored ciphertext\n" \
"   (docs/evidence-format.md). Its SHA-256 is in manifest-sha256.txt and\n" \
"   in the item's `exported` ledger event. Decryption needs a key the\n" \
"   agency holds or shares; the plaintext's SHA-256 is the ledger record's\n" \
"   `sha256` (history.json), and the camera's signature is inside the file.\n" \
"\n" \
"What this does NOT prove: that the recording shows what happened (only\n" \
"that it is the file the dock received from the camera that signed it);\n" \
"that history.json lists every event of the item after the newest\n" \
"cosigned checkpoint; anything about keys you take from this package\n" \
"rather than from the agency.\n"

#endif /* CUSTODY_CMD_EXPORT_H */
