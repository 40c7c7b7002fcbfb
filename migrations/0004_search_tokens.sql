-- Filename search keys: every 3-character window of the lower-cased path, hashed together
-- with the project id. A GIN index over these keys keeps one posting list per (project,
-- trigram), so a search inside one project reads only that project's entries. pg_trgm's
-- own index keys are global, and it splits words at '_', '.', '/' and '-', so a filename
-- query like "user_ca" is matched through trigrams that occur in most rows; both made
-- common queries read tens of thousands of rows at 1M documents (see bench/documents.ts).
-- A path containing q (ILIKE) contains every window of lower(q), so matching these keys
-- is a necessary condition; queries keep the ILIKE for the exact answer.
CREATE FUNCTION document_search_tokens(project uuid, path text) RETURNS bigint[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ARRAY(
    SELECT hashtextextended(substr(s.lowered, i, 3), s.seed)
    FROM (SELECT lower(path) AS lowered, hashtextextended(project::text, 0) AS seed) AS s,
      generate_series(1, length(s.lowered) - 2) AS i
  );
