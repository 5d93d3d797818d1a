/*
 * gen.c -- generations over segments: append, scavenge, merge, expire.
 *
 * New items are appended to the open young segment. Young segments form a
 * FIFO; when young holds more than young_pct of memory, a copy job scans
 * its oldest segment: items read since written (slot freq > 0) are copied
 * to the old generation, the rest are dropped and leave a ghost slot, so a
 * key written again soon goes straight to old (S3-FIFO's small queue and
 * ghost queue). Without memory pressure every live item is promoted: young
 * then only sorts items into TTL groups, and a segment already grouped
 * moves whole (retag_young).
 *
 *   young: [sealed] -> [sealed] -> [open]          (append here)
 *            ^ scavenged first
 *   old:   [seg] -> [seg] -> [merge dst] -> ...    FIFO; merges take the
 *            ^ merged first                        head, append the result
 *   TTL slots: ttl_open[h(expiry bucket)] = open old segment
 *
 * Old segments are opened per TTL slot: an item's slot is a hash of its
 * absolute expiry rounded to a width of ~1/32 of its TTL (128 ms .. 17
 * min), so a segment holds items expiring close together. Every segment
 * records the greatest expiry it holds (max_exp) and whether it holds an
 * item without one (persist); expire.c keeps the segments in a heap by
 * due time, frees a whole segment once max_exp <= now (O(1): its slots
 * die by epoch) and sweeps the mixed ones (young segments, TTL slots that
 * collide, EXPIRE in place) item by item, queueing sparse results for
 * compaction; so nothing expires early and expired memory comes back
 * within about a second. Reads check each item's own expiry. A copy job
 * steps over expired items without an index lookup: when the source is
 * dropped, the ones still live die by epoch and are counted as expired.
 *
 * Eviction (policy generational, at maxmemory - headroom): a JOB_EVICT
 * merges the merge_n oldest old segments, keeping items with freq > 0
 * (decremented: CLOCK done in bulk) into at most merge_n - 1 targets, so
 * every merge frees at least one segment; once the last target is full
 * the rest is dropped. The last, partly filled target stays open for the
 * next merge. Without ghosts or access bits this is FIFO; with them it is
 * S3-FIFO-like (measured in test_engine_missratio: fewer misses than an
 * exact LRU holding the same bytes).
 *
 * Cleaner (JOB_COMPACT, LFS-style): overwrites and deletes leave dead copies
 * all along the log. The cleaner scores up to CLEAN_SCAN segments per pick
 * (a rotating cursor; all of them below 1 GiB of 1 MiB segments) by LFS
 * cost-benefit, (1 - u) * age / (1 + u), keeps the best GEN_JOB_SRC_MAX,
 * and merges the prefix that frees the most segments per byte copied (the
 * open merge target's room counts). Segments above CLEAN_LIVE_MAX_PCT live
 * are never cleaned, which bounds write amplification (<= 10 bytes copied
 * per byte freed). It runs in the background whenever the waste of sealed
 * old segments (dead bytes and tails) exceeds CLEAN_WASTE_PCT of them, and
 * first under memory pressure, before an eviction merge, if segments under
 * CLEAN_LIVE_PRESS_PCT live exist: evicting live items while memory holds
 * dead copies is the wrong trade. Segments a sweep left sparse come first.
 * A writer that must drop a segment drops the sparsest of the VICTIM_PROBE
 * oldest. Sources are freed as soon as they are read, so a job overshoots
 * memory by at most one segment. Without memory pressure, a young segment
 * whose items need no grouping (none has an expiry, or all expire in
 * order within one group's width) moves to old whole (no copy). Under
 * noeviction nothing live is ever dropped: writers leave one segment for
 * compaction and sets fail with OH_NOMEM. A writer that needs memory
 * (reclaim_for) first gives back memory already dead, queued large values
 * and dead index chunks, a few at a time until it fits (each call frees at
 * least one, so this ends); then it frees up to INLINE_WHOLE due whole
 * segments from the expiry heap, or (policy generational) drops a victim
 * segment; at most 16 segments. That last resort is
 * rare: once memory is within two segments of maxmemory every engine_set ends
 * with gen_assist(), about ASSIST_NS of the running scavenge or merge (a cheap
 * one is started if none runs), so the jobs, which keep accessed items, advance
 * with the write rate instead of only with the step budget (which a pipelined
 * load outruns: 0 merges and 37..101 segments dropped per 2 M sets before, 0
 * after; test_engine_bench overload). Its inline cost is bounded: the
 * budget plus one item, one source drop and a job finish (~6 us
 * estimated). Starting background eviction earlier (a larger free
 * reserve) was measured and rejected: the reserve holds no data (miss
 * ratio 13.9 -> 14.8 % in test_engine_missratio).
 *
 * Invariants: seg.live_items counts the index slots pointing into the segment,
 * seg.live_ttl those of them with an expiry; eng.count and eng.ttl_count are
 * their sums over the generations. A job's sources and target are `busy` and
 * never victims. A pinned segment is never reused: dropping it retires it
 * (freed on the last release); a job never moves a large value out of a pinned
 * segment.
 *
 * Cost and budget: every job is a cursor (segment, offset) advanced item by
 * item; gen_step() charges ITEM_NS per live item plus its bytes at
 * COPY_BYTES_NS (SKIP_NS per expired one) against the caller's budget,
 * after giving expiry up to three quarters of it (of the estimate and, on
 * the server, of the time: budget_share). Every loop asks budget_left()
 * before its next unit, so a step also ends at the real deadline of
 * budget.c; an item of COPY_CHECK_BYTES or more first asks budget_room()
 * for its copy time and otherwise waits for the next step (STEP_YIELD), so
 * no single copy (up to seg_size/8 bytes) overruns the step. Dropping a
 * segment is O(1); its large values are freed REAP_NS each from a quarter
 * of later budgets. Under memory pressure the dead overflow chunks of the
 * index (index_release) go back before any live item is evicted: they
 * count against maxmemory until unmapped.
 *
 * Pre-faulting: gen_prefault() keeps PREFAULT_AHEAD bytes past the write
 * position of the open segments (young, merge target, job target, and
 * PREFAULT_SLOTS TTL slots in turn per step) resident, 16 KiB per unit
 * (seg_prefault), from what is left of a step: appends then take no page
 * fault (~1.5 us each here) inside a step or a write. It costs at most
 * PREFAULT_AHEAD of RSS per open segment.
 *
 * Rejected: per-item LRU links (16 B/item, a write on every hit); slab
 * size classes (calcify after a size shift); eager removal of index slots
 * when a segment is freed (O(items), ~1 ms per 1 MiB segment); TTL buckets
 * rounded down (Segcache: items expire early).
 */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "expire.h"
