import { hash } from 'node:crypto';

/** What an order log entry's checksum covers: everything but its epoch stamp (see {@link orderChecksum}). */
export interface ChecksummedOrder {
  order_no: number;
  request_id: string;
  stock_name: string;
  trade_type: string;
  quantity: number;
  idempotency_key?: string | null;
  created_at?: number;
}

/** A checksum's form: 16 lower-case hex digits. */
export const ORDER_CHECKSUM_PATTERN = /^[0-9a-f]{16}$/;

/**
 * An order log entry's checksum, set by the leader that numbers it and kept with it on every
 * replica (as etcd's WAL keeps a CRC with each record): the first 64 bits of SHA-256 over its
 * number, request id, stock, side as spelt, quantity, client key and append time. The epoch
 * stamp is left out: a new leader restamps inherited entries (the same order under a newer
 * stamp), and a stamp changed on disk is caught by comparing logs instead.
 *
 * A row whose checksum no longer matches it was changed or damaged on disk after it was written:
 * the replica holding it never serves it and repairs it from a peer's committed copy.
 */
export function orderChecksum(o: ChecksummedOrder): string {
  const key = o.idempotency_key ?? o.request_id;
  return hash('sha256', JSON.stringify([o.order_no, o.request_id, o.stock_name, o.trade_type, o.quantity, key, o.created_at ?? null]), 'hex').slice(0, 16);
}

/** False when the entry carries a checksum that does not match it; entries written before checksums (none) pass. */
export function checksumHolds(o: ChecksummedOrder & { checksum?: string | null }): boolean {
  return o.checksum == null || orderChecksum(o) === o.checksum;
}
