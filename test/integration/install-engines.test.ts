import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Issue 9: `npm ci` on Node 20 warned EBADENGINE for cookie@2.0.2 (engines node >=22), which came
// in through fauxqs -> fastify -> light-my-request@6.8 while the README promises Node 20.19+.
// light-my-request is fastify's inject() (request injection for tests), which fastify loads only
// when inject() is called and the local SQS (fauxqs) never calls. package.json "overrides" pins it
// to 6.6.0 (cookie ^1, Node 18+), so the install is quiet; these tests hold the lock file to the
// README's minimum and show the pinned version works.

const PROJECT = path.resolve(__dirname, '../..');
const require = createRequire(path.join(PROJECT, 'package.json'));
const semver = require('semver') as { satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean };

const pkg = JSON.parse(readFileSync(path.join(PROJECT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  overrides?: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(PROJECT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }>;
};

/** The oldest Node the README and package.json promise. */
const MINIMUM_NODE = pkg.engines.node.replace(/^>=\s*/, '');

describe('the install on the oldest supported Node', () => {
  it('promises Node 20.19 or newer', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    expect(semver.satisfies('20.19.0', pkg.engines.node)).toBe(true);
  });

  it('locks no package whose engines refuse that Node (npm ci would warn EBADENGINE)', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([name]) => name !== '')
      .flatMap(([name, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range !== undefined && !semver.satisfies(`${MINIMUM_NODE}.0`, range, { includePrerelease: true }) ? [`${name}@${entry.version} wants node ${range}`] : [];
      });
    expect(refusing).toEqual([]);
  });

  it('pins light-my-request to 6.6.0 (cookie 1.x), and only fastify uses it', () => {
    expect(pkg.overrides).toEqual({ 'light-my-request': '6.6.0' });
    const copies = Object.entries(lock.packages).filter(([name]) => name.endsWith('node_modules/light-my-request'));
    expect(copies.map(([name, entry]) => [name, entry.version])).toEqual([['node_modules/fastify/node_modules/light-my-request', '6.6.0']]);
    const cookies = Object.entries(lock.packages).filter(([name]) => /node_modules\/cookie$/.test(name));
    for (const [name, entry] of cookies) expect([name, entry.version?.split('.')[0]]).toEqual([name, '1']);
  });

  it('fastify inject() (what light-my-request is for) works on this Node', async () => {
    const { default: Fastify } = (await import(require.resolve('fastify'))) as { default: (options?: object) => FastifyLike };
    const app = Fastify();
    app.get('/', async () => ({ ok: true }));
    const response = await app.inject({ method: 'GET', url: '/', cookies: { session: 'a' } });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true });
    await app.close();
  });
});

interface FastifyLike {
  get(path: string, handler: () => Promise<unknown>): void;
  inject(options: { method: string; url: string; cookies?: Record<string, string> }): Promise<{ statusCode: number; body: string }>;
  close(): Promise<void>;
}
