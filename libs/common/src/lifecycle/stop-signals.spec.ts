import { describe, expect, it } from '@jest/globals';
import { onStopSignals, REPEATED_SIGNAL_MS } from './stop-signals';

describe('onStopSignals', () => {
  /** Emits `signal` to the listeners at `at` ms (no real signal is sent). */
  const setup = (signals?: NodeJS.Signals[]) => {
    let clock = 0;
    const calls: string[] = [];
    const stop = onStopSignals((s) => calls.push(`first ${s}`), (s) => calls.push(`again ${s}`), signals, () => clock);
    const emit = (signal: NodeJS.Signals, at: number) => {
      clock = at;
      process.emit(signal as 'SIGINT', signal as 'SIGINT');
    };
    return { calls, stop, emit };
  };

  it('takes a repeat within REPEATED_SIGNAL_MS as the same signal (npm passing on the Ctrl-C), a later one as a second', () => {
    const { calls, stop, emit } = setup();
    try {
      emit('SIGINT', 0);
      emit('SIGINT', 5);
      emit('SIGTERM', REPEATED_SIGNAL_MS - 1);
      expect(calls).toEqual(['first SIGINT']);
      emit('SIGTERM', REPEATED_SIGNAL_MS);
      expect(calls).toEqual(['first SIGINT', 'again SIGTERM']);
    } finally {
      stop();
    }
  });

  it('listens to the signals it is given, and no longer once stopped', () => {
    const { calls, stop, emit } = setup(['SIGHUP']);
    const before = process.listenerCount('SIGHUP');
    emit('SIGHUP', 0);
    stop();
    expect(process.listenerCount('SIGHUP')).toBe(before - 1);
    expect(process.listenerCount('SIGINT')).toBe(0);
    expect(calls).toEqual(['first SIGHUP']);
  });
});
