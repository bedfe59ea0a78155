export * from './errors';
export * from './bootstrap';
export * from './http/error-filter';
export * from './http/validation.pipe';
export * from './http/common-http.module';
export * from './http/protocol-errors';
export * from './http/http-client';
export * from './database/sqlite';
