import { MAX_TRADE_QUANTITY } from '@app/contracts/limits';
import { Cluster, http } from './support/cluster';

/**
 * Swagger UI must be usable for every route: each app's OpenAPI document is checked against
 * generic rules for EVERY path and operation it lists, so a route added without docs fails here.
 * Parameterless GETs are also called, and what they answer (status, media type) must be documented.
 */

type Schema = Record<string, unknown>;
interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
  security?: Record<string, unknown>[];
}
interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Every operation of a document, as `METHOD /path` and the operation. */
export function operations(doc: OpenApiDoc): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([m, op]): [string, Operation] => [`${m.toUpperCase()} ${path}`, op]),
  );
}

/**
 * Walks a schema (following `$ref`s, each once) and reports what makes it useless to a reader:
 * an object with no properties, an array without items, a dangling reference. `visit` sees every
 * property schema with its name and the object holding it.
 */
function walkSchema(
  doc: OpenApiDoc,
  schema: Schema | undefined,
  where: string,
  problems: string[],
  visit: (name: string, prop: Schema, owner: Schema, where: string) => void,
  seen = new Set<Schema>(),
): void {
  if (!schema || typeof schema !== 'object') {
    problems.push(`${where}: no schema`);
    return;
  }
  if (seen.has(schema)) return;
  seen.add(schema);
  if (typeof schema.$ref === 'string') {
    const target = doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
    if (!target) problems.push(`${where}: dangling reference ${schema.$ref}`);
    else walkSchema(doc, target, `${where} → ${schema.$ref.split('/').pop()}`, problems, visit, seen);
    return;
  }
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    const list = schema[key] as Schema[] | undefined;
    if (list) list.forEach((s, i) => walkSchema(doc, s, `${where}.${key}[${i}]`, problems, visit, seen));
  }
  if (schema.oneOf || schema.anyOf || schema.allOf) return;
  const props = schema.properties as Record<string, Schema> | undefined;
  const additional = schema.additionalProperties;
  if (schema.type === 'object' || props) {
    if ((!props || Object.keys(props).length === 0) && (typeof additional !== 'object' || additional === null)) {
      problems.push(`${where}: an object schema with no properties`);
    }
    for (const [name, prop] of Object.entries(props ?? {})) {
      visit(name, prop, schema, `${where}.${name}`);
      walkSchema(doc, prop, `${where}.${name}`, problems, visit, seen);
    }
    if (typeof additional === 'object' && additional !== null) walkSchema(doc, additional as Schema, `${where}.*`, problems, visit, seen);
    return;
  }
  if (schema.type === 'array') {
    walkSchema(doc, schema.items as Schema | undefined, `${where}[]`, problems, visit, seen);
    return;
  }
  if (schema.type === undefined && schema.enum === undefined) problems.push(`${where}: a schema without a type`);
}

