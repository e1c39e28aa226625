/*
 * heapkeep.h — a backend that ingests keeps the heap memory it frees (see heapkeep.c).
 */
#ifndef CDP_HEAPKEEP_H
#define CDP_HEAPKEEP_H

extern void cdp_heapkeep_init(void);
extern void cdp_heapkeep_apply(void);

#endif							/* CDP_HEAPKEEP_H */
