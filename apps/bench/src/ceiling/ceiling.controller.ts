import { Controller, Get } from '@nestjs/common';

/** The same shape and size as a stock lookup's answer, so the ceiling serves a comparable body. */
const CEILING_BODY = { stock_name: 'Stock1', price: 9.99, trade_volume: 0, quantity: 100 } as const;

@Controller()
export class CeilingController {
  /** `GET /`: a constant JSON body, nothing else. */
  @Get()
  constant(): typeof CEILING_BODY {
    return CEILING_BODY;
  }
}