#include "index.h"
#include "share.h"

#define ITEM_NS              320  /* per live item examined by a copy job */
#define SKIP_NS              25   /* per expired item a copy job steps over */
#define SEGCHECK_NS          5    /* per segment looked at by compaction */
#define DROP_NS              1000 /* per whole segment dropped */
#define INLINE_WHOLE         8    /* due whole segments a writer may free */
#define CLEAN_SCAN           1024 /* segment ids the cleaner scores per pick */
#define CLEAN_WASTE_PCT      2    /* old-gen waste (%) that starts cleaning */
#define CLEAN_LIVE_MAX_PCT   90   /* live % above which nothing is cleaned */
#define CLEAN_LIVE_PRESS_PCT 90   /* ... when it competes with eviction */
#define CLEAN_RETRY_MS       50   /* ms before a fruitless pick is retried */
#define CLEAN_AGE_MIN_MS     1000 /* added to ages (young segments score) */
#define CLEAN_AGE_CAP_MS     (1ull << 32) /* ages are capped at ~50 days */
#define REAP_NS              250          /* per large value freed */
#define REAP_WRITER          64           /* large values a writer may free */
#define RETAG_MAX            4     /* young segments moved whole per pick */
#define VICTIM_PROBE         8     /* segments looked at to pick a victim */
#define ASSIST_NS            1000  /* job work a write does under pressure */
#define RELEASE_WRITER_NS    10000 /* dead index chunks a writer may free */
#define COPY_BYTES_NS        4     /* bytes copied per ns (cold source) */
#define PREFAULT_AHEAD       (64u * 1024u) /* bytes kept resident past wpos */
#define PREFAULT_NS          6000          /* per 16 KiB chunk pre-faulted */
#define PREFAULT_SLOTS       8             /* TTL slots gen_prefault() visits */
#define COPY_CHECK_BYTES     8192 /* items this large ask budget_room() */

struct engine_state eng;

/* ---- memory ---- */

uint64_t
gen_mem_used(void)
{
    struct index_stats st;
    index_stats_get(&st);
    return (uint64_t)seg_used() * eng.seg_size + seg_large_bytes() + st.bytes;
}

uint64_t
gen_young_bytes(void)
{
    return (uint64_t)eng.young.n * eng.seg_size;
}

uint64_t
gen_old_bytes(void)
{
    return (uint64_t)eng.old.n * eng.seg_size;
}

static bool
room_for(uint64_t bytes)
{
    return eng.maxmemory == 0 || gen_mem_used() + bytes <= eng.maxmemory;
}

/* Bytes kept free under maxmemory so jobs can take a target segment. */
static uint64_t
headroom(void)
{
    uint64_t h = eng.maxmemory / 32;
    return h > 2ull * eng.seg_size ? h : 2ull * eng.seg_size;
}

static bool
pressure(void)
{
    return eng.maxmemory != 0 && !eng.noevict &&
           gen_mem_used() + 2 * headroom() >= eng.maxmemory;
}

static uint64_t
young_target(void)
{
    uint64_t base = eng.maxmemory != 0 ? eng.maxmemory : gen_mem_used();
    return base / 100 * eng.young_pct;
}

/* ---- segment lifecycle ---- */

void
gen_setup(void)
{
    seg_list_init(&eng.young);
    seg_list_init(&eng.old);
    eng.young_open = SEG_NIL;
    eng.merge_open = SEG_NIL;
    for (unsigned i = 0; i < GEN_TTL_SLOTS_MAX; i++) {
        eng.ttl_open[i] = SEG_NIL;
    }
    memset(&eng.job, 0, sizeof(eng.job));
    eng.job.dst = SEG_NIL;
    eng.compact_cursor = 0;
    eng.count = 0;
    eng.ttl_count = 0;
    eng.gen_live[0] = eng.gen_live[1] = 0;
}

void
gen_teardown(void)
{
    memset(&eng.job, 0, sizeof(eng.job));
}

static void
seal(uint32_t id)
{
    struct seg *s = seg_at(id);
    if (!s->open) {
        return;
    }
    s->open = 0;
    if (s->live_items == 0 && s->wpos > 0) {
        expire_note(id, 0); /* nothing live: free it soon */
    }
    if (eng.merge_open == id) {
        eng.merge_open = SEG_NIL;
    } else if (s->state == SEG_YOUNG && eng.young_open == id) {
        eng.young_open = SEG_NIL;
    } else if (s->state == SEG_OLD && eng.ttl_open[s->ttl_slot] == id) {
        eng.ttl_open[s->ttl_slot] = SEG_NIL;
    }
}

/* Takes a segment off its generation and frees it (or retires it if
 * pinned). Its remaining live items are counted as gone. */
static void
drop_seg(uint32_t id)
{
    struct seg *s = seg_at(id);
    seal(id);
    expire_forget(id);
    seg_list_remove(s->state == SEG_YOUNG ? &eng.young : &eng.old, id);
    eng.count -= s->live_items;
    eng.ttl_count -= s->live_ttl;
    eng.gen_live[s->state == SEG_OLD] -= s->live_bytes;
    if (s->pins > 0) {
        seg_retire(id);
    } else {
        seg_return(id);
    }
}

