import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ShapedErrorFilter } from './error-filter';
import { createValidationPipe } from './validation.pipe';

/** Registers the global validation pipe and the default (`error`-shaped) exception filter. */
@Global()
@Module({
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useFactory: () => new ShapedErrorFilter('error') },
  ],
})
export class CommonHttpModule {}
