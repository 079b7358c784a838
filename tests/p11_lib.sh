# A fresh softhsm2 PKCS#11 token for tests and the demo. Source it after
# tests/lib.sh.
#   p11_require           TAP-skip the whole script when softhsm2 is not
#                         installed (packaging/install-deps.sh installs it)
#   p11_up DIR [LABEL]    new token LABEL (default "dock") whose files live
#                         in DIR/tokens; exports SOFTHSM2_CONF=DIR/softhsm2.conf;
#                         user PIN in DIR/pin (mode 0600)
#   p11_uri OBJECT [TOKEN] the RFC 7512 URI of key OBJECT in that token
# Variables: P11_MODULE (the softhsm2 library), P11_DIR, P11_TOKEN, P11_PIN.
P11_MODULE=
P11_PIN=24681357

# Under ASan (tests/run.sh sets ASAN_OPTIONS): softhsm2's own leak in
# C_SignInit is suppressed (tests/lsan-softhsm.supp says why); ours are not.
if [ -n "${ASAN_OPTIONS:-}" ]; then
	ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
	LSAN_OPTIONS="suppressions=$TOP/tests/lsan-softhsm.supp:print_suppressions=0"
	export ASAN_OPTIONS LSAN_OPTIONS
fi

p11_find() {
	for p11_m in /usr/lib/softhsm/libsofthsm2.so \
		/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
		if [ -f "$p11_m" ]; then P11_MODULE=$p11_m; return 0; fi
	done
	return 1
}

p11_require() {
	if ! p11_find || ! command -v softhsm2-util >/dev/null 2>&1; then
		skip "PKCS#11 tests" "softhsm2 not installed (packaging/install-deps.sh installs it)"
		done_testing
	fi
}

p11_up() { # DIR [LABEL]
	P11_DIR=$1
	P11_TOKEN=${2:-dock}
	p11_find || return 1
	mkdir -p "$P11_DIR/tokens" || return 1
	chmod 700 "$P11_DIR" "$P11_DIR/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$P11_DIR" >"$P11_DIR/softhsm2.conf" || return 1
	SOFTHSM2_CONF=$P11_DIR/softhsm2.conf
	export SOFTHSM2_CONF
	softhsm2-util --init-token --free --label "$P11_TOKEN" --pin "$P11_PIN" \
		--so-pin 97531864 >/dev/null || return 1
	(umask 077 && echo "$P11_PIN" >"$P11_DIR/pin")
}

p11_uri() { # OBJECT [TOKEN]
	echo "pkcs11:token=${2:-$P11_TOKEN};object=$1?module-path=$P11_MODULE&pin-source=file:$P11_DIR/pin"
}