static void
evict_seg(uint32_t id)
{
    INCR_N(&eng.m, engine_evicted, seg_at(id)->live_items);
    INCR(&eng.m, engine_segments_dropped);
    drop_seg(id);
}

static void
expire_seg(uint32_t id)
{
    INCR_N(&eng.m, engine_expired, seg_at(id)->live_items);
    INCR_N(&eng.m, engine_expired_bytes, eng.seg_size);
    INCR(&eng.m, engine_expired_segments);
    drop_seg(id);
}

void
gen_drop(uint32_t id, bool expired)
{
    if (expired) {
        expire_seg(id);
    } else {
        drop_seg(id);
    }
}

static bool
victim_ok(const struct seg *s)
{
    return !s->busy && s->pins == 0;
}

static uint32_t
first_victim(const struct seg_list *l)
{
    uint32_t id = l->head;
    for (unsigned i = 0; id != SEG_NIL && i < VICTIM_PROBE; i++) {
        if (victim_ok(seg_at(id))) {
            return id;
        }
        id = seg_at(id)->next;
    }
    return SEG_NIL;
}

/* Returns the victim with the fewest live bytes among the first few of
 * the old FIFO: dropping a segment full of dead copies loses less. */
static uint32_t
sparse_victim(const struct seg_list *l)
{
    uint32_t id = l->head, best = SEG_NIL;
    for (unsigned i = 0; id != SEG_NIL && i < VICTIM_PROBE; i++) {
        const struct seg *s = seg_at(id);
        if (victim_ok(s) && !s->open &&
            (best == SEG_NIL || s->live_bytes < seg_at(best)->live_bytes)) {
            best = id;
        }
        id = s->next;
    }
    return best != SEG_NIL ? best : first_victim(l);
}

/* Picks a segment to drop whole: the oldest young one while young is over
 * its share, else the sparsest of the oldest old ones. */
static uint32_t
pick_victim(void)
{
    uint32_t id = SEG_NIL;
    if (gen_young_bytes() > young_target() || eng.old.n == 0) {
        id = first_victim(&eng.young);
    }
    if (id == SEG_NIL) {
        id = sparse_victim(&eng.old);
    }
    if (id == SEG_NIL) {
        id = first_victim(&eng.young);
    }
    return id;
}

/* What one reclaim_one() call did. */
typedef enum {
    RECLAIM_NONE,    /* nothing left to free */
    RECLAIM_PENDING, /* gave back some memory already dead (large values
                        queued, dead index chunks): finite, so a writer's
                        tries do not count it */
    RECLAIM_SEGMENT, /* freed a segment (expired or evicted) */
} reclaim_rc;

/* Does a bounded amount of work to free memory. */
static reclaim_rc
reclaim_one(oh_time now)
{
    if (seg_large_reap_pending()) {
        seg_large_reap(REAP_WRITER);
        return RECLAIM_PENDING;
    }
    if (index_release_pending()) {
        int64_t chunks = RELEASE_WRITER_NS; /* dead index memory first */
        index_release(&chunks);
        return RECLAIM_PENDING;
    }
    if (expire_reclaim(now, INLINE_WHOLE) > 0) {
        return RECLAIM_SEGMENT;
    }
    if (eng.noevict || eng.maxmemory == 0) {
        return RECLAIM_NONE;
    }
    uint32_t id = pick_victim();
    if (id == SEG_NIL) {
        return RECLAIM_NONE;
    }
    evict_seg(id);
    return RECLAIM_SEGMENT;
}

/* Frees memory until `bytes` fit, freeing at most `tries` segments (dead
 * memory queued for release does not count: a shrink's dead index chunks
 * are 32 KiB each, and 16 tries of one chunk failed a 1 MiB segment with
 * OH_NOMEM under the generational policy). Returns true if they fit. */
static bool
reclaim_for(uint64_t bytes, int tries, oh_time now)
{
    while (!room_for(bytes)) {
        reclaim_rc rc = tries > 0 ? reclaim_one(now) : RECLAIM_NONE;
        if (rc == RECLAIM_NONE) {
            return false;
        }
        tries -= rc == RECLAIM_SEGMENT;
    }
    return true;
}

/* Borrows a segment within maxmemory. Under noeviction writers leave one
 * segment free so a compaction can always start (`job` may take it). */
static uint32_t
new_seg(seg_state state, bool job, oh_time now)
{
    uint64_t need = eng.seg_size;
    if (eng.noevict && !job) {
        need += eng.seg_size;
    }
    return reclaim_for(need, 16, now) ? seg_borrow(state, now) : SEG_NIL;
}

int
gen_reserve(uint64_t bytes, oh_time now)
{
    if (eng.noevict) {
        bytes += eng.seg_size;
    }
    return reclaim_for(bytes, 64, now) ? 0 : OH_NOMEM;
}

/* ---- append ---- */

/* log2 of the width (ms) of the expiry groups an item expiring at exp
 * falls in: ~1/32 of its TTL, 128 ms .. 17 min. */
static unsigned
ttl_group_shift(oh_time exp, oh_time now)
{
    uint64_t ttl = exp > now ? (uint64_t)(exp - now) : 1;
    unsigned shift = 63u - (unsigned)__builtin_clzll(ttl);
    shift = shift > 12 ? shift - 5 : 7;
    return shift > 20 ? 20 : shift;
}

static unsigned
ttl_slot(oh_time exp, oh_time now)
{
    if (exp == OH_TIME_NONE || eng.ttl_slots < 2) {
        return 0;
    }
    unsigned shift = ttl_group_shift(exp, now);
    uint64_t key = ((uint64_t)exp >> shift) * 64 + shift;
    key *= 0x9e3779b97f4a7c15ull;
    return 1 + (unsigned)((key >> 32) % (eng.ttl_slots - 1));
}

