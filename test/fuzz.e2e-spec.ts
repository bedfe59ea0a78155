import fc from 'fast-check';
import { Cluster, http, OrderRow } from './support/cluster';
import { RawRequest, RawResponse, sendBytes, sendRaw } from './support/raw-http';

/**
 * Bad input gets a clear 4xx and changes nothing, by property-based fuzzing, on one real cluster: random and adversarial input at every
 * public and internal endpoint of the three apps — malformed and deeply nested JSON, wrong types,
 * huge numbers, huge and odd strings (unicode, control characters, NUL), duplicate keys, oversized
 * bodies, odd methods, paths, query strings, content types and broken HTTP framing.
 *
 * Every answer must be a 4xx (never a 5xx, never a dropped connection) in the route's contract
 * error shape, with these deliberate exceptions, per endpoint (see ENDPOINTS):
 * - read-only routes (lookups, /trades, /replication/*, /health, /ping, /cache/stats, /leader)
 *   may answer 200 to input they can make sense of (an unknown query parameter is stripped);
 * - the front end's `GET /rm` may answer 200: it only drops a cache entry, never stored state;
 * - a replica's `GET /trade` is only ever sent an invalid trade or the stale epoch 0 (valid
 *   otherwise): a well-formed trade with a stale epoch is refused with 503 `stale_epoch` (or
 *   `not_leader` on a follower) in the order shape — a refusal, not a crash;
 * - a replica's `GET /leader` is only sent invalid notices or an unknown leader id: 400, or 503
 *   "unknown replica" in the message shape;
 * - a replica's `GET /query` may get a well-formed order number: a follower cannot vouch for one
 *   above its commit point and refuses with 503 `not_committed` in the error shape;
 * - `POST /orders` may get a well-formed order for a stock that does not exist: 404 in the order shape;
 * - the batch endpoints (`POST /trade/batch` of the catalog and of a replica) only ever get a batch
 *   that fails validation as a whole: a broken trade among valid ones, a broken list, too many;
 * - the front end's `POST /rm` may answer 200 (like `GET /rm`, it only drops cache entries).
 * Nothing is generated that could trade or change a replica's epoch, so afterwards every process
 * must still run and the catalog's stock table and every replica's order table must be exactly
 * as they were. A 500 is always a failure.
 *
 * Deterministic: a fixed seed (FUZZ_SEED overrides it, FUZZ_RUNS the number of runs per
 * property); a failure prints the seed and the shrunk counterexample.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const MAX_BODY_BYTES = 64 * 1024;

type Shape = 'error' | 'order' | 'message';
type App = 'frontend' | 'catalog' | 'order';

interface Endpoint {
  app: App;
  method: 'GET' | 'POST';
  path: string;
  /** Failure shape of the route (libs/common/src/http/error-filter.ts). */
  shape: Shape;
  /** Internal endpoints go through {@link internal}. */
  internal: boolean;
  /** May answer 200 to some fuzzed input (it changes no stored state). */
  may200: boolean;
  /** 503 is an acceptable refusal (only where documented above). */
  may503?: boolean;
  params: string[];
}

const ENDPOINTS: Endpoint[] = [
  { app: 'frontend', method: 'GET', path: '/stocks', shape: 'error', internal: false, may200: true, params: ['stock_name'] },
  { app: 'frontend', method: 'POST', path: '/orders', shape: 'order', internal: false, may200: false, params: [] },
  { app: 'frontend', method: 'GET', path: '/orders', shape: 'error', internal: false, may200: true, params: ['order_no'] },
  { app: 'frontend', method: 'GET', path: '/leader', shape: 'error', internal: false, may200: true, params: [] },
  { app: 'frontend', method: 'GET', path: '/cache/stats', shape: 'error', internal: false, may200: true, params: [] },
  { app: 'frontend', method: 'GET', path: '/rm', shape: 'error', internal: true, may200: true, params: ['stock_name'] },
  { app: 'frontend', method: 'POST', path: '/rm', shape: 'error', internal: true, may200: true, params: [] },
  { app: 'catalog', method: 'GET', path: '/query', shape: 'error', internal: true, may200: true, params: ['stock_name'] },
  { app: 'catalog', method: 'POST', path: '/trade', shape: 'message', internal: true, may200: false, params: [] },
  { app: 'catalog', method: 'POST', path: '/trade/batch', shape: 'message', internal: true, may200: false, params: [] },
  { app: 'catalog', method: 'GET', path: '/trades', shape: 'error', internal: true, may200: true, params: ['after', 'limit'] },
  { app: 'catalog', method: 'GET', path: '/health', shape: 'error', internal: true, may200: true, params: [] },
  {
    app: 'order', method: 'GET', path: '/trade', shape: 'order', internal: true, may200: false, may503: true,
    params: ['stock_name', 'trade_type', 'quantity', 'request_id', 'epoch'],
  },
  { app: 'order', method: 'POST', path: '/trade/batch', shape: 'order', internal: true, may200: false, params: [] },
  { app: 'order', method: 'GET', path: '/query', shape: 'error', internal: true, may200: true, may503: true, params: ['order_no'] },
  { app: 'order', method: 'POST', path: '/sync', shape: 'message', internal: true, may200: false, params: [] },
  { app: 'order', method: 'GET', path: '/leader', shape: 'message', internal: true, may200: false, may503: true, params: ['leader', 'epoch'] },
  { app: 'order', method: 'GET', path: '/ping', shape: 'error', internal: true, may200: true, params: [] },
  { app: 'order', method: 'GET', path: '/health', shape: 'error', internal: true, may200: true, params: [] },
  { app: 'order', method: 'GET', path: '/replication/status', shape: 'error', internal: true, may200: true, params: [] },
  { app: 'order', method: 'GET', path: '/replication/log', shape: 'error', internal: true, may200: true, params: ['after', 'limit'] },
  { app: 'order', method: 'POST', path: '/replication/compare', shape: 'error', internal: true, may200: false, params: [] },
];

