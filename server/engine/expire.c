/*
 * expire.c -- proactive expiry: a heap of segments by due time, sweeps.
 *
 * Problem: a segment is freed whole once its last item expires, but items
 * often share a segment with live or longer-lived ones (the open young
 * segment, young segments in general, old segments whose TTL slot mixes
 * expiry buckets). Their memory and their index entries (DBSIZE) must go
 * within about a second of their expiry, never before it, without sampling
 * keys and without scanning all of them.
 *
 * Layout: every segment holding an item with an expiry has a due time,
 * exp_next, and sits in a binary min-heap of segment ids keyed by it
 * (seg.heap_pos is its position + 1):
 *
 *   heap: [s7 @T+0] [s2 @T+40] [s9 @T+55] ...     exp_next = heap key
 *           | due (exp_next <= now)
 *           v
 *   whole?  all expired (no persistent item, max_exp <= now): drop it, O(1)
 *           will be soon (max_exp <= now + WHOLE_WAIT_MS): wait for that
 *           no live item left: drop it, O(1)
 *   else    queue it for a sweep (whole frees of other due segments go
 *           first: they are O(1)), then sweep: walk its items from
 *           sweep_from in slices; an expired
 *           item is looked up and removed from the index if live;
 *           unexpired items cost only a parse (no lookup)
 *   after   empty: drop; live bytes < SWEEP_SPARSE_PCT: queue it for
 *           compaction (copied out by gen.c's copy jobs, then freed);
 *           re-key at max(least unexpired expiry, now + gap)
 *
 * A write notes its expiry (expire_note, decrease-key); so does an EXPIRE
 * in place and the death of a segment's last live item (key 0: "now").
 *
 * Sorted segments: seg.sorted says expiries never decrease with the offset
 * (an item without expiry counts as +inf); appends keep it when TTLs are
 * uniform (TTL slots, promotion in write order) and an in-place EXPIRE
 * clears it. A sweep of a sorted segment stops at its first unexpired item
 * and sweep_from skips the leading run of items already dead, so sweeping
 * it costs O(items expired since the last sweep). An unsorted segment is
 * walked to its end (up to its write position when the sweep started;
 * later appends are folded into the next due time) and waits a gap of an
 * eighth of its age (SWEEP_GAP_MIN_MS .. SWEEP_GAP_MAX_MS) before the next
 * sweep, which bounds the re-walks of a segment whose expiries are spread.
 *
 * Invariants: a segment in state YOUNG or OLD that may hold a live item
 * with an expiry is in the heap or being swept; a segment leaving the
 * generations is forgotten first (expire_forget); nothing is removed
 * before its expiry (each item's own expiry is checked against `now`); the
 * sweep never looks past the write position it started with.
 *
 * Cost and budget: finding work is O(1) (heap top) plus O(log segments)
 * per re-key; a sweep charges SWEEP_ITEM_NS per item parsed and
 * SWEEP_KILL_NS per expired item looked up, against the caller's budget,
 * and resumes at its cursor on the next step. It parses SWEEP_AHEAD items
 * ahead of its cursor and prefetches the index buckets of the expired
 * ones, so a kill rarely waits for a bucket (the index is larger than the
 * cache when it matters). While expiry has due work, an index shrink keeps
 * its usual share of a step (engine.c): a shrink frees its memory only at
 * its end, expiry a segment at a time. On the server it also stops
 * at the step's real deadline (budget.c): the loops ask budget_left()
 * before each unit, a sweep every SWEEP_CLOCK_EVERY items (a parse is
 * ~30 ns, a clock read ~20).
 *
 * Rejected: sampling keys (Redis: a stale tail lingers, costs grow with
 * the key count); a scan of every segment id per cycle (O(segments) each
 * time, and it only ever freed whole segments); per-item expiry lists
 * (8+ B per item); TTL buckets rounded down (Segcache: expires early).
 */
#include "expire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "budget.h"
#include "gen.h"
#include "index.h"
#include "item.h"
#include "seg.h"

