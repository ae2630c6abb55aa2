-- Candidate lists are written once per freeze (80 MB for a 5-million-entity province) and read
-- rarely: store the blocks uncompressed, so that a freeze does not spend a core on compressing
-- them while it streams.
ALTER TABLE snapshot_block ALTER COLUMN data SET STORAGE EXTERNAL;
