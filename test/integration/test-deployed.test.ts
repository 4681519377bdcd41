import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { PROJECT } from '../fixtures/cli';

// `npm run test:deployed` as a user runs it, against the local cloud's outputs file (no AWS
// here): the deployed scenarios pass, and without an outputs file it stops at once with exit 2.

const workDir = mkdtempSync(path.join(tmpdir(), 'test-deployed-'));
const outputsFile = path.join(workDir, 'outputs.json');
let cloud: LocalCloud;

/** `npm run test:deployed -- <args>`; asynchronous, so the local cloud in this process keeps serving. */
function testDeployed(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // The child runs its own vitest: leave this run's worker settings out of its environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'FORCE_COLOR'));
  return new Promise((done) => {
    execFile(
      'npm',
      ['run', '--silent', 'test:deployed', '--', ...args],
      { cwd: PROJECT, env: { ...env, NODE_NO_WARNINGS: '1', NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) }),
    );
  });
}

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, projectDir: PROJECT, cdkOut: path.join(workDir, 'cdk.out'), outputsFile, generator: false });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('npm run test:deployed', () => {
  it('runs the deployed scenarios against the stack of an outputs file, and passes on a healthy one', async () => {
    const run = await testDeployed(['--outputs', outputsFile]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`test:deployed: stack EcommercePipeline-local from ${outputsFile}`);
    expect(run.stdout).toMatch(/Tests\s+5 passed \(5\)/);
  });

  it('stops at once with exit 2 and the reason when the outputs file is missing', async () => {
    const missing = path.join(workDir, 'cdk-outputs.json');
    const run = await testDeployed(['--outputs', missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`test:deployed: outputs file not found: ${missing}`);
    expect(run.stdout).not.toContain('RUN');
  });
});