/* clang-format off */
#define WHOLE_WAIT_MS    1000 /* ms to wait for a whole-segment free */
#define SWEEP_GAP_MIN_MS 100  /* least ms between sweeps of a segment */
#define SWEEP_GAP_MAX_MS 1000 /* most ms between sweeps of a segment */
#define BUSY_RETRY_MS    50   /* ms: a job's source or target, look again */
#define SWEEP_SPARSE_PCT 50   /* live %: below it a swept seg is compacted */
#define SWEEP_ITEM_NS    30   /* per item parsed by a sweep */
#define SWEEP_KILL_NS    240  /* per expired item looked up and removed */
#define HEAP_NS          60   /* per heap operation */
#define CAND_MAX         256  /* compaction candidates queued */
#define SWEEP_CLOCK_EVERY 4   /* items a sweep parses per clock read */
#define SWEEP_AHEAD      8    /* items a sweep parses (and prefetches) ahead */
#define SWEEPQ_MAX       1024 /* due segments queued for a sweep */
#define EXP_NEVER        INT64_MAX
/* clang-format on */

struct sweep {
    uint32_t id;      /* segment being swept, SEG_NIL if none */
    uint32_t off;     /* next item */
    uint32_t end;     /* write position when the sweep started */
    oh_time min_next; /* least unexpired expiry seen (or noted) */
    bool lead;        /* still in the leading run of dead items */
    /* look-ahead: the items [off, ahead) were parsed ahead, the index
     * buckets of the expired ones prefetched; hash[i % SWEEP_AHEAD] is the
     * hash of the i-th of them (0: not expired at the time) */
    uint32_t ahead;
    unsigned nahead, first;
    uint64_t hash[SWEEP_AHEAD];
};

static struct {
    uint32_t *heap; /* SEG_MAX ids of address space, pages on demand */
    uint32_t n;
    struct sweep sw;
    uint32_t cand[CAND_MAX];
    unsigned cand_head, cand_n;
    uint32_t q[SWEEPQ_MAX]; /* due segments waiting for a sweep */
    unsigned q_head, q_n;
    bool ready;
} ex;

static uint32_t queue_pop(void);

/* ---- heap ---- */

static inline oh_time
key_of(uint32_t id)
{
    return seg_at(id)->exp_next;
}

static inline void
heap_place(uint32_t pos, uint32_t id)
{
    ex.heap[pos] = id;
    seg_at(id)->heap_pos = pos + 1;
}

static void
sift_up(uint32_t pos)
{
    uint32_t id = ex.heap[pos];
    oh_time k = key_of(id);
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (key_of(ex.heap[parent]) <= k) {
            break;
        }
        heap_place(pos, ex.heap[parent]);
        pos = parent;
    }
    heap_place(pos, id);
}

static void
sift_down(uint32_t pos)
{
    uint32_t id = ex.heap[pos];
    oh_time k = key_of(id);
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= ex.n) {
            break;
        }
        if (c + 1 < ex.n && key_of(ex.heap[c + 1]) < key_of(ex.heap[c])) {
            c++;
        }
        if (key_of(ex.heap[c]) >= k) {
            break;
        }
        heap_place(pos, ex.heap[c]);
        pos = c;
    }
    heap_place(pos, id);
}

static void
heap_remove(uint32_t id)
{
    struct seg *s = seg_at(id);
    uint32_t pos = s->heap_pos - 1;
    s->heap_pos = 0;
    uint32_t last = ex.heap[--ex.n];
    if (pos == ex.n) {
        return;
    }
    heap_place(pos, last);
    sift_down(pos);
    sift_up(seg_at(last)->heap_pos - 1);
}

/* Sets the due time of segment id (inserting it if absent). */
static void
heap_set(uint32_t id, oh_time at)
{
    struct seg *s = seg_at(id);
    oh_time old = s->exp_next;
    s->exp_next = at;
    if (s->heap_pos == 0) {
        heap_place(ex.n++, id);
        sift_up(ex.n - 1);
    } else if (at < old) {
        sift_up(s->heap_pos - 1);
    } else {
        sift_down(s->heap_pos - 1);
    }
}

/* ---- setup ---- */

