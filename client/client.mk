# client/client.mk -- liboffheap, its tests, examples and the Node binding.
# Included by the top Makefile, which defines BUILD, CC, REAL_CFLAGS,
# REAL_LDFLAGS, HIREDIS_LIBS, EVENT_LIBS, CMOCKA_LIBS, PREFIX, DESTDIR, Q, say.

CLIENT_VERSION := 0.1.0
CLIENT_SOMAJOR := 0
CLIENT_SRC := client/offheap.c client/offheap_async.c client/ketama.c \
        client/offheap_local.c proto/shm_read.c
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
CLIENT_LIBS = $(HIREDIS_LIBS) $(EVENT_LIBS) -lm
CLIENT_A := $(BUILD)/liboffheap.a
CLIENT_SO := $(BUILD)/liboffheap.so.$(CLIENT_SOMAJOR)
CLIENT_PC := $(BUILD)/offheap.pc
CLIENT_TESTS := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/client/test_*.c))
CLIENT_SPAWN := $(BUILD)/tests/support/spawn.o
NODE_DIR := client/node
# The server the checks run against: $(OFFHEAPD) if set, else the one built here.
CLIENT_SERVER_DEP := $(if $(OFFHEAPD),,$(BUILD)/offheapd)

.PHONY: client client-install client-check client-test-c client-test-node \
        client-test-example client-test-pack client-node client-bench

client: $(CLIENT_A) $(CLIENT_SO) $(BUILD)/liboffheap.so $(CLIENT_PC)

$(CLIENT_OBJ): REAL_CFLAGS += -fPIC -Iclient

$(CLIENT_A): $(CLIENT_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLIENT_SO): $(CLIENT_OBJ)
	$(call say,LINK,$@)
	$(Q)$(CC) -shared -Wl,-soname,liboffheap.so.$(CLIENT_SOMAJOR) -o $@ $^ \
	    $(CLIENT_LIBS) $(REAL_LDFLAGS)

$(BUILD)/liboffheap.so: $(CLIENT_SO)
	$(Q)ln -sf liboffheap.so.$(CLIENT_SOMAJOR) $@

# offheap.pc for the build tree; client-install writes its own for PREFIX.
$(CLIENT_PC): client/offheap.pc.in
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(CLIENT_VERSION)|' $< >$@

client-install: client
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 client/offheap.h $(DESTDIR)$(PREFIX)/include/offheap.h
	install -m 0644 $(CLIENT_A) $(DESTDIR)$(PREFIX)/lib/liboffheap.a
	install -m 0755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/liboffheap.so.$(CLIENT_SOMAJOR)
	ln -sf liboffheap.so.$(CLIENT_SOMAJOR) $(DESTDIR)$(PREFIX)/lib/liboffheap.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(CLIENT_VERSION)|' \
	    client/offheap.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/offheap.pc

$(CLIENT_TESTS): $(BUILD)/%: %.c $(CLIENT_A) $(CLIENT_SPAWN)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -Iclient -o $@ $< $(CLIENT_SPAWN) $(CLIENT_A) \
	    $(CMOCKA_LIBS) $(CLIENT_LIBS) $(REAL_LDFLAGS)

# ---- checks: each prints "client: <what> N passed, N failed" ----
CLIENT_RESULTS = $(BUILD)/client-results

client-test-c: $(CLIENT_SERVER_DEP) $(CLIENT_TESTS)
	$(Q)mkdir -p $(CLIENT_RESULTS) && p=0 && f=0 && \
	for t in $(CLIENT_TESTS); do \
	    OFFHEAPD=$${OFFHEAPD:-$(BUILD)/offheapd} $$t >$(CLIENT_RESULTS)/c.log 2>&1; rc=$$?; \
	    cat $(CLIENT_RESULTS)/c.log; \
	    tp=$$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' $(CLIENT_RESULTS)/c.log | tail -1); \
	    tf=$$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' $(CLIENT_RESULTS)/c.log | tail -1); \
	    p=$$((p + $${tp:-0})); f=$$((f + $${tf:-0})); \
	    if [ $$rc -ne 0 ] && [ -z "$$tf" ]; then f=$$((f + 1)); fi; \
	done; echo "$$p $$f" >$(CLIENT_RESULTS)/c; echo "client C: $$p passed, $$f failed"

# node-gyp builds the addon with Node's own flags: the sanitizer flags of
# `make asan` (exported by make as CFLAGS/LDFLAGS and in MAKEFLAGS, which
# node-gyp's own make would read) must not reach it, since
# node itself is not built with ASan.
NODE_ENV_CLEAN := env -u CFLAGS -u CXXFLAGS -u LDFLAGS -u CPPFLAGS -u OPT -u MAKEFLAGS -u MFLAGS -u MAKELEVEL
# The npm cache the packaging test installs from offline: filled from the
# registry here, once (again when pack-test/package-lock.json changes).
NODE_CACHE := $(BUILD)/node-cache/npm
client-node: client
	$(Q)cd $(NODE_DIR) && { [ -d node_modules ] || $(NODE_ENV_CLEAN) npm ci --no-audit --no-fund --loglevel=error; } \
	    && $(NODE_ENV_CLEAN) node scripts/build.js --quiet >/dev/null
	$(Q)$(NODE_ENV_CLEAN) $(NODE_DIR)/pack-test/fill-cache.sh $(CURDIR)/$(NODE_CACHE)

