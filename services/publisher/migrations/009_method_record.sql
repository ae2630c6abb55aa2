-- What each check method requires (检查方式记录): the place of an on-site check, the documents
-- of a documents check, the URL or platform of an online one (their captures and a commissioned
-- check's report are attachments of that kind, in `attachments`). Results recorded before it
-- was asked for have none.
ALTER TABLE results ADD COLUMN IF NOT EXISTS method_record jsonb;
