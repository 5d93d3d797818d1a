# offheap: the only build file. `make help` lists the targets.
# User CFLAGS/LDFLAGS are appended to ours, never replace them.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

# pkg-config is asked when a recipe first uses a variable, never while the
# Makefile is parsed: on a fresh machine the packages are installed only by
# the `deps` step, which every rule that compiles or links has as an
# order-only prerequisite. $(call lazy_pkg,VAR,ARGS) defines VAR as the
# output of `pkg-config ARGS`, computed once, on first use. Every variable
# that uses these must be recursive (`=`), not `:=`.
define lazy_pkg
$(1) = $$(eval $(1) := $$$$(shell pkg-config $(2) 2>/dev/null))$$($(1))
endef
$(eval $(call lazy_pkg,PKG_CFLAGS,--cflags libevent hiredis jemalloc))
$(eval $(call lazy_pkg,EVENT_LIBS,--libs libevent))
$(eval $(call lazy_pkg,HIREDIS_LIBS,--libs hiredis))
$(eval $(call lazy_pkg,JEMALLOC_LIBS,--libs jemalloc))
$(eval $(call lazy_pkg,CMOCKA_LIBS,--libs cmocka))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wvla \
        -Wno-missing-field-initializers
OPT ?= -O2 -g
REAL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) \
        $(WARN) -MMD -MP -I. -Iserver $(PKG_CFLAGS) $(CFLAGS)
REAL_LDFLAGS := $(LDFLAGS)

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

