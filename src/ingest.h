/*
 * ingest.h — message ingestion (cdp.ingest / cdp.ingest_batch).
 */
#ifndef CDP_INGEST_H
#define CDP_INGEST_H

/* Limits, settable per session or in postgresql.conf (see docs/ingestion.md). */
extern int	cdp_max_payload_bytes;
extern int	cdp_max_properties;
extern int	cdp_max_message_id_length;
extern int	cdp_max_group_id_length;
extern int	cdp_max_batch_messages;

#endif							/* CDP_INGEST_H */
