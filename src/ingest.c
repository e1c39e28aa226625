/*
 * ingest.c — message ingestion: settings that bound what one message or one
 * batch may carry.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "cdp.h"
#include "ingest.h"

int			cdp_max_payload_bytes = 1024 * 1024;
int			cdp_max_properties = 1000;
int			cdp_max_message_id_length = 255;
int			cdp_max_batch_messages = 100000;

void
cdp_ingest_init(void)
{
	DefineCustomIntVariable("cdp.max_payload_bytes",
							"Largest accepted message, in bytes of its JSON text.",
							"Larger messages are quarantined with SQLSTATE 54000.",
							&cdp_max_payload_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_USERSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_properties",
							"Most top-level keys accepted in properties or traits of one message.",
							NULL,
							&cdp_max_properties,
							1000, 1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_message_id_length",
							"Longest accepted messageId, in bytes.",
							NULL,
							&cdp_max_message_id_length,
							255, 16, 4096,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_batch_messages",
							"Most messages accepted in one cdp.ingest_batch call.",
							"A larger batch is refused whole with SQLSTATE 54000.",
							&cdp_max_batch_messages,
							100000, 1, 10000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(cdp_ingest);
PG_FUNCTION_INFO_V1(cdp_ingest_batch);

Datum
cdp_ingest(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cdp.ingest is not implemented yet")));
	PG_RETURN_NULL();
}

Datum
cdp_ingest_batch(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cdp.ingest_batch is not implemented yet")));
	PG_RETURN_NULL();
}