/** The contract shape of a failure answered for `METHOD path` (routes match case-insensitively, trailing slashes ignored). */
function shapeFor(app: App, method: string, rawPath: string): Shape {
  const path = rawPath.split(/[?#]/)[0].replace(/\/+$/, '').toLowerCase() || '/';
  return ENDPOINTS.find((e) => e.app === app && e.method === method && e.path === path)?.shape ?? 'error';
}

/**
 * The shape of a 405 (a method the path's routes do not have): that of the path's own routes when
 * one answers in a shape other than `error` (`PUT /orders` → the order shape), else `error`.
 */
function pathShapeFor(app: App, rawPath: string): Shape {
  const path = rawPath.split(/[?#]/)[0].replace(/\/+$/, '').toLowerCase() || '/';
  return ENDPOINTS.find((e) => e.app === app && e.path === path && e.shape !== 'error')?.shape ?? 'error';
}

let c: Cluster;
const REPLICAS = [1, 2, 3];

function portOf(base: string): number {
  return Number(new URL(base).port);
}

/** Headers every request to an internal endpoint carries: the cluster token. */
const internalHeaders = (): [string, string][] => Object.entries(c.internalHeaders);

/**
 * THE way to reach an internal endpoint (catalog, order replicas, the front end's `/rm`), with the
 * cluster token: the fuzzed input must reach validation, not stop at the token check.
 */
function internal(base: string, req: RawRequest): Promise<RawResponse> {
  return sendRaw(portOf(base), { ...req, headers: [...internalHeaders(), ...(req.headers ?? [])] });
}

/** A request to the public front end. */
function publicApi(req: RawRequest): Promise<RawResponse> {
  return sendRaw(portOf(c.frontend), req);
}

function baseOf(app: App, replica = 1): string {
  return app === 'frontend' ? c.frontend : app === 'catalog' ? c.catalog : c.replica(replica);
}

function send(e: Endpoint, req: RawRequest, replica = 1): Promise<RawResponse> {
  return e.internal ? internal(baseOf(e.app, replica), req) : publicApi(req);
}

/** Asserts the answer is an acceptable failure (or an allowed 200/503) in the contract shape. */
function expectContract(where: string, res: RawResponse, opts: { shape: Shape; may200?: boolean; may503?: boolean; head?: boolean }) {
  const ctx = `${where} → ${res.status} ${res.text.slice(0, 300)}`;
  if (res.status === 200 && opts.may200) return;
  const ok = (res.status >= 400 && res.status < 500) || (res.status === 503 && opts.may503);
  if (!ok) throw new Error(`unacceptable status: ${ctx}`);
  if (opts.head) return; // a HEAD answer has no body
  const body = res.json as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error(`body is not a JSON object: ${ctx}`);
  const keys = Object.keys(body).filter((k) => k !== 'code' || opts.shape !== 'error').sort();
  const codeOk = body.code === undefined || typeof body.code === 'string';
  switch (opts.shape) {
    case 'error': {
      const err = body.error as Record<string, unknown> | undefined;
      const extra = Object.keys(body).filter((k) => k !== 'error' && k !== 'code');
      if (!err || err.code !== res.status || typeof err.message !== 'string' || extra.length > 0 || !codeOk) {
        throw new Error(`not the {"error":{"code","message"}} shape: ${ctx}`);
      }
      return;
    }
    case 'order':
      if (body.order_no !== -1 || typeof body.message !== 'string' || !codeOk || keys.some((k) => !['order_no', 'message', 'code'].includes(k))) {
        throw new Error(`not the {"order_no":-1,"message"} shape: ${ctx}`);
      }
      return;
    case 'message':
      if (typeof body.message !== 'string' || !codeOk || keys.some((k) => !['message', 'code'].includes(k))) {
        throw new Error(`not the {"message"} shape: ${ctx}`);
      }
  }
}

/** Runs a property with the suite's seed; a failure names the seed to reproduce it. */
async function check<T>(name: string, arb: fc.Arbitrary<T>, run: (v: T) => Promise<void>, numRuns = RUNS): Promise<void> {
  const seed = SEED + [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0);
  const out = await fc.check(fc.asyncProperty(arb, run), { seed, numRuns, endOnFailure: true });
  if (out.failed) {
    throw new Error(
      `fuzz property "${name}" failed (suite FUZZ_SEED=${SEED}, property seed ${seed}, path ${out.counterexamplePath}):\n` +
        `counterexample: ${fc.stringify(out.counterexample).slice(0, 1500)}\n${String(out.errorInstance).slice(0, 1500)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const STOCK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const REQUEST_ID = /^[\x21-\x7E]{1,128}$/;
/** Names of stocks that exist (never traded by the fuzzer). */
const isRealStock = (s: unknown) => typeof s === 'string' && /^stock\d+$/i.test(s);

const nastyStrings = fc.constantFrom(
  '', ' ', '0', '-0', '+1', '00', '1e308', '-1e308', '1e-308', '1e400', 'NaN', 'Infinity', '-Infinity',
  '9007199254740993', '9007199254740992', '18446744073709551616', '999999999999999', '1000001', '0x10', '0b1', '1_000',
  '１', '٣', '1.0', '1.', '.5', '2.5', '-3', '00001', 'null', 'true', 'false', 'undefined', '[]', '{}', '[object Object]',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'Stock1\u0000', '\u0000', '\u202eStock1',
  '𝕊tock1', 'ß', 'İ', 'buy ', ' sell', 'BUY\u0000', 'Stock1 ', ' Stock1', '%', '%%', '%ZZ', '%C0%AF', '../etc/passwd',
  '<script>alert(1)</script>', "' OR 1=1 --", "Robert'); DROP TABLE stocks;--", '\r\n', '\t', '\u0007', '\uFEFF', '\uFFFF',
  '😀'.repeat(50),
);

const controlString = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((n) => String.fromCharCode(n)), maxLength: 20 });

const weirdString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nastyStrings },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: controlString },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 20000 }).map((n) => 'S'.repeat(n)) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/) },
);

/** Percent-encodes every UTF-8 byte that is not unreserved; never throws (lone surrogates become U+FFFD). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** A query value as it goes on the wire: percent-encoded, or with stray/invalid escapes. */
const queryValue = fc.oneof(
  { weight: 6, arbitrary: weirdString.map(pct) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => [...a].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%Z', '%ZZ', '%%32', '+', '++', '%2B1', '%00', '&', '=', '==') },
);

function queryKey(params: string[]): fc.Arbitrary<string> {
  const names = params.length > 0 ? params : ['x'];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((n) => `${n}[]`) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((n) => `${n}[x]`) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__[polluted]', 'constructor[prototype][polluted]', '__proto__', 'a[b][c][d][e][f][g]') },
    { weight: 1, arbitrary: weirdString.map(pct) },
  );
}

function queryString(params: string[]): fc.Arbitrary<[string, string][]> {
  return fc.array(fc.tuple(queryKey(params), queryValue), { maxLength: 6 });
}

const render = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${v}`).join('&');

/** Values of a JSON field that are wrong: wrong type, out of range, malformed. */
const wrongJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, -0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, 1_000_001, 5e-324),
  weirdString,
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Number tokens JSON.stringify never writes. */
const rawNumberToken = fc.constantFrom('1e308', '1e309', '-1e400', '-0', '-0.0', '2e-400', '9007199254740993', '1.0', '1E2', '0.0000001', '1e1000000', '00', '01', '+1', '.5', 'NaN', 'Infinity', '0x10');

/** A valid value of a field (used around one broken field). */
const validField: Record<string, fc.Arbitrary<unknown>> = {
  stock_name: fc.constantFrom('Stock1', 'Stock2', 'Stock10'),
  trade_type: fc.constantFrom('buy', 'SELL', 'Buy'),
  type: fc.constantFrom('buy', 'SELL', 'Buy'),
  quantity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom('1', '05')),
  request_id: fc.stringMatching(/^[a-z0-9-]{8,16}$/),
  // POST /sync
  leader: fc.constant(2),
  epoch: fc.constant(1),
  commit_no: fc.constant(0),
  reconciled_seq: fc.constant(0),
  orders: fc.constant([]),
};
const OPTIONAL_FIELDS = ['request_id'];

/** Is `value` a valid setting of `field` (so it must not be the only "broken" one)? */
function validValue(field: string, value: unknown): boolean {
  switch (field) {
    case 'stock_name':
      return typeof value === 'string' && STOCK_NAME.test(value);
    case 'trade_type':
    case 'type':
      return typeof value === 'string' && /^(buy|sell)$/i.test(value);
    case 'quantity': {
      const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1_000_000;
    }
    case 'request_id': // optional: null counts as absent
      return value === undefined || value === null || (typeof value === 'string' && REQUEST_ID.test(value));
    case 'leader':
    case 'epoch':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1;
    case 'commit_no':
    case 'reconciled_seq':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0;
    default:
      return true; // unknown: assume valid, so it is never the only broken field
  }
}

/**
 * A JSON object for a trade-like body with at least one field broken (wrong, or missing), serialized
 * with optional duplicate keys (the last one wins and is the broken one), extra junk fields and
 * raw number tokens.
 */
function brokenTradeBody(fields: string[]): fc.Arbitrary<string> {
  return fc
    .record({
      broken: fc.constantFrom(...fields),
      missing: fc.boolean(),
      badValue: wrongJsonValue,
      good: fc.record(Object.fromEntries(fields.map((f) => [f, validField[f]]))),
      duplicateFirst: fc.option(fc.constantFrom(...fields), { nil: undefined }),
      junk: fc.dictionary(weirdString, wrongJsonValue, { maxKeys: 2 }),
      rawQuantity: fc.option(rawNumberToken, { nil: undefined }),
    })
    .filter((r) => (r.missing && !OPTIONAL_FIELDS.includes(r.broken)) || (!r.missing && !validValue(r.broken, r.badValue)))
    .map((r) => {
      const parts: string[] = [];
      // Junk never reuses a real field name: it must not stand in for a missing one.
      for (const [k, v] of Object.entries(r.junk)) if (!fields.includes(k)) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
      // A duplicate key: first a valid value, later (in the object below) the final one — unless
      // the broken field is the missing one, which the duplicate would then supply.
      if (r.duplicateFirst && !(r.missing && r.duplicateFirst === r.broken)) parts.push(`${JSON.stringify(r.duplicateFirst)}:${JSON.stringify(r.good[r.duplicateFirst])}`);
      for (const f of fields) {
        if (f === r.broken) {
          if (r.missing) continue;
          const v = f === 'quantity' && r.rawQuantity !== undefined && !validValue('quantity', Number(r.rawQuantity)) ? r.rawQuantity : JSON.stringify(r.badValue);
          parts.push(`${JSON.stringify(f)}:${v ?? 'null'}`);
        } else {
          parts.push(`${JSON.stringify(f)}:${JSON.stringify(r.good[f])}`);
        }
      }
      return `{${parts.join(',')}}`;
    });
}

/** Deeply nested JSON (arrays or objects), at the top level or inside a field. */
const deepJson = fc
  .record({ depth: fc.integer({ min: 40, max: 25000 }), kind: fc.constantFrom('array', 'object'), field: fc.constantFrom(null, 'stock_name', 'quantity', 'orders', 'prev', 'x') })
  .map(({ depth, kind, field }) => {
    const d = Math.min(depth, kind === 'array' ? 30000 : 6000);
    const nested = kind === 'array' ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    return field ? `{${JSON.stringify(field)}:${nested}}` : nested;
  });

/** Not JSON at all, or broken JSON. */
const malformedJson = fc.oneof(
  fc.constantFrom('', '{', '}', '{"stock_name":', '{"a":1,}', "{'a':1}", '{a:1}', '[1,2', 'nul', 'tru', 'undefined', '{"a":"\u0000"}', '{"a":"\\u00"}', '{"a":"\\x41"}', '\uFEFF\uFEFF{}', '{}{}', '{"a":1}garbage', '/* c */{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('latin1')),
  fc.jsonValue({ maxDepth: 4 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((v) => JSON.stringify(v)),
);

/** Over the 64 KiB limit (valid JSON, or not). */
const oversized = fc
  .record({ extra: fc.integer({ min: 1, max: 200 * 1024 }), json: fc.boolean() })
  .map(({ extra, json }) => (json ? `{"stock_name":"Stock1","pad":"${'x'.repeat(MAX_BODY_BYTES + extra)}"}` : 'x'.repeat(MAX_BODY_BYTES + extra)));

const contentType = fc.constantFrom(
  undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16',
  'application/json; charset=bogus', 'application/json; charset="utf-8"', 'image/png', '', ';;;', 'application/*',
);
const contentEncoding = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'bogus');

interface BodyCase {
  body: string;
  headers: [string, string][];
}

function bodyCase(validish: fc.Arbitrary<string>): fc.Arbitrary<BodyCase> {
  return fc
    .record({
      body: fc.oneof({ weight: 5, arbitrary: validish }, { weight: 2, arbitrary: deepJson }, { weight: 2, arbitrary: malformedJson }, { weight: 1, arbitrary: oversized }),
      type: contentType,
      encoding: contentEncoding,
    })
    .map(({ body, type, encoding }) => {
      const headers: [string, string][] = [];
      if (type !== undefined) headers.push(['Content-Type', type]);
      if (encoding !== undefined) headers.push(['Content-Encoding', encoding]);
      return { body, headers };
    });
}

/** `POST /orders` bodies: broken, or well-formed for a stock that does not exist (404). */
const orderBody = fc.oneof(
  { weight: 4, arbitrary: brokenTradeBody(['stock_name', 'trade_type', 'quantity']) },
  {
    weight: 1,
    arbitrary: fc
      .record({ stock_name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), trade_type: validField.trade_type, quantity: validField.quantity })
      .filter((o) => !isRealStock(o.stock_name))
      .map((o) => JSON.stringify(o)),
  },
);

/** Header values a client may legally send (visible ASCII and spaces), some not valid keys. */
const idempotencyKey = fc.option(
  fc.oneof(fc.stringMatching(/^[\x20-\x7E]{0,200}$/), fc.stringMatching(/^[a-z0-9]{8,20}$/)).map((k) => k.trim()),
  { nil: undefined },
);

/** `POST /sync` bodies that fail validation, or name the receiving replica itself as leader (400). */
function syncBody(self: number): fc.Arbitrary<string> {
  const validRecord = { order_no: 1, epoch: 1, request_id: 'fz-1', stock_name: 'Stock1', trade_type: 'buy', quantity: 1 };
  const recordField = fc.constantFrom(...Object.keys(validRecord));
  return fc.oneof(
    brokenTradeBody(['leader', 'epoch', 'commit_no', 'reconciled_seq', 'orders']),
    fc.record({ field: recordField, bad: wrongJsonValue, epoch: fc.integer({ min: 1, max: 5 }) }).map(({ field, bad, epoch }) =>
      JSON.stringify({ leader: self, epoch, commit_no: 0, reconciled_seq: 0, orders: [{ ...validRecord, [field]: bad }] }),
    ),
    fc.record({ prev: wrongJsonValue, orders: fc.oneof(wrongJsonValue, fc.constant([])), epoch: fc.integer({ min: 1, max: 1e6 }) }).map(({ prev, orders, epoch }) =>
      JSON.stringify({ leader: self, epoch, commit_no: 0, reconciled_seq: 0, prev, orders }),
    ),
    fc.integer({ min: 1001, max: 3000 }).map((n) =>
      JSON.stringify({ leader: self, epoch: 1, commit_no: 0, reconciled_seq: 0, orders: Array.from({ length: n }, () => 0) }).slice(0, MAX_BODY_BYTES - 1),
    ),
  );
}

/**
 * A list of trades that fails validation as a whole — so nothing of it may trade: a broken trade
 * among valid ones, not a list at all, an empty list, or one over the batch limit.
 */
function brokenTradeList(itemFields: string[], validItem: Record<string, unknown>): fc.Arbitrary<string> {
  const valid = JSON.stringify(validItem);
  return fc.oneof(
    fc.record({ before: fc.integer({ min: 0, max: 3 }), after: fc.integer({ min: 0, max: 3 }), broken: brokenTradeBody(itemFields) }).map(
      ({ before, after, broken }) => `[${[...Array(before).fill(valid), broken, ...Array(after).fill(valid)].join(',')}]`,
    ),
    wrongJsonValue.filter((v) => !Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'object')).map((v) => JSON.stringify(v) ?? 'null'),
    fc.integer({ min: 129, max: 300 }).map((n) => `[${Array(n).fill(valid).join(',')}]`),
  );
}

/** `POST /trade/batch` bodies for the catalog: `{"trades":[…]}` that fail validation. */
const catalogBatchBody = fc.oneof(
  brokenTradeList(['stock_name', 'type', 'quantity', 'request_id'], { stock_name: 'Stock1', type: 'buy', quantity: 1, request_id: 'fz-batch' }).map((t) => `{"trades":${t}}`),
  fc.constant('{}'),
);

/** `POST /trade/batch` bodies for a replica: a broken list, or a valid one under a malformed epoch. */
const replicaBatchBody = fc.oneof(
  brokenTradeList(['stock_name', 'trade_type', 'quantity', 'request_id'], { stock_name: 'Stock1', trade_type: 'buy', quantity: 1, request_id: 'fz-batch' }).map(
    (t) => `{"epoch":1,"trades":${t}}`,
  ),
  wrongJsonValue
    .filter((e) => !(typeof e === 'number' && Number.isInteger(e) && e >= 0) && !(typeof e === 'string' && /^\d{1,15}$/.test(e)))
    .map((e) => `{"epoch":${JSON.stringify(e) ?? 'null'},"trades":[{"stock_name":"Stock1","trade_type":"buy","quantity":1,"request_id":"fz-batch"}]}`),
);

/** `POST /rm` bodies for the front end: anything (a valid list only drops cache entries). */
const invalidateBatchBody = fc.oneof(
  wrongJsonValue.map((v) => `{"stock_names":${JSON.stringify(v) ?? 'null'}}`),
  fc.array(fc.oneof(weirdString, fc.constantFrom('Stock1', 'Stock2')), { maxLength: 140 }).map((names) => JSON.stringify({ stock_names: names })),
  // With the volumes the catalog's push announces: too few or too many, negative, fractional, of the wrong type.
  fc
    .tuple(
      fc.array(fc.constantFrom('Stock1', 'Stock2'), { minLength: 1, maxLength: 4 }),
      fc.oneof(fc.array(fc.oneof(fc.integer({ min: -3, max: 2 ** 53 }), fc.double(), wrongJsonValue), { maxLength: 5 }), wrongJsonValue),
    )
    .map(([names, volumes]) => JSON.stringify({ stock_names: names, trade_volumes: volumes })),
);

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

interface Snapshot {
  stocks: unknown[];
  orders: Record<number, OrderRow[]>;
}

async function snapshot(): Promise<Snapshot> {
  const orders: Record<number, OrderRow[]> = {};
  for (const id of REPLICAS) orders[id] = await c.orderTable(id);
  return { stocks: await c.stocksTable(), orders };
}

describe('fuzzing every endpoint with random and adversarial input', () => {
  let before: Snapshot;

  beforeAll(async () => {
    c = await Cluster.start();
    // A few real orders first, so that tables and lookups are not trivially empty.
    for (const [stock_name, trade_type, quantity] of [['Stock1', 'buy', 3], ['Stock2', 'sell', 0], ['Stock3', 'BUY', 2]] as const) {
      if (quantity === 0) continue;
      const res = await http(`${c.frontend}/orders`, { body: { stock_name, trade_type, quantity } });
      expect(res.status).toBe(200);
    }
    await c.converged();
    before = await snapshot();
  }, 120000);

  afterAll(() => c?.stop());

  it('POST /orders (public): bodies, content types, encodings, idempotency keys', async () => {
    const e = ENDPOINTS.find((x) => x.app === 'frontend' && x.path === '/orders' && x.method === 'POST')!;
    await check('POST /orders', fc.tuple(bodyCase(orderBody), idempotencyKey), async ([b, key]) => {
      const headers = [...b.headers, ...(key !== undefined ? ([['Idempotency-Key', key]] as [string, string][]) : [])];
      const res = await send(e, { method: 'POST', path: '/orders', headers, body: b.body });
      expectContract(`POST /orders ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(headers)}`, res, { shape: 'order' });
    });
  });

  it('POST /trade (catalog, internal): only invalid trades', async () => {
    const e = ENDPOINTS.find((x) => x.app === 'catalog' && x.path === '/trade')!;
    const body = brokenTradeBody(['stock_name', 'type', 'quantity', 'request_id']);
    await check('catalog POST /trade', bodyCase(body), async (b) => {
      const res = await send(e, { method: 'POST', path: '/trade', headers: b.headers, body: b.body });
      expectContract(`catalog POST /trade ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(b.headers)}`, res, { shape: 'message' });
    });
  });

  it('POST /trade/batch (catalog and replicas, internal): only batches that fail validation', async () => {
    const catalog = ENDPOINTS.find((x) => x.app === 'catalog' && x.path === '/trade/batch')!;
    await check('catalog POST /trade/batch', bodyCase(catalogBatchBody), async (b) => {
      const res = await send(catalog, { method: 'POST', path: '/trade/batch', headers: b.headers, body: b.body });
      expectContract(`catalog POST /trade/batch ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(b.headers)}`, res, { shape: 'message' });
    });
    const replica = ENDPOINTS.find((x) => x.app === 'order' && x.path === '/trade/batch')!;
    const arb = fc.tuple(fc.constantFrom(...REPLICAS), bodyCase(replicaBatchBody));
    await check('order POST /trade/batch', arb, async ([id, b]) => {
      const res = await send(replica, { method: 'POST', path: '/trade/batch', headers: b.headers, body: b.body }, id);
      expectContract(`order-${id} POST /trade/batch ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(b.headers)}`, res, { shape: 'order' });
    });
  });

  it('POST /rm (front end, internal): batched invalidations', async () => {
    const e = ENDPOINTS.find((x) => x.app === 'frontend' && x.path === '/rm' && x.method === 'POST')!;
    await check('frontend POST /rm', bodyCase(invalidateBatchBody), async (b) => {
      const res = await send(e, { method: 'POST', path: '/rm', headers: b.headers, body: b.body });
      expectContract(`frontend POST /rm ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(b.headers)}`, res, { shape: 'error', may200: true });
    });
  });

  it('POST /sync (order replicas, internal): invalid batches and heartbeats', async () => {
    const e = ENDPOINTS.find((x) => x.app === 'order' && x.path === '/sync')!;
    const arb = fc.constantFrom(...REPLICAS).chain((id) => fc.tuple(fc.constant(id), bodyCase(syncBody(id))));
    await check('order POST /sync', arb, async ([id, b]) => {
      const res = await send(e, { method: 'POST', path: '/sync', headers: b.headers, body: b.body }, id);
      expectContract(`order-${id} POST /sync ${JSON.stringify(b.body.slice(0, 200))} ${JSON.stringify(b.headers)}`, res, { shape: 'message' });
    });
  });

  it('GET endpoints of all three apps: repeated, bracketed, encoded, huge and odd query parameters', async () => {
    const gets = ENDPOINTS.filter((x) => x.method === 'GET');
    const arb = fc.constantFrom(...gets).chain((e) => fc.record({
      e: fc.constant(e),
      replica: fc.constantFrom(...REPLICAS),
      pairs: queryString(e.params),
      staleEpoch: fc.constantFrom('0', '00', '-1', 'x', '', '1.5', '1e3'),
      badNotice: fc.oneof(
        fc.record({ leader: fc.constantFrom('99', '1000', '4'), epoch: queryValue }),
        fc.record({ leader: queryValue, epoch: fc.constantFrom('0', '-1', '', 'x', '1.5', '1e3', '%00') }),
      ),
    }));
    await check('GET query strings', arb, async ({ e, replica, pairs, staleEpoch, badNotice }) => {
      let q = pairs;
      if (e.app === 'order' && e.path === '/trade') {
        // Never a trade a replica could carry out: the epoch is stale or malformed (sent last, so it wins when repeated? no —
        // a repeated epoch is an array and invalid anyway).
        q = [...pairs.filter(([k]) => !/^epoch/.test(decodeURIComponentSafe(k))), ['epoch', staleEpoch]];
      }
      if (e.app === 'order' && e.path === '/leader') {
        q = [...pairs.filter(([k]) => !/^(leader|epoch)/.test(decodeURIComponentSafe(k))), ['leader', badNotice.leader], ['epoch', badNotice.epoch]];
      }
      const path = `${e.path}${q.length ? `?${render(q)}` : ''}`;
      const res = await send(e, { method: 'GET', path }, replica);
      expectContract(`${e.app}${e.app === 'order' ? `-${replica}` : ''} GET ${path.slice(0, 300)}`, res, e);
    });
  });

  it('odd methods and odd paths on every app', async () => {
    const apps: App[] = ['frontend', 'catalog', 'order'];
    const routes = [...new Set(ENDPOINTS.map((x) => x.path))];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH', 'QUERY', 'LINK', 'M-SEARCH', 'MKCOL', 'FOO', 'get', 'G ET'];
    const oddPath = fc.oneof(
      fc.constantFrom(...routes).chain((r) =>
        fc.constantFrom(
          `/${r}`, `${r}/..`, `${r}/.`, `/.${r}`, `${r}%2F`, `/%2e%2e${r}`, `${r};x`, `${r}%00`, `${r}/extra`, `${r}/`, `${r}//`,
          r.toUpperCase(), `${r}#x`, `${r}%ZZ`, `${r}%`, `/%${r.slice(1, 3)}`, `${r}/%2e%2e/%2e%2e`, encodeURI(`${r}/é`), `${r}/${'%41'.repeat(300)}`,
        ),
      ),
      fc.integer({ min: 1, max: 40000 }).map((n) => `/${'a'.repeat(n)}`),
      fc.constantFrom('*', '/', '', 'stocks', 'http://127.0.0.1/stocks', '/docs-json/..', '/%00', '/\\..\\', '/?', '/??', '/#', '/..;/'),
      weirdString.map((s) => `/${pct(s)}`),
    );
    const arb = fc.record({ app: fc.constantFrom(...apps), replica: fc.constantFrom(...REPLICAS), method: fc.constantFrom(...methods), path: oddPath, body: fc.constantFrom(undefined, '{}', '[]') });
    await check('methods and paths', arb, async ({ app, replica, method, path, body }) => {
      const base = baseOf(app, replica);
      const req: RawRequest = { method, path, body };
      // Sent raw: these are not necessarily valid HTTP. Internal apps still go through internal().
      const res = app === 'frontend' ? await publicApi(req) : await internal(base, req);
      const route = path.split(/[?#]/)[0].replace(/\/+$/, '').toLowerCase();
      const readOnly = ENDPOINTS.some((x) => x.app === app && x.may200 && x.method === 'GET' && x.path === route);
      const wellFormed = /^[A-Z-]+$/.test(method) && /^[\x21-\x7E]*$/.test(path) && path.startsWith('/');
      // A GET/HEAD of a parameterless read-only route (e.g. `GET /leader/`) may answer 200.
      expectContract(`${app} ${method} ${path.slice(0, 200)}`, res, {
        // A method the route does not have: 405 with Allow, in the shape of the path's routes.
        shape: !wellFormed ? 'error' : res.status === 405 ? pathShapeFor(app, path) : shapeFor(app, method, path),
        may200: readOnly && (method === 'GET' || method === 'HEAD'),
        head: method === 'HEAD',
      });
    });
  });

  describe('broken HTTP framing gets a JSON 4xx, never a dropped or hung connection', () => {
    const cases: [string, string][] = [
      ['an unknown method token', 'FOO /stocks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
      ['a lower-case method', 'get /stocks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
      ['a NUL byte in a header', 'GET /stocks HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n'],
      ['a header without a colon', 'GET /stocks HTTP/1.1\r\nHost: x\r\nnonsense\r\nConnection: close\r\n\r\n'],
      ['a bad chunk size', 'POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
      ['Content-Length with Transfer-Encoding', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{}'],
      ['two Content-Lengths', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}'],
      ['a negative Content-Length', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n'],
      ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      ['an HTTP/9 version', 'GET /stocks HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n'],
      ['headers over 16 KiB', `GET /stocks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\nConnection: close\r\n\r\n`],
      ['a request line over 16 KiB', `GET /stocks?stock_name=${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
      ['an unknown expectation', 'GET /stocks?stock_name=Stock1 HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\nConnection: close\r\n\r\n'],
      ['a CONNECT', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n'],
    ];
    /** Upgrade requests: with no upgrade handler Node serves them as plain requests (200 is fine). */
    const upgrades: [string, string][] = [
      ['a WebSocket upgrade', 'GET /stocks?stock_name=Stock1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
      ['an h2c upgrade', 'GET /leader HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'],
    ];
    it.each(cases)('%s, on every app', async (_what, raw) => {
      for (const [app, base] of [['frontend', c.frontend], ['catalog', c.catalog], ...REPLICAS.map((id) => [`order-${id}`, c.replica(id)])]) {
        const bytes = Buffer.from(raw, 'latin1');
        const res = await (app === 'frontend' ? sendBytes(portOf(base), bytes, 10000) : internalBytes(base, bytes));
        // Parser-level failures use the route's shape when the request line names a route.
        const line = /^([A-Z]+) (\/[^\s?#]*)[\s?#]/.exec(raw);
        const shape = line ? shapeFor(app.startsWith('order') ? 'order' : (app as App), line[1], line[2]) : 'error';
        expectContract(`${app} ${JSON.stringify(raw.slice(0, 80))}`, res, { shape });
      }
    });
    it.each(upgrades)('%s is served or refused, on every app', async (_what, raw) => {
      for (const [app, base] of [['frontend', c.frontend], ['catalog', c.catalog], ...REPLICAS.map((id) => [`order-${id}`, c.replica(id)])]) {
        const bytes = Buffer.from(raw, 'latin1');
        const res = await (app === 'frontend' ? sendBytes(portOf(base), bytes, 10000) : internalBytes(base, bytes));
        const [method, path] = raw.split(' ');
        const shape = shapeFor(app.startsWith('order') ? 'order' : (app as App), method, path);
        expectContract(`${app} ${JSON.stringify(raw.slice(0, 80))}`, res, { shape, may200: true });
      }
    });
  });

  it('afterwards: every process runs, answers, and the stock and order tables are unchanged', async () => {
    for (const name of ['catalog', 'frontend', ...REPLICAS.map((id) => `order-${id}`)]) expect({ name, running: c.isRunning(name) }).toEqual({ name, running: true });
    for (const id of REPLICAS) expect((await internal(c.replica(id), { method: 'GET', path: '/ping' })).status).toBe(200);
    expect((await internal(c.catalog, { method: 'GET', path: '/health' })).status).toBe(200);
    expect((await publicApi({ method: 'GET', path: '/stocks?stock_name=Stock1' })).status).toBe(200);
    const after = await snapshot();
    expect(after.stocks).toEqual(before.stocks);
    for (const id of REPLICAS) expect({ replica: id, orders: after.orders[id] }).toEqual({ replica: id, orders: before.orders[id] });
  });
});

/** Raw bytes to an internal endpoint, for the framing cases: headers cannot be added to broken framing. */
function internalBytes(base: string, bytes: Buffer): Promise<RawResponse> {
  // The internal headers go right after the request line, where every case above still has one.
  const text = bytes.toString('latin1');
  const eol = text.indexOf('\r\n');
  const extra = internalHeaders().map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return sendBytes(portOf(base), Buffer.from(`${text.slice(0, eol + 2)}${extra}${text.slice(eol + 2)}`, 'latin1'), 10000);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