client-test-node: $(CLIENT_SERVER_DEP) client-node
	$(Q)mkdir -p $(CLIENT_RESULTS) && o=$${OFFHEAPD:-$(BUILD)/offheapd} && \
	case $$o in /*) ;; *) o=$(CURDIR)/$$o ;; esac && cd $(NODE_DIR) && \
	OFFHEAPD=$$o node --test test/ >$(CURDIR)/$(CLIENT_RESULTS)/node.log 2>&1; \
	cat $(CURDIR)/$(CLIENT_RESULTS)/node.log; \
	p=$$(sed -n 's/^# pass \([0-9]*\)/\1/p' $(CURDIR)/$(CLIENT_RESULTS)/node.log); \
	f=$$(sed -n 's/^# fail \([0-9]*\)/\1/p' $(CURDIR)/$(CLIENT_RESULTS)/node.log); \
	[ -n "$$p" ] || f=$$(( $${f:-0} + 1 )); \
	echo "$${p:-0} $${f:-0}" >$(CURDIR)/$(CLIENT_RESULTS)/node; echo "client node: $${p:-0} passed, $${f:-0} failed"

# Installs into a scratch DESTDIR, builds the examples there through
# pkg-config, and runs one against a live offheapd.
client-test-example: $(CLIENT_SERVER_DEP) client
	$(Q)mkdir -p $(CLIENT_RESULTS) && d=$$(mktemp -d) && p=0 && f=0 && \
	$(MAKE) --no-print-directory client-install DESTDIR=$$d PREFIX=/usr >/dev/null && \
	if PKG_CONFIG_PATH=$$d/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$$d \
	    $(MAKE) --no-print-directory -C client/examples OUT=$$d/examples LDFLAGS="$(REAL_LDFLAGS)" >$(CLIENT_RESULTS)/ex.log 2>&1; \
	then p=$$((p + 1)); else f=$$((f + 1)); cat $(CLIENT_RESULTS)/ex.log; fi; \
	port=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'); \
	$${OFFHEAPD:-$(BUILD)/offheapd} --port $$port --loglevel warning --snapshot-file "" >/dev/null 2>&1 & spid=$$!; \
	for i in $$(seq 1 100); do redis-cli -p $$port ping >/dev/null 2>&1 && break; sleep 0.05; done; \
	if LD_LIBRARY_PATH=$$d/usr/lib $$d/examples/hello 127.0.0.1:$$port >$(CLIENT_RESULTS)/hello.log 2>&1 \
	    && grep -q 'hello, offheap' $(CLIENT_RESULTS)/hello.log; \
	then p=$$((p + 1)); else f=$$((f + 1)); cat $(CLIENT_RESULTS)/hello.log; fi; \
	kill $$spid; wait $$spid 2>/dev/null; rm -rf $$d; \
	echo "$$p $$f" >$(CLIENT_RESULTS)/ex; echo "client example: $$p passed, $$f failed"

# The package as a user gets it (client/node/pack-test/run.sh): npm pack,
# installs of the tarball into temporary projects outside the tree, offline
# from $(NODE_CACHE), with npm 11 and npm 9, prebuilt and from source, and
# of the folder itself (npm 11 links it, Debian's npm 9.2 copies it);
# require, import, round trips; Keyv's own @keyv/test-suite, the
# cache-manager example, a TypeScript consumer.
client-test-pack: $(CLIENT_SERVER_DEP) client-node
	$(Q)mkdir -p $(CLIENT_RESULTS) && o=$${OFFHEAPD:-$(BUILD)/offheapd} && \
	case $$o in /*) ;; *) o=$(CURDIR)/$$o ;; esac && \
	OFFHEAPD=$$o NODE_CACHE=$(CURDIR)/$(NODE_CACHE) NO_COLOR=1 \
	NPM9=$(CURDIR)/$(BUILD)/node-cache/npm9/node_modules/npm/bin/npm-cli.js \
	NPM92=$(CURDIR)/$(BUILD)/node-cache/npm9.2/node_modules/npm/bin/npm-cli.js \
	$(NODE_ENV_CLEAN) $(NODE_DIR)/pack-test/run.sh $(CURDIR)/$(CLIENT_RESULTS)

client-check:
	$(Q)rm -rf $(CLIENT_RESULTS)
	-$(Q)$(MAKE) --no-print-directory client-test-c
	-$(Q)$(MAKE) --no-print-directory client-test-node
	-$(Q)$(MAKE) --no-print-directory client-test-example
	-$(Q)$(MAKE) --no-print-directory client-test-pack
	$(Q)p=0; f=0; for r in c node ex pack keyv; do \
	    if [ -f $(CLIENT_RESULTS)/$$r ]; then read rp rf <$(CLIENT_RESULTS)/$$r; \
	    else rp=0; rf=1; fi; p=$$((p + rp)); f=$$((f + rf)); done; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

client-bench: client-node
	$(Q)./tests/bench/node-heap/run.sh