static uint32_t
open_seg(bool old, unsigned slot, bool job, oh_time now)
{
    uint32_t id = new_seg(old ? SEG_OLD : SEG_YOUNG, job, now);
    if (id == SEG_NIL) {
        return SEG_NIL;
    }
    struct seg *s = seg_at(id);
    s->open = 1;
    s->ttl_slot = (uint16_t)slot;
    if (old) {
        seg_list_push(&eng.old, id);
        eng.ttl_open[slot] = id;
    } else {
        seg_list_push(&eng.young, id);
        eng.young_open = id;
    }
    return id;
}

static size_t
put_size(const struct gen_put *it, const struct item_bases *b)
{
    bool large = it->large != NULL;
    return item_size(it->klen, it->vlen, item_exp_mode(it->expire_at, b, large),
                     large);
}

/* Writes `it` at the end of segment id (which has room) and accounts it.
 * Returns the offset. */
static uint32_t
seg_write(uint32_t id, const struct gen_put *it)
{
    struct seg *s = seg_at(id);
    uint32_t off = s->wpos;
    oh_time exp_base = s->bases.exp_base;
    size_t n = item_write(s->mem + off, &s->bases, it->key, it->klen, it->val,
                          it->vlen, it->expire_at, it->large);
    if (s->bases.exp_base != exp_base) {
        share_seg_bases(id, &s->bases); /* before any slot points here */
    }
    s->wpos += (uint32_t)n;
    s->live_items++;
    s->live_bytes += (uint32_t)n;
    eng.gen_live[s->state == SEG_OLD] += n;
    oh_time e = it->expire_at == OH_TIME_NONE ? INT64_MAX : it->expire_at;
    if (e < s->last_exp) {
        s->sorted = 0;
    }
    s->last_exp = e;
    if (it->expire_at != OH_TIME_NONE) {
        s->live_ttl++;
        eng.ttl_count++;
    }
    if (it->large != NULL) {
        seg_large_link(id, it->large);
    }
    gen_note_expiry(id, it->expire_at);
    return off;
}

void
gen_note_expiry(uint32_t id, oh_time expire_at)
{
    struct seg *s = seg_at(id);
    if (expire_at == OH_TIME_NONE) {
        s->persist = 1;
        return;
    }
    if (expire_at > s->max_exp) {
        s->max_exp = expire_at;
    }
    expire_note(id, expire_at);
}

void
gen_expiry_changed(uint32_t id, oh_time old, oh_time expire_at)
{
    struct seg *s = seg_at(id);
    s->sorted = 0;
    if (old == OH_TIME_NONE && expire_at != OH_TIME_NONE) {
        s->live_ttl++;
        eng.ttl_count++;
    } else if (old != OH_TIME_NONE && expire_at == OH_TIME_NONE) {
        s->live_ttl--;
        eng.ttl_count--;
    }
    gen_note_expiry(id, expire_at);
}

static bool
fits(uint32_t id, const struct gen_put *it)
{
    const struct seg *s = seg_at(id);
    return s->wpos + put_size(it, &s->bases) <= eng.seg_size;
}

int
gen_put(const struct gen_put *it, bool old, oh_time now, uint32_t *seg,
        uint32_t *off)
{
    unsigned slot = old ? ttl_slot(it->expire_at, now) : 0;
    uint32_t id = old ? eng.ttl_open[slot] : eng.young_open;
    if (id != SEG_NIL && !fits(id, it)) {
        seal(id);
        id = SEG_NIL;
    }
    if (id == SEG_NIL) {
        id = open_seg(old, slot, false, now);
        if (id == SEG_NIL || !fits(id, it)) {
            return OH_NOMEM;
        }
    }
    *seg = id;
    *off = seg_write(id, it);
    return 0;
}

/* ---- killing items ---- */

void
gen_unlink(uint64_t slot)
{
    uint32_t id = slot_seg(slot);
    struct seg *s = seg_at(id);
    struct item_view v;
    item_parse(s->mem + slot_off(slot), &s->bases, &v);
    s->live_items--;
    s->live_bytes -= v.total;
    eng.gen_live[s->state == SEG_OLD] -= v.total;
    if (v.expire_at != OH_TIME_NONE) {
        s->live_ttl--;
        eng.ttl_count--;
    }
    if (s->live_items == 0 && !s->open) {
        expire_note(id, 0); /* nothing live: free it soon */
    }
    if (v.large != NULL && s->pins == 0) {
        seg_large_unlink(id, v.large);
        free(v.large);
    } else if (v.large != NULL) {
        v.large->dead = 1;
    }
}

void
gen_kill(uint64_t *slot, bool ghost)
{
    gen_unlink(*slot);
    if (ghost) {
        index_ghost(slot);
    } else {
        index_clear(slot);
    }
    eng.count--;
}

/* ---- copy jobs ---- */

static void
job_release(void)
{
    for (unsigned i = eng.job.cur; i < eng.job.nsrc; i++) {
        seg_at(eng.job.src[i])->busy = 0;
    }
    if (eng.job.dst != SEG_NIL) {
        /* the last target stays open for the next merge to fill */
        struct seg *d = seg_at(eng.job.dst);
        d->busy = 0;
        if (d->state == SEG_OLD && d->wpos < eng.seg_size / 10 * 9) {
            d->open = 1;
            eng.merge_open = eng.job.dst;
        }
    }
    memset(&eng.job, 0, sizeof(eng.job));
    eng.job.dst = SEG_NIL;
}

/* Drops a source the job is done with. If it was read to its end, the
 * live items left are expired ones it stepped over; else (given up on)
 * they are evicted. */
static void
job_drop_src(uint32_t id, bool read)
{
    struct seg *s = seg_at(id);
    s->busy = 0;
    if (s->live_items > 0 && read) {
        INCR_N(&eng.m, engine_expired, s->live_items);
    } else if (s->live_items > 0) {
        INCR_N(&eng.m, engine_evicted, s->live_items);
    }
    drop_seg(id);
}

/* Ends the job: the sources not yet read are dropped whole. */
static void
job_finish(void)
{
    gen_job_kind kind = eng.job.kind;
    while (eng.job.cur < eng.job.nsrc) {
        job_drop_src(eng.job.src[eng.job.cur++], false);
    }
    if (kind == JOB_EVICT) {
        INCR(&eng.m, engine_merges);
    } else if (kind == JOB_COMPACT) {
        INCR(&eng.m, engine_compactions);
    }
    job_release();
}

