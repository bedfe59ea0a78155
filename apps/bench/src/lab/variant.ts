/** What the variant cluster changes: this build's apps with these settings, against the baseline. */
export interface LabVariant {
  /** Environment every process of the variant starts with, on top of the bench's cluster settings. */
  env: Record<string, string>;
  /** Options for node itself in every process of the variant (V8 flags). */
  nodeArgs: string[];
  /** A built checkout whose apps run as the baseline; this build with the default settings when left out. */
  baseline?: string;
}

/** `KEY=VALUE` as `--variant-env` takes it: [key, value], or an error for anything else. */
export function parseEnvAssignment(raw: string): [string, string] {
  const eq = raw.indexOf('=');
  const key = eq > 0 ? raw.slice(0, eq) : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`expected KEY=VALUE with KEY a variable name, got "${raw}"`);
  return [key, raw.slice(eq + 1)];
}

/** `--variant-node-args` split into node's options; an error for a word that is not an option (node would take it for the script). */
export function parseNodeArgs(raw: string): string[] {
  const args = raw.split(/\s+/).filter((a) => a !== '');
  const stray = args.find((a) => !a.startsWith('-'));
  if (stray !== undefined) throw new Error(`node options start with "-": "${stray}" is not one (write --variant-node-args="--flag --other")`);
  return args;
}
