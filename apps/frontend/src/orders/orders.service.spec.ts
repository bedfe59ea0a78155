import { jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { BatchItemResult, FrontendEnv, PlaceOrderDto, ReplicaAddress, ReplicaRefusal } from '@app/contracts';
import { Leader, LeaderElectionService } from '../leader/leader-election.service';
import { ReplicasClient } from '../leader/replicas.client';
import { StocksService } from '../stocks/stocks.service';
import { mayHaveTraded, OrdersService } from './orders.service';

/** A front end whose cache takes nothing from trades' answers. */
const noStocks = { learnFromTrade: () => false } as unknown as StocksService;

describe('mayHaveTraded: which answers of the leader leave a trade uncertain', () => {
  it('a 500, a 503 without a code and a 503 from after trading may have gone through', () => {
    expect(mayHaveTraded(500)).toBe(true);
    expect(mayHaveTraded(502)).toBe(true);
    expect(mayHaveTraded(503)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.notDurable)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.catalogUnavailable)).toBe(true);
    expect(mayHaveTraded(503, ReplicaRefusal.notLeader)).toBe(true); // also given after the catalog traded
    expect(mayHaveTraded(503, ReplicaRefusal.afterTrading)).toBe(true); // a damaged entry found while logging a traded order
  });

  it('refusals at the door and client errors are definite', () => {
    expect(mayHaveTraded(503, ReplicaRefusal.staleEpoch)).toBe(false);
    expect(mayHaveTraded(503, ReplicaRefusal.notReady)).toBe(false);
    expect(mayHaveTraded(503, ReplicaRefusal.insufficientReplicas)).toBe(false);
    expect(mayHaveTraded(422)).toBe(false);
    expect(mayHaveTraded(401)).toBe(false);
  });
});

/** An election whose leader the test names; `whenReplaced` as the real one: told once another is named. */
function fakeElection(first: Leader) {
  let leader: Leader = first;
  const listeners = new Set<() => void>();
  const election: Partial<LeaderElectionService> = {
    get current() {
      return leader;
    },
    leaderForRequest: async () => leader,
    reportFailure: async () => leader,
    whenReplaced: (seen, listener) => {
      const check = () => {
        if (leader.id === seen.id && leader.epoch === seen.epoch) return;
        listeners.delete(check);
        listener();
      };
      listeners.add(check);
      check();
      return () => listeners.delete(check);
    },
  };
  const name = (next: Leader) => {
    leader = next;
    for (const l of [...listeners]) l();
  };
  return { election: election as LeaderElectionService, name, listeners };
}

function configOf(values: Partial<FrontendEnv>): ConfigService<FrontendEnv, true> {
  const all: Partial<FrontendEnv> = { FAILOVER_TIMEOUT_MS: 10_000, FORWARD_TIMEOUT_MS: 5_000, ...values };
  return { get: (key: keyof FrontendEnv) => all[key] } as unknown as ConfigService<FrontendEnv, true>;
}
const dto: PlaceOrderDto = { stock_name: 'GameStart', trade_type: 'buy', quantity: 1 };
const three: Leader = { id: 3, url: 'http://127.0.0.1:20003', epoch: 1 };
const two: Leader = { id: 2, url: 'http://127.0.0.1:20002', epoch: 2 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('OrdersService.place when the leader is replaced during a forward', () => {
  const config = configOf({ QUORUM_WAIT_MS: 5_000 });

  it('sends the trade, with its key, to the new leader at once instead of waiting for the old one', async () => {
    const { election, name, listeners } = fakeElection(three);
    const sent: { leader: number; epoch: number; key: string }[] = [];
    let oldAnswer!: (r: BatchItemResult) => void;
    const replicas = {
      trade: (replica: ReplicaAddress, _dto: PlaceOrderDto, key: string, epoch: number) => {
        sent.push({ leader: replica.id, epoch, key });
        if (replica.id === 3) return new Promise<BatchItemResult>((resolve) => (oldAnswer = resolve)); // no answer (a dropped link)
        return Promise.resolve({ status: 200, order_no: 7 });
      },
    } as unknown as ReplicasClient;
    const orders = new OrdersService(election, replicas, noStocks, config);
    const placed = orders.place(dto, 'key-1');
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ leader: 3, epoch: 1, key: 'key-1' }]);
    name(two);
    await expect(placed).resolves.toBe(7);
    expect(sent).toEqual([
      { leader: 3, epoch: 1, key: 'key-1' },
      { leader: 2, epoch: 2, key: 'key-1' },
    ]);
    oldAnswer({ status: 200, order_no: 7 }); // the old forward's late answer changes nothing
    expect(listeners.size).toBe(0); // no listener left behind by either forward
  });

  it('stops listening once the forward is answered', async () => {
    const { election, listeners } = fakeElection(three);
    const replicas = { trade: async () => ({ status: 200, order_no: 1 }) } as unknown as ReplicasClient;
    await expect(new OrdersService(election, replicas, noStocks, config).place(dto, 'key-2')).resolves.toBe(1);
    expect(listeners.size).toBe(0);
  });
});