/* Replaces a full compaction target by a fresh one. */
static bool
job_roll_dst(oh_time now)
{
    uint32_t dst = seg_borrow(SEG_OLD, now);
    if (dst == SEG_NIL) {
        return false;
    }
    seg_at(eng.job.dst)->busy = 0;
    seg_at(dst)->busy = 1;
    seg_list_push(&eng.old, dst);
    eng.job.dst = dst;
    eng.job.ndst++;
    return true;
}

/* Copies the live item of `slot` (view v) into segment dst. Returns false
 * if it does not fit. */
static bool
copy_to(uint32_t dst, uint64_t *slot, const struct item_view *v, unsigned freq)
{
    uint32_t src = slot_seg(*slot);
    struct gen_put it = {v->key,  v->klen,      v->val,
                         v->vlen, v->expire_at, v->large};
    if (!fits(dst, &it)) {
        return false;
    }
    if (v->large != NULL) {
        seg_large_unlink(src, v->large);
    }
    struct seg *s = seg_at(src);
    s->live_items--;
    s->live_bytes -= v->total;
    eng.gen_live[s->state == SEG_OLD] -= v->total;
    if (v->expire_at != OH_TIME_NONE) {
        s->live_ttl--;
        eng.ttl_count--;
    }
    uint32_t off = seg_write(dst, &it);
    index_slot_store(
        slot, slot_make(slot_tag(*slot), seg_at(dst)->epoch, dst, off, freq));
    INCR(&eng.m, engine_items_moved);
    return true;
}

/* Promotes a young item into the old generation. */
static bool
promote(uint64_t *slot, const struct item_view *v, oh_time now)
{
    unsigned slotn = ttl_slot(v->expire_at, now);
    uint32_t dst = eng.ttl_open[slotn];
    struct gen_put it = {v->key,  v->klen,      v->val,
                         v->vlen, v->expire_at, v->large};
    if (dst != SEG_NIL && !fits(dst, &it)) {
        seal(dst);
        dst = SEG_NIL;
    }
    if (dst == SEG_NIL) {
        dst = open_seg(true, slotn, true, now);
        if (dst == SEG_NIL) {
            return false;
        }
    }
    if (!copy_to(dst, slot, v, 0)) {
        return false;
    }
    INCR(&eng.m, engine_promoted);
    return true;
}

/* STEP_YIELD: the next item is too long to copy before the deadline */
typedef enum { STEP_NEXT, STEP_STOP, STEP_ABORT, STEP_YIELD } step_rc;

/* Handles one live item of a job source. */
static step_rc
job_item(uint64_t *slot, const struct item_view *v, oh_time now)
{
    unsigned freq = slot_freq(*slot);
    bool src_pinned = seg_at(slot_seg(*slot))->pins > 0;
    if (item_expired(v->expire_at, now)) {
        INCR(&eng.m, engine_expired);
        gen_kill(slot, false);
        return STEP_NEXT;
    }
    if (v->large != NULL && src_pinned) {
        return STEP_ABORT;
    }
    switch (eng.job.kind) {
    case JOB_SCAVENGE:
        if ((freq > 0 || !pressure()) && promote(slot, v, now)) {
            return STEP_NEXT;
        }
        if (eng.noevict || eng.maxmemory == 0) {
            return STEP_ABORT;
        }
        INCR(&eng.m, engine_evicted);
        gen_kill(slot, true);
        return STEP_NEXT;
    case JOB_EVICT:
        if (freq == 0) {
            INCR(&eng.m, engine_evicted);
            gen_kill(slot, false);
            return STEP_NEXT;
        }
        if (copy_to(eng.job.dst, slot, v, freq - 1)) {
            return STEP_NEXT;
        }
        /* up to nsrc - 1 targets: a merge always frees a segment */
        if (eng.job.ndst + 1 < eng.job.nsrc && job_roll_dst(now) &&
            copy_to(eng.job.dst, slot, v, freq - 1)) {
            return STEP_NEXT;
        }
        return STEP_STOP;
    default:
        if (copy_to(eng.job.dst, slot, v, freq)) {
            return STEP_NEXT;
        }
        return job_roll_dst(now) && copy_to(eng.job.dst, slot, v, freq)
                   ? STEP_NEXT
                   : STEP_ABORT;
    }
}

/* Examines the item at the job cursor, charging *budget. An expired item
 * is stepped over without an index lookup: if it was live, dropping the
 * source kills its slot (epoch) and counts it as expired. */
static step_rc
job_advance(oh_time now, int64_t *budget)
{
    uint32_t id = eng.job.src[eng.job.cur];
    struct seg *s = seg_at(id);
    if (!s->persist && s->max_exp <= now && s->live_items > 0) {
        /* everything left in it expired: free it whole */
        INCR_N(&eng.m, engine_expired_bytes, eng.seg_size);
        INCR(&eng.m, engine_expired_segments);
        eng.job.off = s->wpos;
    }
    if (eng.job.off >= s->wpos) {
        eng.job.cur++;
        eng.job.off = 0;
        job_drop_src(id, true);
        *budget -= DROP_NS;
        return eng.job.cur < eng.job.nsrc ? STEP_NEXT : STEP_STOP;
    }
    uint32_t off = eng.job.off;
    struct item_view v;
    item_parse(s->mem + off, &s->bases, &v);
    if (item_expired(v.expire_at, now)) {
        eng.job.off += v.total;
        *budget -= SKIP_NS;
        return STEP_NEXT;
    }
    if (v.total >= COPY_CHECK_BYTES && !budget_room(v.total / COPY_BYTES_NS)) {
        return STEP_YIELD;
    }
    *budget -= ITEM_NS + (int64_t)(v.total / COPY_BYTES_NS);
    uint64_t *slot =
        index_lookup(v.key, v.klen, index_hash(v.key, v.klen), NULL);
    if (slot == NULL || slot_seg(*slot) != id || slot_off(*slot) != off) {
        eng.job.off += v.total;
        return STEP_NEXT;
    }
    step_rc rc = job_item(slot, &v, now);
    if (rc == STEP_NEXT) {
        eng.job.off += v.total;
    }
    return rc;
}

