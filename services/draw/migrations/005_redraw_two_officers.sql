-- A redraw needs two draw officers: one asks (with the reason), another confirms. The request
-- waits in these columns until it is confirmed or cancelled; once confirmed, redraw_by (who
-- asked) and redraw_confirmed_by (who confirmed) are kept on both draws, and public.
ALTER TABLE draws ADD COLUMN IF NOT EXISTS redraw_confirmed_by text;
ALTER TABLE draws ADD COLUMN IF NOT EXISTS redraw_requested_by text;
ALTER TABLE draws ADD COLUMN IF NOT EXISTS redraw_requested_reason text;
ALTER TABLE draws ADD COLUMN IF NOT EXISTS redraw_requested_at timestamptz;
