# Evidence dock: one plain GNU Makefile, non-recursive, pkg-config for deps.
#
#   make            build everything into $(BUILD) (default: build/)
#   make check      install deps, run the suite, then again under ASan+UBSan
#   make demo       end-to-end demonstration (tests/demo.sh; README.md)
#   make bench      benchmarks, printed as `BENCH name value unit`
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        build/evidence-dock_$(DEB_VERSION)_amd64.deb (packaging/deb/)
#
# Module sources are picked up by wildcard, so adding a file to a module
# needs no Makefile edit. Dependencies run one way: dockd -> protocol,
# custody; protocol and custody never include each other.

BUILD    ?= build
SANITIZE ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZ_SECONDS ?= 60
V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif

CC ?= cc
PKGS := libusb-1.0 libudev openssl sqlite3 libsystemd inih jansson libcurl zlib expat libdeflate libmicrohttpd p11-kit-1 \
        libarchive libseccomp

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wpointer-arith \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN  := -fstack-protector-strong -fstack-clash-protection -fPIE
BASE_CFLAGS := -std=gnu11 $(WARN) -g -pipe -MMD -MP
ifeq ($(SANITIZE),1)
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=address,undefined
else
OPT     := -O2 -D_FORTIFY_SOURCE=2
SAN_LDFLAGS :=
endif
ALL_CFLAGS  := $(BASE_CFLAGS) $(OPT) $(HARDEN) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN_LDFLAGS) $(LDFLAGS)
LIBS        := $(PKG_LIBS) -lpthread -lm

