import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { HttpDrain } from '../lifecycle/graceful-shutdown';
import { ErrorShapes, FailureHooks, ShapedErrorFilter } from './error-filter';
import { ERROR_SHAPES, HttpProtocolErrors } from './protocol-errors';
import { createValidationPipe } from './validation.pipe';

/**
 * Registers the global validation pipe and the global exception filter, told which routes
 * answer failures in a shape other than `{"error":{…}}` and what a failure's answer on a route
 * adds (FailureHooks); JSON answers to requests Node's HTTP
 * parser rejects (HttpProtocolErrors); and the request tracking graceful shutdown drains (HttpDrain),
 * which any module may inject (global) to learn when the drain begins.
 */
@Module({})
export class CommonHttpModule {
  static forRoot(errorShapes: ErrorShapes = {}, failureHooks: FailureHooks = {}): DynamicModule {
    return {
      module: CommonHttpModule,
      global: true,
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useFactory: () => new ShapedErrorFilter(errorShapes, failureHooks) },
        { provide: ERROR_SHAPES, useValue: errorShapes },
        HttpProtocolErrors,
        HttpDrain,
      ],
      exports: [HttpDrain],
    };
  }
}