static bool
job_run(oh_time now, int64_t *budget)
{
    while (eng.job.kind != JOB_NONE && budget_left(budget)) {
        step_rc rc = job_advance(now, budget);
        if (rc == STEP_STOP) {
            job_finish();
            *budget -= DROP_NS * 4;
        } else if (rc == STEP_ABORT) {
            job_release();
        } else if (rc == STEP_YIELD) {
            *budget = 0; /* the step is over: resume in the next one */
        }
    }
    return eng.job.kind != JOB_NONE;
}

static void
job_add_src(uint32_t id)
{
    seal(id);
    seg_at(id)->busy = 1;
    eng.job.src[eng.job.nsrc++] = id;
}

/* True if the items of young segment s need no TTL grouping: none has an
 * expiry, or all do and they expire in order within one group's width
 * (expiry then frees the segment whole, as a grouped one; the usual case
 * for a load with one TTL: 877 k of 1 M items were copied before). */
static bool
ttl_grouped(const struct seg *s, oh_time now)
{
    if (s->live_ttl == 0) {
        return true;
    }
    oh_time first = s->bases.exp_base;
    return s->live_ttl == s->live_items && !s->persist && s->sorted &&
           first != OH_TIME_NONE && s->max_exp >= first &&
           (uint64_t)(s->max_exp - first) <
               (1ull << ttl_group_shift(first, now));
}

/* Moves the oldest young segment to the old generation as it is (O(1), no
 * copy) when no memory pressure makes the scavenge filter worth its copies
 * and its items need no TTL grouping (ttl_grouped). Its dead bytes are
 * left to the cleaner. */
static bool
retag_young(oh_time now, int64_t *cost)
{
    uint32_t id = eng.young.head;
    struct seg *s = seg_at(id);
    if (pressure() || eng.young.n < 2 || id == eng.young_open || s->busy ||
        !ttl_grouped(s, now) || s->live_bytes < s->wpos / 2) {
        return false;
    }
    seal(id);
    seg_list_remove(&eng.young, id);
    s->state = SEG_OLD;
    seg_list_push(&eng.old, id);
    eng.gen_live[0] -= s->live_bytes;
    eng.gen_live[1] += s->live_bytes;
    INCR_N(&eng.m, engine_promoted, s->live_items);
    *cost += DROP_NS;
    return true;
}

static bool
start_scavenge(void)
{
    uint32_t id = eng.young.head;
    if (eng.young.n < 2 || id == eng.young_open || seg_at(id)->busy) {
        return false;
    }
    eng.job.kind = JOB_SCAVENGE;
    job_add_src(id);
    return true;
}

/* Starts a merge of sources already added, into a fresh target (or the
 * open merge target; a single source only goes there). */
static bool
start_merge(gen_job_kind kind, oh_time now)
{
    uint32_t dst = SEG_NIL;
    if (eng.job.nsrc >= 1 && eng.merge_open != SEG_NIL) {
        dst = eng.merge_open; /* the previous merge's partly filled target */
        seal(dst);
    } else if (eng.job.nsrc >= 2) {
        /* under noeviction a compaction may overshoot maxmemory by this
         * one segment: it gives back nsrc - 1 */
        if (!eng.noevict) {
            reclaim_for(eng.seg_size, 1, now);
        }
        dst = seg_borrow(SEG_OLD, now);
        if (dst != SEG_NIL) {
            seg_list_push(&eng.old, dst);
        }
    }
    if (dst == SEG_NIL) {
        job_release();
        return false;
    }
    seg_at(dst)->busy = 1;
    eng.job.kind = kind;
    eng.job.dst = dst;
    eng.job.ndst = 1;
    return true;
}

static bool
start_evict(oh_time now)
{
    uint32_t id = eng.old.head;
    for (unsigned i = 0; id != SEG_NIL && i < 2 * eng.merge_n; i++) {
        uint32_t next = seg_at(id)->next;
        if (!seg_at(id)->busy && eng.job.nsrc < eng.merge_n) {
            job_add_src(id);
        }
        id = next;
    }
    return start_merge(JOB_EVICT, now);
}

/* ---- cleaner ---- */

/* A segment the cleaner may merge, with its cost-benefit score. */
struct clean_cand {
    uint32_t id;
    bool queued; /* came from the expiry sweep's candidate queue */
    uint64_t score;
};

/* Returns the LFS cost-benefit score of a segment: (1 - u) * age / (1 + u),
 * u the live share, age in ms since the segment was written. Free bytes
 * in old, stable segments are worth more: a young segment's live items are
 * likely to die soon anyway, so copying them is wasted. */
static uint64_t
clean_score(const struct seg *s, oh_time now)
{
    uint64_t gain = eng.seg_size - s->live_bytes;
    uint64_t age = now > s->bases.base ? (uint64_t)(now - s->bases.base) : 0;
    age = (age < CLEAN_AGE_CAP_MS ? age : CLEAN_AGE_CAP_MS) + CLEAN_AGE_MIN_MS;
    return gain * age / (eng.seg_size + s->live_bytes);
}

/* Keeps c[0..*n) the GEN_JOB_SRC_MAX best candidates, best first. */
static void
cand_offer(struct clean_cand *c, unsigned *n, struct clean_cand x)
{
    unsigned i = *n;
    for (unsigned j = 0; j < i; j++) {
        if (c[j].id == x.id) {
            return; /* queued and met again by the scan */
        }
    }
    if (i == GEN_JOB_SRC_MAX) {
        if (x.score <= c[i - 1].score) {
            if (x.queued) {
                expire_candidate_push(x.id);
            }
            return;
        }
        if (c[i - 1].queued) {
            expire_candidate_push(c[i - 1].id);
        }
        i--;
    } else {
        (*n)++;
    }
    while (i > 0 && c[i - 1].score < x.score) {
        c[i] = c[i - 1];
        i--;
    }
    c[i] = x;
}

