#!/usr/bin/env node
/**
 * `npm start`: the bazaar's supervisor (apps/bazaar). It runs the catalog, every order replica and
 * the front end, restarts whichever dies, and stops them all on Ctrl-C; `npm start -- order 2`
 * runs one service alone. `npm start -- --help` lists the options.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'apps', 'bazaar', 'src', 'main.js');
if (!existsSync(main)) {
  console.error(`${main} is missing: run \`npm run build\` (npm install does it) first.`);
  process.exit(1);
}
require(main);
