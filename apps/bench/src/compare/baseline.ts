import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The apps a cluster runs: both builds must have them built. */
export const CLUSTER_APPS = ['catalog', 'order', 'frontend'];

/**
 * Why `dir` cannot be run as the baseline (one line each): it must be a checkout of this
 * repository with its dependencies installed and its apps built.
 */
export function baselineProblems(dir: string): string[] {
  if (!existsSync(join(dir, 'nest-cli.json'))) return [`${dir} is not a checkout of this repository (no nest-cli.json)`];
  const problems: string[] = [];
  if (!existsSync(join(dir, 'node_modules'))) problems.push(`${dir} has no node_modules: run npm ci there (or link this checkout's, if package-lock.json is the same)`);
  for (const app of CLUSTER_APPS) {
    if (!existsSync(join(dir, 'dist', 'apps', app, 'src', 'main.js'))) problems.push(`${dir} has no build of ${app}: run npm run build there`);
  }
  return problems;
}
