import { distance } from 'fastest-levenshtein';
import { getMetadataStorage } from 'class-validator';
import { CatalogEnv, FrontendEnv, OrderEnv } from './schemas';

/**
 * Variables the bazaar reads outside the apps' schemas: `npm start`'s own (FRONTENDS, RESTART…),
 * the start script's NPM_PID, the client's BAZAAR_URL, and the test and benchmark tools'.
 */
const OTHER_SETTINGS = [
  'FRONTENDS',
  'RESTART',
  'RESTART_DELAY_MS',
  'NPM_PID',
  'BAZAAR_URL',
  'CEILING_ADAPTER',
  'CEILING_HOST',
  'CEILING_PORT',
  'KEEP_E2E_DATA',
  'CHAOS_E2E',
  'FUZZ_SEED',
  'MULTIHOST_MARKER',
] as const;

/** Every setting the bazaar reads: the server apps' schemas (each property has a validator) and {@link OTHER_SETTINGS}. */
export function settingNames(): ReadonlySet<string> {
  const names = new Set<string>(OTHER_SETTINGS);
  for (const schema of [CatalogEnv, OrderEnv, FrontendEnv]) {
    for (const meta of getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false)) names.add(meta.propertyName);
  }
  return names;
}

/**
 * Variables of `env` that look like a misspelled setting (`FRONTEND_PROT` for `FRONTEND_PORT`),
 * each with the setting it is likely meant to be: names in capitals that are no setting but within
 * two edits of one (one, for a name of up to 5 letters, so that HOME is not taken for HOST). A
 * misspelled setting is otherwise ignored silently: the service runs on its default.
 */
export function misspelledSettings(env: Record<string, unknown>, known: ReadonlySet<string> = settingNames()): { name: string; meant: string }[] {
  const found: { name: string; meant: string }[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !/^[A-Z][A-Z0-9_]{2,}$/.test(name)) continue;
    const allowed = name.length <= 5 ? 1 : 2;
    let best: { meant: string; edits: number } | undefined;
    for (const setting of known) {
      const edits = distance(name, setting);
      if (edits <= allowed && (!best || edits < best.edits)) best = { meant: setting, edits };
    }
    if (best) found.push({ name, meant: best.meant });
  }
  return found;
}

/** One line for a misspelled setting: what it is taken for, and that it is ignored. */
export function misspelledSettingLine({ name, meant }: { name: string; meant: string }): string {
  return `${name} is not a setting of the bazaar, and is ignored: did you mean ${meant}?`;
}