static bool
clean_ok(const struct seg *s, uint64_t max_live)
{
    return !s->open && !s->busy && s->pins == 0 && s->live_bytes <= max_live &&
           (s->state == SEG_OLD || s->state == SEG_YOUNG);
}

/* Collects candidates: the segments a sweep left sparse (queued first,
 * so expired memory comes back soon), then the best old segments among
 * up to CLEAN_SCAN ids from the rotating cursor. */
static unsigned
clean_collect(struct clean_cand *c, uint64_t max_live, oh_time now,
              int64_t *cost)
{
    unsigned n = 0;
    bool young = !pressure(); /* else the scavenge filter decides */
    uint32_t nids = seg_count_ids();
    for (uint32_t id = expire_candidate_pop(); id != SEG_NIL;
         id = expire_candidate_pop()) {
        struct seg *s = seg_at(id);
        if (clean_ok(s, max_live)) {
            cand_offer(c, &n, (struct clean_cand){id, true, UINT64_MAX});
        }
        if (n == GEN_JOB_SRC_MAX) {
            break;
        }
    }
    for (uint32_t i = 0; i < CLEAN_SCAN && i < nids; i++) {
        if (eng.compact_cursor >= nids) {
            eng.compact_cursor = 0;
        }
        uint32_t id = eng.compact_cursor++;
        struct seg *s = seg_at(id);
        *cost += SEGCHECK_NS;
        if ((s->state == SEG_OLD || young) && clean_ok(s, max_live) &&
            !s->cand && id != eng.young_open) {
            cand_offer(c, &n,
                       (struct clean_cand){id, false, clean_score(s, now)});
        }
    }
    return n;
}

/* Returns the number of leading candidates to merge: the prefix that frees
 * the most segments per byte copied (the open merge target's free room
 * counts), or 0 if none frees one. */
static unsigned
clean_prefix(const struct clean_cand *c, unsigned n)
{
    uint64_t limit = eng.seg_size - eng.seg_size / 64, room = 0, sum = 0;
    uint64_t best_freed = 0, best_sum = 1;
    unsigned best = 0;
    if (eng.merge_open != SEG_NIL) {
        room = eng.seg_size - seg_at(eng.merge_open)->wpos;
    }
    for (unsigned p = 1; p <= n; p++) {
        sum += seg_at(c[p - 1].id)->live_bytes;
        uint64_t rest = sum > room ? sum - room : 0;
        uint64_t need = (rest + limit - 1) / limit;
        uint64_t freed = p > need ? p - need : 0;
        /* freed / sum >= best_freed / best_sum, ties to more freed */
        if (freed > 0 && freed * best_sum >= best_freed * sum) {
            best = p;
            best_freed = freed;
            best_sum = sum > 0 ? sum : 1;
        }
    }
    return best;
}

/* Starts a compaction of the best candidates whose live share is at most
 * max_pct (bounds the write amplification: at most 1 / (1 - max_pct)
 * bytes copied per byte freed). Returns true if a job started. */
static bool
start_clean(oh_time now, unsigned max_pct, int64_t *cost)
{
    struct clean_cand c[GEN_JOB_SRC_MAX];
    uint64_t max_live = (uint64_t)eng.seg_size * max_pct / 100;
    unsigned n = clean_collect(c, max_live, now, cost);
    unsigned p = clean_prefix(c, n);
    for (unsigned i = p; i < n; i++) {
        if (c[i].queued) {
            expire_candidate_push(c[i].id);
        }
    }
    if (p == 0) {
        return false;
    }
    for (unsigned i = 0; i < p; i++) {
        job_add_src(c[i].id);
    }
    return start_merge(JOB_COMPACT, now);
}

/* Returns the bytes of sealed old segments not holding live items: dead
 * copies (overwrites, deletes, expiry sweeps) and unwritten tails. */
static uint64_t
old_waste(void)
{
    uint64_t bytes = (uint64_t)eng.old.n * eng.seg_size;
    uint64_t open = 0;
    for (unsigned i = 0; i < eng.ttl_slots; i++) {
        if (eng.ttl_open[i] != SEG_NIL) {
            open += eng.seg_size - seg_at(eng.ttl_open[i])->live_bytes;
        }
    }
    if (eng.merge_open != SEG_NIL) {
        open += eng.seg_size - seg_at(eng.merge_open)->live_bytes;
    }
    uint64_t live = eng.gen_live[1] + open;
    return bytes > live ? bytes - live : 0;
}

/* Returns true if background cleaning is due: the waste in sealed old
 * segments is over CLEAN_WASTE_PCT of them (and over one segment). */
static bool
clean_due(void)
{
    uint64_t w = old_waste();
    uint64_t old = (uint64_t)eng.old.n * eng.seg_size;
    return w > eng.seg_size && w * 100 > old * CLEAN_WASTE_PCT;
}

/* Returns true if a pick may be tried again after a fruitless one: some
 * time passed or a segment's worth of waste appeared since. */
static bool
clean_retry_ok(oh_time now)
{
    return now >= eng.clean_retry ||
           old_waste() > eng.clean_retry_waste + eng.seg_size;
}