int
expire_setup(void)
{
    if (ex.ready) {
        expire_teardown();
    }
    memset(&ex, 0, sizeof(ex));
    void *p =
        mmap(NULL, (size_t)SEG_MAX * sizeof(uint32_t), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return OH_NOMEM;
    }
    ex.heap = p;
    ex.sw.id = SEG_NIL;
    ex.ready = true;
    return 0;
}

void
expire_teardown(void)
{
    if (!ex.ready) {
        return;
    }
    munmap(ex.heap, (size_t)SEG_MAX * sizeof(uint32_t));
    memset(&ex, 0, sizeof(ex));
}

void
expire_flush(void)
{
    while (ex.n > 0) {
        seg_at(ex.heap[--ex.n])->heap_pos = 0;
    }
    while (ex.q_n > 0) {
        queue_pop();
    }
    ex.sw.id = SEG_NIL;
    ex.cand_n = 0;
}

uint32_t
expire_heap_size(void)
{
    return ex.n;
}

/* ---- notes ---- */

void
expire_note(uint32_t id, oh_time at)
{
    if (!ex.ready) {
        return;
    }
    if (ex.sw.id == id) {
        ex.sw.min_next = at < ex.sw.min_next ? at : ex.sw.min_next;
        return;
    }
    struct seg *s = seg_at(id);
    if (s->sweepq) {
        return; /* the queued sweep will parse that item */
    }
    if (s->heap_pos == 0 || at < s->exp_next) {
        heap_set(id, at);
    }
}

void
expire_forget(uint32_t id)
{
    if (!ex.ready) {
        return;
    }
    if (ex.sw.id == id) {
        ex.sw.id = SEG_NIL;
    }
    seg_at(id)->sweepq = 0;
    if (seg_at(id)->heap_pos != 0) {
        heap_remove(id);
    }
    seg_at(id)->exp_next = EXP_NEVER;
}

/* ---- candidates ---- */

void
expire_candidate_push(uint32_t id)
{
    struct seg *s = seg_at(id);
    if (s->cand || ex.cand_n == CAND_MAX) {
        return;
    }
    s->cand = 1;
    ex.cand[(ex.cand_head + ex.cand_n++) % CAND_MAX] = id;
}

uint32_t
expire_candidates(void)
{
    return ex.cand_n;
}

uint32_t
expire_candidate_pop(void)
{
    while (ex.cand_n > 0) {
        uint32_t id = ex.cand[ex.cand_head];
        ex.cand_head = (ex.cand_head + 1) % CAND_MAX;
        ex.cand_n--;
        struct seg *s = seg_at(id);
        bool was = s->cand;
        s->cand = 0;
        if (was && (s->state == SEG_YOUNG || s->state == SEG_OLD) && !s->busy) {
            return id;
        }
    }
    return SEG_NIL;
}

/* ---- whole segments ---- */

static bool
all_expired(const struct seg *s, oh_time now)
{
    return !s->persist && s->wpos > 0 && s->max_exp <= now;
}

typedef enum { DUE_GONE, DUE_WAIT, DUE_SWEEP } due_rc;

/* Decides about a due segment without sweeping it: frees it whole
 * (DUE_GONE), gives a later due time in *at (DUE_WAIT), or says it needs a
 * sweep. */
static due_rc
due_whole(uint32_t id, oh_time now, oh_time *at)
{
    struct seg *s = seg_at(id);
    if (s->state != SEG_YOUNG && s->state != SEG_OLD) {
        expire_forget(id);
        return DUE_GONE;
    }
    if (s->busy) {
        *at = now + BUSY_RETRY_MS;
        return DUE_WAIT;
    }
    if (all_expired(s, now)) {
        gen_drop(id, true);
        return DUE_GONE;
    }
    if (s->live_items == 0 && s->wpos > 0) {
        gen_drop(id, false);
        return DUE_GONE;
    }
    if (!s->persist && s->max_exp <= now + WHOLE_WAIT_MS) {
        *at = s->max_exp;
        return DUE_WAIT;
    }
    return DUE_SWEEP;
}

