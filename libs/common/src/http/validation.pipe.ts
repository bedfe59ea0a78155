import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { MAX_INPUT_DEPTH } from '@app/contracts';

function messages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? m : `${path}: ${m}`));
    return [...own, ...messages(e.children ?? [], path)];
  });
}

/** True when `value` nests arrays/objects more than `max` levels deep (iterative: no recursion to overflow). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Refuses input nested deeper than {@link MAX_INPUT_DEPTH} before it reaches class-transformer. */
class BoundedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (nestedDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw new BadRequestException(`${metadata.type} is nested more than ${MAX_INPUT_DEPTH} levels deep`);
    }
    return super.transform(value, metadata);
  }
}

/**
 * The one validation pipe: DTOs are transformed to their classes, unknown fields are stripped,
 * a failure becomes a 400 whose message lists each problem in one line, and input nested too
 * deeply is refused (400) before it is transformed.
 */
export function createValidationPipe(): ValidationPipe {
  return new BoundedValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validateCustomDecorators: false,
    exceptionFactory: (errors) => new BadRequestException(messages(errors).join('; ') || 'invalid input'),
  });
}
