/* budget.h: the real-time bound of one engine_step. Background work is
 * charged in estimated nanoseconds against an int64_t budget the caller
 * passes down (deterministic: unit tests drive it by hand). When the
 * server installs a clock (engine_set_clock), engine_step also opens a
 * real deadline, and every loop of background work asks budget_left()
 * before its next unit, so a step ends at the deadline even when the
 * estimates undercount (cache misses, page faults, a preempted vCPU).
 * Without a clock budget_late() is always false. See budget.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Returns a monotonic time in nanoseconds (the server passes
 * CLOCK_MONOTONIC, read through the vDSO: ~20 ns). */
typedef uint64_t budget_clock_fn(void);

/* State of the current step's deadline (one instance, touched only by
 * the event-loop thread; read through the inline functions below). */
struct budget_deadline {
    budget_clock_fn *clock; /* NULL: estimates only */
    uint64_t start;         /* clock at budget_begin() (ns) */
    uint64_t end;           /* the deadline (ns) */
    bool active;            /* between budget_begin() and budget_end() */
    bool late;              /* the deadline passed (sticky until the end) */
};
extern struct budget_deadline budget_dl;

/* Installs the clock (NULL removes it). */
void budget_set_clock(budget_clock_fn *fn);
/* Opens a deadline `ns` from now, if a clock is installed. */
void budget_begin(uint64_t ns);
/* Closes the deadline. Returns the nanoseconds since budget_begin() by
 * the clock, or -1 without a clock. */
int64_t budget_end(void);
/* Reads the clock and returns true if the deadline has passed. */
bool budget_check(void);
/* Narrows the deadline to `pct` percent of the time left (a share for one
 * part of the step, so it cannot starve the rest when its estimates
 * undercount). Returns the deadline to restore with budget_share_end(). */
uint64_t budget_share(unsigned pct);
/* Restores the deadline budget_share() returned; the step is late again
 * only if that one has passed. */
void budget_share_end(uint64_t saved);

/* Returns true once the step's real deadline has passed. Reads the clock
 * at every call while a deadline is open: call it once per unit of work
 * (an item copied, a bucket moved, a madvise), not per byte. */
static inline bool
budget_late(void)
{
    if (!budget_dl.active) {
        return false;
    }
    return budget_dl.late || budget_check();
}

/* Returns true if estimated budget remains and the deadline has not
 * passed: the loop condition of every piece of background work. */
static inline bool
budget_left(const int64_t *ns)
{
    return *ns > 0 && !budget_late();
}

/* Returns true if `ns` more nanoseconds of work fit before the deadline
 * (always true without one): asked before a unit known to be long (a
 * large item copy), which then waits for the next step. Within the first
 * eighth of its time a step always gets the unit, so every step
 * progresses. */
bool budget_room(uint64_t ns);
