/*
 * engine.c -- the facade of the generational segment engine.
 *
 * Problem: serve get/set/del/expire/scan for the command handlers over the
 * segment store (seg.c), the index (index.c) and the generations (gen.c),
 * with every time-dependent decision taken against the caller's `now`.
 *
 *   engine_set ---> index_lookup (NX/XX, ghost?) ---> gen_put (young|old)
 *        |                                               | segment append
 *        `--> index: replace slot or insert ------------'
 *   engine_get ---> index_lookup ---> item check expiry ---> pin segment
 *   engine_step --> gen_step (expiry scan, jobs) + index_step (rehash,
 *                   sweep), charged against an estimated budget
 *   engine_set under memory pressure --> gen_assist (a bounded piece of
 *                   the running scavenge/merge, after the set)
 *
 * Invariants: a call never returns or counts an entry with expire_at <=
 * now (expired ones met on the way are killed); a pinned view's memory is
 * not reused until engine_release(); eng.count equals the number of live
 * slots.
 * Cost: get/set are one index lookup plus one append; no call does work
 * proportional to the key count: engine_flush swaps in a fresh index and
 * the old one is freed by later steps; engine_random tries 64 random
 * buckets, then walks at most 4096 from where its last walk stopped.
 * engine_step is bounded twice. By estimates: STEP_FILL_PCT of its budget
 * in estimated work (means calibrated by test_engine_bench; the rest is
 * room for their spread), the whole bound in unit tests. By the clock the
 * server installs (engine_set_clock, budget.c): a real deadline at
 * STEP_REAL_PCT of the budget (30 us of 50), tested between units of
 * work, with the estimates filled to STEP_FILL_CLOCK_PCT as a second
 * guard: measured, the estimates undercount 2-5x (cache misses, page
 * faults), so without the clock the longest steps were 75-130 us. The
 * 20 us left cover the last unit (<= ~6 us: 16 KiB madvise/munmap, one
 * item or chain), the uprobes' 2-3 us and the ~1 us around the step. The
 * index gets 1/STEP_INDEX_SHARE of the budget and of the time first, 1/4
 * while a resize is due or running (a shrink gives memory back), and
 * whatever gen_step leaves; then the pool is trimmed and the open
 * segments pre-faulted (seg.c) with what is left. A step with nothing to
 * do returns in well under a microsecond (the sweep is skipped when
 * nothing can be stale, see index.c).
 * Local reads: with cfg->local_reads the engine's memory is shared
 * (share.c); engine_expire's in-place rewrite is then bracketed for
 * readers, and is replaced by an append while a save's child reads
 * (engine_fork_prepare .. engine_fork_done); engine_hint applies a
 * reader's access hint only to the very slot it names.
 * Rejected: copying values out on get (zero-copy views with segment pins
 * cost one counter per read instead).
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "expire.h"
#include "gen.h"
#include "index.h"
#include "item.h"
#include "seg.h"
#include "share.h"

#define INDEX_LOG2_START    4
#define STEP_INDEX_SHARE    8 /* the index gets 1/8 of a step's budget first */
#define TRIM_NS             3000 /* per 16 KiB of pool memory given back (madvise) */
#define STEP_FILL_PCT       60 /* share of budget_us filled with estimated work */
#define STEP_FILL_CLOCK_PCT 100 /* ... when a clock bounds the step too */
#define STEP_REAL_PCT       60  /* share of budget_us the real deadline gives */
#define RESERVE_ENTRY_MIN   32 /* bytes: no entry is smaller (engine_reserve) */
/* the pool keeps 2 + 1/POOL_KEEP_DIV of the segments in use resident (a
 * new segment then takes no page fault); the rest goes back to the OS, and
 * all of it once no segment was borrowed for POOL_IDLE_MS (writes then
 * pre-fault their segments ahead, as after any trim) */
#define POOL_KEEP_DIV       256
#define POOL_IDLE_MS        1000

static struct {
    uint64_t stale_base, passes_base; /* index counters at the last reset */
} mbase;

