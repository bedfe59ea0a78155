/**
 * The catalog loaded on first start, when the database is empty: Stock1…Stock10, priced
 * 9.99, 19.99 … 99.99, no volume yet, 100 shares each.
 */
export const INITIAL_STOCKS = Array.from({ length: 10 }, (_, i) => ({
  name: `Stock${i + 1}`,
  price: Math.round((10 * (i + 1) - 0.01) * 100) / 100,
  tradeVolume: 0,
  quantity: 100,
}));
