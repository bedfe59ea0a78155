/** Leader changes seen while the load ran, and epochs (see {@link LeaderSightings}). */
export interface ElectionFigures {
  /**
   * Changes of (leader, epoch) seen while the load ran, counted per front end (each one's first
   * sighting not counted) and added up: a change two front ends both saw counts twice, one that only
   * one front end saw (the leader cut off from it alone) once.
   */
  observed: number;
  /** `observed` by front end (absent in reports from before the watcher polled every front end). */
  byFrontend?: Record<string, number>;
  /** Distinct epochs seen, by any front end. */
  epochs: number;
  /** The highest of the front ends' last epochs when the run ended (null if none answered). */
  finalEpoch: number | null;
}

/**
 * What the leader watcher saw: each front end's `/leader` answers, polled every 250 ms, and the
 * changes of (leader, epoch) each front end went through. Counted per front end, so that a leader
 * change that only one front end makes (it was cut off from the leader; the others still reach it
 * and keep it until they adopt the new one) shows in the figure, whichever front end was polled.
 */
export class LeaderSightings {
  private readonly last = new Map<string, { leader: number; epoch: number | null }>();
  private readonly changes = new Map<string, number>();
  private readonly epochs = new Set<number>();

  constructor(frontends: readonly string[]) {
    for (const fe of frontends) this.changes.set(fe, 0);
  }

  /**
   * Front end `fe` named `leader` at `epoch` (null: it did not say). Returns 'first' for its first
   * sighting, 'changed' when leader or epoch differ from what it named last, and null otherwise.
   */
  see(fe: string, leader: number, epoch: number | null): 'first' | 'changed' | null {
    if (epoch !== null) this.epochs.add(epoch);
    const prev = this.last.get(fe);
    this.last.set(fe, { leader, epoch });
    if (!prev) return 'first';
    if (prev.leader === leader && prev.epoch === epoch) return null;
    this.changes.set(fe, (this.changes.get(fe) ?? 0) + 1);
    return 'changed';
  }

  figures(): ElectionFigures {
    const byFrontend = Object.fromEntries(this.changes);
    const last = [...this.last.values()].map((l) => l.epoch).filter((e): e is number => e !== null);
    return {
      observed: Object.values(byFrontend).reduce((a, b) => a + b, 0),
      byFrontend,
      epochs: this.epochs.size,
      finalEpoch: last.length > 0 ? Math.max(...last) : null,
    };
  }
}

/** The summary's line on elections, saying how the figure is counted. */
export function electionsLine(e: ElectionFigures): string {
  const per = e.byFrontend && Object.keys(e.byFrontend).length > 1 ? `: ${Object.entries(e.byFrontend).map(([fe, n]) => `${fe} ${n}`).join(', ')}` : '';
  const how = e.byFrontend
    ? `each front end's /leader polled every 250 ms, changes of leader or epoch counted per front end and added up${per}`
    : 'polling /leader';
  return `elections: ${e.observed} leader changes seen (${how}), ${e.epochs} epochs seen, last epoch ${e.finalEpoch ?? '?'}`;
}
