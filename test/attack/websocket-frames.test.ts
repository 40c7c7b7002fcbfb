// Hostile WebSocket clients: oversize frames, invalid UTF-8, binary frames, 10,000
// subscribes and a flood of pings. None crashes the server or earns a 5xx; each ends in
// the documented close code, and the server keeps serving everyone else.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, type SignedIn } from '../helpers/accounts.ts';
import { gatewayUrl, openSocket } from '../helpers/sockets.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** A client frame written by hand (masked, as RFC 6455 requires), so it can carry what `ws` refuses to send. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ (mask[index % 4] as number)));
  const length = payload.length;
  const header =
    length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, mask, masked]);
}

/** Upgrades over a raw TCP socket; resolves with the socket once the 101 arrived. */
function rawUpgrade(url: string, token: string): Promise<{ socket: Socket; received: () => Buffer }> {
  const { hostname, port } = new URL(url);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const text = buffered.toString('latin1');
      if (text.includes('\r\n\r\n') && !text.startsWith('HTTP/1.1 101')) reject(new Error(text.split('\r\n')[0]));
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (text.startsWith('HTTP/1.1 101') && text.includes(accept)) {
        const headerEnd = text.indexOf('\r\n\r\n') + 4;
        buffered = buffered.subarray(headerEnd);
        resolve({ socket, received: () => buffered });
      }
    });
    socket.on('error', reject);
    socket.write(
      `GET /api/v1/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
  });
}

/** The close code in the first close frame the server sent (server frames are unmasked). */
function closeCodeIn(data: Buffer): number | undefined {
  let offset = 0;
  while (offset + 2 <= data.length) {
    const opcode = (data[offset] as number) & 0x0f;
    let length = (data[offset + 1] as number) & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      length = data.readUInt16BE(offset + 2);
      headerLength = 4;
    }
    if (opcode === 0x8) return data.readUInt16BE(offset + headerLength);
    offset += headerLength + length;
  }
  return undefined;
}

describe('hostile WebSocket frames', () => {
  let test: TestApp;
  let url: string;
  let user: SignedIn;

  beforeAll(async () => {
    test = await startTestApp('embedded', {
      env: { WS_MAX_FRAME_SIZE: '4kb', WS_MAX_SUBSCRIPTIONS: '50', WS_MAX_MESSAGES_PER_SECOND: '100' },
    });
    url = await gatewayUrl(test.app);
    user = await registerAndLogin(test.app);
  });
  afterAll(async () => test?.close());

  async function serverStillServes(): Promise<void> {
    const health = await test.app.inject({ method: 'GET', url: '/health/live' });
    expect(health.statusCode).toBe(200);
    const other = await openSocket(url, bearer(user.token));
    other.send({ op: 'ping' });
    await other.next((frame) => frame.op === 'pong');
    other.ws.close();
  }

  it('closes a frame over WS_MAX_FRAME_SIZE with 1009', async () => {
    const socket = await openSocket(url, bearer(user.token));
    socket.send(JSON.stringify({ op: 'ping', padding: 'x'.repeat(5_000) }));
    expect((await socket.closed).code).toBe(1009);
    await serverStillServes();
  });

  it('closes a text frame of invalid UTF-8 with 1007', async () => {
    const { socket, received } = await rawUpgrade(url, user.token);
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(maskedFrame(0x1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])));
    await ended;
    expect(closeCodeIn(received())).toBe(1007);
    await serverStillServes();
  });

  it('answers binary frames with an error op, then closes with 1008 when they keep coming', async () => {
    const socket = await openSocket(url, bearer(user.token));
    socket.ws.send(Buffer.from('{"op":"ping"}'), { binary: true });
    const error = await socket.next((frame) => frame.op === 'error');
    expect(error.error_code).toBe('VALIDATION_FAILED');
    for (let index = 0; index < 15; index += 1) socket.ws.send(randomBytes(64), { binary: true });
    expect((await socket.closed).code).toBe(1008);
    await serverStillServes();
  });

  it('survives 10,000 subscribes in one burst: at most the limit is held, then 1008', async () => {
    const socket = await openSocket(url, bearer(user.token));
    const project = await test.app.inject({ method: 'POST', url: '/api/v1/projects', headers: bearer(user.token), payload: { name: 'p' } });
    const topic = `documents:${project.json().project.id}`;
    for (let index = 0; index < 10_000; index += 1) socket.send({ op: 'subscribe', topic: index % 2 ? topic : `documents:${index}` });
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(test.app.realtimeGateway?.stats().subscriptions).toBe(0);
    await serverStillServes();
  });

  it('answers a subscription past WS_MAX_SUBSCRIPTIONS with an error op naming the topic; the socket stays', async () => {
    const socket = await openSocket(url, bearer(user.token));
    const projects = [];
    for (let index = 0; index < 51; index += 1) {
      const response = await test.app.inject({
        method: 'POST',
        url: '/api/v1/projects',
        headers: bearer(user.token),
        payload: { name: `p${index}` },
      });
      projects.push(response.json().project.id as string);
    }
    // 51 messages: within the file's rate of 100 per second, which is not what this test is about.
    for (const id of projects) socket.send({ op: 'subscribe', topic: `documents:${id}` });
    const refused = await socket.next((frame) => frame.op === 'error');
    expect(refused).toMatchObject({ error_code: 'RATE_LIMITED', topic: `documents:${projects[50]}` });
    expect(test.app.realtimeGateway?.stats().subscriptions).toBe(50);
    socket.send({ op: 'ping' });
    await socket.next((frame) => frame.op === 'pong');
    socket.ws.close();
  });

  it('drops pings over the rate with one RATE_LIMITED error per second, and keeps the socket', async () => {
    const socket = await openSocket(url, bearer(user.token));
    for (let index = 0; index < 150; index += 1) socket.send({ op: 'ping' });
    await socket.next((frame) => frame.op === 'error' && frame.error_code === 'RATE_LIMITED');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const pongs = socket.frames.filter((frame) => frame.op === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(100);
    expect(pongs).toBeLessThan(150);
    socket.frames.length = 0; // a new second: pings are answered again
    socket.send({ op: 'ping' });
    await socket.next((frame) => frame.op === 'pong');
    socket.ws.close();
  });

  it('closes a flood of pings (five times the rate in a second, or rate-limited second after second) with 1008', async () => {
    const socket = await openSocket(url, bearer(user.token));
    for (let index = 0; index < 1_000; index += 1) socket.send({ op: 'ping' });
    expect((await socket.closed).code).toBe(1008);
    expect(socket.frames.filter((frame) => frame.op === 'pong').length).toBeLessThanOrEqual(100);

    const persistent = await openSocket(url, bearer(user.token));
    const started = Date.now();
    while (persistent.ws.readyState === persistent.ws.OPEN && Date.now() - started < 60_000) {
      for (let index = 0; index < 150; index += 1) persistent.send({ op: 'ping' });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect((await persistent.closed).code).toBe(1008);
    expect(persistent.frames.filter((frame) => frame.error_code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(10);
    await serverStillServes();
  });
});
