// Floor: Node's own http server answering /health/live with no framework, optionally
// with exactly Rampart's response headers, to show what the header set costs in Node
// itself (each header is validated and written one by one), before any framework.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { RAMPART_RESPONSE_HEADERS } from './rampart-response-headers.ts';

const [port, variant] = process.argv.slice(2);
const body = JSON.stringify({ status: 'live' });
const withHeaders = variant === 'with-headers';

createServer((_request, response) => {
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (withHeaders) Object.assign(headers, RAMPART_RESPONSE_HEADERS, { 'x-request-id': randomUUID() });
  response.writeHead(200, headers);
  response.end(body);
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
