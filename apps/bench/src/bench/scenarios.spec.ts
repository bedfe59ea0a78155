import { CEILING_ADAPTERS, isCeiling, median, ratio, SCENARIO_NAMES, selectScenarios, tradeBody } from './scenarios';

describe('scenarios', () => {
  it('runs every scenario by default: the adapter ceiling first, each ceiling just before its first scenario, the uncached lookup (front end restart) last', () => {
    const names = selectScenarios(undefined).map((s) => s.name);
    expect(names).toEqual([...SCENARIO_NAMES]);
    expect(names.slice(0, 6)).toEqual(['ceiling-adapter', 'ceiling', 'lookup-cached', 'ceiling-c5', 'ceiling-adapter-c5', 'lookup-cached-c5']);
    expect(names.slice(names.indexOf('ceiling-c64'), names.indexOf('ceiling-c64') + 2)).toEqual(['ceiling-c64', 'trade-c64']);
    expect(names[names.length - 1]).toBe('lookup-uncached');
  });

  it('adds the ceiling a scenario is compared to, keeping the standard order', () => {
    expect(selectScenarios(['trade']).map((s) => s.name)).toEqual(['ceiling', 'trade']);
    expect(selectScenarios(['lookup-cached-c5', 'order-lookup']).map((s) => s.name)).toEqual([
      'ceiling',
      'ceiling-c5',
      'lookup-cached-c5',
      'order-lookup',
    ]);
    expect(selectScenarios(['ceiling-c5']).map((s) => s.name)).toEqual(['ceiling-c5']);
    expect(selectScenarios(['trade-c64']).map((s) => s.name)).toEqual(['ceiling-c64', 'trade-c64']);
    expect(selectScenarios(['ceiling-adapter']).map((s) => s.name)).toEqual(['ceiling-adapter', 'ceiling']);
    expect(selectScenarios(['ceiling-adapter-c5']).map((s) => s.name)).toEqual(['ceiling-c5', 'ceiling-adapter-c5']);
  });

  it('tells the ceiling apps from the bazaar', () => {
    const ceilings = selectScenarios(undefined).filter(isCeiling).map((s) => `${s.name}:${CEILING_ADAPTERS[s.server]}`);
    expect(ceilings).toEqual(['ceiling-adapter:bazaar', 'ceiling:nest', 'ceiling-c5:nest', 'ceiling-adapter-c5:bazaar', 'ceiling-c64:nest']);
  });

  it('names the choices on an unknown scenario', () => {
    expect(() => selectScenarios(['tarde'])).toThrow(/unknown scenario tarde: choose from ceiling-adapter, ceiling, lookup-cached/);
  });

  it('alternates buy and sell of 1 share, pairs going round Stock1…Stock10, so no stock drifts', () => {
    const bodies = Array.from({ length: 40 }, (_, n) => JSON.parse(tradeBody(n)) as { stock_name: string; trade_type: string; quantity: number });
    expect(bodies.slice(0, 4)).toEqual([
      { stock_name: 'Stock1', trade_type: 'buy', quantity: 1 },
      { stock_name: 'Stock1', trade_type: 'sell', quantity: 1 },
      { stock_name: 'Stock2', trade_type: 'buy', quantity: 1 },
      { stock_name: 'Stock2', trade_type: 'sell', quantity: 1 },
    ]);
    const net = new Map<string, number>();
    for (const b of bodies) net.set(b.stock_name, (net.get(b.stock_name) ?? 0) + (b.trade_type === 'buy' ? -1 : 1));
    expect(net.size).toBe(10);
    expect([...net.values()].every((v) => v === 0)).toBe(true);
  });

  it('computes ratios and medians', () => {
    expect(ratio(500, 2000)).toBe(0.25);
    expect(ratio(1, 3)).toBe(0.333);
    expect(ratio(5, undefined)).toBeNull();
    expect(ratio(5, 0)).toBeNull();
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