/* ---- setup ---- */

static uint32_t
pick_seg_size(const struct oh_config *cfg)
{
    uint64_t size = cfg->engine_segment_size;
    if (size < SEG_SIZE_MIN || size > SEG_SIZE_MAX) {
        size = SEG_SIZE_MAX;
    }
    while (cfg->maxmemory != 0 && size > SEG_SIZE_MIN &&
           size > cfg->maxmemory / 64) {
        size /= 2;
    }
    return size < SEG_SIZE_MIN ? SEG_SIZE_MIN : (uint32_t)size;
}

static void
apply_live(const struct oh_config *cfg)
{
    eng.maxmemory = cfg->maxmemory;
    index_set_limited(eng.maxmemory != 0);
    eng.noevict = cfg->maxmemory_policy != NULL &&
                  strcmp(cfg->maxmemory_policy, "noeviction") == 0;
    eng.young_pct =
        (unsigned)(cfg->engine_young_pct ? cfg->engine_young_pct : 10);
    eng.merge_n = (unsigned)cfg->engine_merge_segments;
    if (eng.merge_n < 2 || eng.merge_n > GEN_JOB_SRC_MAX) {
        eng.merge_n = 8;
    }
    eng.compact_pct =
        (unsigned)(cfg->engine_compact_pct ? cfg->engine_compact_pct : 25);
    uint64_t segs = eng.maxmemory != 0 ? eng.maxmemory / eng.seg_size
                                       : 16 * GEN_TTL_SLOTS_MAX;
    uint64_t slots = segs / 16;
    slots = slots < 2                   ? 2
            : slots > GEN_TTL_SLOTS_MAX ? GEN_TTL_SLOTS_MAX
                                        : slots;
    if (slots != eng.ttl_slots) {
        for (unsigned i = 0; i < GEN_TTL_SLOTS_MAX; i++) {
            if (eng.ttl_open[i] != SEG_NIL) {
                seg_at(eng.ttl_open[i])->open = 0;
                eng.ttl_open[i] = SEG_NIL;
            }
        }
        eng.ttl_slots = (unsigned)slots;
    }
}

int
engine_setup(const struct oh_config *cfg)
{
    if (eng.ready) {
        engine_teardown();
    }
    memset(&eng, 0, sizeof(eng));
    memset(&mbase, 0, sizeof(mbase));
    eng.seg_size = pick_seg_size(cfg);
    eng.inline_max = eng.seg_size / 8;
    uint64_t seed = 0x6f6666686561700aull ^ (uint64_t)(uintptr_t)&eng;
    if (share_setup(cfg->local_reads != 0, eng.seg_size, seed) != 0) {
        (void)share_setup(false, eng.seg_size, seed); /* no memfd: private */
    }
    if (seg_setup(eng.seg_size) != 0 ||
        index_setup(INDEX_LOG2_START, seed) != 0 || expire_setup() != 0) {
        index_teardown();
        seg_teardown();
        share_teardown();
        return OH_NOMEM;
    }
    gen_setup();
    for (unsigned i = 0; i < GEN_TTL_SLOTS_MAX; i++) {
        eng.ttl_open[i] = SEG_NIL;
    }
    apply_live(cfg);
    eng.ready = true;
    return 0;
}

void
engine_teardown(void)
{
    if (!eng.ready) {
        return;
    }
    gen_teardown();
    expire_teardown();
    index_teardown();
    seg_teardown();
    share_teardown();
    memset(&eng, 0, sizeof(eng));
}

void
engine_reconfigure(const struct oh_config *cfg)
{
    if (eng.ready) {
        apply_live(cfg);
    }
}

/* ---- lookups ---- */

/* find() of a key whose index_hash() is `hash`. */
static uint64_t *
find_hashed(const char *key, size_t klen, uint64_t hash, oh_time now,
            struct item_view *v, uint64_t **ghost)
{
    uint64_t *slot = index_lookup(key, klen, hash, ghost);
    if (slot == NULL) {
        return NULL;
    }
    struct seg *s = seg_at(slot_seg(*slot));
    item_parse(s->mem + slot_off(*slot), &s->bases, v);
    if (item_expired(v->expire_at, now)) {
        INCR(&eng.m, engine_expired);
        gen_kill(slot, false);
        return NULL;
    }
    return slot;
}

