// The chaos suite's traffic: accounts and a readable document seeded once per run, and per
// scenario a fresh project (uploads) and fresh polls (votes), so each scenario's invariants
// are checked on rows only it wrote. The mix: authenticated reads, searches, uploads, votes.
import type pg from 'pg';
import { createVoters, type Voter } from '../../test/helpers/voters.ts';
import type { RouteLoad } from '../mixed-load.ts';

const POLL_OPTIONS = 4;
const SOURCE = 'export function handler(request: Request): Response {\n  return new Response("ok");\n}\n';

export interface Seed {
  voters: Voter[];
  owner: Voter;
  documentId: string;
}

async function call(url: string, token: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`chaos: ${method} ${url} answered ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed;
}

export async function seed(pool: pg.Pool, api: string, accounts: number): Promise<Seed> {
  const query = async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;
  const voters = await createVoters(query, accounts, 'chaos');
  const owner = voters[0] as Voter;
  const { project } = (await call(`${api}/api/v1/projects`, owner.token, 'POST', { name: 'chaos reads' })) as { project: { id: string } };
  const { document } = (await call(`${api}/api/v1/projects/${project.id}/documents`, owner.token, 'POST', {
    path: 'src/handler.ts',
    content: SOURCE.repeat(40),
  })) as { document: { id: string } };
  return { voters, owner, documentId: document.id };
}

export interface ScenarioTraffic {
  projectId: string;
  pollIds: string[];
  routes: RouteLoad[];
}

/** A project and polls for one scenario, and the routes that write into them. */
export async function scenarioTraffic(api: string, seeded: Seed, label: string, maxVotes: number): Promise<ScenarioTraffic> {
  const { owner, voters, documentId } = seeded;
  const { project } = (await call(`${api}/api/v1/projects`, owner.token, 'POST', { name: `chaos ${label}` })) as {
    project: { id: string };
  };
  // Every vote is a distinct (account, poll) pair, so any answer but 202 is the scenario's doing.
  const pollIds: string[] = [];
  for (let i = 0; i < Math.ceil(maxVotes / voters.length) + 1; i += 1) {
    const { poll } = (await call(`${api}/api/v1/polls`, owner.token, 'POST', {
      question: `chaos ${label} ${i}`,
      options: Array.from({ length: POLL_OPTIONS }, (_, o) => `option ${o}`),
    })) as { poll: { id: string } };
    pollIds.push(poll.id);
  }
  let reads = 0;
  let uploads = 0;
  let votes = 0;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const json = (token: string) => ({ ...auth(token), 'content-type': 'application/json' });
  const routes: RouteLoad[] = [
    {
      name: 'GET /api/v1/auth/me',
      weight: 30,
      request: () => ({ method: 'GET', path: '/api/v1/auth/me', headers: auth((voters[reads++ % voters.length] as Voter).token) }),
    },
    {
      name: 'GET /api/v1/documents/:id',
      weight: 20,
      request: () => ({ method: 'GET', path: `/api/v1/documents/${documentId}`, headers: auth(owner.token) }),
    },
    {
      name: 'GET /api/v1/documents/search',
      weight: 10,
      request: () => ({ method: 'GET', path: '/api/v1/documents/search?q=handler', headers: auth(owner.token) }),
    },
    {
      name: 'POST /api/v1/projects/:id/documents',
      weight: 10,
      request: () => {
        const n = uploads++;
        return {
          method: 'POST',
          path: `/api/v1/projects/${project.id}/documents`,
          headers: json(owner.token),
          body: JSON.stringify({ path: `src/chaos/${label}/file-${n}.ts`, content: `// upload ${n}\n${SOURCE}` }),
        };
      },
    },
    {
      name: 'POST /api/v1/polls/:id/votes',
      weight: 30,
      request: () => {
        const k = votes++;
        const voter = voters[k % voters.length] as Voter;
        const pollId = pollIds[Math.floor(k / voters.length) % pollIds.length] as string;
        return {
          method: 'POST',
          path: `/api/v1/polls/${pollId}/votes`,
          headers: json(voter.token),
          body: `{"option":${k % POLL_OPTIONS}}`,
        };
      },
    },
  ];
  return { projectId: project.id, pollIds, routes };
}

/** What the database holds for a scenario's polls: applied vote rows and the counts table's total. */
export async function storedVotes(pool: pg.Pool, pollIds: string[]): Promise<{ applied: number; counted: number }> {
  const applied = await pool.query("select count(*)::int as n from poll_votes where poll_id = any($1::uuid[]) and status = 'applied'", [
    pollIds,
  ]);
  const counted = await pool.query('select coalesce(sum(votes), 0)::int as n from poll_option_counts where poll_id = any($1::uuid[])', [
    pollIds,
  ]);
  return { applied: applied.rows[0].n as number, counted: counted.rows[0].n as number };
}

/** A scenario's uploads by state, and how its parse jobs ended. */
export async function storedDocuments(pool: pg.Pool, projectId: string) {
  const documents = await pool.query('select state, count(*)::int as n from documents where project_id = $1 group by state', [projectId]);
  const byState = Object.fromEntries(documents.rows.map((row) => [row.state as string, row.n as number])) as Record<string, number>;
  const jobs = await pool.query(
    `select j.state, count(*)::int as n, coalesce(sum(j.retry_count), 0)::int as retries
       from pgboss.job j join documents d on d.id::text = j.data->>'document_id'
      where d.project_id = $1 and j.name = 'documents.parse' group by j.state`,
    [projectId],
  );
  const jobsByState = Object.fromEntries(jobs.rows.map((row) => [row.state as string, row.n as number])) as Record<string, number>;
  const retries = jobs.rows.reduce((sum, row) => sum + (row.retries as number), 0);
  return { byState, jobsByState, retries };
}
