#!/usr/bin/env node
/**
 * `npm start`: runs the whole bazaar locally — catalog, the order replicas and the front end —
 * each log line prefixed with its process's name; Ctrl-C stops them all.
 * Every setting is the apps' own environment variable (see README); ORDER_REPLICAS decides how
 * many replicas are started.
 */
const { randomBytes } = require('node:crypto');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { concurrently } = require('concurrently');

const root = join(__dirname, '..');
const main = (app) => join(root, 'dist', 'apps', app, 'src', 'main.js');
for (const app of ['catalog', 'order', 'frontend']) {
  if (!existsSync(main(app))) {
    console.error(`${main(app)} is missing: run \`npm run build\` (npm install does it) first.`);
    process.exit(1);
  }
}

const replicaIds = (process.env.ORDER_REPLICAS ?? '1=,2=,3=')
  .split(',')
  .map((entry) => entry.trim().split('=')[0])
  .filter((id) => /^\d+$/.test(id));

// Internal endpoints require a shared secret: one is made for this local cluster unless given.
if (!process.env.CLUSTER_TOKEN) {
  process.env.CLUSTER_TOKEN = randomBytes(24).toString('base64url');
  console.log('[bazaar] generated a CLUSTER_TOKEN for this run (set CLUSTER_TOKEN to choose one)');
}
// The apps write through a pipe here: ask for readable lines when a person is watching.
if (!process.env.LOG_FORMAT && process.stdout.isTTY) process.env.LOG_FORMAT = 'pretty';

// `exec` so that signals reach node directly (and concurrently does not strip the quotes).
const node = `exec ${JSON.stringify(process.execPath)}`;
const commands = [
  { name: 'catalog', command: `${node} ${JSON.stringify(main('catalog'))}` },
  ...replicaIds.map((id) => ({
    name: `order-${id}`,
    command: `${node} ${JSON.stringify(main('order'))}`,
    env: { ORDER_ID: id },
  })),
  { name: 'frontend', command: `${node} ${JSON.stringify(main('frontend'))}` },
];

const { result } = concurrently(commands, {
  prefix: '[{name}]',
  prefixColors: ['cyan', 'green', 'yellow', 'magenta', 'blue', 'red'],
  killOthersOn: ['failure'],
  restartTries: 0,
});
result.then(
  () => process.exit(0),
  () => process.exit(1),
);