/* Finds the live, unexpired entry of key. Returns its slot and fills *v,
 * or returns NULL (killing it if it had expired). */
static uint64_t *
find(const char *key, size_t klen, oh_time now, struct item_view *v,
     uint64_t **ghost)
{
    return find_hashed(key, klen, index_hash(key, klen), now, v, ghost);
}

static void
fill_view(uint64_t slot, const struct item_view *v, struct engine_item *out)
{
    uint32_t id = slot_seg(slot);
    seg_at(id)->pins++;
    out->key = v->key;
    out->klen = v->klen;
    out->val = v->val;
    out->vlen = v->vlen;
    out->expire_at = v->expire_at;
    out->pin = (uintptr_t)id + 1;
}

static int
lookup(const char *key, size_t klen, oh_time now, struct engine_item *out,
       bool mark)
{
    struct item_view v;
    if (!eng.ready) {
        return 0;
    }
    uint64_t *slot = find(key, klen, now, &v, NULL);
    if (slot == NULL) {
        INCR(&eng.m, engine_get_miss);
        return 0;
    }
    if (mark && slot_freq(*slot) < SLOT_FREQ_MAX) {
        *slot = slot_with_freq(*slot, slot_freq(*slot) + 1);
    }
    INCR(&eng.m, engine_get_hit);
    fill_view(*slot, &v, out);
    return 1;
}

int
engine_get(const char *key, size_t klen, oh_time now, struct engine_item *out)
{
    return lookup(key, klen, now, out, true);
}

int
engine_peek(const char *key, size_t klen, oh_time now, struct engine_item *out)
{
    return lookup(key, klen, now, out, false);
}

void
engine_release(struct engine_item *item)
{
    if (item == NULL || item->pin == 0) {
        return;
    }
    uint32_t id = (uint32_t)(item->pin - 1);
    item->pin = 0;
    if (!eng.ready) {
        return;
    }
    struct seg *s = seg_at(id);
    if (ALWAYS(s->pins > 0)) {
        s->pins--;
    }
    if (s->pins == 0 && s->state == SEG_RETIRED) {
        seg_return(id);
    } else if (s->pins == 0 && s->large != NULL) {
        seg_large_sweep(id);
    }
}

/* ---- writes ---- */

/* Prepares it->large for a value too big to keep inline. */
static int
prepare_large(struct gen_put *it, oh_time now)
{
    it->large = NULL;
    /* ABS64 is the widest expiry field: the answer holds in any segment */
    if (item_size(it->klen, it->vlen, ITEM_EXP_ABS64, false) <=
        eng.inline_max) {
        return 0;
    }
    if (it->klen + ITEM_HDR_MAX + sizeof(void *) > eng.inline_max) {
        return OH_TOOBIG;
    }
    uint64_t need = sizeof(struct large) + it->vlen;
    if (it->vlen >> 48 != 0) {
        return OH_TOOBIG;
    }
    if (eng.maxmemory != 0 && need > eng.maxmemory / 2) {
        return OH_TOOBIG;
    }
    if (gen_reserve(need, now) != 0) {
        return OH_NOMEM;
    }
    it->large = malloc(need);
    if (it->large == NULL) {
        return OH_NOMEM;
    }
    it->large->len_lo = (uint32_t)it->vlen;
    it->large->len_hi = (uint16_t)(it->vlen >> 32);
    it->large->dead = 0;
    it->large->prev = it->large->next = NULL;
    memcpy(it->large->data, it->val, it->vlen);
    return 0;
}

