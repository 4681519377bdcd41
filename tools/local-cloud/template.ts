import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stackNameOf } from '../../lib/stack-name';
import type { CfnTemplate } from './intrinsics/model';
import type { LocalResource } from './types';

/**
 * Reads what `cdk synth` wrote: the cloud assembly manifest, the stack's template and the asset
 * folders of its functions. The local cloud runs these very artifacts, the ones `cdk deploy` ships.
 */

export const LOCAL_STAGE = 'local';
export const LOCAL_STACK_NAME = stackNameOf(LOCAL_STAGE);

export interface StackAssembly {
  stackName: string;
  /** Absolute path of the cloud assembly directory (cdk.out). */
  cdkOutDir: string;
  templatePath: string;
  template: CfnTemplate;
  /** Absolute asset folder by logical id, for resources with `aws:asset:path` metadata. */
  assetDirs: Record<string, string>;
}

interface ManifestArtifact {
  type: string;
  displayName?: string;
  properties?: { templateFile?: string; directoryName?: string; stackName?: string };
}

interface Manifest {
  artifacts?: Record<string, ManifestArtifact>;
}

/**
 * Synthesizes the app with the project's pinned CDK CLI (node_modules/.bin/cdk) into `outDir`.
 * Rejects with the CLI's own output when synthesis fails, so a broken app is reported as such.
 */
export async function synthesize(options: {
  projectDir: string;
  outDir: string;
  stage?: string;
  /** More CDK context (`-c key=value`), e.g. `{ auroraSink: 'true' }`. */
  context?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<void> {
  const cli = path.join(options.projectDir, 'node_modules', '.bin', 'cdk');
  if (!existsSync(cli)) throw new Error(`The CDK CLI is not installed (${cli}); run npm install`);
  const context = Object.entries(options.context ?? {}).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  const args = ['synth', '-c', `stage=${options.stage ?? LOCAL_STAGE}`, ...context, '-q', '--output', options.outDir];
  options.log?.(`synthesizing: cdk ${args.join(' ')}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cli, args, { cwd: options.projectDir, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`cdk synth failed (exit ${code}):\n${output.trim()}`));
    });
  });
}

/** Finds the stack in the manifest (nested stage assemblies included) and loads its template. */
export function readStackAssembly(cdkOutDir: string, stackName: string): StackAssembly {
  const root = path.resolve(cdkOutDir);
  const found = findStack(root, stackName);
  if (!found) {
    throw new Error(`Stack ${stackName} is not in the cloud assembly at ${root} (manifest.json lists no such stack)`);
  }
  const templatePath = path.join(found.dir, found.templateFile);
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as CfnTemplate;
  return { stackName, cdkOutDir: found.dir, templatePath, template, assetDirs: assetDirs(template, found.dir) };
}

function findStack(dir: string, stackName: string): { dir: string; templateFile: string } | undefined {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`No manifest.json in ${dir}: is it a cdk.out folder?`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const name = artifact.properties?.stackName ?? id;
    if ((name === stackName || id === stackName) && artifact.properties?.templateFile) {
      return { dir, templateFile: artifact.properties.templateFile };
    }
  }
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      const nested = findStack(path.join(dir, artifact.properties.directoryName), stackName);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** `aws:asset:path` is relative to the assembly directory (or absolute when assets are staged outside). */
export function assetDirs(template: CfnTemplate, cdkOutDir: string): Record<string, string> {
  const dirs: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath === 'string') dirs[logicalId] = path.resolve(cdkOutDir, assetPath);
  }
  return dirs;
}

/**
 * Hands each function its asset folder (`properties.__assetDir`, see LocalResource) and fails
 * when a function has none or the folder is missing: the local cloud only runs what synth built.
 */
export function attachAssetDirs(resources: LocalResource[], assembly: StackAssembly): LocalResource[] {
  return resources.map((resource) => {
    if (resource.type !== 'AWS::Lambda::Function') return resource;
    const dir = assembly.assetDirs[resource.logicalId];
    if (!dir) {
      throw new Error(`${resource.logicalId}: the function has no aws:asset:path metadata, so there is no local bundle to run (inline code is not supported)`);
    }
    if (!existsSync(dir)) throw new Error(`${resource.logicalId}: asset folder ${dir} does not exist; synthesize again`);
    return { ...resource, properties: { ...resource.properties, __assetDir: dir } };
  });
}
