// The OpenAPI document is what SDKs are generated from, so it is held to what tools need: Redocly's
// recommended rules pass on the live /docs/json, and a typed client generated from it right here
// (openapi-typescript + openapi-fetch) type-checks and then talks to the running API over
// loopback. A route whose schema drifts (an operationId gone, a response reshaped, a 4xx that is
// not problem+json) breaks the lint, the compile or the calls.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDOCLY = join(ROOT, 'node_modules/.bin/redocly');

/**
 * The recommended rules' only findings, each justified in the README (API section): the
 * operations endpoints take no input, need no token and are never rate limited, so they have
 * no 4xx answer to declare.
 */
const JUSTIFIED = ['/healthz', '/readyz', '/metrics'].map(
  (path) => `operation-4xx-response #/paths/${path.replace(/\//g, '~1')}/get/responses`,
);

/** Typed calls through the generated description; compiled against it, then run. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { operations, paths } from './hookline-api.js';

type Json<O extends keyof operations, S extends keyof operations[O]['responses']> =
  operations[O]['responses'][S] extends { content: { 'application/json': infer T } } ? T : never;
type Problem<O extends keyof operations, S extends keyof operations[O]['responses']> =
  operations[O]['responses'][S] extends { content: { 'application/problem+json': infer T } } ? T : never;

export async function run(baseUrl: string, token: string, webhookUrl: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });
  const tenantId = 'openapi-client';

  const health = await api.GET('/healthz');
  const liveness: Json<'health', 200> | undefined = health.data;

  const created = await api.POST('/v1/subscriptions', {
    params: { query: { tenantId } },
    body: { webhookUrl, events: ['message.delivered'] },
  });
  if (!created.data) throw new Error(\`createSubscription: \${created.response.status}\`);
  const subscription: Json<'createSubscription', 201> = created.data;
  const signingSecret: string = subscription.signingSecret;

  const published = await api.POST('/v1/events', {
    body: { tenantId, type: 'message.delivered', channel: 'sms', messageId: 'm-openapi-1' },
  });
  if (!published.data) throw new Error(\`publishEvent: \${published.response.status}\`);
  const eventId: string = published.data.id;

  const event = await api.GET('/v1/events/{id}', {
    params: { path: { id: eventId }, query: { tenantId } },
  });
  const eventState: Json<'getEvent', 200> | undefined = event.data;

  const list = await api.GET('/v1/subscriptions/{id}/deliveries', {
    params: { path: { id: subscription.id }, query: { tenantId, limit: 10 } },
  });
  const deliveryStatuses: string[] = (list.data?.data ?? []).map((d) => d.status);

  const missing = await api.GET('/v1/subscriptions/{id}', {
    params: { path: { id: 'sub_does_not_exist' }, query: { tenantId } },
  });
  const notFound: Problem<'getSubscription', 404> | undefined = missing.error;

  const invalid = await api.POST('/v1/subscriptions', {
    params: { query: { tenantId } },
    body: { webhookUrl: 'not a url', events: ['message.delivered'] },
  });
  const invalidProblem: Problem<'createSubscription', 400> | undefined =
    invalid.response.status === 400 ? (invalid.error as Problem<'createSubscription', 400>) : undefined;

  const deleted = await api.DELETE('/v1/subscriptions/{id}', {
    params: { path: { id: subscription.id }, query: { tenantId } },
  });

  return {
    liveness,
    subscriptionId: subscription.id,
    signingSecret,
    eventId,
    eventState,
    deliveryStatuses,
    notFound,
    notFoundType: missing.response.headers.get('content-type'),
    invalidProblem,
    deletedStatus: deleted.response.status,
  };
}
`;

let h: Harness;
let rx: Receiver;
let baseUrl: string;
let dir: string;
let doc: Record<string, unknown>;

beforeAll(async () => {
  rx = await startReceiver();
  h = await startHarness();
  const app = h.hookline.app!;
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'hookline-openapi-'));
  // The live document, as a client reads it: over HTTP, without a token.
  const res = await fetch(`${baseUrl}/docs/json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Record<string, unknown>;
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface RedoclyProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer: string }[];
}

describe('OpenAPI document', () => {
  it('passes Redocly’s recommended rules, but for the justified warnings', async () => {
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc));
    const { stdout } = await promisify(execFile)(
      REDOCLY,
      ['lint', '--extends', 'recommended', '--format', 'json', '--max-problems', '1000', file],
      // No telemetry nor update check: the test talks to loopback only.
      {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const { problems } = JSON.parse(stdout) as { problems: RedoclyProblem[] };
    const found = problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}`);
    expect(problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message}`)).toEqual(
      [],
    );
    expect(found.sort()).toEqual([...JUSTIFIED].sort());
  });

  it('names every operation with a unique operationId and declares its security', () => {
    const paths = doc.paths as Record<string, Record<string, { operationId?: string; security?: unknown }>>;
    const ops = Object.values(paths).flatMap((p) => Object.values(p));
    const ids = ops.map((o) => o.operationId);
    expect(
      ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)),
      ids.join(),
    ).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.every((o) => Array.isArray(o.security))).toBe(true);
  });

  it('declares every 4xx answer of the API as application/problem+json', () => {
    const paths = doc.paths as Record<
      string,
      Record<
        string,
        { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }
      >
    >;
    const notProblem: string[] = [];
    for (const ops of Object.values(paths))
      for (const op of Object.values(ops))
        for (const [status, response] of Object.entries(op.responses))
          if (status.startsWith('4') && !response.content?.['application/problem+json'])
            notProblem.push(`${op.operationId} ${status}`);
    // RFC 6749 §5.2: the token endpoint's OAuth errors are plain JSON {error, error_description}.
    expect(notProblem).toEqual(['issueToken 401']);
  });
});

describe('a typed client generated from the live document', () => {
  it('type-checks typed calls, then makes them against the running API', async () => {
    await writeFile(join(dir, 'hookline-api.ts'), astToString(await openapiTS(doc as never)));
    await writeFile(join(dir, 'client.ts'), CLIENT);

    // Compiled as strictly as Hookline itself; openapi-fetch is Hookline's own copy.
    const fetchPackage = dirname(dirname(fileURLToPath(import.meta.resolve('openapi-fetch'))));
    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
      noUncheckedIndexedAccess: true,
      paths: { 'openapi-fetch': [fetchPackage] },
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);

    // The same program, run: its only import points at the resolved openapi-fetch.
    const js = ts
      .transpileModule(CLIENT, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      })
      .outputText.replace(`from 'openapi-fetch'`, `from '${import.meta.resolve('openapi-fetch')}'`);
    await writeFile(join(dir, 'client.mjs'), js);
    const { run } = (await import(/* @vite-ignore */ pathToFileURL(join(dir, 'client.mjs')).href)) as {
      run(baseUrl: string, token: string, webhookUrl: string): Promise<Record<string, unknown>>;
    };
    const token = h.config.ADMIN_TOKEN;
    const out = await run(baseUrl, token, `${rx.url}/openapi`);

    expect(out.liveness).toMatchObject({ status: 'ok' });
    expect(out.subscriptionId).toEqual(expect.any(String));
    expect(out.signingSecret).toMatch(/^whsec_/);
    expect(out.eventState).toMatchObject({ deliveries: [{ subscriptionId: out.subscriptionId }] });
    expect(out.deliveryStatuses).toHaveLength(1);
    expect(out.notFound).toMatchObject({ status: 404, code: 'not_found' });
    expect(out.notFoundType).toMatch(/^application\/problem\+json/);
    expect(out.invalidProblem).toMatchObject({
      status: 400,
      code: 'validation_error',
      errors: [expect.objectContaining({ path: '/webhookUrl' })],
    });
    expect(out.deletedStatus).toBe(204);
  });
});
