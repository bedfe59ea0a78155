import { keyReusedMessage, sameTradeRequest, tradeFingerprint, withinRetention } from './idempotency';

describe('idempotency key fingerprints', () => {
  const order = { stock_name: 'Stock1', trade_type: 'buy', quantity: 5 };

  it('treats the side in any letter case as the same request', () => {
    for (const trade_type of ['buy', 'Buy', 'BUY', 'bUy']) expect(sameTradeRequest(order, { ...order, trade_type })).toBe(true);
    expect(sameTradeRequest({ ...order, trade_type: 'SELL' }, { ...order, trade_type: 'sell' })).toBe(true);
  });

  it('tells apart another stock, another side or another quantity', () => {
    expect(sameTradeRequest(order, { ...order, stock_name: 'Stock2' })).toBe(false);
    expect(sameTradeRequest(order, { ...order, stock_name: 'stock1' })).toBe(false); // stock names are case-sensitive
    expect(sameTradeRequest(order, { ...order, trade_type: 'sell' })).toBe(false);
    expect(sameTradeRequest(order, { ...order, quantity: 6 })).toBe(false);
  });

  it('compares quantities as integers', () => {
    expect(sameTradeRequest(order, { ...order, quantity: '5' as unknown as number })).toBe(true);
    expect(tradeFingerprint(order)).toBe(tradeFingerprint({ ...order, trade_type: 'Buy' }));
  });

  it('cannot be fooled by a stock name that contains the separator', () => {
    expect(sameTradeRequest({ ...order, stock_name: 'A\nbuy' }, { ...order, stock_name: 'A' })).toBe(false);
  });

  it('names the key in the 422 message', () => {
    expect(keyReusedMessage('k-1')).toBe('Idempotency-Key k-1 was used for a different request');
  });

  it('keeps a key inside its window up to, not including, the retention', () => {
    expect(withinRetention(1000, 1000, 500)).toBe(true);
    expect(withinRetention(1000, 1499, 500)).toBe(true);
    expect(withinRetention(1000, 1500, 500)).toBe(false);
  });
});
