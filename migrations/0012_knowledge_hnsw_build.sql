-- Rebuilds each model's HNSW index that was built with pgvector's default construction
-- settings (m=16, ef_construction=64) with the ones src/modules/knowledge/repo.ts now builds
-- (HNSW_BUILD): the defaults held recall@10 at 0.85-0.91 on the bench corpus. Same name and
-- definition otherwise; an index already built with options is left alone. On a large
-- knowledge base this takes time (110-125 s per 100,000 vectors of 100 dimensions on PGlite)
-- and holds an exclusive lock on knowledge_chunk_vectors until the migration commits, so
-- vector search and ingest wait for it: run `rampart migrate` on its own before the new
-- version serves (README, "Knowledge base"). Raising maintenance_work_mem speeds it up.
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
    EXECUTE CASE WHEN position(' WHERE ' in built_with_defaults.definition) > 0
      THEN regexp_replace(built_with_defaults.definition, ' WHERE ', ' WITH (m = 16, ef_construction = 400) WHERE ')
      ELSE built_with_defaults.definition || ' WITH (m = 16, ef_construction = 400)'
    END;
  END LOOP;
END
$$;
