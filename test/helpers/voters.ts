// Many signed-in accounts at once for vote tests and the polls bench: users and sessions
// written straight into the database (registering 2,000 through the API would spend
// minutes in Argon2id, which is not what those tests measure). Tokens work like issued ones.
import { createHash, randomBytes } from 'node:crypto';

export type Query = (text: string, params?: unknown[]) => Promise<unknown[]>;

export interface Voter {
  userId: string;
  token: string;
}

export async function createVoters(query: Query, count: number, label = 'voter'): Promise<Voter[]> {
  const run = randomBytes(4).toString('hex');
  const emails = Array.from({ length: count }, (_, i) => `${label}-${run}-${i}@example.test`);
  const users = (await query(
    `insert into users (email, email_skeleton_hash, display_name, password_hash)
     select e, encode(sha256(convert_to(e, 'UTF8')), 'hex'), 'Voter', 'not-a-login' from unnest($1::text[]) as e
     returning id, email`,
    [emails],
  )) as { id: string; email: string }[];
  const byEmail = new Map(users.map((user) => [user.email, user.id]));
  const voters = emails.map((email) => ({ userId: byEmail.get(email) as string, token: randomBytes(32).toString('base64url') }));
  await query(
    `insert into sessions (token_hash, user_id, idle_expires_at, absolute_expires_at)
     select h, u, now() + interval '1 day', now() + interval '1 day' from unnest($1::text[], $2::uuid[]) as x(h, u)`,
    [voters.map((voter) => createHash('sha256').update(voter.token, 'utf8').digest('hex')), voters.map((voter) => voter.userId)],
  );
  return voters;
}
