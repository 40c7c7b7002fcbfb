-- The chunks' vectors, where the `vector` extension exists (always in PGlite; not on a
-- Postgres without pgvector, where knowledge search runs on text alone). The column has no
-- dimension: each model's vectors get their own HNSW expression index, partial on the
-- model (pgvector's documented way), created by the knowledge module when the model is
-- first used, so changing the model needs no migration and two models are never compared.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    CREATE TABLE IF NOT EXISTS knowledge_chunk_vectors (
      chunk_id uuid NOT NULL REFERENCES knowledge_chunks (id) ON DELETE CASCADE,
      model text NOT NULL,
      owner_id uuid NOT NULL,
      embedding vector NOT NULL,
      PRIMARY KEY (chunk_id, model)
    );
    CREATE INDEX IF NOT EXISTS knowledge_chunk_vectors_model_owner_idx ON knowledge_chunk_vectors (model, owner_id);
  END IF;
END
$$;
