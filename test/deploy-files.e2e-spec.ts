/**
 * Static checks of the deployment files — Dockerfile, compose.yaml and deploy/k8s — against the
 * apps' own configuration schemas and routes. Nothing is built, started or applied: these checks
 * are what can be proven without a Docker daemon or a cluster.
 *
 * Every process the files describe (a Compose service; a Kubernetes pod, one per StatefulSet
 * ordinal) is rebuilt with the environment it would see — the image's ENV, then the file's, then
 * what the pod's shell wrapper derives (run for real in /bin/sh with a stub in place of the
 * image's entrypoint) — and checked: each variable is one the app reads, the values pass the
 * app's `validateEnv`, the port the app would listen on is the port declared, probed and
 * addressed, and every URL (ORDER_REPLICAS, CATALOG_URL, FRONTEND_URL) leads to the app it names.
 * The negative cases at the end mutate a parsed file and expect the checker to report it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse, parseAllDocuments } from 'yaml';
import { validateEnv } from '../libs/contracts/src/config/env';
import { replicaPort } from '../libs/contracts/src/config/replicas';
import { CatalogEnv, FrontendEnv, OrderEnv } from '../libs/contracts/src/config/schemas';
import { OrderRoutes } from '../libs/contracts/src/routes';

const ROOT = join(__dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// Parsed YAML is untyped; every check below reads it defensively and reports a missing field.
type Y = any;

type App = 'catalog' | 'order' | 'frontend';
const APPS: App[] = ['catalog', 'order', 'frontend'];
const SCHEMAS = { catalog: CatalogEnv, order: OrderEnv, frontend: FrontendEnv } as const;
type Config = CatalogEnv | OrderEnv | FrontendEnv;

const IMAGE = 'stock-bazaar:latest';
/** The image's entrypoint script, as the image and the manifests name it. */
const ENTRYPOINT = '/app/deploy/docker/entrypoint.sh';
const HEALTHCHECK = '/app/deploy/docker/healthcheck.js';
/** Variables a pod's shell wrapper reads to derive app settings; never read by the apps. */
const WRAPPER_VARS = new Set(['POD_NAME']);
/** What `sh` adds to the environment by itself. */
const SHELL_VARS = new Set(['PATH', 'PWD', 'OLDPWD', 'SHLVL', '_']);

const { probeUrl, loadContracts } = require('../deploy/docker/healthcheck.js') as {
  probeUrl: (app: App, env: Record<string, string>, contracts: object) => string;
  loadContracts: () => object;
};
/** What the image's HEALTHCHECK itself computes its probes with: the built libs/contracts, loaded as it loads them. */
const CONTRACTS = loadContracts();

/** Every variable the app's schema declares (validated properties, and those with defaults). */
function schemaKeys(app: App): Set<string> {
  const schema = SCHEMAS[app];
  const keys = new Set(getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false).map((m) => m.propertyName));
  for (const key of Object.keys(new schema())) keys.add(key);
  return keys;
}

/**
 * Paths each app serves without the cluster token, read from where they are declared: the order
 * replica's from `OrderRoutes` (and its health controller must use them), the catalog's and the
 * front end's terminus controllers, and `/metrics`, which bootstrap adds to every server.
 */
function servedPaths(): Record<App, Set<string>> {
  const served: Record<App, Set<string>> = { catalog: new Set(), order: new Set(), frontend: new Set() };
  const orderHealth = read('apps/order/src/health/health.controller.ts');
  for (const key of ['ping', 'health'] as const) {
    if (orderHealth.includes(`@Get(OrderRoutes.${key})`)) served.order.add(`/${OrderRoutes[key]}`);
  }
  for (const app of ['catalog', 'frontend'] as const) {
    const health = /@Get\('([\w/]+)'\)/.exec(read(`apps/${app}/src/health/health.controller.ts`));
    if (health && read(`apps/${app}/src/${app}.module.ts`).includes('HealthModule')) served[app].add(`/${health[1]}`);
  }
  const metrics = /@Get\('(metrics)'\)/.exec(read('libs/common/src/metrics/metrics.module.ts'));
  if (metrics && read('libs/common/src/bootstrap.ts').includes('MetricsModule.forApp')) {
    for (const app of APPS) served[app].add(`/${metrics[1]}`);
  }
  return served;
}
const SERVED = servedPaths();
/** The probe that means "ready to serve": a replica's /ping answers 200 only once it has recovered. */
const READINESS: Partial<Record<App, string>> = { order: `/${OrderRoutes.ping}` };

/** The port the app listens on under `config` (the rule of each app's main.ts). */
function listenPort(app: App, config: Config): number {
  if (app === 'catalog') return (config as CatalogEnv).CATALOG_PORT;
  if (app === 'frontend') return (config as FrontendEnv).FRONTEND_PORT;
  const c = config as OrderEnv;
  const own = c.ORDER_REPLICAS.find((r) => r.id === c.ORDER_ID);
  return c.ORDER_PORT ?? Number(new URL(own?.url ?? 'http://x').port);
}

interface Probe {
  kind: string;
  path: string;
  /** Resolved to a number; undefined when it could not be resolved (reported). */
  port?: number;
}

/** One process of the bazaar as a deployment file describes it. */
interface Instance {
  where: string;
  app: App;
  env: Record<string, string>;
  config?: Config;
  port?: number;
  /** Ports the file declares for the container (Kubernetes containerPort). */
  declaredPorts: Map<string | number, number>;
  probes: Probe[];
}

