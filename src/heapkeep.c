/*
 * heapkeep.c — a backend that ingests keeps the heap memory it frees.
 *
 * glibc's malloc gives the top of its heap back to the kernel (brk) when
 * more than M_TRIM_THRESHOLD of it is free after a free(), and serves
 * requests of M_MMAP_THRESHOLD or more with their own mmap/munmap. Both
 * start at 128 kB and adapt only after an mmap'ed chunk is freed, so which
 * backend trims depends on the history of its heap. Measured under
 * bench/single_ingest.sh (docs/performance-history.md, "Session 3, single-message pass"): a
 * backend running one cdp.ingest per transaction grew its heap by ~416 kB
 * during each transaction and trimmed it back at the end (three brk calls
 * per transaction), so each transaction faulted ~35 fresh pages in again:
 * ~0.5 ms of CPU per message on this 2-core VM, where a page fault is
 * costly, while the same sessions running the plain INSERT baseline did
 * not trim. So on its first cdp.ingest or cdp.ingest_batch call a backend
 * fixes both thresholds: it keeps up to cdp.ingest_heap_keep of free heap
 * for its next transactions, and requests under half of that plus 1 MB come
 * from the heap: with the default, a memory context's largest blocks (8 MB)
 * too, as glibc itself would decide after freeing one (it then sets the mmap
 * threshold to that chunk's size and the trim threshold to twice it).
 * Backends that never ingest keep malloc's defaults.
 *
 * Off by default (0): the trimming above came from the benchmark's own
 * message generator (a SQL function planned per call, ~416 kB of planning
 * memory per transaction); once the benchmark read prepared messages, the
 * setting made no difference (0.68 x vs 0.62 x the INSERT, noise), and
 * keeping 16 MB of freed heap in every ingesting backend is a cost a
 * deployment with hundreds of connections should choose, not inherit.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "utils/guc.h"

#include "heapkeep.h"

/* glibc refuses an M_MMAP_THRESHOLD above 32 MB on 64-bit platforms. */
#define MMAP_THRESHOLD_MAX_KB (32 * 1024)

static int	heap_keep_kb = 0;
static bool applied = false;

void
cdp_heapkeep_init(void)
{
	DefineCustomIntVariable("cdp.ingest_heap_keep",
							"Free heap memory a backend that ingests keeps for its next transactions instead of returning it to the kernel.",
							"Applied at the first cdp.ingest or cdp.ingest_batch call of a backend (glibc malloc: M_TRIM_THRESHOLD, and M_MMAP_THRESHOLD at half of it plus 1 MB). 0 leaves malloc's defaults.",
							&heap_keep_kb,
							0, 0, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

void
cdp_heapkeep_apply(void)
{
	if (applied)
		return;
	applied = true;
#ifdef __GLIBC__
	if (heap_keep_kb > 0)
	{
		(void) mallopt(M_MMAP_THRESHOLD, Min(heap_keep_kb / 2 + 1024, MMAP_THRESHOLD_MAX_KB) * 1024);
		(void) mallopt(M_TRIM_THRESHOLD, heap_keep_kb * 1024);
	}
#endif
}
