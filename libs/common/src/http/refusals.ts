import { DomainError, InvalidInput, StockNotFound, TradeRefused } from '../errors';
import { withReason } from './error-filter';

/** What each definite refusal says when the answer brings no message of its own. */
export interface RefusalTexts {
  notFound: string;
  refused?: string;
  invalid: string;
}

/**
 * Another service's definite refusal as the domain error to pass on, the same at every hop:
 * 404 (no such stock), 409 (trade refused: its reason travels on) and 400 (invalid input, with the
 * answer's message when it has one). Undefined for any other status: success, or an answer that
 * is not definite, which each caller handles in its own way.
 */
export function definiteRefusal(status: number, answer: { message?: string; reason?: string }, texts: RefusalTexts): DomainError | undefined {
  switch (status) {
    case 404:
      return new StockNotFound(texts.notFound);
    case 409: {
      const refused = new TradeRefused(texts.refused);
      return answer.reason ? withReason(refused, answer.reason) : refused;
    }
    case 400:
      return new InvalidInput(answer.message ?? texts.invalid);
    default:
      return undefined;
  }
}
