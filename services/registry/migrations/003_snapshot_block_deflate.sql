-- Blocks of candidate lists may be stored deflated (zlib): a province's lists are 80 MB of
-- digits and capitals that deflate to a third, and writing them is most of a freeze's cost
-- beyond the query. Blocks written before this migration are plain text.
ALTER TABLE snapshot_block ADD COLUMN deflated boolean NOT NULL DEFAULT false;
