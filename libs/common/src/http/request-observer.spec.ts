import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FinishedRequest, observeRequests, RequestObserver } from './request-observer';

describe('observeRequests', () => {
  const request = (id?: string) => ({ headers: id ? { 'x-request-id': id } : {}, method: 'GET', url: '/stocks' }) as unknown as IncomingMessage;
  const response = () => {
    const headers: Record<string, unknown> = {};
    const res = Object.assign(new EventEmitter(), { headers, headersSent: false, writableFinished: false, setHeader: (k: string, v: unknown) => (headers[k] = v) });
    return res;
  };

  it('gives the request its id, tells every observer when it starts and, once, when it is over', () => {
    const events: string[] = [];
    const seen: FinishedRequest[] = [];
    const a: RequestObserver = { started: () => events.push('a started'), finished: (f) => (events.push('a finished'), seen.push(f)) };
    const b: RequestObserver = { finished: () => events.push('b finished') };
    const res = response();
    let nexted = false;
    observeRequests([a, b])(request('trace-1'), res as unknown as ServerResponse, () => (nexted = true));
    expect(nexted).toBe(true);
    expect(res.headers['x-request-id']).toBe('trace-1');
    expect(res.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(events).toEqual(['a started']);
    res.writableFinished = true;
    res.emit('finish');
    res.emit('close');
    res.emit('close');
    expect(events).toEqual(['a started', 'a finished', 'b finished']);
    expect(seen[0]).toMatchObject({ id: 'trace-1', aborted: false });
    expect(seen[0].seconds).toBeGreaterThanOrEqual(0);
  });

  it('reports a request whose connection closed before the answer as aborted', () => {
    const seen: FinishedRequest[] = [];
    const res = response();
    observeRequests([{ finished: (f) => seen.push(f) }])(request(), res as unknown as ServerResponse, () => undefined);
    res.emit('close');
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(true);
    expect(seen[0].id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