/* Points the index at the item just written at (id, off). */
static int
link_item(uint64_t hash, const char *key, size_t klen, uint32_t id,
          uint32_t off, unsigned freq)
{
    uint64_t *ghost;
    uint64_t *slot = index_lookup(key, klen, hash, &ghost);
    uint64_t s = slot_make(index_tag(hash), seg_at(id)->epoch, id, off, freq);
    if (slot != NULL) {
        gen_unlink(*slot);
        index_slot_store(slot, s);
        return 0;
    }
    if (index_insert(hash, s, ghost) != 0) {
        gen_unlink(s);
        return OH_NOMEM;
    }
    eng.count++;
    return 0;
}

static int
store(struct gen_put *it, uint64_t hash, bool old, unsigned freq, oh_time now)
{
    uint32_t id, off;
    int rc = prepare_large(it, now);
    if (rc == 0) {
        rc = gen_put(it, old, now, &id, &off);
        if (rc != 0) {
            free(it->large);
        }
    }
    if (rc == 0) {
        rc = link_item(hash, it->key, it->klen, id, off, freq);
    }
    if (rc == OH_NOMEM) {
        INCR(&eng.m, engine_set_ex);
    }
    return rc;
}

uint64_t
engine_key_hash(const char *key, size_t klen)
{
    return index_hash(key, klen);
}

int
engine_set(const char *key, size_t klen, const char *val, size_t vlen,
           oh_time expire_at, unsigned flags, oh_time now)
{
    return engine_set_hashed(engine_key_hash(key, klen), key, klen, val, vlen,
                             expire_at, flags, now);
}

int
engine_set_hashed(uint64_t hash, const char *key, size_t klen, const char *val,
                  size_t vlen, oh_time expire_at, unsigned flags, oh_time now)
{
    struct item_view v;
    uint64_t *ghost;
    if (!eng.ready) {
        return OH_ERR;
    }
    uint64_t *slot = find_hashed(key, klen, hash, now, &v, &ghost);
    if (((flags & ENGINE_SET_NX) && slot != NULL) ||
        ((flags & ENGINE_SET_XX) && slot == NULL)) {
        return 0;
    }
    if (flags & ENGINE_SET_KEEPTTL) {
        expire_at = slot != NULL ? v.expire_at : OH_TIME_NONE;
    }
    if (item_expired(expire_at, now)) {
        if (slot != NULL) {
            gen_kill(slot, false);
        }
        INCR(&eng.m, engine_set);
        return 1;
    }
    unsigned freq = 0;
    bool old = false;
    if (slot != NULL) {
        freq = slot_freq(*slot) < SLOT_FREQ_MAX ? slot_freq(*slot) + 1
                                                : SLOT_FREQ_MAX;
        old = seg_at(slot_seg(*slot))->state == SEG_OLD;
    } else if (ghost != NULL) {
        old = true;
        INCR(&eng.m, engine_ghost_hits);
    }
    old = old || (flags & ENGINE_SET_LOAD) != 0;
    struct gen_put it = {key, klen, val, vlen, expire_at, NULL};
    int rc = store(&it, hash, old, freq, now);
    gen_assist(now); /* no slot pointer is held any more */
    if (rc != 0) {
        return rc;
    }
    INCR(&eng.m, engine_set);
    return 1;
}

int
engine_reserve(uint64_t keys)
{
    if (!eng.ready) {
        return OH_ERR;
    }
    seg_set_populate(keys > 0);
    if (eng.maxmemory != 0 && keys > eng.maxmemory / RESERVE_ENTRY_MIN) {
        keys = eng.maxmemory / RESERVE_ENTRY_MIN; /* no more can fit */
    }
    return index_reserve(keys);
}

void
engine_reserve_bytes(uint64_t bytes)
{
    if (!eng.ready) {
        return;
    }
    if (eng.maxmemory != 0 && bytes > eng.maxmemory) {
        bytes = eng.maxmemory; /* no more can be taken */
    }
    (void)seg_prefault_ahead(bytes);
}

void
engine_prefetch_entry(uint64_t hash)
{
    if (eng.ready) {
        index_prefetch_items(hash);
    }
}