/** Checks shared by every instance; returns the instance with its validated config and port. */
function checkInstance(inst: Instance, problems: string[]): void {
  const keys = schemaKeys(inst.app);
  for (const key of Object.keys(inst.env)) {
    if (!keys.has(key) && !WRAPPER_VARS.has(key)) problems.push(`${inst.where}: sets ${key}, which the ${inst.app} app does not read`);
  }
  const env = Object.fromEntries(Object.entries(inst.env).filter(([k]) => !WRAPPER_VARS.has(k)));
  try {
    inst.config = validateEnv<Config>(SCHEMAS[inst.app], env);
  } catch (e) {
    problems.push(`${inst.where}: the ${inst.app} app would refuse to start: ${(e as Error).message}`);
    return;
  }
  inst.port = listenPort(inst.app, inst.config);
  if (inst.env.HOST !== '0.0.0.0') problems.push(`${inst.where}: HOST must be 0.0.0.0 in a container (got ${inst.env.HOST})`);
  if (inst.env.LOG_FORMAT !== 'json') problems.push(`${inst.where}: LOG_FORMAT must be json (got ${inst.env.LOG_FORMAT})`);
  if (inst.env.CLUSTER_TOKEN !== undefined) problems.push(`${inst.where}: the token must come from CLUSTER_TOKEN_FILE, not CLUSTER_TOKEN`);
  if (!inst.env.CLUSTER_TOKEN_FILE) problems.push(`${inst.where}: CLUSTER_TOKEN_FILE is not set`);
  if (inst.probes.length === 0) problems.push(`${inst.where}: no health check`);
  for (const probe of inst.probes) {
    if (!SERVED[inst.app].has(probe.path)) {
      problems.push(`${inst.where}: ${probe.kind} probes ${probe.path}, which the ${inst.app} app does not serve (it serves ${[...SERVED[inst.app]].join(', ')})`);
    }
    if (probe.port !== inst.port) problems.push(`${inst.where}: ${probe.kind} probes port ${probe.port}, but the app listens on ${inst.port}`);
  }
  const readiness = READINESS[inst.app];
  const ready = inst.probes.filter((p) => /readiness|healthcheck/.test(p.kind));
  if (readiness && ready.some((p) => p.path !== readiness)) problems.push(`${inst.where}: readiness must be ${readiness}`);
  if (inst.declaredPorts.size > 0 && ![...inst.declaredPorts.values()].includes(inst.port)) {
    problems.push(`${inst.where}: declares port(s) ${[...inst.declaredPorts.values()].join(', ')}, but the app listens on ${inst.port}`);
  }
}

/** Checks that every order instance and front end list exactly the replicas that exist. */
function checkReplicaLists(
  instances: Instance[],
  resolve: (url: string, from: Instance) => Instance | string,
  problems: string[],
): void {
  const orders = instances.filter((i) => i.app === 'order');
  const lists = instances.filter((i) => (i.app === 'order' || i.app === 'frontend') && i.config);
  for (const inst of lists) {
    const replicas = (inst.config as OrderEnv | FrontendEnv).ORDER_REPLICAS;
    if (replicas.length !== orders.length) {
      problems.push(`${inst.where}: ORDER_REPLICAS lists ${replicas.length} replicas, but ${orders.length} are deployed`);
    }
    const reached = new Set<Instance>();
    for (const replica of replicas) {
      const target = resolve(replica.url, inst);
      if (typeof target === 'string') {
        problems.push(`${inst.where}: ORDER_REPLICAS entry ${replica.id}=${replica.url}: ${target}`);
        continue;
      }
      if (target.app !== 'order') problems.push(`${inst.where}: ORDER_REPLICAS entry ${replica.id}=${replica.url} leads to the ${target.app}`);
      else if ((target.config as OrderEnv).ORDER_ID !== replica.id) {
        problems.push(`${inst.where}: ORDER_REPLICAS entry ${replica.id}=${replica.url} leads to replica ${(target.config as OrderEnv).ORDER_ID}`);
      }
      reached.add(target);
    }
    for (const order of orders) if (!reached.has(order)) problems.push(`${inst.where}: ORDER_REPLICAS does not list ${order.where}`);
  }
  const urlOf = (app: App, key: 'CATALOG_URL' | 'FRONTEND_URL', wants: App) => {
    for (const inst of instances.filter((i) => i.app === app && i.config)) {
      const url = (inst.config as unknown as Record<string, string>)[key];
      const target = resolve(url, inst);
      if (typeof target === 'string') problems.push(`${inst.where}: ${key}=${url}: ${target}`);
      else if (target.app !== wants) problems.push(`${inst.where}: ${key}=${url} leads to the ${target.app}, not the ${wants}`);
    }
  };
  urlOf('order', 'CATALOG_URL', 'catalog');
  urlOf('frontend', 'CATALOG_URL', 'catalog');
  urlOf('catalog', 'FRONTEND_URL', 'frontend');
}

// ---------------------------------------------------------------- Dockerfile

interface Stage {
  from: string;
  instructions: { op: string; args: string }[];
}

interface Image {
  env: Record<string, string>;
  exposed: number[];
  stages: Stage[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s*(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args: args.replace(/\s+/g, ' ') });
  }
  return stages;
}

