/**
 * Domain errors: services throw these, never HTTP exceptions, so the same service can be called
 * from a controller, a scheduled job or a recovery routine. The exception filters map them to
 * status codes and the seed's JSON shapes.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Machine-readable reason for callers that must tell refusals apart (see ReplicaRefusal). */
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class StockNotFound extends DomainError {
  constructor(message = 'Stock not found') {
    super(404, message);
  }
}

export class TradeRefused extends DomainError {
  constructor(message = 'Trade failed!') {
    super(409, message);
  }
}

export class OrderNotFound extends DomainError {
  constructor() {
    super(404, 'order not found');
  }
}

/** 503 with a machine-readable `code`: not leader, stale epoch, not ready, not durable… */
export class Unavailable extends DomainError {
  constructor(message: string, code?: string) {
    super(503, message, code);
  }
}

export class InvalidInput extends DomainError {
  constructor(message: string) {
    super(400, message);
  }
}