void
engine_prefetch(uint64_t hash, bool chain)
{
    if (eng.ready) {
        index_prefetch(hash, chain);
    }
}

int
engine_del(const char *key, size_t klen, oh_time now)
{
    struct item_view v;
    if (!eng.ready) {
        return 0;
    }
    uint64_t *slot = find(key, klen, now, &v, NULL);
    if (slot == NULL) {
        return 0;
    }
    gen_kill(slot, false);
    return 1;
}

/* Rewrites the item of `slot` with a new expiry (its form must change). */
static int
rewrite_expiry(uint64_t slot, const struct item_view *v, oh_time expire_at,
               oh_time now)
{
    struct engine_item pin;
    fill_view(slot, v, &pin);
    int rc = engine_set(v->key, v->klen, v->val, v->vlen, expire_at,
                        ENGINE_SET_XX, now);
    engine_release(&pin);
    return rc < 0 ? rc : 1;
}

int
engine_expire(const char *key, size_t klen, oh_time expire_at, oh_time now)
{
    struct item_view v;
    if (!eng.ready) {
        return 0;
    }
    uint64_t *slot = find(key, klen, now, &v, NULL);
    if (slot == NULL) {
        return 0;
    }
    if (item_expired(expire_at, now)) {
        gen_kill(slot, false);
        return 1;
    }
    uint32_t id = slot_seg(*slot);
    struct seg *s = seg_at(id);
    /* a save's child may be reading the item: append a new one then */
    bool in_place =
        !eng.saving && item_exp_fits(v.exp_mode, expire_at, &s->bases);
    if (!in_place) {
        return rewrite_expiry(*slot, &v, expire_at, now);
    }
    share_change_begin(); /* local readers may be reading the field */
    item_exp_put(v.exp_field, v.exp_mode, expire_at, &s->bases);
    share_change_end();
    gen_expiry_changed(id, v.expire_at, expire_at);
    return 1;
}

int
engine_touch(const char *key, size_t klen, oh_time now)
{
    struct item_view v;
    if (!eng.ready) {
        return 0;
    }
    uint64_t *slot = find(key, klen, now, &v, NULL);
    if (slot == NULL) {
        return 0;
    }
    if (slot_freq(*slot) < SLOT_FREQ_MAX) {
        *slot = slot_with_freq(*slot, slot_freq(*slot) + 1);
    }
    return 1;
}

size_t
engine_usage(const char *key, size_t klen, oh_time now)
{
    struct item_view v;
    if (!eng.ready) {
        return 0;
    }
    if (find(key, klen, now, &v, NULL) == NULL) {
        return 0;
    }
    size_t n = v.total + sizeof(uint64_t);
    if (v.large != NULL) {
        n += sizeof(struct large) + v.vlen;
    }
    return n;
}

uint64_t
engine_count(void)
{
    return eng.count;
}

void
engine_flush(void)
{
    if (!eng.ready) {
        return;
    }
    gen_flush();
    index_flush();
}

void
engine_hint(uint64_t hash, uint64_t slot)
{
    uint64_t *p = eng.ready ? index_find_slot(hash, slot) : NULL;
    if (p != NULL && slot_freq(*p) < SLOT_FREQ_MAX) {
        *p = slot_with_freq(*p, slot_freq(*p) + 1);
    }
}

/* ---- sharing ---- */

int
engine_share_fd(void)
{
    return eng.ready ? share_fd() : -1;
}

void
engine_share_ready(bool ready)
{
    share_set_state(ready ? SHM_STATE_READY : SHM_STATE_LOADING);
}

void
engine_fork_prepare(void)
{
    if (eng.ready && share_on()) {
        eng.saving = true;
        seg_hold(true);
    }
}

int
engine_fork_child(void)
{
    return eng.ready ? share_fork_child() : 0;
}

void
engine_fork_done(void)
{
    if (eng.ready && eng.saving) {
        eng.saving = false;
        seg_hold(false);
    }
}

/* ---- scan and random ---- */

struct scan_ctx {
    oh_time now;
    engine_scan_fn *fn;
    void *arg;
};