/** An exec-form (JSON array) instruction's argv, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const argv: unknown = JSON.parse(args);
    return Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? (argv as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function checkDockerfile(stages: Stage[], problems: string[]): Image {
  const image: Image = { env: {}, exposed: [], stages };
  if (stages.length < 2) problems.push(`Dockerfile: not multi-stage (${stages.length} stage)`);
  for (const s of stages) {
    if (!/^node:20(-bookworm)?-slim(@sha256:[0-9a-f]+)?(\s+AS\s+\w+)?$/i.test(s.from)) problems.push(`Dockerfile: FROM ${s.from} is not node:20 slim`);
  }
  const build = stages.slice(0, -1).flatMap((s) => s.instructions);
  const buildRuns = build.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ; ');
  for (const tool of ['python3', 'make', 'g++']) if (!new RegExp(`install[^;]*\\s${tool.replace('+', '\\+')}(\\s|$)`).test(buildRuns)) problems.push(`Dockerfile: the build stage does not install ${tool}`);
  if (!/npm ci\b/.test(buildRuns)) problems.push('Dockerfile: the build stage does not run npm ci');
  if (!/npm run build\b/.test(buildRuns)) problems.push('Dockerfile: the build stage does not build the apps');
  if (!/npm prune --omit=dev\b/.test(buildRuns)) problems.push('Dockerfile: the build stage does not drop the dev dependencies');
  // The root postinstall builds the apps: wherever scripts are off, sqlite3 must still be compiled.
  if (/--ignore-scripts/.test(buildRuns.split(/npm run build/)[0]) && !/npm rebuild sqlite3/.test(buildRuns)) {
    problems.push('Dockerfile: npm ci --ignore-scripts without npm rebuild sqlite3 leaves sqlite3 uncompiled');
  }

  const final = stages.at(-1)?.instructions ?? [];
  const last = (op: string) => final.filter((i) => i.op === op).at(-1);
  const user = last('USER')?.args;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`Dockerfile: the final stage runs as ${user ?? 'root (no USER)'}`);
  for (const i of final.filter((i) => i.op === 'ENV')) {
    for (const [, k, v] of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) image.env[k] = v.replace(/^"|"$/g, '');
  }
  for (const i of final.filter((i) => i.op === 'EXPOSE')) image.exposed.push(...i.args.split(' ').map((p) => Number(p.split('/')[0])));
  const volumes = final.filter((i) => i.op === 'VOLUME').flatMap((i) => execForm(i.args) ?? i.args.split(' '));
  if (!image.env.DATA_DIR || !volumes.includes(image.env.DATA_DIR)) problems.push(`Dockerfile: no VOLUME for DATA_DIR (${image.env.DATA_DIR})`);
  if (image.env.HOST !== '0.0.0.0') problems.push('Dockerfile: ENV HOST must be 0.0.0.0');
  if (image.env.LOG_FORMAT !== 'json') problems.push('Dockerfile: ENV LOG_FORMAT must be json');
  const common = new Set(APPS.flatMap((a) => [...schemaKeys(a)]));
  for (const k of Object.keys(image.env)) if (!common.has(k)) problems.push(`Dockerfile: ENV ${k} is read by no app`);

  const healthcheck = last('HEALTHCHECK')?.args;
  const hcArgv = healthcheck && execForm(healthcheck.replace(/^(--\S+\s+)*CMD\s+/, ''));
  if (!healthcheck) problems.push('Dockerfile: no HEALTHCHECK');
  else if (!hcArgv || !hcArgv.includes(HEALTHCHECK)) problems.push(`Dockerfile: HEALTHCHECK must run ${HEALTHCHECK} in exec form`);
  const entrypoint = last('ENTRYPOINT')?.args;
  const epArgv = entrypoint && execForm(entrypoint);
  if (!epArgv) problems.push('Dockerfile: ENTRYPOINT missing or not in exec form');
  else if (!epArgv.includes(ENTRYPOINT)) problems.push(`Dockerfile: ENTRYPOINT does not run ${ENTRYPOINT}`);
  const cmd = last('CMD')?.args;
  if (cmd && !execForm(cmd)) problems.push('Dockerfile: CMD not in exec form');
  // The scripts the image runs are copied from deploy/docker into /app/deploy/docker.
  const workdir = last('WORKDIR')?.args;
  if (workdir !== '/app' || !final.some((i) => i.op === 'COPY' && /^deploy\/docker\/? \.\/deploy\/docker\/?$/.test(i.args))) {
    problems.push('Dockerfile: deploy/docker is not copied to /app/deploy/docker');
  }
  return image;
}

// ---------------------------------------------------------------- Compose

function composeInstances(compose: Y, image: Image, problems: string[]): Instance[] {
  const instances: Instance[] = [];
  const secrets = compose.secrets ?? {};
  const volumesSeen = new Map<string, string>();
  const networks = new Set<string>();
  for (const [name, svc] of Object.entries<Y>(compose.services ?? {})) {
    const where = `compose.yaml ${name}`;
    if (svc.image !== IMAGE) problems.push(`${where}: image ${svc.image}, expected ${IMAGE}`);
    if (svc.restart !== 'unless-stopped') problems.push(`${where}: restart is ${svc.restart}, expected unless-stopped`);
    if (svc.entrypoint !== undefined) problems.push(`${where}: overrides the image's entrypoint`);
    const command = Array.isArray(svc.command) ? svc.command : String(svc.command ?? '').split(' ');
    const app = command[0] as App;
    if (!APPS.includes(app)) {
      problems.push(`${where}: command ${JSON.stringify(svc.command)} names no app`);
      continue;
    }
    const fileEnv: Record<string, string> = Array.isArray(svc.environment)
      ? Object.fromEntries(svc.environment.map((kv: string) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]))
      : Object.fromEntries(Object.entries<Y>(svc.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const env = { ...image.env, ...fileEnv };

    const test: string[] = svc.healthcheck?.test ?? [];
    const probes: Probe[] = [];
    if (test[0] === 'CMD' && test[1] === 'node' && test[2] === HEALTHCHECK) {
      const url = new URL(test[3]);
      if (!['127.0.0.1', 'localhost'].includes(url.hostname)) problems.push(`${where}: the health check must ask the container itself`);
      probes.push({ kind: 'healthcheck', path: url.pathname, port: Number(url.port) });
      try {
        const expected = probeUrl(app, env, CONTRACTS);
        if (expected !== test[3]) problems.push(`${where}: healthcheck ${test[3]}, but the image's HEALTHCHECK would probe ${expected}`);
      } catch {
        /* the invalid environment is reported by checkInstance */
      }
    } else if (svc.healthcheck) problems.push(`${where}: healthcheck.test must be [CMD, node, ${HEALTHCHECK}, <url>]`);
    const inst: Instance = { where, app, env, declaredPorts: new Map(), probes };
    checkInstance(inst, problems);
    instances.push(inst);

    // The data directory is a named volume of this service alone.
    const mounts: string[] = (svc.volumes ?? []).map((v: Y) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    const dataVolume = mounts.map((m) => m.split(':')).find(([, target]) => target === env.DATA_DIR)?.[0];
    if (!dataVolume || !(dataVolume in (compose.volumes ?? {}))) problems.push(`${where}: DATA_DIR ${env.DATA_DIR} is not a named volume`);
    else if (volumesSeen.has(dataVolume)) problems.push(`${where}: shares volume ${dataVolume} with ${volumesSeen.get(dataVolume)}`);
    else volumesSeen.set(dataVolume, name);

    // The token: a Compose secret from a file, named by CLUSTER_TOKEN_FILE.
    const mounted = (svc.secrets ?? []).map((s: Y) => {
      const source = typeof s === 'string' ? s : s.source;
      const target = typeof s === 'string' ? s : (s.target ?? s.source);
      return { source, path: target.startsWith('/') ? target : `/run/secrets/${target}` };
    });
    const token = mounted.find((m: { path: string }) => m.path === env.CLUSTER_TOKEN_FILE);
    if (!token) problems.push(`${where}: CLUSTER_TOKEN_FILE ${env.CLUSTER_TOKEN_FILE} is no secret mounted in the service`);
    else if (!secrets[token.source]?.file) problems.push(`${where}: secret ${token.source} is not defined from a file`);

    // Stopping: Compose's SIGKILL must come after the app's own shutdown timeout.
    const grace = /^(\d+)s$/.exec(String(svc.stop_grace_period ?? '10s'));
    const shutdown = inst.config?.SHUTDOWN_TIMEOUT_MS ?? 10_000;
    if (!grace || Number(grace[1]) * 1000 <= shutdown) problems.push(`${where}: stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS (${shutdown} ms)`);

    // Only the front end is published, on the port it listens on.
    const published: string[] = (svc.ports ?? []).map((p: Y) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
    if (app !== 'frontend' && published.length > 0) problems.push(`${where}: publishes ${published.join(', ')}; only the front end is public`);
    if (app === 'frontend') {
      if (published.length !== 1) problems.push(`${where}: must publish exactly its one port`);
      for (const p of published) if (Number(p.split(':').at(-1)) !== inst.port) problems.push(`${where}: publishes container port ${p.split(':').at(-1)}, but the app listens on ${inst.port}`);
    }
    for (const n of Array.isArray(svc.networks) ? svc.networks : Object.keys(svc.networks ?? {})) networks.add(n);
  }
  if (networks.size !== 1) problems.push(`compose.yaml: the services must share one network (found ${[...networks].join(', ') || 'none'})`);
  for (const app of ['catalog', 'frontend'] as const) {
    const n = instances.filter((i) => i.app === app).length;
    if (n !== 1) problems.push(`compose.yaml: ${n} ${app} services, expected 1`);
  }
  return instances;
}

