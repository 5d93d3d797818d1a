/*
 * budget.c -- a real deadline for each engine_step, beside the estimates.
 *
 * Problem: one engine_step must not hold the event loop for more than its
 * budget (50 us). Charging estimated costs per unit of work (item copied,
 * bucket moved, segment dropped) is deterministic and free, but measured
 * on the server it undercounts 2-5x: cache misses on cold items and
 * slots, page faults on fresh memory, a vCPU taken away mid-step. The
 * longest steps were 75-115 us on-CPU with the estimates alone.
 *
 * Layout: the server installs a clock (CLOCK_MONOTONIC through the vDSO,
 * ~20 ns a read on a TSC clocksource); engine_step calls budget_begin()
 * with its deadline and budget_end() when done:
 *
 *   engine_step --- budget_begin(deadline) -------------- budget_end()
 *     index_step:  while (budget_left(&ns)) move one chain   } shares:
 *     gen_step:    while (budget_left(&ns)) copy one item /  } narrower
 *                         |                 sweep one ...    } deadlines
 *                         `-- ns > 0 (estimate)  &&  clock < deadline
 *
 * Every loop of background work tests budget_left() before each unit, so
 * a step stops at whichever comes first, the estimated budget or the
 * real deadline. A part that goes first gets a share of the time left
 * (budget_share: the index's first slice, expiry before the copy jobs),
 * as it gets a share of the estimated budget: when its estimates
 * undercount, it must not take the whole step every time and starve the
 * rest (measured: a fake clock of 1 us per read let the index sweep take
 * every step; 822 k steps instead of ~2 k to finish the same work). The
 * estimates stay: they are the whole bound in unit tests (no clock:
 * deterministic, time moved by hand) and a second guard on the server.
 *
 * Invariants: budget_late() is false outside a step (writers' assists
 * run on estimates alone) and sticky once true within one; a step with
 * its first eighth of time left always gets a unit from budget_room(), so
 * every step progresses.
 *
 * Cost: one clock read per unit of work (units are >= ~50 ns; most are
 * 0.2-2 us), under 5 % of the step.
 *
 * Rejected: CLOCK_THREAD_CPUTIME_ID (on-CPU time, which M5 measures, but a
 * system call, ~0.3 us a read); rdtsc calibrated at start (no gain over
 * the vDSO's TSC read, and wrong across a frequency or host migration);
 * better estimates only (the spread is the problem, not the mean).
 */
#include "budget.h"

#include <stddef.h>

struct budget_deadline budget_dl;

void
budget_set_clock(budget_clock_fn *fn)
{
    budget_dl.clock = fn;
    budget_dl.active = false;
    budget_dl.late = false;
}

void
budget_begin(uint64_t ns)
{
    budget_dl.late = false;
    budget_dl.active = budget_dl.clock != NULL;
    if (budget_dl.active) {
        budget_dl.start = budget_dl.clock();
        budget_dl.end = budget_dl.start + ns;
    }
}

int64_t
budget_end(void)
{
    if (!budget_dl.active) {
        return -1;
    }
    budget_dl.active = false;
    budget_dl.late = false;
    return (int64_t)(budget_dl.clock() - budget_dl.start);
}

bool
budget_check(void)
{
    budget_dl.late = budget_dl.clock() >= budget_dl.end;
    return budget_dl.late;
}

uint64_t
budget_share(unsigned pct)
{
    uint64_t saved = budget_dl.end;
    if (!budget_dl.active || budget_dl.late) {
        return saved;
    }
    uint64_t now = budget_dl.clock();
    if (now < budget_dl.end) {
        budget_dl.end = now + (budget_dl.end - now) * pct / 100;
    }
    return saved;
}

void
budget_share_end(uint64_t saved)
{
    if (!budget_dl.active) {
        return;
    }
    if (budget_dl.end != saved) {
        budget_dl.late = false; /* it may only have been the share's */
    }
    budget_dl.end = saved;
}

bool
budget_room(uint64_t ns)
{
    if (!budget_dl.active) {
        return true;
    }
    uint64_t now = budget_dl.clock();
    if (now + ns <= budget_dl.end) {
        return true;
    }
    /* in its first eighth a step takes it anyway: every step progresses */
    return (now - budget_dl.start) * 8 < budget_dl.end - budget_dl.start;
}