unsigned
expire_reclaim(oh_time now, unsigned max)
{
    unsigned freed = 0;
    for (unsigned i = 0; ex.ready && i < max && ex.n > 0; i++) {
        uint32_t id = ex.heap[0];
        oh_time at = now + 1; /* a sweep is left to the background */
        if (key_of(id) > now) {
            break;
        }
        due_rc rc = due_whole(id, now, &at);
        if (rc != DUE_GONE) {
            heap_set(id, at);
        }
        freed += rc == DUE_GONE;
    }
    return freed;
}

/* ---- sweep queue ---- */

/* Moves due segment id from the heap to the sweep queue (or, if that is
 * full, looks at it again in a millisecond). */
static void
queue_push(uint32_t id, oh_time now)
{
    struct seg *s = seg_at(id);
    if (ex.q_n == SWEEPQ_MAX) {
        heap_set(id, now + 1);
        return;
    }
    heap_remove(id);
    s->exp_next = EXP_NEVER;
    s->sweepq = 1;
    ex.q[(ex.q_head + ex.q_n++) % SWEEPQ_MAX] = id;
}

static uint32_t
queue_pop(void)
{
    while (ex.q_n > 0) {
        uint32_t id = ex.q[ex.q_head];
        ex.q_head = (ex.q_head + 1) % SWEEPQ_MAX;
        ex.q_n--;
        if (seg_at(id)->sweepq) {
            seg_at(id)->sweepq = 0;
            return id;
        }
    }
    return SEG_NIL;
}

/* ---- sweep ---- */

/* Starts sweeping the next queued segment that still needs it. Returns
 * false if none. */
static bool
sweep_start(oh_time now, int64_t *budget)
{
    while (!budget_late()) {
        uint32_t id = queue_pop();
        if (id == SEG_NIL) {
            break;
        }
        oh_time at = EXP_NEVER;
        *budget -= HEAP_NS;
        due_rc rc = due_whole(id, now, &at);
        if (rc == DUE_WAIT) {
            heap_set(id, at);
        } else if (rc == DUE_SWEEP) {
            struct seg *s = seg_at(id);
            ex.sw = (struct sweep){id, s->sweep_from, s->wpos, EXP_NEVER, true};
            return true;
        }
    }
    return false;
}

/* Removes the item at `off` of segment id (key hash `hash`) from the
 * index if it is live. */
static int64_t
kill_expired(uint32_t id, uint32_t off, const struct item_view *v,
             uint64_t hash)
{
    uint64_t *slot = index_lookup(v->key, v->klen, hash, NULL);
    if (slot != NULL && slot_seg(*slot) == id && slot_off(*slot) == off) {
        INCR(&eng.m, engine_expired);
        INCR(&eng.m, engine_expired_swept);
        gen_kill(slot, false);
    }
    return SWEEP_KILL_NS;
}

/* Parses ahead of the sweep's cursor up to SWEEP_AHEAD items and starts
 * fetching the index buckets of the expired ones, so the kills a few items
 * later find them cached (a bucket miss was most of a kill's cost). */
static void
sweep_look_ahead(struct sweep *sw, const struct seg *s, oh_time now)
{
    while (sw->nahead < SWEEP_AHEAD && sw->ahead < sw->end) {
        struct item_view v;
        item_parse(s->mem + sw->ahead, &s->bases, &v);
        uint64_t h = 0;
        if (item_expired(v.expire_at, now)) {
            h = index_hash(v.key, v.klen);
            index_prefetch(h, false);
        }
        sw->hash[(sw->first + sw->nahead) % SWEEP_AHEAD] = h;
        sw->nahead++;
        sw->ahead += v.total;
    }
}

/* The hash of the key at the cursor (parsed ahead), consumed. */
static uint64_t
sweep_take_hash(struct sweep *sw, const struct item_view *v)
{
    uint64_t h = sw->nahead > 0 ? sw->hash[sw->first] : 0;
    if (sw->nahead > 0) {
        sw->first = (sw->first + 1) % SWEEP_AHEAD;
        sw->nahead--;
    }
    return h != 0 ? h : index_hash(v->key, v->klen);
}

