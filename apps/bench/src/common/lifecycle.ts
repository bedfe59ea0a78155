import type { Cluster } from '@app/testkit';

/** Thrown (and caught by `main`) when a run is stopped with Ctrl-C or SIGTERM. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** Throws {@link Interrupted} when the signal has fired: call between the steps of a run. */
export function checkpoint(signal: AbortSignal): void {
  if (signal.aborted) throw new Interrupted();
}

/**
 * How a run that threw ends, in its record: stopped with Ctrl-C or SIGTERM (`interrupted`), or
 * failed (`error`, with the stack on the log).
 */
export function recordRunFailure(err: unknown, signal: AbortSignal, record: { interrupted: boolean; error: string | null }, log: (text: string) => void): void {
  if (err instanceof Interrupted || signal.aborted) {
    record.interrupted = true;
    log('\ninterrupted\n');
  } else {
    record.error = err instanceof Error ? err.message : String(err);
    log(`\nerror: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/** Sleeps `ms`, or less when the signal fires (then throws {@link Interrupted}). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const CLUSTER_PROCESSES = ['catalog', 'frontend', 'order-1', 'order-2', 'order-3'];

/**
 * Every child process a run started, so that whatever happens — an exception, a second Ctrl-C,
 * `process.exit` — none is left behind. The normal path stops them properly (`Cluster.stop`,
 * SIGTERM to the ceiling app); this is the last resort, SIGKILL by pid, synchronously.
 */
export class ChildRegistry {
  private readonly pidSources = new Set<() => number[]>();

  /** Tracks a cluster's processes (by name, as the testkit names them) until `untrack` is called. */
  trackCluster(cluster: Cluster): () => void {
    return this.track(() =>
      CLUSTER_PROCESSES.filter((name) => cluster.isRunning(name))
        .map((name) => cluster.pid(name))
        .filter((pid): pid is number => pid !== undefined),
    );
  }

  track(pids: () => number[]): () => void {
    this.pidSources.add(pids);
    return () => this.pidSources.delete(pids);
  }

  /** SIGKILLs every tracked process still running. Synchronous: safe in an `exit` handler. */
  killAllSync(): number {
    let killed = 0;
    for (const source of this.pidSources) {
      for (const pid of source()) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          /* already gone */
        }
      }
    }
    return killed;
  }
}

export interface Lifecycle {
  signal: AbortSignal;
  children: ChildRegistry;
  /** Removes the signal and exit handlers. */
  dispose(): void;
}

/**
 * First Ctrl-C (or SIGTERM): abort the run — it stops what it is doing, stops the cluster and
 * writes what it has. Second: kill every child at once and exit 130. On any exit, children still
 * running are killed.
 */
export function installLifecycle(log: (text: string) => void): Lifecycle {
  const controller = new AbortController();
  const children = new ChildRegistry();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      log(`\n${sig}: stopping — the cluster is stopped and partial results are written (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to quit at once)\n`);
      controller.abort();
    } else {
      const killed = children.killAllSync();
      log(`${sig} again: killed ${killed} child process${killed === 1 ? '' : 'es'}, exiting\n`);
      process.exit(130);
    }
  };
  const onExit = (): void => {
    children.killAllSync();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  return {
    signal: controller.signal,
    children,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    },
  };
}
