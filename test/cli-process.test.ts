/**
 * `sidelight run` as a real process: one start-up line naming the bound endpoints, health and
 * metrics on the OTLP/HTTP port, SIGTERM drains and exits 0; a busy port is a one-line error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
const children: ChildProcess[] = [];
const servers: Server[] = [];

interface Running {
  readonly child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** resolves with the exit code (null when killed by a signal) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(configPath: string): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', configPath], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function writeConfig(name: string, http: string, grpc: string): Promise<string> {
  const path = join(dir, name);
  const yaml = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    `      http: {endpoint: "${http}"}`,
    `      grpc: {endpoint: "${grpc}"}`,
    'exporters:',
    `  jsonl: {path: ${JSON.stringify(join(dir, 'out', 'painpoints.jsonl'))}}`,
    'service:',
    `  data_dir: ${JSON.stringify(join(dir, 'data'))}`,
    '',
  ].join('\n');
  await writeFile(path, yaml);
  return path;
}

/** A port held by another listener for the duration of the test. */
async function busyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

const ONE_SPAN = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cli-test' } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '5b8efff798038103d269b633813fc60c',
              spanId: 'eee19b7ec3c1b174',
              name: 'tool call',
              kind: 3,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000250000000',
              status: {},
            },
          ],
        },
      ],
    },
  ],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidelight-cli-run-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sidelight run as a process', () => {
  it('starts on ephemeral ports with one line naming them, serves health and metrics, and stops on SIGTERM with exit 0', async () => {
    const run = start(await writeConfig('ephemeral.yaml', '127.0.0.1:0', '127.0.0.1:0'));
    await waitFor('the start-up line', () => run.stderr().includes('\n') || run.child.exitCode !== null, 90_000);

    const [startup, ...rest] = lines(run.stderr());
    expect(rest).toEqual([]);
    const m = /^sidelight (\S+) running: http:\/\/127\.0\.0\.1:(\d+), grpc:\/\/127\.0\.0\.1:(\d+); exporters: jsonl$/.exec(startup ?? '');
    expect(m, startup).not.toBeNull();
    const httpPort = Number(m?.[2]);
    const grpcPort = Number(m?.[3]);
    expect(httpPort).toBeGreaterThan(0);
    expect(grpcPort).toBeGreaterThan(0);
    expect(grpcPort).not.toBe(httpPort);

    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);

    const exported = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ONE_SPAN) });
    expect(exported.status).toBe(200);
    await exported.arrayBuffer();

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('# TYPE sidelight_receiver_requests_total counter');
    expect(metrics).toContain('sidelight_receiver_requests_total{transport="http",path="/v1/traces",status="200"} 1');
    expect(metrics).toMatch(/^sidelight_receiver_spans_received_total 1$/m);

    // the gRPC port it named is really listening
    await new Promise<void>((resolve, reject) => {
      const socket = connect(grpcPort, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });

    const sentAt = Date.now();
    run.child.kill('SIGTERM');
    const exit = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    expect(lines(run.stderr()).slice(1)).toEqual(['sidelight: stopping (draining buffered traces and open windows)', 'sidelight: stopped']);
    expect(run.stdout()).toBe('');
    // a process start on a loaded machine can take most of a minute: the limits above bound the behaviour, not this
  }, 150_000);

  it('a busy HTTP port is a one-line error naming it, exit 1, no stack trace', async () => {
    const port = await busyPort();
    const run = start(await writeConfig('busy-http.yaml', `127.0.0.1:${port}`, '127.0.0.1:0'));
    const exit = await run.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(lines(run.stderr())).toEqual([`sidelight: receiver otlp: cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port}`]);
    expect(run.stderr()).not.toMatch(/^ {4}at /m);
  });

  it('a busy gRPC port exits non-zero naming it, with no stack trace', async () => {
    const port = await busyPort();
    const run = start(await writeConfig('busy-grpc.yaml', '127.0.0.1:0', `127.0.0.1:${port}`));
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    expect(lines(run.stderr()).at(-1)).toBe(
      `sidelight: receiver otlp: cannot listen: No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:${port}]`,
    );
    expect(run.stderr()).not.toMatch(/^ {4}at /m);
  });

  // Known bug: grpc-js logs its own "E No address added out of total 1 resolved" line to stderr
  // before Sidelight's; src/receivers/otlp-grpc.ts should route grpc-js logging to its logger.
  it('a busy gRPC port is a one-line error', async () => {
    const port = await busyPort();
    const run = start(await writeConfig('busy-grpc-one-line.yaml', '127.0.0.1:0', `127.0.0.1:${port}`));
    await run.exited;
    expect(lines(run.stderr())).toHaveLength(1);
  });
});