function checkCompose(compose: Y, image: Image): string[] {
  const problems: string[] = [];
  const instances = composeInstances(compose, image, problems);
  const byName = new Map(instances.map((i) => [i.where.replace('compose.yaml ', ''), i]));
  // On the Compose network a service is reached by its name, on the port its process listens on.
  const resolve = (url: string): Instance | string => {
    const u = new URL(url);
    const target = byName.get(u.hostname);
    if (!target) return `no service is named ${u.hostname}`;
    if (Number(u.port || 80) !== target.port) return `${u.hostname} listens on ${target.port}, not ${u.port || 80}`;
    return target;
  };
  checkReplicaLists(instances, resolve, problems);
  for (const inst of instances) {
    if (inst.port && !image.exposed.includes(inst.port)) problems.push(`Dockerfile: EXPOSE lacks ${inst.port} (${inst.where})`);
  }
  return problems;
}

// ---------------------------------------------------------------- Kubernetes

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * Runs a container's `sh -c` wrapper as the pod would, with a stub in place of the image's
 * entrypoint that prints the app it was asked for and the environment it got.
 */
function runWrapper(script: string, env: Record<string, string>): { app?: string; env: Record<string, string>; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-deploy-'));
  try {
    const stub = join(dir, 'entrypoint.sh');
    writeFileSync(stub, 'printf "APP=%s\\n" "$1"\nenv\n');
    const r = spawnSync('/bin/sh', ['-c', script.split(ENTRYPOINT).join(stub)], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      encoding: 'utf8',
    });
    const lines = r.stdout.split('\n').filter(Boolean);
    const app = /^APP=(.*)$/.exec(lines[0] ?? '')?.[1];
    const out = Object.fromEntries(
      lines
        .slice(1)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
        .filter(([k]) => !SHELL_VARS.has(k)),
    );
    return { app, env: out, status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Pod {
  name: string;
  workload: Y;
  labels: Record<string, string>;
  inst: Instance;
}

function loadK8s(): { docs: Y[]; kustomization: Y; files: string[] } {
  const dir = join(ROOT, 'deploy/k8s');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const docs: Y[] = [];
  let kustomization: Y;
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'), { version: '1.1' })) {
      if (doc.errors.length) throw new Error(`deploy/k8s/${f}: ${doc.errors[0].message}`);
      const js = doc.toJS();
      if (!js) continue;
      if (js.kind === 'Kustomization') kustomization = js;
      else docs.push({ ...js, __file: f });
    }
  }
  return { docs, kustomization, files };
}