# ---- module sources ------------------------------------------------------
# dockd/ has a folder per process (docs/architecture.md "Processes"):
# core/, admin/, link/, ingest/, custodian/, store/ (store/s3/), lifecycle/.
# Sources include each other's headers by bare name ("log.h"), so every
# dockd folder is on the include path. custody/ and dockd/core/ both have a
# config.h: dockd's folders come before custody/ when compiling dockd and
# the tests (a dockd header's "config.h" means dockd's, as it did when they
# sat beside it); custody and protocol objects keep custody/ first (its
# cmd/cmd.h means custody's). dockd/ itself stays on the list so a file
# still lying flat there builds too.
DOCKD_DIRS := dockd $(patsubst %/,%,$(sort $(dir $(wildcard dockd/*/*.[ch] dockd/*/*/*.[ch]))))
DOCKD_INC  := $(addprefix -I,$(DOCKD_DIRS))
INC        := -Iprotocol -Icustody $(DOCKD_INC)
INC_DOCKD  := -Iprotocol $(DOCKD_INC) -Icustody
PROTO_SRC   := $(wildcard protocol/*.c)
CAMSIM_SRC  := $(wildcard protocol/camsim/*.c)
CUSTODY_SRC := $(wildcard custody/*.c)
CUSTCMD_SRC := $(wildcard custody/cmd/*.c)
DOCKD_SRC   := $(filter-out dockd/core/main.c dockd/link/linkw_exe.c dockd/volume/volfm_exe.c,$(wildcard dockd/*.c dockd/*/*.c dockd/*/*/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
CONSOLE_SRC := $(wildcard console/*.c)
USB_SRC     := $(wildcard tests/usb/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBPROTO   := $(BUILD)/lib/libprotocol.a
LIBCUSTODY := $(BUILD)/lib/libcustody.a
LIBDOCKD   := $(BUILD)/lib/libdockd.a

BINS := $(BUILD)/bin/camsim
ifneq ($(CUSTCMD_SRC),)
BINS += $(BUILD)/bin/custody
endif
ifneq ($(wildcard dockd/core/main.c),)
BINS += $(BUILD)/bin/dockd
endif
ifneq ($(CONSOLE_SRC),)
BINS += $(BUILD)/bin/custody-console
endif
# The camera-link worker program (dockd/link/linkw.h): dockd execs it as
# PREFIX/libexec/dockd/dockd-linkw (the folder above its own bin/ or sbin/).
# Built from protocol/ and the worker's own files only (and dockd/core's
# lock-down rules, llrule.c and scmprule.c: libc and libseccomp alone), and linked with
# libcrypto, libseccomp and libdeflate (frame CRC) alone: no custody code, no SQLite,
# libcurl or libusb in the process that parses camera bytes (less code
# reachable, and less memory: one per docked camera).
LINKW_EXE  := $(if $(wildcard dockd/link/linkw_exe.c),$(BUILD)/libexec/dockd/dockd-linkw)
LINKW_SRC  := dockd/link/linkw_exe.c dockd/link/linkw_sandbox.c dockd/link/linkio.c \
              dockd/link/linkring.c dockd/core/llrule.c dockd/core/scmprule.c
LINKW_LIBS := $(shell pkg-config --libs libcrypto libseccomp libdeflate 2>/dev/null) -lpthread
BINS += $(LINKW_EXE)
# dockd's own fusermount (dockd/volume/volfm.h): exFAT for a volume reader
# that is not root. One file, no library: it parses only libfuse's argv.
VOLFM_EXE  := $(if $(wildcard dockd/volume/volfm_exe.c),$(BUILD)/libexec/dockd/fuse/fusermount)
BINS += $(VOLFM_EXE)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
USB_BIN   := $(if $(USB_SRC),$(BUILD)/tests/usb_harness)
# Small dock-side client tools for tests and benches (one binary per file).
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
# dockd with the camera-link worker's attack actions (dockd/link/linkw.h), tests only,
# and the attack worker program it execs
ATTACK_BIN := $(if $(wildcard dockd/link/linkw_attack.c),$(BUILD)/tests/dockd_attack \
              $(BUILD)/libexec/dockd/dockd-linkw-attack)
# The power-cut simulation (tests/powercut/, docs/testing.md): an LD_PRELOAD
# library, built without sanitizers even in build/asan (it is loaded first).
POWERCUT_SO := $(if $(wildcard tests/powercut/powercut.c),$(BUILD)/tests/libpowercut.so)

.SECONDARY:
.PHONY: all tests check check-normal check-asan demo bench fuzz install clean deps soak mutate
all: $(BINS)
tests: all $(UNIT_BINS) $(USB_BIN) $(TOOL_BINS) $(POWERCUT_SO) $(ATTACK_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/obj/dockd/%.o $(BUILD)/obj/tests/%.o $(BUILD)/obj/attack/%.o: INC := $(INC_DOCKD)

$(LIBPROTO): $(call obj,$(PROTO_SRC))
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIBCUSTODY): $(call obj,$(CUSTODY_SRC))
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIBDOCKD): $(call obj,$(DOCKD_SRC))
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/camsim: $(call obj,$(CAMSIM_SRC)) $(LIBPROTO)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/bin/custody: $(call obj,$(CUSTCMD_SRC)) $(LIBCUSTODY)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/bin/dockd: $(call obj,dockd/core/main.c) $(LIBDOCKD) $(LIBPROTO) $(LIBCUSTODY)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/libexec/dockd/dockd-linkw: $(call obj,dockd/link/linkw.c $(LINKW_SRC)) $(LIBPROTO)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LINKW_LIBS)
$(BUILD)/libexec/dockd/fuse/fusermount: $(call obj,dockd/volume/volfm_exe.c)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

# The web console (docs/console.md): a client of the query service; the
# only binary linking PAM and liboath.
$(BUILD)/bin/custody-console: $(call obj,$(CONSOLE_SRC)) $(LIBCUSTODY)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lpam $(shell pkg-config --libs liboath)

# dockd_attack: dockd whose camera-link worker obeys $$LINK_ATTACK after
# parsing (dockd/link/linkw.h; tests/integration/dockd_link_sandbox.sh). Only
# linkw.c and linkc.c are rebuilt with -DLINK_ATTACK_TESTS: the attack
# linkc.o (linked before libdockd.a, it replaces its copy) execs
# libexec/dockd/dockd-linkw-attack, the worker program built with the
# attack linkw.o. bin/dockd and dockd-linkw never contain this code.
ATTACK_OBJ := $(BUILD)/obj/attack/linkc.o $(BUILD)/obj/attack/volw.o \
              $(BUILD)/obj/attack/volc.o $(BUILD)/obj/attack/volmount.o \
              $(BUILD)/obj/attack/volw_attack.o $(BUILD)/obj/attack/qworker.o \
              $(BUILD)/obj/attack/volkern.o \
              $(BUILD)/obj/attack/storew.o $(BUILD)/obj/attack/storew_attack.o \
              $(BUILD)/obj/attack/qattack.o $(BUILD)/obj/attack/attack.o
# the actions the attackers share (dockd/core/attack.h)
$(BUILD)/obj/attack/%.o: dockd/core/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
$(BUILD)/obj/attack/%.o: dockd/link/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
$(BUILD)/obj/attack/%.o: dockd/volume/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
$(BUILD)/obj/attack/%.o: dockd/query/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
# and whose witness client process sends $$WITNESS_ATTACK's hostile reply
# (dockd/witness/witw.h; tests/integration/witness_proc.sh)
ATTACK_OBJ += $(BUILD)/obj/attack/witw.o
$(BUILD)/obj/attack/%.o: dockd/witness/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
$(BUILD)/obj/attack/%.o: dockd/store/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
# and whose custodian obeys $$CUST_ATTACK at its first receipt request
# (dockd/custodian/custp_attack.c; tests/integration/dockd_custodian_sandbox.sh)
ATTACK_OBJ += $(BUILD)/obj/attack/custp.o $(BUILD)/obj/attack/custp_attack.o
$(BUILD)/obj/attack/%.o: dockd/custodian/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $< (attack)"
	$(Q)$(CC) $(INC) $(ALL_CFLAGS) -DLINK_ATTACK_TESTS -c $< -o $@
$(BUILD)/tests/dockd_attack: $(call obj,dockd/core/main.c) $(ATTACK_OBJ) $(LIBDOCKD) $(LIBPROTO) $(LIBCUSTODY)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/libexec/dockd/dockd-linkw-attack: $(BUILD)/obj/attack/linkw.o \
		$(BUILD)/obj/attack/linkw_attack.o $(BUILD)/obj/attack/attack.o \
		$(call obj,$(LINKW_SRC)) $(LIBPROTO)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LINKW_LIBS)

# Unit tests may use every module (they test them); each file is one binary.
TEST_LIBS := $(if $(DOCKD_SRC),$(LIBDOCKD)) $(LIBPROTO) $(if $(CUSTODY_SRC),$(LIBCUSTODY))
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(TEST_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/libpowercut.so: $(wildcard tests/powercut/*.c tests/powercut/*.h)
	@mkdir -p $(@D)
	@echo "  CCSO    $@"
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -g -fPIC -shared -o $@ $(filter %.c,$^) -ldl -lpthread

# The USB harness emulates a camera with umockdev (needs GLib).
$(BUILD)/obj/tests/usb/%.o: ALL_CFLAGS += $(shell pkg-config --cflags umockdev-1.0)
$(USB_BIN): $(call obj,$(USB_SRC)) $(LIBPROTO)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs umockdev-1.0)

deps:
	@sh packaging/install-deps.sh

# `make check`: the suite built normally, then built with ASan+UBSan.
check: deps
	$(MAKE) tests
	$(MAKE) BUILD=build/asan SANITIZE=1 tests
	sh tests/run.sh build build/asan

check-normal: deps tests
	sh tests/run.sh build

check-asan: deps
	$(MAKE) BUILD=build/asan SANITIZE=1 tests
	sh tests/run.sh build/asan

demo: deps all
	DEMO_STORAGE=$(or $(STORAGE),$(DEMO_STORAGE),file) sh tests/demo.sh

bench: deps all
	sh tests/bench.sh

soak: deps tests
	sh tests/soak/storage_outage.sh
	SOAK=1 sh tests/run.sh build
	SOAK=1 sh tests/powercut/soak.sh build

# Mutation check of the suite (tests/mutate/mutations.txt; not in check):
# every one-line mutation of an invariant must make a named test fail.
mutate: deps
	sh tests/mutate/run.sh

# ---- fuzzing (clang libFuzzer) --------------------------------------------
# Module sources are compiled once with clang (coverage + ASan + UBSan) into
# build/fuzz/lib*.a; each fuzzer links only the objects it needs.
# PROTO_FUZZING enables the test-only signature hook (protocol/session_fuzz.h);
# it exists only in these fuzz builds, never in build/ or build/asan/.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_BASE := -std=gnu11 -g -O1 -fno-omit-frame-pointer -DPROTO_FUZZING \
             $(INC_DOCKD) $(PKG_CFLAGS)
FUZZ_OBJ  = $(patsubst %.c,build/fuzz/obj/%.o,$(1))
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)clang $(INC) $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
build/fuzz/obj/dockd/%.o: INC := $(INC_DOCKD)
build/fuzz/libprotocol.a: $(call FUZZ_OBJ,$(PROTO_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/libcustody.a: $(call FUZZ_OBJ,$(CUSTODY_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libprotocol.a build/fuzz/libcustody.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_s3xml: the S3 reply parser only (it holds no keys).
build/fuzz/fuzz_s3xml: build/fuzz/obj/dockd/store/s3/s3xml.o
# fuzz_pkgread: the court package reader (custody/cmd; libarchive, OpenSSL).
build/fuzz/fuzz_pkgread: build/fuzz/obj/custody/cmd/pkgread.o
# fuzz_partsum: the part digests file loader only (its object first: it
# uses libcustody's evfile_fd_write).
build/fuzz/fuzz_partsum: tests/fuzz/fuzz_partsum.c build/fuzz/obj/dockd/ingest/partsum.o \
		build/fuzz/libcustody.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_linkmsg: the daemon's receiving side of the link-worker channel
# (protocol/linkmsg.h); protocol objects only.
build/fuzz/fuzz_linkmsg: tests/fuzz/fuzz_linkmsg.c build/fuzz/libprotocol.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_volmsg: the daemon's receiving side of the volume reader channel
# and the profile matcher (dockd/volume/volmsg.c, dockd/volume/profile.c only).
build/fuzz/fuzz_volmsg: tests/fuzz/fuzz_volmsg.c build/fuzz/obj/dockd/volume/volmsg.o \
		build/fuzz/obj/dockd/volume/profile.o build/fuzz/libprotocol.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_qmsg: both receiving sides of the query-service channel
# (dockd/query/qmsg.c, with custody's event codec) and the export-package
# launcher's request (dockd/query/qlaunch.c).
build/fuzz/fuzz_qmsg: tests/fuzz/fuzz_qmsg.c build/fuzz/obj/dockd/query/qmsg.o \
		build/fuzz/obj/dockd/query/qlaunch.o build/fuzz/libcustody.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_storemsg: both receiving sides of the storage uploader's channels
# (dockd/store/storemsg.c, its field codec msgbuf.c and the key rule,
# store_key.c, only).
build/fuzz/fuzz_storemsg: tests/fuzz/fuzz_storemsg.c build/fuzz/obj/dockd/store/storemsg.o \
		build/fuzz/obj/dockd/core/msgbuf.o build/fuzz/obj/dockd/store/store_key.o \
		build/fuzz/libprotocol.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_witmsg: both receiving sides of the witness client process's channel
# (dockd/witness/witmsg.h)
build/fuzz/fuzz_witmsg: tests/fuzz/fuzz_witmsg.c build/fuzz/obj/dockd/witness/witmsg.o \
		build/fuzz/obj/dockd/core/msgbuf.o
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
# fuzz_custmsg: both receiving sides of the custodian's channel
# (dockd/custodian/custmsg.c and its field codec msgbuf.c only, with the
# protocol's id rule).
build/fuzz/fuzz_custmsg: tests/fuzz/fuzz_custmsg.c build/fuzz/obj/dockd/custodian/custmsg.o \
		build/fuzz/obj/dockd/core/msgbuf.o build/fuzz/libprotocol.a
	@echo "  FUZZLD  $@"
	$(Q)clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
fuzz: deps $(FUZZ_BINS)
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Man pages (packaging/man/build.sh; scdoc): dockd(8), custody(1),
# dockd.conf(5) and one page per subcommand, from the command tables.
.PHONY: man
man: all
	sh packaging/man/build.sh $(BUILD)/bin $(BUILD)/man

# `make install`: what an administrator needs, never the test camera camsim.
# Units and udev rules go to /lib (Debian's places, as in the .deb).
DOCDIR := $(PREFIX)/share/doc/evidence-dock
MANDIR := $(PREFIX)/share/man
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/bin/custody $(BUILD)/bin/custody-console $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/bin/dockd $(DESTDIR)$(PREFIX)/sbin/
	install -D -m 0755 $(BUILD)/libexec/dockd/dockd-linkw $(DESTDIR)$(PREFIX)/libexec/dockd/dockd-linkw
	install -D -m 0755 $(BUILD)/libexec/dockd/fuse/fusermount \
		$(DESTDIR)$(PREFIX)/libexec/dockd/fuse/fusermount
	install -D -m 0644 udev/70-evidence-dock.rules $(DESTDIR)/lib/udev/rules.d/70-evidence-dock.rules
	install -D -m 0644 udev/71-evidence-dock-storage.rules \
		$(DESTDIR)/lib/udev/rules.d/71-evidence-dock-storage.rules
	install -D -m 0644 packaging/systemd/evidence-dockd.service \
		$(DESTDIR)/lib/systemd/system/evidence-dockd.service
	install -D -m 0644 packaging/systemd/evidence-console.service \
		$(DESTDIR)/lib/systemd/system/evidence-console.service
	install -m 0644 packaging/pam/evidence-console $(DESTDIR)$(DOCDIR)/examples/pam.d-evidence-console
	install -m 0644 packaging/deb/dockd.conf.example $(DESTDIR)$(DOCDIR)/examples/dockd.conf
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(BUILD)/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(MANDIR)/man8/

# Debian package (packaging/deb/build.sh; docs/operations.md).
DEB_VERSION ?= $(shell sed -n 's/^#define EVIDENCE_DOCK_VERSION "\(.*\)"$$/\1/p' protocol/version.h)
.PHONY: deb
deb: all
	sh packaging/deb/build.sh $(BUILD) $(DEB_VERSION)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
