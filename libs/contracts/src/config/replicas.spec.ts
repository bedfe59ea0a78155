import { parseReplicaList, replicaPort } from './replicas';

describe('replicaPort', () => {
  const replicas = parseReplicaList('1=http://order-1,2=http://order-2:20002,3=https://order-3')!;

  it("is ORDER_PORT when set, else the port of the replica's own entry", () => {
    expect(replicaPort({ ORDER_ID: 2, ORDER_REPLICAS: replicas })).toBe(20002);
    expect(replicaPort({ ORDER_ID: 2, ORDER_PORT: 9000, ORDER_REPLICAS: replicas })).toBe(9000);
  });

  it("is the scheme's default for an entry without a port, never 0 (a random port)", () => {
    expect(replicaPort({ ORDER_ID: 1, ORDER_REPLICAS: replicas })).toBe(80);
    expect(replicaPort({ ORDER_ID: 3, ORDER_REPLICAS: replicas })).toBe(443);
  });
});