function checkK8s(docs: Y[], kustomization: Y, files: string[], image: Image): string[] {
  const problems: string[] = [];
  const listed = new Set<string>(kustomization?.resources ?? []);
  for (const f of files.filter((f) => !/^kustomization\.ya?ml$/.test(f))) {
    if (!listed.has(f)) problems.push(`deploy/k8s/kustomization.yaml: does not list ${f}`);
  }
  for (const f of listed) if (!files.includes(f)) problems.push(`deploy/k8s/kustomization.yaml: lists ${f}, which does not exist`);
  const secretNames = new Set<string>([
    ...(kustomization?.secretGenerator ?? []).map((g: Y) => g.name),
    ...docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata?.name),
  ]);
  for (const g of kustomization?.secretGenerator ?? []) {
    if (!g.options?.disableNameSuffixHash) problems.push(`kustomization: secret ${g.name} gets a hash suffix`);
  }

  const pods: Pod[] = [];
  for (const w of docs.filter((d) => d.kind === 'StatefulSet' || d.kind === 'Deployment')) {
    const name = w.metadata?.name;
    const where = `${w.__file} ${w.kind}/${name}`;
    const spec = w.spec ?? {};
    const podSpec = spec.template?.spec ?? {};
    const labels = spec.template?.metadata?.labels ?? {};
    if (!matches(spec.selector?.matchLabels, labels)) problems.push(`${where}: selector does not match the pod template's labels`);
    const sc = podSpec.securityContext ?? {};
    if (sc.runAsNonRoot !== true || sc.runAsUser !== 1000 || sc.fsGroup === undefined) {
      problems.push(`${where}: pods must run as non-root (runAsNonRoot, runAsUser 1000, fsGroup)`);
    }
    // Kubernetes' service-link variables would set CATALOG_PORT=tcp://… and FRONTEND_PORT=tcp://…,
    // which the apps read as their settings and refuse.
    if (podSpec.enableServiceLinks !== false) problems.push(`${where}: enableServiceLinks must be false (CATALOG_PORT=tcp://… from the Service catalog)`);
    const containers: Y[] = podSpec.containers ?? [];
    if (containers.length !== 1) {
      problems.push(`${where}: expected one container, found ${containers.length}`);
      continue;
    }
    const c = containers[0];
    if (c.image !== IMAGE) problems.push(`${where}: image ${c.image}, expected ${IMAGE}`);
    if (!['IfNotPresent', 'Never'].includes(c.imagePullPolicy)) problems.push(`${where}: imagePullPolicy must be IfNotPresent or Never (the image is built locally)`);
    const grace = (podSpec.terminationGracePeriodSeconds ?? 30) * 1000;

    const volumes = new Map<string, Y>((podSpec.volumes ?? []).map((v: Y) => [v.name, v]));
    const claims = new Set<string>((spec.volumeClaimTemplates ?? []).map((t: Y) => t.metadata?.name));
    const mountAt = (path: string | undefined) => (c.volumeMounts ?? []).find((m: Y) => m.mountPath === path);

    const replicas = w.kind === 'StatefulSet' ? (spec.replicas ?? 1) : 1;
    if (w.kind === 'Deployment' && spec.replicas !== 1) problems.push(`${where}: replicas ${spec.replicas}: a second front end is not supported yet`);
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const podName = w.kind === 'StatefulSet' ? `${name}-${ordinal}` : `${name}-0`;
      const podWhere = `${where} pod ${podName}`;
      const fileEnv: Record<string, string> = {};
      for (const e of c.env ?? []) {
        if (e.value !== undefined) fileEnv[e.name] = String(e.value);
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') fileEnv[e.name] = podName;
        else problems.push(`${podWhere}: env ${e.name} comes from ${JSON.stringify(e.valueFrom)}, which this check cannot follow`);
      }
      let env = { ...image.env, ...fileEnv };
      let app: string | undefined;
      const cmd: string[] = c.command ?? [];
      if (cmd.length === 0) app = c.args?.[0];
      else if (cmd.join(' ') === '/bin/sh -c' && c.args?.length === 1 && c.args[0].includes(ENTRYPOINT)) {
        const run = runWrapper(c.args[0], env);
        if (run.status !== 0) problems.push(`${podWhere}: its shell wrapper failed: ${run.stderr.trim()}`);
        app = run.app;
        env = run.env;
        for (const k of Object.keys(fileEnv)) {
          if (WRAPPER_VARS.has(k) && !c.args[0].includes(k)) problems.push(`${podWhere}: sets ${k}, which nothing reads`);
        }
      } else problems.push(`${podWhere}: command must be empty (the image's entrypoint) or [/bin/sh, -c, <script that runs ${ENTRYPOINT}>]`);
      if (!APPS.includes(app as App)) {
        problems.push(`${podWhere}: starts no app (got ${app})`);
        continue;
      }
      const declaredPorts = new Map<string | number, number>();
      for (const p of c.ports ?? []) {
        declaredPorts.set(p.containerPort, p.containerPort);
        if (p.name) declaredPorts.set(p.name, p.containerPort);
      }
      const probes: Probe[] = [];
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const get = c[kind]?.httpGet;
        if (c[kind] && !get) problems.push(`${podWhere}: ${kind} is not an httpGet`);
        if (get) probes.push({ kind, path: get.path, port: declaredPorts.get(get.port) });
      }
      const inst: Instance = { where: podWhere, app: app as App, env, declaredPorts, probes };
      checkInstance(inst, problems);
      pods.push({ name: podName, workload: w, labels, inst });
      if (!probes.some((p) => p.kind === 'readinessProbe')) problems.push(`${podWhere}: no readinessProbe`);
      if (!probes.some((p) => p.kind === 'livenessProbe')) problems.push(`${podWhere}: no livenessProbe`);
      if (app === 'order' && !probes.some((p) => p.kind === 'livenessProbe' && p.path === `/${OrderRoutes.health}`)) {
        problems.push(`${podWhere}: liveness must be /${OrderRoutes.health}`);
      }
      if ((inst.config?.SHUTDOWN_TIMEOUT_MS ?? 10_000) >= grace) problems.push(`${podWhere}: terminationGracePeriodSeconds must exceed SHUTDOWN_TIMEOUT_MS`);

      // The data directory: a persistent volume of this pod.
      const data = mountAt(env.DATA_DIR);
      const persistent = data && (claims.has(data.name) || volumes.get(data.name)?.persistentVolumeClaim);
      if (!persistent) problems.push(`${podWhere}: DATA_DIR ${env.DATA_DIR} is not on a persistent volume`);
      // The token: a file of a Secret volume, readable by the owner (and fsGroup) only.
      const tokenFile = env.CLUSTER_TOKEN_FILE ?? '';
      const tokenMount = mountAt(tokenFile.slice(0, tokenFile.lastIndexOf('/')));
      const secret = tokenMount && volumes.get(tokenMount.name)?.secret;
      if (!secret) problems.push(`${podWhere}: CLUSTER_TOKEN_FILE ${tokenFile} is not in a mounted Secret`);
      else {
        if (!secretNames.has(secret.secretName)) problems.push(`${podWhere}: Secret ${secret.secretName} is neither generated nor defined`);
        if (![0o400, 0o440].includes(secret.defaultMode)) problems.push(`${podWhere}: the token's defaultMode must be 0400 or 0440 (got ${secret.defaultMode?.toString(8)})`);
        const key = tokenFile.slice(tokenFile.lastIndexOf('/') + 1);
        const generated = (kustomization?.secretGenerator ?? []).find((g: Y) => g.name === secret.secretName);
        const keys: string[] = (generated?.files ?? []).map((f: string) => f.split('=')[0]);
        if (generated && !keys.includes(key)) problems.push(`${podWhere}: Secret ${secret.secretName} has no key ${key}`);
      }
    }
  }

  // Service names: `svc` is a Service; `pod.svc` a StatefulSet pod behind its headless Service.
  const services = docs.filter((d) => d.kind === 'Service');
  const resolve = (url: string): Instance | string => {
    const u = new URL(url);
    const port = Number(u.port || 80);
    const [first, second, ...rest] = u.hostname.split('.');
    if (rest.length > 0) return `use a short name (svc or pod.svc), not ${u.hostname}`;
    const svc = services.find((s) => s.metadata?.name === (second ?? first));
    if (!svc) return `no Service is named ${second ?? first}`;
    const selected = pods.filter((p) => matches(svc.spec?.selector, p.labels));
    if (second !== undefined) {
      if (svc.spec?.clusterIP !== 'None') return `Service ${second} is not headless, so ${u.hostname} does not resolve`;
      if (!svc.spec?.publishNotReadyAddresses) return `Service ${second} must publish not-ready addresses (replicas recover from each other before they are ready)`;
      const pod = selected.find((p) => p.name === first && p.workload.kind === 'StatefulSet' && p.workload.spec?.serviceName === second);
      if (!pod) return `no StatefulSet pod ${first} is governed by Service ${second}`;
      if (pod.inst.port !== port) return `${first} listens on ${pod.inst.port}, not ${port}`;
      return pod.inst;
    }
    if (selected.length === 0) return `Service ${first} selects no pod`;
    const sp = (svc.spec?.ports ?? []).find((p: Y) => p.port === port);
    if (!sp) return `Service ${first} has no port ${port}`;
    for (const pod of selected) {
      const target = pod.inst.declaredPorts.get(sp.targetPort ?? sp.port);
      if (target !== pod.inst.port) return `Service ${first} port ${port} leads to ${target ?? sp.targetPort}, but ${pod.name} listens on ${pod.inst.port}`;
    }
    const apps = new Set(selected.map((p) => p.inst.app));
    if (apps.size !== 1) return `Service ${first} selects several apps (${[...apps].join(', ')})`;
    return selected[0].inst;
  };
  checkReplicaLists(
    pods.map((p) => p.inst),
    resolve,
    problems,
  );

  // Order replicas: a StatefulSet started in parallel, guarded by a PodDisruptionBudget.
  const orderSets = docs.filter((d) => d.kind === 'StatefulSet' && pods.some((p) => p.workload === d && p.inst.app === 'order'));
  if (orderSets.length !== 1) problems.push(`deploy/k8s: ${orderSets.length} StatefulSets run order replicas, expected 1`);
  for (const s of orderSets) {
    if (s.spec?.podManagementPolicy !== 'Parallel') problems.push(`StatefulSet/${s.metadata?.name}: podManagementPolicy must be Parallel (replicas become ready only after recovering from each other)`);
  }
  const orderPods = pods.filter((p) => p.inst.app === 'order');
  const pdbs = docs.filter((d) => d.kind === 'PodDisruptionBudget');
  const guarding = pdbs.filter((b) => orderPods.some((p) => matches(b.spec?.selector?.matchLabels, p.labels)));
  if (guarding.length !== 1) problems.push(`deploy/k8s: ${guarding.length} PodDisruptionBudgets select the order pods, expected 1`);
  for (const b of guarding) {
    if (!orderPods.every((p) => matches(b.spec?.selector?.matchLabels, p.labels))) problems.push(`PodDisruptionBudget/${b.metadata?.name}: does not select every order pod`);
    if (pods.some((p) => p.inst.app !== 'order' && matches(b.spec?.selector?.matchLabels, p.labels))) problems.push(`PodDisruptionBudget/${b.metadata?.name}: selects pods other than the order replicas`);
    if (b.spec?.maxUnavailable !== 1) problems.push(`PodDisruptionBudget/${b.metadata?.name}: maxUnavailable must be 1`);
  }
  for (const b of pdbs.filter((b) => !guarding.includes(b))) problems.push(`PodDisruptionBudget/${b.metadata?.name}: selects no order pod`);
  for (const app of ['catalog', 'frontend'] as const) {
    const n = pods.filter((p) => p.inst.app === app).length;
    if (n !== 1) problems.push(`deploy/k8s: ${n} ${app} pods, expected 1`);
  }
  return problems;
}