/* Sweeps items until the budget is spent. Returns true when done. */
static bool
sweep_slice(oh_time now, int64_t *budget)
{
    struct sweep *sw = &ex.sw;
    struct seg *s = seg_at(sw->id);
    if (sw->ahead < sw->off) { /* a new sweep, or resumed past its look */
        sw->ahead = sw->off;
        sw->nahead = 0;
        sw->first = 0;
    }
    /* the clock is read every SWEEP_CLOCK_EVERY items (a parse is ~30 ns) */
    for (unsigned n = 0; *budget > 0 && sw->off < sw->end; n++) {
        if (n % SWEEP_CLOCK_EVERY == 0 && budget_late()) {
            break;
        }
        if (s->live_items == 0 || s->live_ttl == 0) {
            return true; /* nothing left that can expire */
        }
        sweep_look_ahead(sw, s, now);
        /* parsed again, not taken from the look-ahead: an EXPIRE or
         * PERSIST in place since then must count */
        struct item_view v;
        item_parse(s->mem + sw->off, &s->bases, &v);
        uint64_t h = sweep_take_hash(sw, &v);
        if (item_expired(v.expire_at, now)) {
            *budget -= kill_expired(sw->id, sw->off, &v, h);
            sw->off += v.total;
            if (sw->lead) {
                s->sweep_from = sw->off;
            }
            continue;
        }
        *budget -= SWEEP_ITEM_NS;
        sw->lead = false;
        if (v.expire_at != OH_TIME_NONE && v.expire_at < sw->min_next) {
            sw->min_next = v.expire_at;
        }
        if (s->sorted) {
            return true; /* everything after it expires later */
        }
        sw->off += v.total;
    }
    return sw->off >= sw->end;
}

static oh_time
sweep_gap(const struct seg *s, oh_time now)
{
    oh_time gap = s->sorted ? SWEEP_GAP_MIN_MS : (now - s->bases.base) / 8;
    gap = gap < SWEEP_GAP_MIN_MS ? SWEEP_GAP_MIN_MS : gap;
    return gap > SWEEP_GAP_MAX_MS ? SWEEP_GAP_MAX_MS : gap;
}

static void
sweep_finish(oh_time now)
{
    uint32_t id = ex.sw.id;
    oh_time next = ex.sw.min_next;
    struct seg *s = seg_at(id);
    ex.sw.id = SEG_NIL;
    INCR(&eng.m, engine_expire_sweeps);
    if (s->live_items == 0 && !s->busy) {
        gen_drop(id, false);
        return;
    }
    uint64_t sparse = (uint64_t)eng.seg_size * SWEEP_SPARSE_PCT / 100;
    uint32_t dead = s->wpos - s->live_bytes;
    if (s->live_bytes < sparse && dead >= eng.seg_size / 4) {
        expire_candidate_push(id);
    }
    if (next == EXP_NEVER && s->live_ttl == 0) {
        return; /* nothing in it can expire: out of the heap */
    }
    oh_time soonest = now + sweep_gap(s, now);
    heap_set(id, next > soonest ? next : soonest);
}

/* Handles the due segments at the heap top: whole frees and re-keys at
 * once, sweeps queued. */
static void
due_drain(oh_time now, int64_t *budget)
{
    while (ex.n > 0 && key_of(ex.heap[0]) <= now && budget_left(budget)) {
        uint32_t id = ex.heap[0];
        oh_time at = EXP_NEVER;
        *budget -= HEAP_NS;
        due_rc rc = due_whole(id, now, &at);
        if (rc == DUE_WAIT) {
            heap_set(id, at);
        } else if (rc == DUE_SWEEP) {
            queue_push(id, now);
        }
    }
}

bool
expire_pending(oh_time now)
{
    return ex.ready && (ex.sw.id != SEG_NIL || ex.q_n > 0 ||
                        (ex.n > 0 && key_of(ex.heap[0]) <= now));
}

bool
expire_step(oh_time now, int64_t *budget)
{
    while (ex.ready && budget_left(budget)) {
        due_drain(now, budget);
        if (ex.sw.id == SEG_NIL && !sweep_start(now, budget)) {
            break;
        }
        if (budget_left(budget) && sweep_slice(now, budget)) {
            sweep_finish(now);
            *budget -= HEAP_NS;
        }
    }
    return expire_pending(now);
}
