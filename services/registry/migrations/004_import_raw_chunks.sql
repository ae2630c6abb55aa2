-- Plain CSV chunks of entities are staged as text in a table of their own
-- (stage_<import>_<chunk>, see rawstage.py); this is the file line of such a chunk's first
-- record, NULL for a chunk staged in the typed staging table.
ALTER TABLE import_chunk ADD COLUMN raw_first_line integer;
