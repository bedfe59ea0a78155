import { LineWriter, LineSink } from './line-writer';

/** A stream whose reader reads only when told: `writableLength` is what it has not read yet. */
class StalledSink implements LineSink {
  written: string[] = [];
  writableLength = 0;
  private drains: (() => void)[] = [];

  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return false;
  }

  once(_event: 'drain', listener: () => void): this {
    this.drains.push(listener);
    return this;
  }

  /** The reader catches up. */
  read(): void {
    this.writableLength = 0;
    const drains = this.drains;
    this.drains = [];
    for (const d of drains) d();
  }
}

describe('LineWriter', () => {
  it('drops lines while more than its bound waits for the reader, and says how many once it read', () => {
    const sink = new StalledSink();
    const w = new LineWriter(sink, (n) => `${n} dropped\n`, 10);
    expect(w.write('0123456789\n')).toBe(true); // 11 bytes wait now: over the bound
    expect(w.write('a\n')).toBe(false);
    expect(w.write('b\n')).toBe(false);
    expect(sink.written).toEqual(['0123456789\n']);
    sink.read();
    expect(sink.written).toEqual(['0123456789\n', '2 dropped\n']);
    expect(w.write('c\n')).toBe(true);
    expect(sink.written.at(-1)).toBe('c\n');
  });

  it('writes nothing once closed (the stream failed), not even the note of what it dropped', () => {
    const sink = new StalledSink();
    const w = new LineWriter(sink, (n) => `${n} dropped\n`, 0);
    w.write('x\n');
    w.write('y\n');
    w.close();
    sink.read();
    expect(w.write('z\n')).toBe(false);
    expect(sink.written).toEqual(['x\n']);
  });
});
