import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

function messages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? m : `${path}: ${m}`));
    return [...own, ...messages(e.children ?? [], path)];
  });
}

/**
 * The one validation pipe: DTOs are transformed to their classes, unknown fields are stripped,
 * and a failure becomes a 400 whose message lists each problem in one line.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validateCustomDecorators: false,
    exceptionFactory: (errors) => new BadRequestException(messages(errors).join('; ') || 'invalid input'),
  });
}
