-- A task absorbed by a later visit to the same entity (进一次门、查多项事) takes no results.
ALTER TABLE tasks ADD COLUMN merged_from text[] NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN merged_into text;
