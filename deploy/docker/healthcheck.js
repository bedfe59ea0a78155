'use strict';
/**
 * The image's HEALTHCHECK: `node healthcheck.js [url]` exits 0 when the URL answers 200.
 *
 * Without a URL it probes the app this container runs (the main.js that PID 1 runs) on the port
 * that app listens on, computed from the environment by the app's own configuration schema (the
 * compiled libs/contracts), so the probe cannot drift from the server:
 * - order → `GET /ping`: 200 only once the replica has recovered and is ready;
 * - catalog → `GET /health`: terminus's report, 200 while the database answers;
 * - frontend → `GET /health`: terminus's report, 200 while the process serves HTTP.
 * None of them needs the cluster token.
 */
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const PROBE_PATHS = { catalog: '/health', order: '/ping', frontend: '/health' };

/**
 * What {@link probeUrl} needs of the compiled libs/contracts: validateEnv, the three schemas and
 * replicaPort, from their own modules (the whole library would load Nest and Swagger on every probe).
 */
function loadContracts() {
  const dir = join(__dirname, '..', '..', 'dist', 'libs', 'contracts', 'src', 'config');
  return { ...require(join(dir, 'env.js')), ...require(join(dir, 'schemas.js')), ...require(join(dir, 'replicas.js')) };
}

/** The URL to probe for `app` under `env`; `contracts` holds validateEnv, the three schemas and replicaPort. */
function probeUrl(app, env, contracts) {
  const { validateEnv, CatalogEnv, OrderEnv, FrontendEnv, replicaPort } = contracts;
  let port;
  let host;
  if (app === 'catalog') {
    ({ CATALOG_PORT: port, HOST: host } = validateEnv(CatalogEnv, env));
  } else if (app === 'frontend') {
    ({ FRONTEND_PORT: port, HOST: host } = validateEnv(FrontendEnv, env));
  } else if (app === 'order') {
    // The rule apps/order/src/main.ts uses: ORDER_PORT, else the port of this id's entry.
    const config = validateEnv(OrderEnv, env);
    port = replicaPort(config);
    host = config.HOST;
  } else {
    throw new Error(`unknown app ${JSON.stringify(app)}`);
  }
  return `http://${probeHost(host)}:${port}${PROBE_PATHS[app]}`;
}

/** Where to reach a server bound to `host`: loopback for a wildcard, else that address (an IPv6 one in brackets). */
function probeHost(host) {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The app whose dist/apps/<app>/src/main.js a process of this container runs (PID 1 first). */
function runningApp() {
  const pids = ['1', ...readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== '1')];
  for (const pid of pids) {
    let args;
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    for (const arg of args) {
      const m = /dist\/apps\/(catalog|order|frontend)\/src\/main\.js$/.exec(arg);
      if (m) return m[1];
    }
  }
  throw new Error('no catalog, order or frontend process found in this container');
}

if (require.main === module) {
  try {
    const url = process.argv[2] ?? probeUrl(runningApp(), process.env, loadContracts());
    fetch(url, { signal: AbortSignal.timeout(2500) }).then(
      (res) => {
        if (res.status !== 200) console.error(`healthcheck: ${url} answered ${res.status}`);
        process.exit(res.status === 200 ? 0 : 1);
      },
      (err) => {
        console.error(`healthcheck: ${url}: ${err.cause?.code ?? err.message}`);
        process.exit(1);
      },
    );
  } catch (err) {
    console.error(`healthcheck: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { probeUrl, loadContracts, PROBE_PATHS };
