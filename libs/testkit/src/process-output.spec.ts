import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './http-client';
import { appendOutputTo } from './process-output';

describe('appendOutputTo', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'output-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps what a process writes to stderr after its stdout has closed', async () => {
    // A crash's last words: stdout closes first, the message on stderr comes after it.
    const script = "process.stdout.write('out\\n'); require('node:fs').closeSync(1); setTimeout(() => { process.stderr.write('last words\\n'); }, 100);";
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const file = join(dir, 'app.log');
    appendOutputTo(child, file);
    await once(child, 'close');
    await waitFor('the log file', async () => readFileSync(file, 'utf8').includes('last words'), 5000);
    expect(readFileSync(file, 'utf8')).toBe('out\nlast words\n');
  });

  it('appends to what the file already holds (a restarted process)', async () => {
    const file = join(dir, 'app.log');
    for (const word of ['first', 'second']) {
      const child = spawn(process.execPath, ['-e', `console.log('${word}')`], { stdio: ['ignore', 'pipe', 'pipe'] });
      appendOutputTo(child, file);
      await once(child, 'close');
      await waitFor('the log file', async () => readFileSync(file, 'utf8').includes(word), 5000);
    }
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\n');
  });
});