/** The rules every operation of every app must follow; returns what breaks them, one line each. */
export function docProblems(doc: OpenApiDoc): string[] {
  const problems: string[] = [];
  for (const [op, o] of operations(doc)) {
    const bad = (what: string) => problems.push(`${op}: ${what}`);
    if (typeof o.summary !== 'string' || o.summary.trim() === '') bad('no summary');
    const responses = o.responses ?? {};
    const statuses = Object.keys(responses);
    if (!statuses.some((s) => /^2\d\d$/.test(s))) bad('no success response');
    const params = o.parameters ?? [];
    // Rules of the bazaar's contract: validated input fails with 400, a body can be too large, the token can be missing.
    if ((params.length > 0 || o.requestBody) && !statuses.includes('400')) bad('takes input but documents no 400');
    if (o.requestBody && !statuses.includes('413')) bad('takes a body but documents no 413');
    // body-parser answers 415 for a charset or Content-Encoding it cannot read.
    if (o.requestBody && !statuses.includes('415')) bad('takes a body but documents no 415');
    if ((o.security ?? []).some((s) => 'cluster-token' in s) && !statuses.includes('401')) bad('internal but documents no 401');

    /** A trade's side is an enum; a quantity an integer with its bounds (a trade's: 1…MAX_TRADE_QUANTITY). */
    const fieldRules = (input: boolean) => (name: string, prop: Schema, owner: Schema, where: string) => {
      const ownerProps = (owner.properties ?? {}) as Record<string, unknown>;
      const side = name === 'trade_type' || (name === 'type' && 'quantity' in ownerProps && 'stock_name' in ownerProps);
      if (side && !(Array.isArray(prop.enum) && prop.enum.includes('buy') && prop.enum.includes('sell'))) {
        problems.push(`${op} ${where}: a trade side must be an enum of buy and sell`);
      }
      if (name === 'quantity') {
        if (prop.type !== 'integer' || typeof prop.minimum !== 'number') {
          problems.push(`${op} ${where}: quantity must be an integer with a minimum (got ${JSON.stringify(prop)})`);
        } else if (input && (prop.minimum !== 1 || prop.maximum !== MAX_TRADE_QUANTITY)) {
          problems.push(`${op} ${where}: a traded quantity must be bounded 1…${MAX_TRADE_QUANTITY} (got ${JSON.stringify(prop)})`);
        }
      }
    };

    const seenParams = new Set<string>();
    for (const p of params) {
      const key = `${p.in} ${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
      if (seenParams.has(key)) bad(`parameter ${p.name} (${p.in}) is listed twice`);
      seenParams.add(key);
      if (!p.schema) bad(`parameter ${p.name} has no schema`);
      else {
        fieldRules(true)(p.name, p.schema, { properties: Object.fromEntries(params.map((q) => [q.name, q.schema])) }, `parameter ${p.name}`);
        walkSchema(doc, p.schema, `parameter ${p.name}`, problems, () => undefined);
      }
    }
    for (const [type, media] of Object.entries(o.requestBody?.content ?? {})) {
      walkSchema(doc, media.schema, `${op} request body (${type})`, problems, fieldRules(true));
    }
    for (const [status, res] of Object.entries(responses)) {
      if (!/^[1-5]\d\d$/.test(status)) bad(`response "${status}" is not a status code`);
      if (typeof res.description !== 'string' || res.description.trim() === '') bad(`${status} has no description`);
      const content = Object.entries(res.content ?? {});
      if (content.length === 0) bad(`${status} has no content (no schema)`);
      for (const [type, media] of content) walkSchema(doc, media.schema, `${op} ${status} (${type})`, problems, fieldRules(false));
    }
  }
  return problems;
}

/** The media types documented for `status` of an operation. */
function documentedTypes(o: Operation, status: number): string[] {
  return Object.keys(o.responses?.[String(status)]?.content ?? {});
}

describe('OpenAPI documents of every server app', () => {
  let c: Cluster;
  const docs: Record<string, { base: string; doc: OpenApiDoc }> = {};

  beforeAll(async () => {
    c = await Cluster.start();
    for (const [app, base] of [['frontend', c.frontend], ['catalog', c.catalog], ['order-1', c.replica(1)]]) {
      const res = await http<OpenApiDoc>(`${base}/docs-json`);
      expect(res.status).toBe(200);
      docs[app] = { base, doc: res.body };
    }
  });
  afterAll(() => c?.stop());

  it.each(['frontend', 'catalog', 'order-1'])('%s: every operation has a summary and documents each answer with a schema', (app) => {
    const { doc } = docs[app];
    expect(operations(doc).length).toBeGreaterThan(3);
    expect(docProblems(doc)).toEqual([]);
  });

  it('POST /orders has exactly one, optional, Idempotency-Key header', () => {
    const op = docs.frontend.doc.paths['/orders'].post;
    const headers = (op.parameters ?? []).filter((p) => p.in === 'header');
    expect(headers).toEqual([expect.objectContaining({ name: 'Idempotency-Key', required: false })]);
  });

  it('a refused trade is documented with its reason; GET /stocks requires stock_name', () => {
    const { doc } = docs.frontend;
    const text = JSON.stringify(doc.components?.schemas);
    expect(text).toContain('not enough shares');
    expect(text).toContain('over capacity');
    expect(doc.paths['/stocks'].get.parameters).toEqual([expect.objectContaining({ name: 'stock_name', required: true })]);
  });

  it.each(['frontend', 'catalog', 'order-1'])('%s: what a parameterless GET answers is what its docs say (status and media type)', async (app) => {
    const { base, doc } = docs[app];
    const gets = operations(doc).filter(([op, o]) => op.startsWith('GET ') && !(o.parameters ?? []).some((p) => p.required));
    expect(gets.length).toBeGreaterThan(0);
    for (const [op, o] of gets) {
      const res = await fetch(`${base}${op.slice(4)}`, { headers: c.internalHeaders });
      const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
      await res.arrayBuffer();
      expect({ op, status: res.status, documented: Object.keys(o.responses ?? {}).includes(String(res.status)) }).toEqual({
        op,
        status: res.status,
        documented: true,
      });
      expect({ op, type, documented: documentedTypes(o, res.status).includes(type) }).toEqual({ op, type, documented: true });
    }
  });

  it("a trade batch's results carry only documented fields (the catalog's stock of a successful trade), and no error schema claims them", async () => {
    const { base, doc } = docs.catalog;
    const res = await http<{ results: Record<string, unknown>[] }>(`${base}/trade/batch`, {
      method: 'POST',
      headers: { ...c.internalHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ trades: [{ stock_name: 'Stock6', type: 'buy', quantity: 1, request_id: 'openapi-batch-1' }] }),
    });
    expect(res.status).toBe(200);
    const schemas = doc.components?.schemas ?? {};
    const documented = (name: string) => Object.keys((schemas[name]?.properties ?? {}) as Schema).sort();
    expect(res.body.results[0]).toMatchObject({ status: 200, stock: expect.objectContaining({ stock_name: 'Stock6' }) });
    for (const key of Object.keys(res.body.results[0])) expect({ key, documented: documented('BatchItemResultDto').includes(key) }).toEqual({ key, documented: true });
    expect(documented('ErrorResponseDto')).toEqual(['code', 'error']);
  });

  it('the rules catch an undocumented route (the checker can fail)', () => {
    const bad: OpenApiDoc = {
      paths: {
        '/x': {
          post: {
            parameters: [
              { name: 'idempotency-key', in: 'header', required: true, schema: { type: 'string' } },
              { name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } },
            ],
            requestBody: {
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { stock_name: { type: 'string' }, trade_type: { type: 'string' }, quantity: { type: 'number' } } },
                },
              },
            },
            responses: { '200': { description: '' }, '409': { description: 'refused', content: { 'application/json': { schema: { type: 'object' } } } } },
            security: [{ 'cluster-token': [] }],
          },
        },
      },
    };
    const problems = docProblems(bad).join('\n');
    for (const expected of [
      'no summary',
      'documents no 400',
      'documents no 413',
      'documents no 415',
      'documents no 401',
      'listed twice',
      'trade side must be an enum',
      'quantity must be an integer',
      '200 has no description',
      '200 has no content',
      'an object schema with no properties',
    ]) {
      expect(problems).toContain(expected);
    }
  });
});