static void
scan_visit(void *arg, uint64_t *slot)
{
    struct scan_ctx *c = arg;
    struct seg *s = seg_at(slot_seg(*slot));
    struct item_view v;
    item_parse(s->mem + slot_off(*slot), &s->bases, &v);
    if (!item_expired(v.expire_at, c->now)) {
        c->fn(c->arg, v.key, v.klen, v.expire_at);
    }
}

uint64_t
engine_scan(uint64_t cursor, size_t count, oh_time now, engine_scan_fn *fn,
            void *arg)
{
    struct scan_ctx c = {now, fn, arg};
    if (!eng.ready) {
        return 0;
    }
    return index_scan(cursor, count, scan_visit, &c);
}

static bool
random_accept(void *arg, uint64_t *slot)
{
    const oh_time *now = arg;
    struct seg *s = seg_at(slot_seg(*slot));
    struct item_view v;
    item_parse(s->mem + slot_off(*slot), &s->bases, &v);
    return !item_expired(v.expire_at, *now);
}

int
engine_random(oh_time now, uint64_t seed, struct engine_item *out)
{
    if (!eng.ready || eng.count == 0) {
        return 0;
    }
    uint64_t *slot = index_random(seed, random_accept, &now);
    if (slot == NULL) {
        return 0;
    }
    struct seg *s = seg_at(slot_seg(*slot));
    struct item_view v;
    item_parse(s->mem + slot_off(*slot), &s->bases, &v);
    fill_view(*slot, &v, out);
    return 1;
}

/* ---- background work ---- */

void
engine_set_clock(uint64_t (*now_ns)(void))
{
    budget_set_clock(now_ns);
}

void
engine_set_active_expire(bool on)
{
    eng.lazy_expiry = !on;
}

/* Gives pool segments beyond `keep` back to the OS (a 16 KiB madvise
 * each) and dead index chunks while budget remains; then pre-faults the
 * open segments. Returns true while memory remains to give back. */
static bool
step_pool(uint32_t keep, int64_t *budget)
{
    while (budget_left(budget) && seg_trim(keep, 1) > 0) {
        *budget -= TRIM_NS;
    }
    if (budget_left(budget)) {
        index_release(budget);
    }
    bool more = index_release_pending() || seg_free() > keep;
    gen_prefault(budget);
    return more;
}

/* Pool segments kept resident: none once writes have paused. */
static uint32_t
pool_keep(oh_time now)
{
    if (now - seg_last_borrow() >= POOL_IDLE_MS) {
        return 0;
    }
    return 2 + seg_used() / POOL_KEEP_DIV;
}

/* Records a step's time: measured by the installed clock, else the
 * estimate of the work done. */
static void
step_account(int64_t start, int64_t budget)
{
    int64_t real = budget_end();
    int64_t done = real >= 0 ? real : start - budget;
    uint64_t us = done > 0 ? (uint64_t)done / 1000 : 0;
    INCR(&eng.m, engine_steps);
    INCR_N(&eng.m, engine_step_work_us, us);
    UPDATE_MAX(&eng.m, engine_step_max_us, us);
}

