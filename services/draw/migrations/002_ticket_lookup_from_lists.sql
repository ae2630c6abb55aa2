-- A company's strata are found by searching the stored lists themselves (a few hundred blobs,
-- one sequential pass) instead of a per-candidate index: the index cost ~18 s and 5M rows per
-- province draw at commit time for a lookup the public makes rarely.
DROP TABLE IF EXISTS candidate_index;
-- Uncompressed, so the search reads the bytes without decompressing them.
ALTER TABLE candidate_lists ALTER COLUMN body SET STORAGE EXTERNAL;