/* Starts the most needed job, if any. */
static void
job_pick(oh_time now, int64_t *cost)
{
    uint64_t used = gen_mem_used();
    bool over =
        eng.maxmemory != 0 && !eng.noevict && used + headroom() > eng.maxmemory;
    bool stuck = eng.noevict && !room_for(eng.seg_size);
    bool target = eng.merge_open != SEG_NIL || room_for(eng.seg_size);
    int retagged = 0;
    while (retagged < RETAG_MAX && !stuck &&
           gen_young_bytes() > young_target() && retag_young(now, cost)) {
        retagged++;
    }
    if (retagged == RETAG_MAX) {
        return; /* the next pick may move more whole instead of copying */
    }
    if (!stuck && gen_young_bytes() > young_target() && start_scavenge()) {
        return;
    }
    /* short of memory: squeeze dead copies out of the log before evicting
     * live items, as long as that frees a segment per few copied */
    if (over && target && start_clean(now, CLEAN_LIVE_PRESS_PCT, cost)) {
        return;
    }
    if (over && start_evict(now)) {
        return;
    }
    /* in the background: when the waste is over its target (or a sweep
     * left sparse segments), else only segments under compact_pct live */
    bool queued = expire_candidates() > 0;
    if (!(eng.maxmemory == 0 || eng.noevict || target) ||
        (!clean_retry_ok(now) && !queued)) {
        return;
    }
    unsigned pct = queued || clean_due() ? CLEAN_LIVE_MAX_PCT : eng.compact_pct;
    if (!start_clean(now, pct, cost)) {
        eng.clean_retry = now + CLEAN_RETRY_MS;
        eng.clean_retry_waste = old_waste();
    }
}

/* ---- the step ---- */

void
gen_assist(oh_time now)
{
    /* only within two segments of the limit, where a writer would
     * otherwise soon have to drop a segment */
    if (eng.maxmemory == 0 || eng.noevict ||
        gen_mem_used() + 2ull * eng.seg_size <= eng.maxmemory) {
        return;
    }
    if (eng.job.kind == JOB_NONE) {
        /* the cheap starts only (the cleaner scores many segments) */
        bool young = eng.young.n >= 2 && gen_young_bytes() > young_target();
        if (!(young && start_scavenge()) && !start_evict(now)) {
            return;
        }
    }
    int64_t budget = ASSIST_NS;
    job_run(now, &budget);
}

/* Drops whole segments while over maxmemory (it was lowered). */
static void
enforce_limit(int64_t *budget)
{
    while (!eng.noevict && eng.maxmemory != 0 && budget_left(budget) &&
           gen_mem_used() > eng.maxmemory) {
        if (index_release_pending()) {
            index_release(budget); /* dead index memory before data */
            continue;
        }
        uint32_t id = pick_victim();
        if (id == SEG_NIL) {
            return;
        }
        evict_seg(id);
        *budget -= DROP_NS;
    }
}

/* Frees queued large values with up to a quarter of the budget. */
static void
reap_larges(int64_t *budget)
{
    if (!seg_large_reap_pending() || !budget_left(budget)) {
        return;
    }
    int64_t n = *budget / 4 / REAP_NS;
    *budget -= (int64_t)seg_large_reap(n > 0 ? (uint32_t)n : 1) * REAP_NS;
}

bool
gen_step(oh_time now, int64_t *budget)
{
    int64_t cost = 0;
    if (pressure() && index_release_pending() && budget_left(budget)) {
        index_release(budget); /* dead index memory before live items */
    }
    reap_larges(budget);
    bool due = false;
    if (!eng.lazy_expiry) {
        int64_t share = *budget * 3 / 4, share0 = share;
        uint64_t saved = budget_share(75);
        due = expire_step(now, &share);
        budget_share_end(saved);
        *budget -= share0 - share;
    }
    enforce_limit(budget);
    if (eng.job.kind == JOB_NONE && budget_left(budget)) {
        job_pick(now, &cost);
        *budget -= cost;
    }
    bool more = job_run(now, budget);
    bool stuck = eng.noevict && !room_for(eng.seg_size);
    if (due && budget_left(budget)) {
        due = expire_step(now, budget);
    }
    bool clean =
        eng.job.kind == JOB_NONE &&
        (expire_candidates() > 0 || (clean_retry_ok(now) && clean_due()));
    return more || due || clean || seg_large_reap_pending() ||
           (!stuck && eng.young.n >= 2 && gen_young_bytes() > young_target()) ||
           (eng.maxmemory != 0 && gen_mem_used() > eng.maxmemory &&
            !eng.noevict);
}

/* ---- pre-faulting ---- */

/* Pre-faults one chunk ahead of segment id's write position if needed.
 * Returns true if it did. */
static bool
prefault_one(uint32_t id, int64_t *budget)
{
    if (id == SEG_NIL || !budget_left(budget)) {
        return false;
    }
    if (!seg_prefault(id, seg_at(id)->wpos + PREFAULT_AHEAD)) {
        return false;
    }
    *budget -= PREFAULT_NS;
    return true;
}

void
gen_prefault(int64_t *budget)
{
    bool more = true;
    while (more && budget_left(budget)) {
        more = prefault_one(eng.young_open, budget);
        more = prefault_one(eng.merge_open, budget) || more;
        more = prefault_one(eng.job.dst, budget) || more;
    }
    for (unsigned i = 0; i < PREFAULT_SLOTS && eng.ttl_slots > 0; i++) {
        unsigned slot = eng.prefault_slot++ % eng.ttl_slots;
        while (prefault_one(eng.ttl_open[slot], budget)) {
        }
    }
}

/* ---- flush ---- */

static void
flush_list(struct seg_list *l)
{
    while (l->head != SEG_NIL) {
        uint32_t id = l->head;
        seg_at(id)->busy = 0;
        seal(id);
        seg_list_remove(l, id);
        if (seg_at(id)->pins > 0) {
            seg_retire(id);
        } else {
            seg_return(id);
        }
    }
}

void
gen_flush(void)
{
    memset(&eng.job, 0, sizeof(eng.job));
    eng.job.dst = SEG_NIL;
    expire_flush();
    flush_list(&eng.young);
    flush_list(&eng.old);
    eng.young_open = SEG_NIL;
    eng.merge_open = SEG_NIL;
    for (unsigned i = 0; i < GEN_TTL_SLOTS_MAX; i++) {
        eng.ttl_open[i] = SEG_NIL;
    }
    eng.count = 0;
    eng.ttl_count = 0;
    eng.gen_live[0] = eng.gen_live[1] = 0;
}
