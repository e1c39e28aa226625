/*
 * traits.h — traits merged by event time (DESIGN 4): per trait, the value of
 * the latest event wins, whatever the order messages arrive in. Each traits
 * object has a companion object of times (trait -> "YYYY-MM-DDTHH:MM:SS.ffffffZ",
 * fixed width, so comparing the strings compares the times).
 */
#ifndef CDP_TRAITS_H
#define CDP_TRAITS_H

#include "utils/jsonb.h"

/*
 * Merges b into a. b_times gives the time of each of b's traits, or is NULL
 * and b_time applies to all of them. On equal times b wins if b_wins_ties.
 * Returns false (and leaves the outputs NULL) when no trait of b wins.
 */
extern bool cdp_traits_merge(Jsonb *a_traits, Jsonb *a_times,
							 Jsonb *b_traits, Jsonb *b_times, const char *b_time,
							 bool b_wins_ties, Jsonb **out_traits, Jsonb **out_times);

#endif							/* CDP_TRAITS_H */
