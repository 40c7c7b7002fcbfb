-- Rebuilds each model's HNSW index that was built with pgvector's default construction
-- settings (m=16, ef_construction=64) with the ones src/modules/knowledge/repo.ts now builds
-- (HNSW_BUILD): the defaults held recall@10 at 0.85-0.90 on the bench corpus. Same name and
-- definition otherwise; an index already built with options is left alone. Expect this to
-- take time on a large knowledge base (about a minute per 100,000 vectors on PGlite); raising
-- maintenance_work_mem for the migration speeds it up.
DO $$
DECLARE
  built_with_defaults record;
BEGIN
  FOR built_with_defaults IN
    SELECT i.indexrelid::regclass AS name, pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_am am ON am.oid = c.relam
     WHERE i.indrelid = to_regclass('knowledge_chunk_vectors') AND am.amname = 'hnsw' AND c.reloptions IS NULL
  LOOP
    EXECUTE format('DROP INDEX %s', built_with_defaults.name);
    EXECUTE regexp_replace(built_with_defaults.definition, ' WHERE ', ' WITH (m = 16, ef_construction = 400) WHERE ');
  END LOOP;
END
$$;
