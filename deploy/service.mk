# deploy/service.mk: offheapd as a systemd service. Included by the top
# Makefile, which defines BUILD, PREFIX, DESTDIR and Q.
#
#   make service-install   unit, sysusers.d and tmpfiles.d snippets, the
#                          config file (an existing one is never replaced:
#                          the new one goes next to it as offheapd.conf.dist)
#   make service-verify    systemd-analyze verify on the units
#
# Where things go. The unit and the snippets follow PREFIX: systemd searches
# /usr/local/lib/systemd/system, /usr/local/lib/sysusers.d and
# /usr/local/lib/tmpfiles.d as well as their /usr/lib twins, so a
# PREFIX=/usr/local install needs nothing in /etc (which stays the admin's,
# for `systemctl edit` overrides). The config file does not follow PREFIX:
# it is always /etc/offheap/offheapd.conf, the path the unit starts with.
# The installed config listens on /run/offheap/offheapd.sock too (mode
# 770: the offheap group), so local reads work after a default install.
# The binary is installed by the top Makefile's `install` target; the unit's
# ExecStart is rewritten to $(PREFIX)/bin/offheapd.

SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILES_DIR    ?= $(PREFIX)/lib/tmpfiles.d
OFFHEAP_CONFDIR ?= /etc/offheap
OFFHEAP_DOCDIR  ?= $(PREFIX)/share/doc/offheap
OFFHEAP_DATADIR ?= /var/lib/offheap

SERVICE_UNIT := $(BUILD)/deploy/offheapd.service
SERVICE_TEMPLATE := $(BUILD)/deploy/offheapd@.service

.PHONY: service-install service-verify service-test

# The units (offheapd.service, the template offheapd@.service) with this
# install's paths.
$(SERVICE_UNIT) $(SERVICE_TEMPLATE): $(BUILD)/deploy/%.service: deploy/%.service
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|/usr/local/bin/offheapd|$(PREFIX)/bin/offheapd|g' \
	    -e 's|/etc/offheap/|$(OFFHEAP_CONFDIR)/|g' \
	    -e 's|/usr/local/share/doc/offheap|$(OFFHEAP_DOCDIR)|g' $< > $@

service-install: $(SERVICE_UNIT) $(SERVICE_TEMPLATE)
	install -d $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(SYSUSERS_DIR) \
	    $(DESTDIR)$(TMPFILES_DIR) $(DESTDIR)$(OFFHEAP_CONFDIR) \
	    $(DESTDIR)$(OFFHEAP_DOCDIR)
	install -m 0644 $(SERVICE_UNIT) $(DESTDIR)$(SYSTEMD_UNITDIR)/offheapd.service
	install -m 0644 '$(SERVICE_TEMPLATE)' '$(DESTDIR)$(SYSTEMD_UNITDIR)/offheapd@.service'
	install -m 0644 deploy/offheapd.sysusers $(DESTDIR)$(SYSUSERS_DIR)/offheapd.conf
	install -m 0644 deploy/offheapd.tmpfiles $(DESTDIR)$(TMPFILES_DIR)/offheapd.conf
	install -m 0644 README.md $(DESTDIR)$(OFFHEAP_DOCDIR)/README.md
	$(Q)conf=$(DESTDIR)$(OFFHEAP_CONFDIR)/offheapd.conf; \
	if [ -e "$$conf" ]; then \
	    conf="$$conf.dist"; \
	    echo "keeping the existing $(OFFHEAP_CONFDIR)/offheapd.conf; the new one is $$conf"; \
	fi; \
	sed -e 's|^dir .*|dir "$(OFFHEAP_DATADIR)"|' \
	    -e 's|^unixsocket .*|unixsocket "/run/offheap/offheapd.sock"|' \
	    -e 's|^unixsocketperm .*|unixsocketperm 770|' \
	    conf/offheapd.conf > "$$conf.new" && \
	chmod 0640 "$$conf.new" && mv "$$conf.new" "$$conf"
	$(Q)if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers offheapd.conf && \
	    systemd-tmpfiles --create offheapd.conf && \
	    chgrp offheap $(OFFHEAP_CONFDIR)/offheapd.conf*; \
	    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	    echo "installed; start with: systemctl enable --now offheapd"; \
	else \
	    echo "staged in $(DESTDIR); on the target run: systemd-sysusers;" \
	         "systemd-tmpfiles --create; systemctl daemon-reload"; \
	fi

# Verifies a copy of the unit whose ExecStart is the freshly built binary
# (verify checks that ExecStart exists). Any warning fails the check.
service-verify: $(BUILD)/offheapd
	@mkdir -p $(BUILD)/deploy/verify
	$(Q)sed -e 's|/usr/local/bin/offheapd|$(abspath $(BUILD)/offheapd)|' \
	    deploy/offheapd.service > $(BUILD)/deploy/verify/offheapd.service
	$(Q)sed -e 's|/usr/local/bin/offheapd|$(abspath $(BUILD)/offheapd)|' \
	    deploy/offheapd@.service > '$(BUILD)/deploy/verify/offheapd@6388.service'
	$(Q)out=$$(systemd-analyze verify --man=no \
	    $(BUILD)/deploy/verify/offheapd.service \
	    '$(BUILD)/deploy/verify/offheapd@6388.service' 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] || [ -n "$$out" ]; then \
	    echo "$$out"; echo "systemd-analyze verify: offheapd.service or offheapd@.service has problems"; exit 1; \
	fi; echo "systemd-analyze verify: offheapd.service and offheapd@.service (as offheapd@6388) ok"

# The unit under a real systemd: a Debian 12 container booted with
# systemd-nspawn (root; debootstraps build/nspawn-root the first time).
service-test: $(BUILD)/offheapd
	$(Q)bash tests/service/systemd_nspawn.sh