bool
engine_step(oh_time now, unsigned budget_us)
{
    if (!eng.ready) {
        return false;
    }
    budget_begin((uint64_t)budget_us * 10 * STEP_REAL_PCT);
    /* the estimates are means; without a clock STEP_FILL_PCT leaves room
     * for their spread, with one the deadline bounds the step */
    int64_t start = (int64_t)budget_us * 10 *
                    (budget_dl.active ? STEP_FILL_CLOCK_PCT : STEP_FILL_PCT);
    int64_t budget = start;
    /* one madvise first: busy steps must not starve the pool's trimming */
    uint32_t keep = pool_keep(now);
    budget -= (int64_t)seg_trim(keep, 1) * TRIM_NS;
    /* and one dead index chunk: a load's copy backlog kept ~3 MB of them
     * for ~2 s */
    int64_t chunk = 1;
    index_release(&chunk);
    budget -= 1 - chunk;
    index_set_live(eng.count);
    /* a resize gives memory back or keeps lookups short: it goes first,
     * with a share of the estimated budget and of the time; but a shrink,
     * whose memory comes back only at its end (it first adds a table),
     * keeps the usual share while expiry, which frees a segment at a time,
     * has due work */
    bool resize =
        index_growing() || ((index_rehashing() || index_shrink_due()) &&
                            (eng.lazy_expiry || !expire_pending(now)));
    unsigned pct = resize ? 25 : 100 / STEP_INDEX_SHARE;
    int64_t share = budget * pct / 100, share0 = share;
    uint64_t saved = budget_share(pct);
    bool more = index_step(&share);
    budget_share_end(saved);
    budget -= share0 - share;
    more = gen_step(now, &budget) || more;
    if (budget_left(&budget)) {
        more = index_step(&budget) || more;
    }
    index_set_ghost_window(eng.count + 1024);
    more = step_pool(keep, &budget) || more;
    step_account(start, budget);
    return more;
}

/* ---- memory and metrics ---- */

void
engine_memory(struct engine_memory *out)
{
    struct index_stats st;
    memset(out, 0, sizeof(*out));
    if (!eng.ready) {
        return;
    }
    index_stats_get(&st);
    uint64_t live = 0;
    for (uint32_t id = 0; id < seg_count_ids(); id++) {
        const struct seg *s = seg_at(id);
        if (s->state == SEG_YOUNG || s->state == SEG_OLD) {
            live += s->live_bytes;
        }
    }
    out->used_bytes = gen_mem_used();
    out->live_bytes = live + seg_large_bytes();
    out->index_bytes = st.bytes;
    out->reserved_bytes = (uint64_t)(seg_used() + seg_free()) * eng.seg_size +
                          seg_large_bytes() + st.bytes;
    out->maxmemory = eng.maxmemory;
}

#define DESC(n, t, d) METRIC_DESC(struct engine_metrics, n, t, d)
const struct metric_desc engine_metric_descs[] = {ENGINE_METRICS(DESC){0}};
#undef DESC

const struct engine_metrics *
engine_metrics_get(void)
{
    struct engine_memory mem;
    struct index_stats st;
    struct engine_metrics *m = &eng.m;
    engine_memory(&mem);
    index_stats_get(&st);
    m->engine_keys_curr = eng.count;
    m->engine_keys_with_ttl_curr = eng.ttl_count;
    m->engine_young_segments_curr = eng.young.n;
    m->engine_young_bytes_curr = gen_young_bytes();
    m->engine_old_segments_curr = eng.old.n;
    m->engine_old_bytes_curr = gen_old_bytes();
    m->engine_free_segments_curr = eng.ready ? seg_free() : 0;
    m->engine_large_bytes_curr = eng.ready ? seg_large_bytes() : 0;
    m->engine_used_bytes_curr = mem.used_bytes;
    m->engine_live_bytes_curr = mem.live_bytes;
    m->engine_ghosts_curr = st.ghosts;
    m->engine_index_slots_curr = st.slots;
    m->engine_index_used_curr = st.used;
    m->engine_index_load_pct_curr = st.slots ? st.used * 100 / st.slots : 0;
    m->engine_index_buckets_curr = st.buckets;
    m->engine_index_rehashing_curr = st.rehashing;
    m->engine_index_stale_killed = st.stale_killed - mbase.stale_base;
    m->engine_index_passes = st.passes - mbase.passes_base;
    return m;
}

void
engine_metrics_reset(void)
{
    struct index_stats st;
    for (const struct metric_desc *d = engine_metric_descs; d->name; d++) {
        if (d->type == METRIC_COUNTER) {
            *(uint64_t *)(void *)((char *)&eng.m + d->offset) = 0;
        }
    }
    eng.m.engine_step_max_us = 0;
    index_stats_get(&st);
    mbase.stale_base = st.stale_killed;
    mbase.passes_base = st.passes;
}