// ---------------------------------------------------------------- the checks

const loadCompose = () => parse(read('compose.yaml'), { merge: true });
const dockerStages = () => parseDockerfile(read('Dockerfile'));
const imageOf = (stages: Stage[]) => checkDockerfile(stages, []);

describe('deployment files (static: nothing is built, started or applied)', () => {
  it('the checker knows what the apps serve and read', () => {
    expect([...SERVED.order].sort()).toEqual(['/health', '/metrics', '/ping']);
    expect([...SERVED.catalog].sort()).toEqual(['/health', '/metrics']);
    expect([...SERVED.frontend].sort()).toEqual(['/health', '/metrics']);
    for (const key of ['HOST', 'DATA_DIR', 'LOG_FORMAT', 'CLUSTER_TOKEN_FILE', 'ORDER_ID', 'ORDER_PORT', 'ORDER_REPLICAS']) {
      expect(schemaKeys('order').has(key)).toBe(true);
    }
    expect(schemaKeys('frontend').has('ORDER_ID')).toBe(false);
  });

  it('Dockerfile: multi-stage node:20 slim, non-root, HEALTHCHECK, exec-form ENTRYPOINT, VOLUME for the data', () => {
    const problems: string[] = [];
    checkDockerfile(dockerStages(), problems);
    expect(problems).toEqual([]);
  });

  it("the image's HEALTHCHECK computes each app's probe from the built contracts, on its HOST unless a wildcard", () => {
    // Without a URL, it once failed for every order replica: `replicaPort is not a function`.
    const replicas = '1=http://order-1:20001,2=http://order-2:20002,3=http://order-3:20003';
    expect(probeUrl('order', { ORDER_ID: '2', ORDER_REPLICAS: replicas, HOST: '0.0.0.0' }, CONTRACTS)).toBe('http://127.0.0.1:20002/ping');
    expect(probeUrl('catalog', { HOST: '10.1.2.3' }, CONTRACTS)).toBe('http://10.1.2.3:10001/health');
    expect(probeUrl('frontend', { HOST: '::' }, CONTRACTS)).toBe('http://127.0.0.1:30001/health');
    expect(probeUrl('frontend', { HOST: '::1' }, CONTRACTS)).toBe('http://[::1]:30001/health');
  });

  it('.dockerignore keeps dependencies, builds, data and secrets out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', 'results', '.git', '**/secrets', '**/*.sqlite']) expect(ignored).toContain(entry);
    expect(ignored).not.toContain('deploy/docker');
  });

  it('the entrypoint starts the app named by its argument as PID 1, and refuses others', () => {
    const script = read('deploy/docker/entrypoint.sh');
    expect(script).toMatch(/^exec node "\/app\/dist\/apps\/\$app\/src\/main\.js"/m);
    const nest = JSON.parse(read('nest-cli.json'));
    for (const app of APPS) {
      // `npm run build` writes dist/apps/<app>/src/main.js (the path the entrypoint runs).
      expect(nest.projects[app]).toMatchObject({ sourceRoot: `apps/${app}/src`, entryFile: 'main' });
    }
    const r = spawnSync('/bin/sh', [join(ROOT, 'deploy/docker/entrypoint.sh'), 'client'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('usage: stock-bazaar catalog|order|frontend');
  });

  it('compose.yaml agrees with the apps: variables, ports, health checks, addresses, volumes, the secret', () => {
    const problems = checkCompose(loadCompose(), imageOf(dockerStages()));
    expect(problems).toEqual([]);
  });

  it('deploy/k8s agrees with the apps: variables, ports, probes, addresses, replicas, PDB, the secret', () => {
    const { docs, kustomization, files } = loadK8s();
    expect(kustomization).toBeDefined();
    const problems = checkK8s(docs, kustomization, files, imageOf(dockerStages()));
    expect(problems).toEqual([]);
  });

  it("the order pods' wrapper derives ORDER_ID = ordinal + 1 and refuses a name without an ordinal", () => {
    const { docs } = loadK8s();
    const order = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'order');
    const script: string = order.spec.template.spec.containers[0].args[0];
    for (const [pod, id] of [['order-0', '1'], ['order-1', '2'], ['order-2', '3'], ['order-10', '11']]) {
      const run = runWrapper(script, { POD_NAME: pod });
      expect({ status: run.status, app: run.app, id: run.env.ORDER_ID }).toEqual({ status: 0, app: 'order', id });
    }
    const bad = runWrapper(script, { POD_NAME: 'order' });
    expect(bad.status).not.toBe(0);
    expect(bad.app).toBeUndefined();
  });

  describe('a drift is reported', () => {
    const compose = (mutate: (c: Y) => void) => {
      const c = structuredClone(loadCompose());
      mutate(c);
      return checkCompose(c, imageOf(dockerStages())).join('\n');
    };
    const k8s = (mutate: (docs: Y[], kustomization: Y) => void) => {
      const { docs, kustomization, files } = loadK8s();
      const copy = structuredClone(docs);
      const kust = structuredClone(kustomization);
      mutate(copy, kust);
      return checkK8s(copy, kust, files, imageOf(dockerStages())).join('\n');
    };
    const find = (docs: Y[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
    const container = (docs: Y[], kind: string, name: string) => find(docs, kind, name).spec.template.spec.containers[0];
    const env = (c: Y, name: string) => c.env.find((e: Y) => e.name === name);

    it.each<[string, (c: Y) => void, RegExp]>([
      ['a health check on the wrong port', (c) => (c.services['order-2'].healthcheck.test[3] = 'http://127.0.0.1:20003/ping'), /order-2: healthcheck probes port 20003, but the app listens on 20002/],
      ['a probe path the app does not serve', (c) => (c.services.catalog.healthcheck.test[3] = 'http://127.0.0.1:10001/ping'), /catalog: healthcheck probes \/ping, which the catalog app does not serve/],
      ['a replica missing from ORDER_REPLICAS', (c) => (c.services.frontend.environment.ORDER_REPLICAS = '1=http://order-1:20001,2=http://order-2:20002'), /frontend: ORDER_REPLICAS lists 2 replicas, but 3 are deployed[\s\S]*does not list compose.yaml order-3/],
      ['a replica address with the wrong port', (c) => (c.services['order-1'].environment.ORDER_REPLICAS = '1=http://order-1:20001,2=http://order-2:20009,3=http://order-3:20003'), /order-1: ORDER_REPLICAS entry 2=http:\/\/order-2:20009: order-2 listens on 20002, not 20009/],
      ['ids that do not match the services', (c) => (c.services['order-3'].environment.ORDER_ID = '2'), /entry 3=http:\/\/order-3:20003: order-3 listens on 20002, not 20003/],
      ['ids swapped between addresses', (c) => (c.services.frontend.environment.ORDER_REPLICAS = '1=http://order-2:20002,2=http://order-1:20001,3=http://order-3:20003'), /frontend: ORDER_REPLICAS entry 1=http:\/\/order-2:20002 leads to replica 2/],
      ['a fourth replica nobody lists', (c) => (c.services['order-4'] = { ...structuredClone(c.services['order-3']), environment: { ...c.services['order-3'].environment, ORDER_ID: '3' }, volumes: ['order-4-data:/data'] }), /lists 3 replicas, but 4 are deployed/],
      ['FRONTEND_URL on the wrong port', (c) => (c.services.catalog.environment.FRONTEND_URL = 'http://frontend:30002'), /FRONTEND_URL=http:\/\/frontend:30002: frontend listens on 30001, not 30002/],
      ['a variable no app reads', (c) => (c.services.catalog.environment.CATALOG_PROT = '10001'), /catalog: sets CATALOG_PROT, which the catalog app does not read/],
      ['a value the schema refuses', (c) => (c.services.frontend.environment.FRONTEND_PORT = '70000'), /frontend: the frontend app would refuse to start: .*FRONTEND_PORT/],
      ['a published internal port', (c) => (c.services['order-1'].ports = ['20001:20001']), /order-1: publishes 20001:20001; only the front end is public/],
      ['two services on one volume', (c) => (c.services['order-2'].volumes = ['order-1-data:/data']), /order-2: shares volume order-1-data with order-1/],
      ['the token as a plain variable', (c) => (c.services.catalog.environment.CLUSTER_TOKEN = 'x'.repeat(20)), /catalog: the token must come from CLUSTER_TOKEN_FILE/],
    ])('compose.yaml: %s', (_, mutate, expected) => {
      expect(compose(mutate)).toMatch(expected);
    });

    it.each<[string, (docs: Y[], kust: Y) => void, RegExp]>([
      ['a container port that is not the listening port', (d) => (container(d, 'StatefulSet', 'order').ports[0].containerPort = 20002), /pod order-0: readinessProbe probes port 20002, but the app listens on 20001/],
      ['more replicas than ORDER_REPLICAS lists', (d) => (find(d, 'StatefulSet', 'order').spec.replicas = 4), /ORDER_REPLICAS lists 3 replicas, but 4 are deployed/],
      ['fewer replicas than ORDER_REPLICAS lists', (d) => (find(d, 'StatefulSet', 'order').spec.replicas = 2), /entry 3=http:\/\/order-2\.order:20001: no StatefulSet pod order-2/],
      ['an address of a pod that does not exist', (d) => (env(container(d, 'Deployment', 'frontend'), 'ORDER_REPLICAS').value = '1=http://order-1.order:20001,2=http://order-2.order:20001,3=http://order-3.order:20001'), /no StatefulSet pod order-3 is governed by Service order/],
      ['a readiness probe on a path the app does not serve', (d) => (container(d, 'StatefulSet', 'order').readinessProbe.httpGet.path = '/healthz'), /readinessProbe probes \/healthz, which the order app does not serve/],
      ['liveness of a replica on /ping', (d) => (container(d, 'StatefulSet', 'order').livenessProbe.httpGet.path = '/ping'), /liveness must be \/health/],
      ['a PDB that selects other pods', (d) => (find(d, 'PodDisruptionBudget', 'order').spec.selector.matchLabels['app.kubernetes.io/component'] = 'frontend'), /0 PodDisruptionBudgets select the order pods/],
      ['a Service port that leads elsewhere', (d) => (find(d, 'Service', 'catalog').spec.ports[0].port = 10002), /CATALOG_URL=http:\/\/catalog:10001: Service catalog has no port 10001/],
      ['a headless Service that hides recovering replicas', (d) => delete find(d, 'Service', 'order').spec.publishNotReadyAddresses, /must publish not-ready addresses/],
      ['a world-readable token', (d) => (find(d, 'StatefulSet', 'catalog').spec.template.spec.volumes[0].secret.defaultMode = 0o444), /defaultMode must be 0400 or 0440 \(got 444\)/],
      ['a Secret nobody generates', (_, k) => (k.secretGenerator[0].name = 'other'), /Secret bazaar-cluster-token is neither generated nor defined/],
      ['an image pulled from a registry', (d) => (container(d, 'Deployment', 'frontend').imagePullPolicy = 'Always'), /imagePullPolicy must be IfNotPresent or Never/],
      ['a second front end', (d) => (find(d, 'Deployment', 'frontend').spec.replicas = 2), /a second front end is not supported yet/],
      ['a wrapper that numbers replicas from 0', (d) => (container(d, 'StatefulSet', 'order').args[0] = container(d, 'StatefulSet', 'order').args[0].replace('ordinal + 1', 'ordinal')), /order-0: the order app would refuse to start: .*ORDER_ID/],
      ['a variable no app reads', (d) => container(d, 'StatefulSet', 'catalog').env.push({ name: 'CATALOG_HOST', value: 'x' }), /sets CATALOG_HOST, which the catalog app does not read/],
      ['service links on', (d) => delete find(d, 'Deployment', 'frontend').spec.template.spec.enableServiceLinks, /enableServiceLinks must be false/],
    ])('deploy/k8s: %s', (_, mutate, expected) => {
      expect(k8s(mutate)).toMatch(expected);
    });

    it.each<[string, (text: string) => string, RegExp]>([
      ['root in the final stage', (t) => t.replace('USER node', 'USER root'), /final stage runs as root/],
      ['no HEALTHCHECK', (t) => t.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), /no HEALTHCHECK/],
      ['a shell-form ENTRYPOINT', (t) => t.replace(/ENTRYPOINT .*/, 'ENTRYPOINT /bin/sh /app/deploy/docker/entrypoint.sh'), /ENTRYPOINT missing or not in exec form/],
      ['one stage', (t) => t.slice(t.indexOf('# ---- runtime')), /not multi-stage/],
      ['a non-slim base', (t) => t.replace(/FROM node:20-bookworm-slim$/m, 'FROM node:20'), /FROM node:20 is not node:20 slim/],
      ['no VOLUME for the data', (t) => t.replace(/^VOLUME .*$/m, ''), /no VOLUME for DATA_DIR/],
      ['sqlite3 left uncompiled', (t) => t.replace(/ \\\n && npm rebuild sqlite3/, ''), /leaves sqlite3 uncompiled/],
    ])('Dockerfile: %s', (_, mutate, expected) => {
      const text = read('Dockerfile');
      const mutated = mutate(text);
      expect(mutated).not.toBe(text);
      const problems: string[] = [];
      checkDockerfile(parseDockerfile(mutated), problems);
      expect(problems.join('\n')).toMatch(expected);
    });

    it('an EXPOSE that lacks a port compose uses', () => {
      const image = imageOf(parseDockerfile(read('Dockerfile').replace('EXPOSE 10001 20001 20002 20003 30001', 'EXPOSE 10001 20001 30001')));
      expect(checkCompose(loadCompose(), image).join('\n')).toMatch(/EXPOSE lacks 20002/);
    });
  });

  it('the token files the deployment reads are the ones the README has the user create', () => {
    expect(loadCompose().secrets.cluster_token.file).toBe('./secrets/cluster-token');
    const { kustomization } = loadK8s();
    expect(kustomization.secretGenerator[0].files).toEqual(['cluster-token=secrets/cluster-token']);
  });
});