PROTO_SRC  := $(wildcard proto/*.c)
ENGINE_SRC := $(wildcard server/engine/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))

PROTO_OBJ  := $(PROTO_SRC:%.c=$(BUILD)/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)

LIBPROTO  := $(BUILD)/libproto.a
LIBENGINE := $(BUILD)/libengine.a
LIBSERVER := $(BUILD)/libserver.a
SERVER_LIBS = $(EVENT_LIBS) $(JEMALLOC_LIBS) -lm
# offheapd itself takes libevent and jemalloc from Debian's static archives:
# only the code it calls is mapped, and jemalloc's shared object would also
# load libstdc++ (~1 MB of RSS at start, 1 B per item of the M1 figure).
# The sanitizer build links them dynamically (ASan must interpose malloc).
STATIC_DEPS ?= 1
ifeq ($(STATIC_DEPS),1)
OFFHEAPD_LIBS = -Wl,-Bstatic $(EVENT_LIBS) -ljemalloc_pic -Wl,-Bdynamic \
        -lm -lpthread -ldl
else
OFFHEAPD_LIBS = $(SERVER_LIBS)
endif

UNIT_PROTO  := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/proto/test_*.c))
UNIT_ENGINE := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/engine/test_*.c))
UNIT_SERVER := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/server/test_*.c))
UNIT_TESTS  := $(UNIT_PROTO) $(UNIT_ENGINE) $(UNIT_SERVER)
ITEST_C     := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/integration/test_*.c))
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all server client test test-unit test-integration run deps fuzz \
        check-format format lint check-layering asan clean install help \
        fresh-check

all: server client

server: deps $(BUILD)/offheapd

help:
	@echo "make [all|server]   build $(BUILD)/offheapd"
	@echo "make run            install missing packages, build, run with conf/offheapd.conf"
	@echo "make test           install missing packages, build, run every test"
	@echo "make test-unit | test-integration | asan | fuzz | check-format | lint | check-layering | install | clean"
	@echo "make fresh-check    (root) make test and make run on a pristine Debian 12 root, from HEAD"
	@echo "make service-install | service-verify | service-test (root: the unit under systemd in a container)"

# Node's official binary (install-deps's Node 20) trusts only the CAs built
# into it, not the system's: npm (the tests' `npm ci`) would refuse a company
# CA or HTTPS proxy installed the Debian way (/usr/local/share/ca-certificates,
# update-ca-certificates). Make it trust the system's bundle too, unless the
# user has chosen a file.
ifneq ($(wildcard /etc/ssl/certs/ca-certificates.crt),)
NODE_EXTRA_CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
export NODE_EXTRA_CA_CERTS
endif

# Installs missing Debian packages, only when something is missing.
deps:
	$(Q)./deploy/install-deps.sh --if-missing

$(BUILD)/%.o: %.c | deps
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -c $< -o $@

$(LIBPROTO): $(PROTO_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIBENGINE): $(ENGINE_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIBSERVER): $(SERVER_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/offheapd: $(BUILD)/server/main.o $(LIBSERVER) $(LIBENGINE) $(LIBPROTO)
	$(call say,LINK,$@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $^ $(OFFHEAPD_LIBS) $(REAL_LDFLAGS)

# ---- tests ----
$(UNIT_PROTO): $(BUILD)/%: %.c $(LIBPROTO)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CMOCKA_LIBS) $(REAL_LDFLAGS)
$(UNIT_ENGINE): $(BUILD)/%: %.c $(LIBENGINE) $(LIBPROTO)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CMOCKA_LIBS) $(JEMALLOC_LIBS) -lm $(REAL_LDFLAGS)
$(UNIT_SERVER): $(BUILD)/%: %.c $(LIBSERVER) $(LIBENGINE) $(LIBPROTO)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CMOCKA_LIBS) $(SERVER_LIBS) $(REAL_LDFLAGS)
$(ITEST_C): $(BUILD)/%: %.c $(SUPPORT_OBJ)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CMOCKA_LIBS) $(HIREDIS_LIBS) $(REAL_LDFLAGS)

test-unit: deps $(UNIT_TESTS)
	$(Q)OFFHEAPD=$(BUILD)/offheapd ./tests/run.sh unit $(UNIT_TESTS)

test-integration: deps $(BUILD)/offheapd $(ITEST_C)
	$(Q)OFFHEAPD=$(BUILD)/offheapd ./tests/run.sh integration $(ITEST_C)

test: deps $(BUILD)/offheapd $(UNIT_TESTS) $(ITEST_C) $(CLIENT_TESTS)
	$(Q)OFFHEAPD=$(BUILD)/offheapd ./tests/run.sh all $(UNIT_TESTS) -- $(ITEST_C) make:client-check

run: server
	$(BUILD)/offheapd conf/offheapd.conf

# The whole suite built with AddressSanitizer and UBSan, in its own dir.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan STATIC_DEPS=0 \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" test

# root: make test and make run on a pristine Debian 12 (debootstrap, cached
# in /var/cache/offheap-fresh), from a clone of HEAD (tests/fresh/fresh_check.sh).
fresh-check:
	$(Q)bash tests/fresh/fresh_check.sh

fuzz: deps
	$(Q)./tests/fuzz/run.sh

check-format: deps
	$(Q)clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

format:
	$(Q)clang-format -i $(shell git ls-files '*.c' '*.h')

# engine/ may include only engine/*, err.h, options.h, metrics.h, oh_time.h
# and proto/shm.h (the format of its shared mapping); proto/ only libc.
check-layering:
	$(Q)! grep -nE '#include "' server/engine/*.[ch] | grep -vE '"(\.\./)?(err|options|metrics|oh_time)\.h"|"engine[a-z_]*\.h"|"[a-z_]+\.h"|"proto/shm\.h"' \
	  | grep -vE 'include "[a-z_]+\.h"' || (echo "engine includes outside its layer" && false)
	$(Q)! grep -nE '#include "(\.\./)?(conn|ev|cmd|reply|config)' server/engine/*.[ch] || (echo "engine includes server modules" && false)
	$(Q)! grep -nE '#include <event2|#include <hiredis|#include <sys/socket' server/engine/*.[ch] proto/*.[ch] || (echo "layering violation" && false)
	$(Q)! grep -nE '#include "' proto/*.[ch] | grep -vE '"(resp|shm)' || (echo "proto includes non-libc headers" && false)
	@echo "layering ok"

lint: deps
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --suppress=missingIncludeSystem -I. -Iserver server proto
	$(Q)clang-tidy --quiet -checks='-*,readability-braces-around-statements' \
	    --warnings-as-errors='*' $(wildcard server/*.c server/engine/*.c proto/*.c) \
	    -- -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. -Iserver $(PKG_CFLAGS) 2>/dev/null

install: server client-install
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/offheapd $(DESTDIR)$(PREFIX)/bin/offheapd

clean:
	rm -rf build build-asan client/node/build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- the client library and its tests (rules in client/client.mk) ----
-include client/client.mk
-include tests/bench/bench.mk

# ---- systemd service: unit, sysusers/tmpfiles, config (deploy/service.mk) ----
-include deploy/service.mk
