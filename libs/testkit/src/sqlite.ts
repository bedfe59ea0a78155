import { join } from 'node:path';
import { Database, OPEN_READONLY } from 'sqlite3';

/** A row of an order replica's `orders` table. */
export interface OrderRow {
  order_no: number;
  epoch: number;
  request_id: string;
  stock_name: string;
  trade_type: string;
  quantity: number;
}

/** Rows of an order replica's `orders` table, as {@link OrderRow}s. */
export const ORDER_ROWS_SQL = 'SELECT order_no, epoch, request_id, stock_name, trade_type, quantity FROM orders ORDER BY order_no';

/** An order row with the copy's own fields: when it was written, and its checksum. */
export interface OrderCopyRow extends OrderRow {
  created_at: number;
  checksum: string | null;
}

/** Rows of an order replica's `orders` table with each copy's time and checksum, as {@link OrderCopyRow}s. */
export const ORDER_COPIES_SQL = 'SELECT order_no, epoch, request_id, stock_name, trade_type, quantity, created_at, checksum FROM orders ORDER BY order_no';

/** A row of the catalog's `stocks` table. */
export interface StockRow {
  name: string;
  price: number;
  trade_volume: number;
  quantity: number;
}

/** Rows of the catalog's `stocks` table, as {@link StockRow}s. */
export const STOCK_ROWS_SQL = 'SELECT name, price, trade_volume, quantity FROM stocks ORDER BY name';

/** The SQLite file replica `id` keeps in its data directory `dataDir`. */
export function orderDbFile(dataDir: string, id: number): string {
  return join(dataDir, `order-${id}.sqlite`);
}

/** The SQLite file the catalog keeps in its data directory `dataDir`. */
export function catalogDbFile(dataDir: string): string {
  return join(dataDir, 'catalog.sqlite');
}

/** Every row `sql` selects from the SQLite file `file`, opened read-only. */
export function readAll<T>(file: string, sql: string): Promise<T[]> {
  return new Promise((res, rej) => {
    const db = new Database(file, OPEN_READONLY, (err) => {
      if (err) return rej(err);
      db.all(sql, (e, rows) => {
        db.close();
        if (e) rej(e);
        else res(rows as T[]);
      });
    });
  });
}

/** Runs `statement` on the SQLite file `file` (a test changing a stopped or running service's file, as damage or an edit would). */
export function execSql(file: string, statement: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new Database(file, (err) => {
      if (err) return reject(err);
      db.exec(statement, (e) => db.close(() => (e ? reject(e) : resolve())));
    });
  });
}
