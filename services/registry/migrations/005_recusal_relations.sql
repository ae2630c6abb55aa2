-- Why each recused USCC is declared (回避事由): a code per entry of recusal_usccs, in the same
-- order (declared, relative, former_employee, interest, other; see vocabulary.py).
ALTER TABLE inspector ADD COLUMN recusal_relations text[] NOT NULL DEFAULT '{}';
ALTER TABLE inspector_history ADD COLUMN recusal_relations text[] NOT NULL DEFAULT '{}';
-- Rows from before: every recusal was simply declared.
UPDATE inspector SET recusal_relations = array_fill('declared'::text, ARRAY[cardinality(recusal_usccs)])
WHERE cardinality(recusal_usccs) > 0;
UPDATE inspector_history
SET recusal_relations = array_fill('declared'::text, ARRAY[cardinality(recusal_usccs)])
WHERE cardinality(recusal_usccs) > 0;
