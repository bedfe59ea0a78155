import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * A process whose stdout reader is gone (npm start's supervisor SIGKILLed), with pino lines still
 * buffered, exits: run in a child process with a real pipe whose reading end the test closes, and
 * this module transpiled as it is. Without dropLogOutput, pino's flush at exit retries the buffered
 * lines on EPIPE for ever (the control case).
 */
function exitOnDeadPipe(drop: boolean): Promise<{ exited: boolean; code: number | null }> {
  // Jest runs from the repository root (its rootDir); the module is transpiled from its source.
  const dir = join(process.cwd(), 'libs', 'common', 'src', 'logging');
  const source = join(dir, 'drop-log-output.ts');
  const script = `
    const ts = require('typescript');
    const Module = require('node:module');
    const js = ts.transpileModule(require('node:fs').readFileSync(${JSON.stringify(source)}, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, esModuleInterop: true } }).outputText;
    const m = new Module(${JSON.stringify(source)});
    m.paths = Module._nodeModulePaths(${JSON.stringify(dir)});
    m._compile(js, ${JSON.stringify(source)});
    const pino = require(require.resolve('pino', { paths: [${JSON.stringify(dir)}] }));
    const root = pino({ level: 'info' });
    process.on('message', () => {
      for (let i = 0; i < 2000; i++) root.info({ i, pad: 'x'.repeat(200) }, 'buffered');
      if (${drop}) m.exports.dropLogOutput(root);
      process.exit(0);
    });
    process.send('ready');`;
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ exited: false, code: null });
    }, 5000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ exited: true, code });
    });
    child.once('message', () => {
      // The reader goes away, as the supervisor's end of the pipes does when it is killed.
      child.stdout?.destroy();
      child.stderr?.destroy();
      setTimeout(() => child.send('go'), 200);
    });
  });
}

describe('dropLogOutput', () => {
  it('lets a process whose output is gone exit with lines still buffered; without it, the exit flush retries them for ever', async () => {
    expect(await exitOnDeadPipe(true)).toEqual({ exited: true, code: 0 });
    expect(await exitOnDeadPipe(false)).toEqual({ exited: false, code: null });
  }, 20_000);
});