describe('OrdersService.place when the leader answers that too few replicas are reachable', () => {
  const notDurable: BatchItemResult = { status: 503, code: ReplicaRefusal.notDurable, message: 'not yet durable' };
  const tooFew: BatchItemResult = { status: 503, code: ReplicaRefusal.insufficientReplicas, message: 'only 1 of 3 order replicas are reachable' };

  it('waits QUORUM_WAIT_MS from that first answer, not from the trade\'s start: a leader named meanwhile gets the trade', async () => {
    // Leader 3 was cut off from its followers as the trade reached it: the trade waits out the
    // durability timeout there (longer than QUORUM_WAIT_MS), then is refused for want of a
    // majority, and shortly after the front end names leader 2.
    const { election, name } = fakeElection(three);
    const answers: string[] = [];
    const replicas = {
      trade: async (replica: ReplicaAddress) => {
        if (replica.id === 2) return { status: 200, order_no: 9 };
        const first = answers.length === 0;
        answers.push(first ? 'not durable' : 'too few');
        if (first) {
          await sleep(300);
          return notDurable;
        }
        setTimeout(() => name(two), 20);
        return tooFew;
      },
    } as unknown as ReplicasClient;
    await expect(new OrdersService(election, replicas, noStocks, configOf({ QUORUM_WAIT_MS: 200 })).place(dto, 'key-3')).resolves.toBe(9);
    expect(answers).toEqual(['not durable', 'too few']);
  });

  it('still answers 503 QUORUM_WAIT_MS after that first answer when no leader can make it durable', async () => {
    const { election } = fakeElection(three);
    let tooFewAnswers = 0;
    const replicas = {
      trade: async () => {
        tooFewAnswers++;
        return tooFew;
      },
    } as unknown as ReplicasClient;
    const started = Date.now();
    await expect(new OrdersService(election, replicas, noStocks, configOf({ QUORUM_WAIT_MS: 150 })).place(dto, 'key-4')).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(tooFewAnswers).toBeGreaterThanOrEqual(2);
  });
  it("counts QUORUM_WAIT_MS per leader: a new leader's first such answer starts its own wait", async () => {
    // Leader 3 says "too few", then its next forward goes unanswered until, past the wait, the
    // front end names leader 2, which says so once (a follower not yet heard from) before it takes
    // the trade. Counted from leader 3's answer, the trade would end at leader 2's first.
    const { election, name } = fakeElection(three);
    const answers: string[] = [];
    const replicas = {
      trade: async (replica: ReplicaAddress) => {
        const tried = answers.filter((a) => a.startsWith(String(replica.id))).length;
        answers.push(`${replica.id}: ${tried}`);
        if (replica.id === 2) return tried === 0 ? tooFew : { status: 200, order_no: 11 };
        if (tried === 0) return tooFew;
        setTimeout(() => name(two), 150);
        return new Promise<BatchItemResult>(() => undefined); // replaced before it answers
      },
    } as unknown as ReplicasClient;
    await expect(new OrdersService(election, replicas, noStocks, configOf({ QUORUM_WAIT_MS: 100 })).place(dto, 'key-5')).resolves.toBe(11);
    expect(answers).toEqual(['3: 0', '3: 1', '2: 0', '2: 1']);
  });
});

describe('OrdersService.place and the wall clock', () => {
  it('measures FAILOVER_TIMEOUT_MS on the monotonic clock: the wall clock set forward an hour mid-failover does not end the trade', async () => {
    const { election, name } = fakeElection(three);
    const wall = jest.spyOn(Date, 'now');
    try {
      const replicas = {
        trade: async (replica: ReplicaAddress) => {
          if (replica.id === 2) return { status: 200, order_no: 12 };
          wall.mockReturnValue(Date.now() + 3_600_000); // an NTP step, a VM's clock corrected
          name(two);
          throw new Error('connect ECONNREFUSED');
        },
      } as unknown as ReplicasClient;
      await expect(new OrdersService(election, replicas, noStocks, configOf({ FAILOVER_TIMEOUT_MS: 1000 })).place(dto, 'key-6')).resolves.toBe(12);
    } finally {
      wall.mockRestore();
    }
  });
});

describe("OrdersService.place and the trade's stock in the leader's answer", () => {
  it('offers it to the stock cache before answering, and only when it names the traded stock', async () => {
    const learned: unknown[] = [];
    const stocks = { learnFromTrade: (stock: unknown) => learned.push(stock) > 0 } as unknown as StocksService;
    const { election } = fakeElection(three);
    const answers: BatchItemResult[] = [
      { status: 200, order_no: 1, stock: { stock_name: 'GameStart', price: 15.99, quantity: 99, trade_volume: 1 } },
      { status: 200, order_no: 2, stock: { stock_name: 'Other', price: 1, quantity: 1, trade_volume: 1 } },
      { status: 200, order_no: 3 },
    ];
    const replicas = { trade: async () => answers.shift() } as unknown as ReplicasClient;
    const orders = new OrdersService(election, replicas, stocks, configOf({ QUORUM_WAIT_MS: 5_000 }));
    await expect(orders.place(dto, 'k1')).resolves.toBe(1);
    await expect(orders.place(dto, 'k2')).resolves.toBe(2);
    await expect(orders.place(dto, 'k3')).resolves.toBe(3);
    expect(learned).toEqual([{ stock_name: 'GameStart', price: 15.99, quantity: 99, trade_volume: 1 }]);
  });
});
