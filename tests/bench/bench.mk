# tests/bench/bench.mk: the benchmark load generator and `make bench`
# (included by the top Makefile; uses its CC, REAL_CFLAGS, BUILD, Q, say).
# `make bench` runs every script (restart.sh too, if present) at its
# default size (~20 min in all);
# `make bench-tools` only builds $(BUILD)/ohload.

BENCH_SCRIPTS := throughput m1_memory m2_expiry m3_missratio \
                 m4_fragmentation m5_latency localread \
                 $(if $(wildcard tests/bench/restart.sh),restart)

.PHONY: bench bench-tools $(addprefix bench-,$(BENCH_SCRIPTS))

bench-tools: $(BUILD)/ohload $(BUILD)/localread_bench

$(BUILD)/localread_bench: tests/bench/localread_bench.c $(CLIENT_A) | deps
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -Iclient -o $@ $< $(CLIENT_A) $(CLIENT_LIBS) $(REAL_LDFLAGS)

$(BUILD)/ohload: tests/bench/ohload.c | deps
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REAL_CFLAGS) -o $@ $< -lm $(REAL_LDFLAGS)

$(addprefix bench-,$(BENCH_SCRIPTS)): bench-%: server bench-tools
	$(Q)OFFHEAPD=$(BUILD)/offheapd OHLOAD=$(BUILD)/ohload LR_BENCH=$(BUILD)/localread_bench ./tests/bench/$*.sh

bench: server bench-tools
	$(Q)for s in $(BENCH_SCRIPTS); do \
	    echo "== tests/bench/$$s.sh"; \
	    OFFHEAPD=$(BUILD)/offheapd OHLOAD=$(BUILD)/ohload LR_BENCH=$(BUILD)/localread_bench ./tests/bench/$$s.sh || exit 1; \
	done
