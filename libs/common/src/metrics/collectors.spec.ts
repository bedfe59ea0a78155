import { Registry } from 'prom-client';
import { counterOf, gaugeOf, labelledGaugeOf } from './collectors';

describe('scrape-time collectors', () => {
  it('read their source when scraped', async () => {
    const registry = new Registry();
    let n = 1;
    gaugeOf(registry, 'g', 'a gauge', () => n);
    counterOf(registry, 'c_total', 'a counter', () => n * 10);
    let lags: [string, number][] = [['2', 5], ['3', 0]];
    labelledGaugeOf(registry, 'lag', 'lag per follower', 'follower', () => lags);
    expect(await registry.metrics()).toMatch(/^g 1$/m);
    n = 7;
    lags = [['3', 1]];
    const text = await registry.metrics();
    expect(text).toMatch(/^g 7$/m);
    expect(text).toMatch(/^c_total 70$/m);
    expect(text).toMatch(/^lag\{follower="3"\} 1$/m);
    expect(text).not.toMatch(/follower="2"/); // a follower no longer listed is dropped
  });
});
